#!/usr/bin/perl

# zigtls nginx module: "error_log ... debug" (Debian's nginx is built
# --with-debug) traces the handshake; keep-alive connections give back
# their record buffers while idle; the glue takes nothing of the
# connection's pool that would make nginx allocate a second pool block
# (connection_pool_size) for an idle keep-alive connection, which plain
# nginx does not (its allocations are in this log).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('curl');

my $t = ZtNginx->new;
$t->certs;
$t->write_file('html/index.html', "dbg\n");
$t->write_conf(<<'CONF', log_level => 'debug');
http {
    access_log off;
    connection_pool_size 512;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        root %%DIR%%/html;
    }
}
CONF
$t->start;

my $r = $t->curl('/index.html', '--http1.1');
is($r->{out}, "dbg\n", 'request with debug log');
my $p = $t->port(0);
$r = $t->curl('/index.html', '--http2', "https://127.0.0.1:$p/index.html");
is($r->{out}, "dbg\ndbg\n", 'two requests over HTTP/2');

# one HTTP/1.1 keep-alive request, then idle: the pool's allocations of
# this connection come after its "zigtls create" line
my $ka = $t->python(<<'PY', $p);
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])),
                                             timeout=10),
                    server_hostname="localhost")
s.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
buf = b""
while not buf.endswith(b"dbg\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
time.sleep(0.5)
print("answered" if buf.endswith(b"dbg\n") else "short")
PY
like($ka->{out}, qr/answered/, 'keep-alive request answered');
{
    my $all = $t->error_log;
    my @ids = ($all =~ /\*(\d+) zigtls create:/g);
    my $id = $ids[-1];
    my @blocks = grep { /\*$id posix_memalign: \w+:512 \@16/ }
                 split /\n/, $all;
    ok(defined $id && $all =~ /\*$id set http keepalive handler/,
       'the connection went on to keep-alive');
    is(scalar @blocks, 0, 'idle keep-alive connection: its pool has one '
       . 'block of connection_pool_size')
        or diag(join("\n", @blocks));
}

$t->stop;

my $log = $t->error_log;
like($log, qr/\[debug\].*zigtls create: fd:\d+ conn:\d+ bytes/,
     'debug: connection created');
like($log, qr/\[debug\].*zigtls handshake: fed \d+ bytes/,
     'debug: bytes fed to the core');
like($log, qr/\[debug\].*zigtls flush: \d+ of \d+/, 'debug: records flushed');
like($log, qr/\[debug\].*zigtls handshake done: TLS_\w+ \w+ ecdsa_secp256r1_sha256 alpn:http\/1\.1/,
     'debug: handshake parameters');
like($log, qr/\[debug\].*zigtls: sending close_notify/, 'debug: close_notify');
like($log, qr/\[debug\].*zigtls: response done, record buffers released/,
     'HTTP/1.1 keep-alive: record buffers released after the response');
like($log, qr/\[debug\].*zigtls: HTTP\/2 idle, record buffers released/,
     'HTTP/2 idle: record buffers released');

done_testing();
