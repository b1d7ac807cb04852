#!/usr/bin/perl

# zigtls nginx module: bulk transfers. Static files with "sendfile on"
# (never sendfile of plaintext), HTTP/1.1 and HTTP/2, large request bodies
# through proxy_pass to a loopback backend, $body_bytes_sent in plaintext,
# a client that vanishes mid-response.

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(sha256_hex);
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin slurp);

need_bin($_) for qw(curl python3);

my $t = ZtNginx->new;
$t->certs;

# 12 MiB of pseudo-random bytes, and an odd size
my $big = '';
{
    my $x = 12345;
    my @chunk;
    for (1 .. 65536) { $x = ($x * 1103515245 + 12345) & 0x7fffffff;
                       push @chunk, pack('N', $x); }
    my $c = join('', @chunk);    # 256 KiB
    $big = $c x 48;
}
my $odd = substr($big, 0, 1_000_003);
$t->write_file('html/big.bin', $big);
$t->write_file('html/odd.bin', $odd);
$t->write_file('body.bin', substr($big, 7, 5_000_000));
mkdir($t->dir . '/dav');

$t->write_conf(<<'CONF');
http {
    log_format bytes '$uri $body_bytes_sent $bytes_sent $request_length';
    access_log %%DIR%%/logs/access.log bytes;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        root %%DIR%%/html;
        sendfile on;
        tcp_nopush on;
        client_max_body_size 64m;

        location = /status {
            stub_status;
        }

        location /dav/ {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
            proxy_request_buffering off;
        }
    }

    # a small socket send buffer: writes meet EAGAIN
    server {
        listen 127.0.0.1:%%PORT_2%% sndbuf=8k rcvbuf=8k;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        root %%DIR%%/html;
        sendfile on;
        client_max_body_size 64m;

        location /dav/ {
            proxy_pass http://127.0.0.1:%%PORT_1%%;
        }
    }

    # the plain backend: stores PUT bodies, serves them back
    server {
        listen 127.0.0.1:%%PORT_1%%;
        root %%DIR%%;
        client_max_body_size 64m;
        dav_methods PUT;
        create_full_put_path on;
        access_log off;
    }
}
CONF
$t->start;

my $r;
my $out = $t->dir . '/tmp/out.bin';

for my $v ('--http1.1', '--http2') {
    unlink($out);
    $r = $t->curl('/big.bin', $v, '-o', $out);
    ok($r->{ok}, "download big.bin $v") or diag($r->{all});
    is(sha256_hex(slurp($out)), sha256_hex($big), "sha256 of big.bin $v");

    unlink($out);
    $r = $t->curl('/odd.bin', $v, '-o', $out);
    is(sha256_hex(slurp($out)), sha256_hex($odd), "sha256 of odd.bin $v");
}

# slow readers: the server meets EAGAIN and keeps records buffered
$r = $t->python(<<'PY', $t->port(2));
import hashlib, socket, ssl, sys, time
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
raw.settimeout(20)
raw.connect(("127.0.0.1", int(sys.argv[1])))
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET /odd.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(8192)
    if not d:
        break
    data += d
    if len(data) < 400000:
        time.sleep(0.001)
body = data.split(b"\r\n\r\n", 1)[1]
print(len(body), hashlib.sha256(body).hexdigest())
PY
is($r->{out}, "1000003 " . sha256_hex($odd) . "\n", 'slow reader over HTTP/1.1')
    or diag($r->{all});

unlink($out);
$r = $t->curl('https://127.0.0.1:' . $t->port(2) . '/odd.bin', '--http2',
              '--limit-rate', '1M', '-o', $out);
is(sha256_hex(slurp($out)), sha256_hex($odd), 'rate-limited reader over HTTP/2')
    or diag($r->{all});

$r = $t->curl('https://127.0.0.1:' . $t->port(2) . '/dav/slow.bin',
              '--http1.1', '--limit-rate', '2M', '-T',
              $t->dir . '/html/odd.bin', '-o', '/dev/null', '-w',
              '%{http_code}');
like($r->{out}, qr/^20[14]$/, 'slow upload') or diag($r->{all});
is(sha256_hex(slurp($t->dir . '/dav/slow.bin')), sha256_hex($odd),
   'slow upload arrived intact');

# ranges go through the same path
$r = $t->curl('/odd.bin', '--http1.1', '-r', '100-199');
is($r->{out}, substr($odd, 100, 100), 'range request');

# a large body through proxy_pass to the backend, and back
my $body = $t->dir . '/body.bin';
for my $v ('--http1.1', '--http2') {
    (my $name = $v) =~ s/\W//g;
    $r = $t->curl("/dav/up-$name.bin", $v, '-T', $body, '-o', '/dev/null',
                  '-w', '%{http_code}');
    like($r->{out}, qr/^20[14]$/, "PUT 5 MB through proxy_pass $v")
        or diag($r->{all});
    is(sha256_hex(slurp($t->dir . "/dav/up-$name.bin")),
       sha256_hex(slurp($body)), "backend got the body intact $v");
    unlink($out);
    $r = $t->curl("/dav/up-$name.bin", $v, '-o', $out);
    is(sha256_hex(slurp($out)), sha256_hex(slurp($body)),
       "body back through proxy_pass $v");
}

# a client that reads a little of a big response and vanishes
$r = $t->python(<<'PY', $t->port(0));
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for i in range(5):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
    s.recv(1000)
    s.close()
print("done")
PY
like($r->{out}, qr/done/, 'clients vanished mid-response') or diag($r->{all});

# the server still serves
$r = $t->curl('/odd.bin', '--http1.1', '-o', $out);
is(sha256_hex(slurp($out)), sha256_hex($odd), 'still serving afterwards');

# and holds no connection for the vanished clients
my $active = -1;
for (1 .. 50) {
    $r = $t->curl('/status', '--http1.1');
    ($active) = $r->{out} =~ /Active connections: (\d+)/;
    last if defined $active && $active == 1;
    select(undef, undef, undef, 0.1);
}
is($active, 1, 'no connection left behind (stub_status)') or diag($r->{all});

$t->stop;

my $log = $t->read_file('logs/access.log');
like($log, qr{^/big\.bin 12582912 \d+}m, '$body_bytes_sent of big.bin')
    or diag($log);
like($log, qr{^/odd\.bin 1000003 }m, '$body_bytes_sent of odd.bin');
my ($sent) = $log =~ m{^/odd\.bin 1000003 (\d+)}m;
ok($sent && $sent > 1000003 && $sent < 1000003 + 1000,
   '$bytes_sent is plaintext (headers + body)') or diag($log);
unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts')
    or diag($t->error_log);
unlike($t->error_log, qr/open socket .* left in connection/,
       'no connection leaked');

done_testing();
