#!/usr/bin/perl

# zigtls nginx module, operations: directives at http{} level, reuseport
# with several workers, proxy_protocol on a zigtls listen, reconnecting
# clients (openssl s_client -reconnect / -sess_out: full handshakes, no
# resumption yet), ALPN without h2, "nginx -s reload" with a new
# certificate, and a binary upgrade (USR2), serving throughout.

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin slurp);

need_bin($_) for qw(curl openssl python3);

my $t = ZtNginx->new;
$t->certs;
$t->cert('one', cn => 'one.test');
$t->cert('two', cn => 'two.test');
copy($t->dir . '/certs/one.crt', $t->dir . '/certs/live.crt') or die;
copy($t->dir . '/certs/one.key', $t->dir . '/certs/live.key') or die;
$t->write_file('html/index.html', "ops\n");

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log %%DIR%%/logs/access.log;

    # inherited by the servers below
    zigtls on;
    zigtls_certificate %%CERTS%%/ecdsa.crt;
    zigtls_certificate_key %%CERTS%%/ecdsa.key;
    zigtls_handshake_timeout 5s;

    server {
        listen 127.0.0.1:%%PORT_0%% reuseport deferred;
        server_name localhost;
        root %%DIR%%/html;
        location = /pid { return 200 "$pid\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%% proxy_protocol;
        location / {
            return 200 "$proxy_protocol_addr $remote_addr $scheme $zigtls_protocol\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        zigtls_alpn http/1.1;
        location / { return 200 "$server_protocol alpn=$zigtls_alpn\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_3%%;
        zigtls_certificate %%CERTS%%/live.crt;
        zigtls_certificate_key %%CERTS%%/live.key;
        location / { return 200 "live\n"; }
    }
}
CONF
$t->start;

my $r;

# reuseport + 2 workers: both serve
my %pids;
for (1 .. 40) {
    $r = $t->curl('/pid', '--http1.1');
    $pids{$r->{out}}++ if $r->{ok};
}
is(scalar(grep { /^\d+$/ } map { s/\n//r } keys %pids), 2,
   'reuseport: two workers answered') or diag(join ',', keys %pids);

# proxy_protocol before the ClientHello
$r = $t->python(<<'PY', $t->port(1));
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
raw.sendall(b"PROXY TCP4 192.0.2.7 192.0.2.1 40000 443\r\n")
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.split(b"\r\n\r\n", 1)[1].decode(), end="")
PY
is($r->{out}, "192.0.2.7 127.0.0.1 https TLSv1.3\n",
   'proxy_protocol on a zigtls listen') or diag($r->{all});

# s_client -reconnect: every connection completes (full handshakes)
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(0),
          '-servername', 'localhost', '-reconnect'], 30, stdin => '');
my $n = () = $r->{out} =~ /^(New|Reused), TLSv1\.3/mg;
is($n, 6, 's_client -reconnect: 6 handshakes') or diag($r->{all});

my $sess = $t->dir . '/tmp/sess.pem';
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(0),
          '-sess_out', $sess], 20, stdin => '');
like($r->{out}, qr/TLSv1\.3/, 's_client -sess_out') or diag($r->{all});
if (-s $sess) {
    $r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(0),
              '-sess_in', $sess], 20, stdin => '');
    like($r->{out}, qr/^(New|Reused), TLSv1\.3/m,
         's_client -sess_in: handshake completes') or diag($r->{all});
} else {
    # the core issues no session tickets yet: nothing to resume
    unlike($r->{out}, qr/NewSessionTicket|Reused/,
           's_client -sess_out: no ticket issued, full handshakes only');
}

# ALPN without h2: curl --http2 falls back to HTTP/1.1
$r = $t->curl('https://127.0.0.1:' . $t->port(2) . '/', '--http2');
is($r->{out}, "HTTP/1.1 alpn=http/1.1\n", 'zigtls_alpn http/1.1: no h2')
    or diag($r->{all});

# a client offering only an unknown protocol
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(2),
          '-alpn', 'foo/1'], 20, stdin => '');
like($r->{out}, qr/No ALPN negotiated|no_application_protocol|ALPN protocol/i,
     'unknown ALPN: served without ALPN or refused cleanly')
    or diag($r->{all});

sub cn_on {
    my ($port) = @_;
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port"], 20,
                stdin => '');
    my ($cn) = $r->{out} =~ m{^subject=.*?CN\s*=\s*([^\s,/]+)}m;
    return $cn // '';
}

# reload with a new certificate: new connections get it
my $p3 = $t->port(3);
is(cn_on($p3), 'one.test', 'before reload: old certificate');

# a keep-alive connection opened before the reload
my $ka = $t->dir . '/tmp/ka.out';
my $kapid = ZtTest::start_bg({ stdout => $ka, stderr => $ka }, 'python3',
    $t->write_file('tmp/ka.py', <<'PY'), $t->port(0));
import socket, ssl, sys, time
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20),
                    suppress_ragged_eofs=False)
s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"ops" not in data:
    d = s.recv(4096)
    if not d:
        break
    data += d
print("first", b"ops" in data, flush=True)
time.sleep(1.5)
# the old worker closed this idle keep-alive connection: cleanly?
s = s  # (suppress_ragged_eofs stays default: SSLEOFError means truncation)
try:
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
except OSError:
    pass
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    print("second", "served" if b"ops" in data else "clean-close", flush=True)
except ssl.SSLEOFError:
    print("second truncated", flush=True)
except OSError as e:
    print("second error", e, flush=True)
PY
sleep(0.5);

copy($t->dir . '/certs/two.crt', $t->dir . '/certs/live.crt') or die;
copy($t->dir . '/certs/two.key', $t->dir . '/certs/live.key') or die;
$r = run(['/usr/sbin/nginx', '-p', $t->dir . '/', '-c', $t->{conf}, '-s',
          'reload'], 20);
is($r->{exit}, 0, 'nginx -s reload') or diag($r->{all});

my $deadline = time + 10;
my $cn = '';
while (time < $deadline) {
    $cn = cn_on($p3);
    last if $cn eq 'two.test';
    sleep(0.2);
}
is($cn, 'two.test', 'after reload: new certificate');
$r = $t->curl('/index.html', '--http2');
is($r->{out}, "ops\n", 'serving after reload');
ZtTest::stop_pid($kapid, 10) if 0;
$deadline = time + 10;
sleep(0.1) while time < $deadline && slurp($ka) !~ /second/;
like(slurp($ka), qr/first True\s+second (served|clean-close)/,
     'keep-alive connection from before the reload: served or closed with close_notify')
    or diag(slurp($ka));
waitpid($kapid, 0);

# binary upgrade: USR2 starts a new master on the same sockets (nginx
# ignores USR2 unless it runs as a daemon, so this instance does)
$t->stop;
my $conf = $t->read_file('conf/nginx.conf');
$conf =~ s/^daemon off;/daemon on;/m;
my $dconf = $t->write_file('conf/daemon.conf', $conf);
my $pidfile = $t->dir . '/logs/nginx.pid';
unlink($pidfile);
$r = run(['/usr/sbin/nginx', '-p', $t->dir . '/', '-c', $dconf], 20);
is($r->{exit}, 0, 'daemonized nginx started') or diag($r->{all});
$deadline = time + 10;
sleep(0.05) while time < $deadline && !-s $pidfile;
my ($old) = slurp($pidfile) =~ /(\d+)/;
ZtTest::wait_port($t->port(0), 10);
$r = $t->curl('/index.html', '--http1.1');
is($r->{out}, "ops\n", 'daemon serving');

kill('USR2', $old);
$deadline = time + 10;
my $new;
while (time < $deadline) {
    if (-e "$pidfile.oldbin" && -s $pidfile) {
        ($new) = slurp($pidfile) =~ /(\d+)/;
        last if $new && $new != $old;
    }
    sleep(0.05);
}
ok($new && $new != $old, 'binary upgrade: new master ' . ($new // '-'))
    or diag($t->error_log);
sleep(0.5);
$r = $t->curl('/index.html', '--http1.1');
is($r->{out}, "ops\n", 'serving with both masters');
kill('QUIT', $old);
$deadline = time + 10;
sleep(0.05) while time < $deadline && kill(0, $old);
ok(!kill(0, $old), 'old master gone');
$r = $t->curl('/index.html', '--http2');
is($r->{out}, "ops\n", 'serving from the new master alone');
is(cn_on($p3), 'two.test', 'new master: certificate');
kill('QUIT', $new) if $new;
$deadline = time + 10;
sleep(0.05) while time < $deadline && $new && kill(0, $new);
ok(!($new && kill(0, $new)), 'new master stopped');
END { local $?; kill('TERM', $new) if $new && kill(0, $new); }

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts')
    or diag($t->error_log);

done_testing();
