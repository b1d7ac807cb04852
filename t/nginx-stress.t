#!/usr/bin/perl

# zigtls nginx module: many misbehaving clients at once (partial
# ClientHellos, garbage, handshakes then silence, clients vanishing
# mid-request and mid-response, slow readers) mixed with good ones, on
# http and stream. nginx must keep serving, no worker may crash, and no
# connection may be left behind. Run it with ZT_VALGRIND=1 for memcheck.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new(stream => 1);
$t->certs;
$t->write_file('html/index.html', "stress\n");
$t->write_file('html/big.bin', 'z' x 300_000);

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;
    keepalive_timeout 2s;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_certificate %%CERTS%%/rsa.crt;
        zigtls_certificate_key %%CERTS%%/rsa.key;
        zigtls_handshake_timeout 2s;
        root %%DIR%%/html;
        location = /status { stub_status; }
        location = /echo { proxy_pass http://127.0.0.1:%%PORT_2%%/; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        location / { return 200 "backend\n"; }
    }
}

stream {
    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_handshake_timeout 2s;
        proxy_pass 127.0.0.1:%%PORT_2%%;
    }
}
CONF
$t->start;

$t->{python_timeout} = 240;
my $r = $t->python(<<'PY', $t->port(0), $t->port(1));
import os, random, socket, ssl, sys, threading, time
http_port, stream_port = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(1234)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ok = {"good": 0, "good_ok": 0}
lock = threading.Lock()

def conn(port, timeout=15):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)

def good(port):
    s = ctx.wrap_socket(conn(port), server_hostname="localhost")
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    with lock:
        ok["good"] += 1
        if data.endswith(b"stress\n") or data.endswith(b"backend\n"):
            ok["good_ok"] += 1

def partial_hello(port):
    s = conn(port)
    s.sendall(b"\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03\x03" + os.urandom(rnd.randint(0, 60)))
    time.sleep(rnd.random() * 0.5)
    s.close()

def garbage(port):
    s = conn(port)
    s.sendall(os.urandom(rnd.randint(1, 3000)))
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()

def silent_after_handshake(port):
    s = ctx.wrap_socket(conn(port), server_hostname="localhost")
    time.sleep(rnd.random() * 0.3)
    s.close()

def vanish_mid_response(port):
    s = ctx.wrap_socket(conn(port), server_hostname="localhost")
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(rnd.randint(1, 5000))
    s.close()

def vanish_mid_request(port):
    s = ctx.wrap_socket(conn(port), server_hostname="localhost")
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * rnd.randint(0, 50000))
    s.close()

def reset_mid_handshake(port):
    s = conn(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.sendall(b"\x16\x03\x01\x00\x05")
    s.close()

def slow_reader(port):
    s = ctx.wrap_socket(conn(port), server_hostname="localhost")
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    n = 0
    while n < 300000:
        d = s.recv(4096)
        if not d:
            break
        n += len(d)
        time.sleep(0.0005)
    s.close()

bad = [partial_hello, garbage, silent_after_handshake, vanish_mid_response,
       vanish_mid_request, reset_mid_handshake, slow_reader]

def worker(i):
    port = http_port if i % 3 else stream_port
    kinds = [good] * 3 + bad
    for _ in range(6):
        f = rnd.choice(kinds)
        if port == stream_port and f in (vanish_mid_response, vanish_mid_request, slow_reader):
            f = good
        try:
            f(port)
        except Exception as e:
            if f is good:
                with lock:
                    ok["good"] += 1
                print("good failed:", type(e).__name__, e)

threads = [threading.Thread(target=worker, args=(i,)) for i in range(60)]
for th in threads:
    th.start()
for th in threads:
    th.join(180)
print("good", ok["good"], "ok", ok["good_ok"])
PY
my ($good, $okc) = $r->{out} =~ /^good (\d+) ok (\d+)$/m;
ok($good && $good > 50, "many good clients ran ($good)") or diag($r->{all});
is($okc, $good, 'every good client was served') or diag($r->{all});

# nginx is still there and lets the dead connections go
my $active = -1;
for (1 .. 100) {
    my $s = $t->curl('/status', '--http1.1');
    ($active) = $s->{out} =~ /Active connections: (\d+)/;
    last if defined $active && $active == 1;
    select(undef, undef, undef, 0.1);
}
is($active, 1, 'no connection left behind');

$t->stop(30);
unlike($t->error_log, qr/\[(alert|crit|emerg)\]|exited on signal/,
       'no crash, no alert') or diag(join "\n", grep { /alert|crit|emerg|signal/ } split /\n/, $t->error_log);

done_testing();
