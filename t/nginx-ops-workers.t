#!/usr/bin/perl

# Gauges after a worker dies: "active" and "handshakes in progress" are
# kept per worker slot, and the worker nginx starts in place of one killed
# with SIGKILL clears what the dead one left. Two workers (reuseport
# spreads the clients), connections that finished their handshake and
# connections that never sent a ClientHello; one worker is killed; the
# gauges then count exactly the connections still open, and started =
# succeeded + failed + in progress still holds.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;

my $t = ZtNginx->new;
$t->certs;

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;
    zigtls_zone ops:1m;
    keepalive_timeout 60s;

    server {
        listen 127.0.0.1:%%PORT_0%% reuseport;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_handshake_timeout 60s;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        location = /status { zigtls_status; }
    }
}
CONF
$t->start;

$t->{python_timeout} = 90;
my $r = $t->python(<<'PY', $t->port(0), $t->port(1), $t->pid);
import os, re, signal, socket, ssl, sys, time, urllib.request

port, sport, master = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
N, M = 16, 6

def status():
    page = urllib.request.urlopen("http://127.0.0.1:%d/status" % sport,
                                  timeout=10).read().decode()
    a, p = re.search(r"active (\d+), handshakes in progress (\d+)",
                     page).groups()
    s, ok, f = re.search(r"started (\d+), succeeded (\d+), failed (\d+)",
                         page).groups()
    return int(a), int(p), int(s), int(ok), int(f)

def workers():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            if int(st.rsplit(")", 1)[1].split()[1]) == master:
                out.append(int(d))
    return sorted(out)

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
req = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"

tls = []
for i in range(N):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 10),
                        server_hostname="localhost")
    s.sendall(req)
    s.recv(4096)
    tls.append(s)
stalled = [socket.create_connection(("127.0.0.1", port), 10)
           for i in range(M)]
time.sleep(0.5)
print("before", *status())

before = workers()
victim = before[0]
os.kill(victim, signal.SIGKILL)
deadline = time.time() + 20
while time.time() < deadline:
    now = workers()
    if victim not in now and len(now) == len(before):
        break
    time.sleep(0.1)
print("workers", len(before), "replaced", int(victim not in workers()
                                               and len(workers()) == 2))
time.sleep(0.5)

alive_tls = 0
for s in tls:
    try:
        s.settimeout(5)
        s.sendall(req)
        if s.recv(4096):
            alive_tls += 1
    except (OSError, ssl.SSLError):
        pass
alive_stalled = 0
for s in stalled:
    s.settimeout(0.3)
    try:
        if s.recv(1) == b"":
            continue
    except socket.timeout:
        pass
    except OSError:
        continue
    alive_stalled += 1
print("alive", alive_tls, alive_stalled)
print("after", *status())
PY
diag($r->{all}) unless $r->{ok};

my ($a0, $p0) = $r->{out} =~ /^before (\d+) (\d+)/m;
is($a0, 22, 'before: 16 connections and 6 waiting ones are active');
is($p0, 6, 'before: 6 handshakes in progress');
like($r->{out}, qr/^workers 2 replaced 1$/m,
     'a worker killed with SIGKILL was replaced');
my ($lt, $ls) = $r->{out} =~ /^alive (\d+) (\d+)/m;
ok(defined $lt && $lt < 16 + 0 && defined $ls,
   "the killed worker took connections with it ($lt of 16 left, $ls of 6)");
my ($a1, $p1, $s1, $ok1, $f1) =
    $r->{out} =~ /^after (\d+) (\d+) (\d+) (\d+) (\d+)/m;
is($a1, $lt + $ls, "after: active counts the open connections ($a1)");
is($p1, $ls, "after: in progress counts the waiting ones left ($p1)");
is($s1, $ok1 + $f1 + $p1,
   "started = succeeded + failed + in progress ($s1 = $ok1 + $f1 + $p1)");
like($t->error_log,
     qr/zigtls: \d+ connections and \d+ handshakes of a worker that ended without closing them cleared/,
     'the clearing is logged');

$t->stop;
done_testing();
