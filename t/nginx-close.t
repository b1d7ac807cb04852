#!/usr/bin/perl

# zigtls nginx module: close_notify on every way a connection ends
# (Connection: close, HTTP/1.0, keep-alive timeout, lingering close,
# HTTP/2 GOAWAY on idle timeout, worker shutdown) and truncation by the
# client detected and logged.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new;
$t->certs;
$t->write_file('html/index.html', "hello\n");

$t->write_conf(<<'CONF');
http {
    access_log off;
    keepalive_timeout 1s;
    client_header_timeout 2s;   # HTTP/2 before its first request
    keepalive_requests 2;       # HTTP/2: GOAWAY after the second stream
    lingering_close always;
    lingering_timeout 1s;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        root %%DIR%%/html;
        client_max_body_size 1k;

        location = /small {
            return 200 "small\n";
        }
    }
}
CONF
$t->start;

# A python client: send, read everything, and say how the stream ended.
my $client = <<'PY';
import socket, ssl, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode in ("h2", "h2ka", "h2idle"):
    ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=15),
                    server_hostname="localhost", suppress_ragged_eofs=False)
if mode == "close":
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
elif mode == "http10":
    s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
elif mode == "keepalive":
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
elif mode == "linger":
    # a body bigger than client_max_body_size: 413, lingering close
    s.sendall(b"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 5000)
elif mode == "h2":
    # preface + empty SETTINGS, then idle until GOAWAY and close
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
elif mode == "h2ka":
    # three GET streams at once: GOAWAY after the second, then close
    def hdr(sid):
        block = bytes([0x82, 0x87, 0x84, 0x41, 0x01, 0x78])
        return bytes([0, 0, len(block), 1, 0x05]) + sid.to_bytes(4, "big") + block
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
              + hdr(1) + hdr(3) + hdr(5))
elif mode == "idle":
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(65536)
    print("ready", flush=True)
elif mode == "h2idle":
    block = bytes([0x82, 0x87, 0x84, 0x41, 0x01, 0x78])
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
              + bytes([0, 0, len(block), 1, 0x05, 0, 0, 0, 1]) + block)
    got = b""
    while b"hello" not in got:
        got += s.recv(65536)
    print("ready", flush=True)
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    print("clean-eof")
except ssl.SSLEOFError:
    print("truncated")
except Exception as e:
    print("error", type(e).__name__, e)
print("got", len(data), data[:12])
if mode in ("h2", "h2ka", "h2idle"):
    print("goaway", b"\x00\x00\x08\x07\x00\x00\x00\x00\x00" in data)
PY

my $port = $t->port(0);
for my $mode (qw(close http10 keepalive linger h2 h2ka)) {
    my $r = $t->python($client, $port, $mode);
    like($r->{out}, qr/clean-eof/, "close_notify: $mode") or diag($r->{all});
    like($r->{out}, qr/goaway True/, "GOAWAY seen: $mode") if $mode =~ /h2/;
}

# worker shutdown: idle keep-alive connections (HTTP/1.1, HTTP/2) get
# close_notify (HTTP/2: after GOAWAY)
for my $mode (qw(idle h2idle)) {
    $t->start unless $t->pid;
    my $f = $t->write_file("tmp/$mode.py", $client);
    my $res = $t->dir . "/tmp/$mode.out";
    my $pid = ZtTest::start_bg({ stdout => $res, stderr => $res },
                               'python3', $f, $port, $mode);
    my $deadline = time + 10;
    select(undef, undef, undef, 0.05)
        while time < $deadline && $t->read_file($res) !~ /ready/;
    like($t->read_file($res), qr/ready/, "$mode client is connected")
        or diag($t->read_file($res));
    my $t0 = time;
    $t->stop(10);
    ok(time - $t0 < 5, "$mode: nginx -s quit is prompt with an idle connection");
    ZtTest::stop_pid($pid, 10);
    like($t->read_file($res), qr/clean-eof/,
         "close_notify: worker shutdown ($mode)") or diag($t->read_file($res));
    like($t->read_file($res), qr/goaway True/, 'GOAWAY before it')
        if $mode eq 'h2idle';
}

# waiting for a ClientHello does not hold up "quit"
$t->start;
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp')
        or die "connect: $!\n";
    select(undef, undef, undef, 0.2);
    my $t0 = time;
    $t->stop(10);
    ok(time - $t0 < 5, 'quit is prompt while a client has sent nothing');
    close($s);
}

# truncation: the client closes TCP after a request without close_notify
$t->start;
{
    my $r = $t->python(<<'PY', $port);
import socket, ssl, sys, time
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(65536)
s.shutdown(socket.SHUT_RDWR)   # TCP only: no close_notify
s.close()
time.sleep(0.3)
print("ok")
PY
    like($r->{out}, qr/ok/, 'client truncated its side') or diag($r->{all});
    $t->stop;
    like($t->error_log, qr/without close_notify \(truncated\)/,
         'truncation logged') or diag($t->error_log);
}

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts')
    or diag($t->error_log);

done_testing();
