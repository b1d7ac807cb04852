#!/usr/bin/perl

# zigtls nginx module, stream: two zigtls servers in one worker, one
# proxying to a TLS backend (proxy_ssl on), one to a plain backend, with
# sessions of both open at once, in both orders. Each upstream connection
# keeps its own receive function: data arrives intact end to end on both,
# and the worker survives.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin start_bg stop_pid wait_port);

need_bin($_) for qw(openssl python3);

my $t = ZtNginx->new(stream => 1);
my $c = $t->certs;

# backends: a plain echo on port 2, a TLS echo on port 3; each answers a
# line with "<name>:<line>" so that the client knows who answered
my $backend = $t->write_file('tmp/backend.py', <<'PY');
import socket, ssl, sys, threading
plain_port, tls_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), \
    sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
def echo(c, name):
    try:
        f = c.makefile("rb")
        while True:
            line = f.readline()
            if not line:
                break
            c.sendall(name + b":" + line)
    except Exception:
        pass
    finally:
        c.close()
def serve(port, name, tls):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        if tls:
            try:
                c = ctx.wrap_socket(c, server_side=True)
            except Exception:
                c.close()
                continue
        threading.Thread(target=echo, args=(c, name), daemon=True).start()
threading.Thread(target=serve, args=(tls_port, b"tls", True),
                 daemon=True).start()
serve(plain_port, b"plain", False)
PY
my $bpid = start_bg({ stdout => $t->dir . '/logs/backend.log',
                      stderr => $t->dir . '/logs/backend.log' },
                    'python3', $backend, $t->port(2), $t->port(3),
                    $c->{ecdsa}{cert}, $c->{ecdsa}{key});
END { local $?; stop_pid($bpid, 3) if $bpid; }
ok(wait_port($t->port(2), 10) && wait_port($t->port(3), 10),
   'backends listening') or BAIL_OUT('backend did not start');

$t->write_conf(<<'CONF');
stream {
    zigtls_certificate %%CERTS%%/ecdsa.crt;
    zigtls_certificate_key %%CERTS%%/ecdsa.key;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        proxy_pass 127.0.0.1:%%PORT_3%%;
        proxy_ssl on;
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        proxy_pass 127.0.0.1:%%PORT_2%%;
    }
}
CONF
$t->start;

# two TLS clients, A then B: A talks, B talks (both sessions open), then A
# and B again; every answer must be the backend's line, byte for byte
my $client = <<'PY';
import socket, ssl, sys, time
first, second = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def open_one(port):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")
def ask(s, line):
    s.sendall(line)
    got = b""
    deadline = time.time() + 10
    while not got.endswith(b"\n") and time.time() < deadline:
        try:
            d = s.recv(4096)
        except (OSError, ssl.SSLError) as e:
            return got + (" <%s>" % type(e).__name__).encode()
        if not d:
            return got + b" <eof>"
        got += d
    return got
a = open_one(first)
b = open_one(second)
print("a1", ask(a, b"a-one\n"))
print("b1", ask(b, b"b-one\n"))
print("a2", ask(a, b"a-two\n"))
print("b2", ask(b, b"b-two\n"))
print("a3", ask(a, b"x" * 20000 + b"\n")[-30:])
print("b3", ask(b, b"y" * 20000 + b"\n")[-30:])
a.close()
b.close()
PY

my %name = ($t->port(0) => 'tls', $t->port(1) => 'plain');

for my $order ([0, 1], [1, 0]) {
    my ($p1, $p2) = map { $t->port($_) } @$order;
    my ($n1, $n2) = ($name{$p1}, $name{$p2});
    my $r = $t->python($client, $p1, $p2);
    my $what = "$n1 upstream first, then $n2";
    like($r->{out}, qr/^a1 b'$n1:a-one\\n'$/m, "$what: first session")
        or diag($r->{all});
    like($r->{out}, qr/^b1 b'$n2:b-one\\n'$/m, "$what: second session")
        or diag($r->{all});
    like($r->{out}, qr/^a2 b'$n1:a-two\\n'$/m,
         "$what: first session again, after the second one started")
        or diag($r->{all});
    like($r->{out}, qr/^b2 b'$n2:b-two\\n'$/m, "$what: second session again")
        or diag($r->{all});
    like($r->{out}, qr/^a3 b'x{29}\\n'$/m, "$what: 20 kB line, first session")
        or diag($r->{all});
    like($r->{out}, qr/^b3 b'y{29}\\n'$/m, "$what: 20 kB line, second session")
        or diag($r->{all});
    unlike($t->error_log, qr/exited on signal/, "$what: worker survives")
        or diag($t->error_log);
}

$t->stop;

unlike($t->error_log, qr/\[(alert|crit|emerg)\]|exited on signal/,
       'no alerts, no crashed worker') or diag($t->error_log);

done_testing();
