#!/usr/bin/perl

# zigtls operations plane: the handshake rate limit, the key log, and the
# zone's size.
#   - zigtls_handshake_rate: a burst far above the rate is refused (the
#     client gets a handshake_failure alert), counted as rate_limited;
#     handshakes below the rate are all admitted; one bucket for both
#     workers
#   - zigtls_keylog: a warning at startup; the file holds the same NSS key
#     log lines as the client's own (Python's ssl keylog_filename)
#   - zigtls_zone too small: nginx -t fails with a clear message
#   - a zone filled up by reloads with new server{}s: the status page still
#     answers, the servers without room are shown as such

use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtProm;
use ZtTest qw(run need_bin);

need_bin($_) for qw(curl openssl python3);

my $t = ZtNginx->new;
$t->certs;

my $conf = <<'CONF';
http {
    access_log off;
    zigtls_zone ops:64k;

    server {
        listen 127.0.0.1:%%PORT_0%% reuseport;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_handshake_rate 5r/s burst=5;
        location / { return 200 "ok\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        server_name keylog;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_keylog %%DIR%%/logs/keylog.txt;
        location / { return 200 "ok\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        location = /status { zigtls_status; }
        location = /metrics { zigtls_status prometheus; }
    }
}
CONF
$t->write_conf($conf, workers => 2);
$t->start;

my ($p0, $p1, $p2) = map { $t->port($_) } 0 .. 2;

sub metrics {
    my $r = run(['curl', '-sS', '--max-time', '10',
                 "http://127.0.0.1:$p2/metrics"], 20);
    my $m = eval { ZtProm::parse($r->{out}) };
    ok($m, 'Prometheus output parses') or diag($@);
    return $m || { families => {} };
}

# N handshakes, one every GAP seconds: "ok K refused R other O secs S"
my $hs = $t->write_file('tmp/hs.py', <<'PY');
import socket, ssl, sys, time
port, n, gap = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ok = refused = other = 0
t0 = time.time()
for i in range(n):
    start = time.time()
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                            server_hostname="localhost")
        s.close()
        ok += 1
    except ssl.SSLError as e:
        if "HANDSHAKE_FAILURE" in str(e).upper():
            refused += 1
        else:
            other += 1
            print(repr(e), file=sys.stderr)
    except Exception as e:
        other += 1
        print(repr(e), file=sys.stderr)
    rest = gap - (time.time() - start)
    if rest > 0:
        time.sleep(rest)
print("ok %d refused %d other %d secs %.3f" % (ok, refused, other, time.time() - t0))
PY

sub burst {
    my ($n, $gap) = @_;
    my $r = run(['python3', $hs, $p0, $n, $gap], 120);
    my %h = $r->{out} =~ /(\w+) ([\d.]+)/g;
    diag("$n handshakes, gap $gap s: $r->{out}");
    diag($r->{err}) if $r->{err};
    return \%h;
}

my $m0 = metrics();
my $rl0 = ZtProm::value($m0, 'zigtls_handshakes_failed_total',
                        reason => 'rate_limited');

# far above the rate: 40 back to back
my $b = burst(40, 0);
my $max_ok = 5 + int($b->{secs} * 5) + 1;
ok($b->{ok} >= 5 && $b->{ok} <= $max_ok,
   "above the rate: $b->{ok} admitted (burst 5 + refill, at most $max_ok)");
is($b->{ok} + $b->{refused}, 40, 'the others refused with handshake_failure');
ok($b->{refused} >= 20, "most refused ($b->{refused})");

my $m = metrics();
is(ZtProm::value($m, 'zigtls_handshakes_failed_total',
                 reason => 'rate_limited') - $rl0, $b->{refused},
   'refused ones counted as rate_limited');

# below the rate: after the bucket refilled, 8 at 2.5 per second
sleep(1.3);
$b = burst(8, 0.4);
is($b->{ok}, 8, 'below the rate: all admitted');
is($b->{refused}, 0, 'below the rate: none refused');

like($t->error_log, qr/handshake failed: rate_limited, alert sent: handshake_failure/,
     'refusals logged with their reason');

# ---- key log

like($t->error_log, qr/\[warn\].*zigtls_keylog is on/,
     'warning in the error log at startup');

my $r = $t->python(<<'PY', $p1, $t->dir . '/logs/client-keylog.txt');
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = sys.argv[2]
for _ in range(2):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                        server_hostname="keylog")
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while s.recv(4096):
        pass
    s.close()
print("done")
PY
is($r->{out}, "done\n", 'two connections with a client key log')
    or diag($r->{all});
my %server = map { $_ => 1 } grep { /^[A-Z]/ }
             split /\n/, $t->read_file('logs/keylog.txt');
my %client = map { $_ => 1 } grep { /^[A-Z]/ }
             split /\n/, $t->read_file('logs/client-keylog.txt');
is(scalar(keys %server), 10, 'server key log: 5 lines per connection');
is_deeply([sort keys %server], [sort keys %client],
          "the server's key log matches the client's");
ok(!grep({ !/^(?:(?:CLIENT|SERVER)_(?:HANDSHAKE_TRAFFIC_SECRET|TRAFFIC_SECRET_0)|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]{64,96}$/ }
         keys %server), 'NSS key log format');

# the rate-limited server has no key log: nothing else was written
my $before = scalar(keys %server);
burst(1, 0);
%server = map { $_ => 1 } grep { /^[A-Z]/ }
          split /\n/, $t->read_file('logs/keylog.txt');
is(scalar(keys %server), $before, 'servers without zigtls_keylog log nothing');

# ---- zone size

(my $small = $conf) =~ s/ops:64k/ops:16k/;
$t->write_conf($small, workers => 2, file => 'conf/small.conf');
$r = $t->test_config($t->dir . '/conf/small.conf');
ok(!$r->{ok}, 'nginx -t fails for a 16k zone');
like($r->{all}, qr/zigtls_zone "ops" is too small: 16384 bytes, at least 32768/,
     'and says so') or diag($r->{all});

my $many = $conf;
my $extra = '';
for my $i (1 .. 8) {
    $extra .= <<"EOS";
    server {
        listen 127.0.0.1:%%PORT_3%%;
        server_name s$i.test;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
EOS
}
$many =~ s/ops:64k/ops:32k/;
$many =~ s/^}\s*\z/$extra}\n/m;
$t->write_conf($many, workers => 2, file => 'conf/many.conf');
$r = $t->test_config($t->dir . '/conf/many.conf');
ok(!$r->{ok}, 'nginx -t fails for 10 servers in a 32k zone');
like($r->{all}, qr/zigtls_zone "ops" is too small: 32768 bytes for 10 server\(s\) with certificates need at least \d+/,
     'and tells the size needed') or diag($r->{all});

# a zone that fills up: each "nginx -s reload" brings servers with new
# names; their slots are new, the old ones stay (workers of the previous
# configuration may still use them)
my ($full, $text);
for my $round (1 .. 12) {
    (my $c2 = $many) =~ s/ops:32k/ops:64k/;
    $c2 =~ s/server_name s(\d+)\.test;/server_name r$round-s$1.test;/g;
    $t->write_conf($c2, workers => 2);
    $t->signal('HUP');
    my $deadline = time + 10;
    my $ok;
    while (time < $deadline) {
        sleep(0.3);
        $text = run(['curl', '-sS', '--max-time', '5',
                     "http://127.0.0.1:$p2/status"], 10)->{out};
        last if $text =~ /server "r$round-s8\.test"/;
    }
    if ($text =~ /no room in zone/) {
        $full = $round;
        last;
    }
}
ok($full, "the zone filled up after $full reloads") or diag($text);
like($text, qr/^handshakes: started \d+/m, 'the status page still answers');
$m = metrics();
ok(ZtProm::value($m, 'zigtls_zone_slots_failed_total') > 0,
   'zigtls_zone_slots_failed_total counts the servers without room');
ok(defined ZtProm::value($m, 'zigtls_handshakes_started_total'),
   'and the counters are still there');
$b = burst(1, 0);
ok($b->{ok} + $b->{refused} == 1, 'handshakes still work');
like($t->error_log, qr/zigtls_zone "ops" is full: no certificate metrics for server/,
     'a full zone is logged');
unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts in error log')
    or diag($t->error_log);

$t->stop;
done_testing();
