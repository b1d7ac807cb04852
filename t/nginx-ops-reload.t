#!/usr/bin/perl

# zigtls operations plane: certificate hot reload with two workers.
#   - four bounded client loops handshake all the time while the certificate
#     files go good -> broken -> new good, with a POST to zigtls_reload
#     after each: zero failed handshakes, generations 1 -> 2 -> 2 -> 3,
#     the new certificate served right after each successful POST
#   - the JSON answer, 405 for other methods, rollback (and back again)
#   - a connection opened before the reloads keeps working on its old
#     generation
#   - zigtls_certificate_reload_interval picks up changed files by itself

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtProm;
use ZtTest qw(run need_bin start_bg stop_pid);

need_bin($_) for qw(curl openssl python3);

my $t = ZtNginx->new;
$t->certs;
$t->cert($_, cn => "$_.test") for qw(one two three four);
my $cd = $t->dir . '/certs';

sub put {
    my ($name, $dst) = @_;
    # atomic replacement, as a deployment tool would do it
    for my $ext (qw(crt key)) {
        copy("$cd/$name.$ext", "$cd/$dst.$ext.tmp") or die "copy: $!";
        rename("$cd/$dst.$ext.tmp", "$cd/$dst.$ext") or die "rename: $!";
    }
}

sub fp {
    my ($name) = @_;
    my $r = run(['openssl', 'x509', '-in', "$cd/$name.crt", '-outform',
                 'DER'], 10);
    my $der = $r->{out};
    return unpack('H*', Digest::SHA::sha256($der));
}
use Digest::SHA ();

put('one', 'live');
put('one', 'watch');

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;
    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_0%% reuseport;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/live.crt;
        zigtls_certificate_key %%CERTS%%/live.key;
        keepalive_timeout 60s;
        location / { return 200 "gen $zigtls_cert_generation pid $pid\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        server_name watched;
        zigtls on;
        zigtls_certificate %%CERTS%%/watch.crt;
        zigtls_certificate_key %%CERTS%%/watch.key;
        zigtls_certificate_reload_interval 200ms;
        location / { return 200 "gen $zigtls_cert_generation\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        location = /reload { zigtls_reload; }
        location = /rollback { zigtls_reload rollback; }
        location = /metrics { zigtls_status prometheus; }
    }
}
CONF
$t->start;

my ($p0, $p1, $p2) = map { $t->port($_) } 0 .. 2;
my %fp = map { $_ => fp($_) } qw(one two three four);

# one handshake + request: "gen N fp HEX" or "fail ..."
my $probe = $t->write_file('tmp/probe.py', <<'PY');
import hashlib, socket, ssl, sys, time, os
port = int(sys.argv[1])
mode = sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def once():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="localhost")
    fp = hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        try:
            d = s.recv(4096)
        except ssl.SSLError:
            break
        if not d:
            break
        data += d
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1].decode().split()
    return "gen %s fp %s" % (body[1], fp)
if mode == "once":
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    for _ in range(n):
        try:
            print(once())
        except Exception as e:
            print("fail %r" % e)
    sys.exit(0)
# loop: until the stop file exists, at most 60 s
stop = sys.argv[3]
deadline = time.time() + 60
while time.time() < deadline and not os.path.exists(stop):
    try:
        print(once(), flush=True)
    except Exception as e:
        print("fail %r" % e, flush=True)
PY

sub probe {
    my ($port, $n) = @_;
    my $r = run(['python3', $probe, $port, 'once', $n || 1], 60);
    return [split /\n/, $r->{out}];
}

sub post {
    my ($path, $method) = @_;
    my $r = run(['curl', '-sS', '--max-time', '20', '-X', $method || 'POST',
                 '-w', '\n%{http_code}', "http://127.0.0.1:$p2$path"], 30);
    my ($body, $code) = $r->{out} =~ /^(.*)\n(\d+)$/s;
    my $json = eval { decode_json($body // '') };
    return ($code // 0, $json, $body);
}

# before anything: generation 1, certificate one
my $l = probe($p0, 4);
is_deeply($l, [("gen 1 fp $fp{one}") x 4], 'generation 1 serves cert one');

# a keep-alive connection opened now, used after the reloads
my $keep = $t->write_file('tmp/keep.py', <<'PY');
import socket, ssl, sys, time, os
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30),
                    server_hostname="localhost")
def response():
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"\n")
               and data.split(b"\r\n\r\n", 1)[1]):
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data.split(b"\r\n\r\n", 1)[1].decode().strip()
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
print(response(), flush=True)
deadline = time.time() + 30
while not os.path.exists(sys.argv[2]) and time.time() < deadline:
    time.sleep(0.05)
s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
print(response(), flush=True)
PY
my $keep_out = $t->dir . '/logs/keep.out';
my $keep_go = $t->dir . '/tmp/keep.go';
my $kpid = start_bg({ stdout => $keep_out, stderr => $keep_out },
                    'python3', $keep, $p0, $keep_go);

# four client loops run through all of it
my $stop = $t->dir . '/tmp/loop.stop';
my @lpids = map { start_bg({ stdout => $t->dir . "/logs/loop$_.out",
                             stderr => $t->dir . "/logs/loop$_.out" },
                           'python3', $probe, $p0, 'loop', $stop) } 1 .. 4;

# wait (bounded) until every loop and the kept connection have had an
# answer at generation 1
my $ready = time + 15;
while (time < $ready) {
    my $n = grep { $t->read_file("logs/loop$_.out") =~ /^gen 1 /m } 1 .. 4;
    last if $n == 4 && $t->read_file($keep_out) =~ /^gen 1 /m;
    sleep(0.05);
}

my ($code, $j, $raw);

# other methods: 405
($code) = post('/reload', 'GET');
is($code, 405, 'GET on zigtls_reload: 405');

# good: cert two
put('two', 'live');
($code, $j, $raw) = post('/reload');
is($code, 200, 'reload to cert two: 200') or diag($raw);
is($j->{generation}, 2, 'JSON: generation 2');
is($j->{servers}[0]{result}, 'ok', 'JSON: per-server result ok');
is($j->{servers}[0]{server}, 'localhost', 'JSON: server name');
is_deeply(probe($p0, 6), [("gen 2 fp $fp{two}") x 6],
          'right after the POST every worker serves cert two, generation 2');
sleep(0.3);

# broken: garbage certificate, key of another certificate
$t->write_file("$cd/live.crt.tmp", "-----BEGIN CERTIFICATE-----\nnope\n");
rename("$cd/live.crt.tmp", "$cd/live.crt");
($code, $j, $raw) = post('/reload');
is($code, 409, 'reload of a broken certificate: 409') or diag($raw);
is($j->{result}, 'failed', 'JSON: failed');
like($j->{servers}[0]{reason} // '', qr/live\.crt/,
     "JSON: reason names the file ($j->{servers}[0]{reason})");
is($j->{servers}[0]{generation}, 2, 'JSON: generation 2 kept');

copy("$cd/three.crt", "$cd/live.crt.tmp"); rename("$cd/live.crt.tmp", "$cd/live.crt");
# certificate three with the key of four: mismatch
copy("$cd/four.key", "$cd/live.key.tmp"); rename("$cd/live.key.tmp", "$cd/live.key");
($code, $j, $raw) = post('/reload');
is($code, 409, 'reload with a key that does not match: 409') or diag($raw);
diag("reason: $j->{servers}[0]{reason}") if $j;
is_deeply(probe($p0, 4), [("gen 2 fp $fp{two}") x 4],
          'after failed reloads cert two still serves');
sleep(0.3);

# new good: cert three
put('three', 'live');
($code, $j, $raw) = post('/reload');
is($code, 200, 'reload to cert three: 200') or diag($raw);
is($j->{generation}, 3, 'JSON: generation 3');
is_deeply(probe($p0, 6), [("gen 3 fp $fp{three}") x 6],
          'cert three, generation 3, from every worker');
sleep(0.3);

# stop the loop and read it
$t->write_file($stop, '');
my $deadline = time + 20;
while (time < $deadline && @lpids) {
    @lpids = grep { waitpid($_, POSIX::WNOHANG()) == 0 } @lpids;
    sleep(0.05);
}
stop_pid($_, 1) for @lpids;
my @loop = map { split /\n/, $t->read_file("logs/loop$_.out") } 1 .. 4;
my @fail = grep { /^fail/ } @loop;
my %seen;
for (@loop) { $seen{$1}++ if /^gen (\d+) / }
ok(@loop > 80, scalar(@loop) . ' handshakes in the client loops');
is(scalar @fail, 0, 'zero failed handshakes during the reloads')
    or diag(join("\n", @fail[0 .. ($#fail < 5 ? $#fail : 5)]));
ok($seen{1} && $seen{2} && $seen{3},
   'the loop saw generations 1, 2 and 3 ('
   . join(', ', map { "$_: $seen{$_}" } sort keys %seen) . ')');
my $bad = grep { /^gen (\d+) fp (\w+)/
                 && $2 ne { 1 => $fp{one}, 2 => $fp{two},
                            3 => $fp{three} }->{$1} } @loop;
is($bad, 0, 'each generation always came with its own certificate');

# the connection opened at generation 1 still works
$t->write_file($keep_go, '');
$deadline = time + 20;
while (time < $deadline && waitpid($kpid, POSIX::WNOHANG()) == 0) {
    sleep(0.05);
}
stop_pid($kpid, 1);
my @k = split /\n/, $t->read_file($keep_out);
like($k[0] // '', qr/^gen 1 /, 'kept connection: first request at gen 1');
like($k[1] // '', qr/^gen 1 /,
     'kept connection: second request after two reloads, still gen 1')
    or diag(join("\n", @k));

# rollback: back to two, and again (a swap) to three
($code, $j, $raw) = post('/rollback');
is($code, 200, 'rollback: 200') or diag($raw);
is($j->{generation}, 2, 'rollback: generation 2');
is_deeply(probe($p0, 4), [("gen 2 fp $fp{two}") x 4], 'rollback serves two');
($code, $j, $raw) = post('/reload?rollback');
is($j->{generation}, 3, '?rollback again: generation 3') or diag($raw);
is_deeply(probe($p0, 4), [("gen 3 fp $fp{three}") x 4], 'and three again');

# nginx -s reload: the files are those of generation 3, which keeps its
# number in the new workers
my %pid0 = map { /pid (\d+)/ ? ($1 => 1) : () }
           map { run(['curl', '-sk', "https://127.0.0.1:$p0/"], 10)->{out} }
           1 .. 8;
$t->signal('HUP');
my $deadline2 = time + 10;
my $newpid;
while (time < $deadline2 && !$newpid) {
    sleep(0.2);
    my $o = run(['curl', '-sk', "https://127.0.0.1:$p0/"], 10)->{out};
    my ($g, $pid) = $o =~ /^gen (\d+) pid (\d+)/;
    $newpid = $pid if $pid && !$pid0{$pid} && $g == 3;
}
ok($newpid, 'after nginx -s reload new workers answer with generation 3')
    or diag(run(['curl', '-sk', "https://127.0.0.1:$p0/"], 10)->{out});
is_deeply(probe($p0, 4), [("gen 3 fp $fp{three}") x 4],
          'and cert three');

# metrics
my $m = ZtProm::parse(run(['curl', '-sS', "http://127.0.0.1:$p2/metrics"],
                          10)->{out});
is(ZtProm::value($m, 'zigtls_certificate_generation', server => 'localhost'),
   3, 'metrics: generation 3');
is(ZtProm::value($m, 'zigtls_certificate_reloads_total',
                 server => 'localhost', result => 'failure'), 2,
   'metrics: 2 failed reloads');
is(ZtProm::value($m, 'zigtls_certificate_reloads_total',
                 server => 'localhost', result => 'success'), 2,
   'metrics: 2 successful reloads');
is(ZtProm::value($m, 'zigtls_certificate_reload_requests_total'), 6,
   'metrics: 6 reload requests (the GET not counted)');
is(ZtProm::sum($m, 'zigtls_handshakes_failed_total', reason => 'internal'),
   0, 'no internal errors');

# the watcher: server "watched" picks up new files by itself
my $w0 = probe($p1)->[0];
like($w0, qr/^gen \d+ fp $fp{one}$/, 'watched server serves cert one');
my ($g0) = $w0 =~ /^gen (\d+)/;
put('four', 'watch');
my $w;
$deadline = time + 5;
while (time < $deadline) {
    sleep(0.1);
    $w = probe($p1, 4);
    last if !grep { !/fp $fp{four}$/ } @$w;
}
is_deeply([map { /fp (\w+)$/ ? $1 : $_ } @$w], [($fp{four}) x 4],
          'the interval watcher loaded cert four in every worker');
my ($g1) = ($w->[0] // '') =~ /^gen (\d+)/;
ok($g1 && $g1 > $g0, "and a new generation ($g0 -> " . ($g1 // '?') . ')');

# chain order: a leaf signed by a CA; the chain file with the CA first is
# refused, leaf first is taken
{
    my $r;
    $r = run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
              'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$cd/ca.key",
              '-out', "$cd/ca.crt", '-days', '30', '-subj', '/CN=Test CA',
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign'], 30);
    $r = run(['openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt',
              'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$cd/leaf.key",
              '-out', "$cd/leaf.csr", '-subj', '/CN=leaf.test'], 30);
    $t->write_file("$cd/leaf.ext", "subjectAltName=DNS:leaf.test\n");
    $r = run(['openssl', 'x509', '-req', '-in', "$cd/leaf.csr", '-CA',
              "$cd/ca.crt", '-CAkey', "$cd/ca.key", '-CAcreateserial',
              '-out', "$cd/leaf.crt", '-days', '30', '-extfile',
              "$cd/leaf.ext"], 30);
    ok($r->{ok}, 'a CA-signed leaf') or diag($r->{all});
    my $leaf = $t->read_file("$cd/leaf.crt");
    my $ca = $t->read_file("$cd/ca.crt");
    $fp{leaf} = fp('leaf');

    $t->write_file("$cd/bad.crt", $ca . $leaf);
    copy("$cd/leaf.key", "$cd/bad.key");
    put('bad', 'live');
    ($code, $j, $raw) = post('/reload');
    is($code, 409, 'chain with the CA first: 409') or diag($raw);
    like($j->{servers}[0]{reason} // '', qr/chain out of order/,
         "reason: $j->{servers}[0]{reason}");

    $t->write_file("$cd/good.crt", $leaf . $ca);
    copy("$cd/leaf.key", "$cd/good.key");
    put('good', 'live');
    ($code, $j, $raw) = post('/reload');
    is($code, 200, 'leaf first: 200') or diag($raw);
    my $g = $j->{generation} // 0;
    is_deeply(probe($p0, 4), [("gen $g fp $fp{leaf}") x 4],
              "the leaf serves as generation $g");
}

my $log = $t->error_log;
like($log, qr/server "watched": certificate files changed/,
     'watcher logged the change');
unlike($log, qr/was never loaded by this worker/,
       'every worker had the previous generation at hand for the rollbacks');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alerts in error log');

$t->stop;
done_testing();
