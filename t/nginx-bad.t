#!/usr/bin/perl

# zigtls nginx module: bad and hostile clients. A TLS 1.2-only client gets
# protocol_version; garbage gets an alert and a closed connection; a client
# that stalls mid-handshake is cut at zigtls_handshake_timeout while others
# are served; 200 concurrent handshakes all succeed; each failed handshake
# leaves one info line (client, SNI, reason, alert).

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin($_) for qw(curl openssl h2load python3 gnutls-cli);

my $t = ZtNginx->new;
$t->certs;
$t->write_file('html/index.html', "hello\n");

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_handshake_timeout 2s;
        root %%DIR%%/html;
    }
}
CONF
$t->start;
my $port = $t->port(0);
my $r;

# TLS 1.2 only
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
          '-servername', 'tls12.test', '-tls1_2'], 20, stdin => '');
like($r->{all}, qr/alert protocol version/i,
     'TLS 1.2-only client gets protocol_version') or diag($r->{all});

$r = run(['gnutls-cli', '--insecure', '--port', $port,
          '--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.2', '127.0.0.1'], 20,
         stdin => '');
like($r->{all}, qr/protocol.version|Protocol version|not supported/i,
     'gnutls-cli TLS 1.2 only is refused') or diag($r->{all});

# garbage: an alert record, then the connection is closed
sub raw_exchange {
    my ($bytes, $secs) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or die "connect: $!\n";
    syswrite($s, $bytes);
    my $got = '';
    my $closed = 0;
    my $sel = IO::Select->new($s);
    my $deadline = time + $secs;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, my $buf, 4096);
        if (!$n) { $closed = 1; last; }
        $got .= $buf;
    }
    close($s);
    return ($got, $closed);
}

my ($got, $closed) = raw_exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5);
ok($closed, 'plain HTTP: connection closed');
like(unpack('H*', $got), qr/^15030[13]000202[0-9a-f]{2}$/,
     'plain HTTP: one fatal alert record') or diag(unpack('H*', $got));

($got, $closed) = raw_exchange(join('', map { chr(int(rand(256))) } 1 .. 300)
                               . "\x16\x03\x01\x00\x05garbage", 5);
ok($closed, 'random bytes: connection closed');

($got, $closed) = raw_exchange("\x16\x03\x01\x00\x08\x01\x00\x00\x04\xff\xff\xff\xff", 5);
ok($closed, 'malformed ClientHello: connection closed');
like(unpack('H*', $got), qr/^15030[13]000202[0-9a-f]{2}$/,
     'malformed ClientHello: fatal alert') or diag(unpack('H*', $got));

# a client that stalls mid-handshake is cut at the timeout ...
my $stall = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
    or die "connect: $!\n";
syswrite($stall, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
my $t0 = time;

# ... while others are served
$r = $t->curl('/index.html', '--http1.1');
is($r->{out}, "hello\n", 'served while a client stalls') or diag($r->{all});

my $sel = IO::Select->new($stall);
my $cut = 0;
while (time - $t0 < 10) {
    last unless $sel->can_read(10 - (time - $t0));
    my $n = sysread($stall, my $buf, 4096);
    if (!$n) { $cut = time - $t0; last; }
}
ok($cut >= 1.5 && $cut < 6, "stalled client cut at the timeout ($cut s)");
close($stall);

# 200 concurrent handshakes (h2load: 200 clients, one request each)
$r = run(['h2load', '-n', '200', '-c', '200', '-t', '4',
          "https://127.0.0.1:$port/index.html"], 120);
like($r->{out}, qr/200 succeeded, 0 failed, 0 errored/,
     '200 concurrent HTTP/2 handshakes') or diag($r->{all});

# and 200 over HTTP/1.1 from Python threads
$r = $t->python(<<'PY', $port);
import socket, ssl, sys, threading
port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ok = []
barrier = threading.Barrier(200, timeout=30)
def one():
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        barrier.wait()
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        if data.endswith(b"hello\n"):
            ok.append(1)
    except Exception as e:
        print("error", e)
th = [threading.Thread(target=one) for _ in range(200)]
for x in th: x.start()
for x in th: x.join(60)
print("ok", len(ok))
PY
like($r->{out}, qr/^ok 200$/m, '200 concurrent handshakes from Python')
    or diag($r->{all});

$t->stop;

my $log = $t->error_log;
like($log, qr/\[info\].*zigtls handshake failed: protocol_version, alert sent: protocol_version, sni: "(tls12\.test)?".*client: 127\.0\.0\.1/,
     'info line: TLS 1.2 client') or diag($log);
like($log, qr/\[info\].*zigtls handshake failed: timed out, sni: "", alert sent: none.*client: 127\.0\.0\.1/,
     'info line: handshake timeout');
like($log, qr/\[info\].*zigtls handshake failed: \w+, alert sent: \w+.*client: 127\.0\.0\.1/,
     'info line: garbage');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alerts') or diag($log);

done_testing();
