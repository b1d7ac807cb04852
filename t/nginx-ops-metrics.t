#!/usr/bin/perl

# zigtls operations plane: the shared metrics zone with two workers.
# A known number of handshakes of every outcome is provoked on purpose
# (openssl s_client with bad groups, suites, signature algorithms, TLS 1.2,
# ALPN; a raw client for malformed, unexpected, bad Finished, bad record
# MAC, a peer alert, truncation, a stall into the handshake timeout; SNI
# policy), then the counters must be exact, in the text page and in the
# Prometheus output, which is read by a strict parser (t/lib/ZtProm.pm).
# Counters survive "nginx -s reload".

use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtProm;
use ZtTest qw(run need_bin repo_root);

need_bin($_) for qw(curl openssl python3);

my $raw = repo_root() . '/t/lib/zt_rawclient.py';

my $t = ZtNginx->new;
my $c = $t->certs;

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log %%DIR%%/logs/access.log;
    log_format gen '$pid $zigtls_cert_generation';

    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_0%% reuseport;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_handshake_timeout 1s;
        access_log %%DIR%%/logs/gen.log gen;
        location / { return 200 "pid $pid gen $zigtls_cert_generation\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        server_name sni.test;
        zigtls on;
        zigtls_require_sni on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        location / { return 200 "sni\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        location = /status { zigtls_status; }
        location = /metrics { zigtls_status prometheus; }
        location = /any { zigtls_status; }
    }
}
CONF
$t->start;

my $p0 = $t->port(0);
my $p1 = $t->port(1);
my $p2 = $t->port(2);

sub get {
    my ($path) = @_;
    my $r = run(['curl', '-sS', '--max-time', '10',
                 "http://127.0.0.1:$p2$path"], 20);
    return $r->{out};
}

sub metrics {
    my $text = get('/metrics');
    my $m = eval { ZtProm::parse($text) };
    fail("Prometheus output parses: $@") unless $m;
    return $m || { families => {} };
}

# wait (bounded) until no connection and no handshake is open
sub settle {
    my $deadline = time + 10;
    my $m;
    while (time < $deadline) {
        $m = metrics();
        last if (ZtProm::value($m, 'zigtls_connections_active') // 1) == 0
             && (ZtProm::value($m, 'zigtls_handshakes_in_progress') // 1) == 0;
        sleep(0.1);
    }
    return $m;
}

sub s_client {
    my ($port, @args) = @_;
    return run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                @args], 15, stdin => '');
}

sub rawc {
    my ($mode, $port, $sni) = @_;
    return run(['python3', $raw, $port || $p0, $mode, $sni // 'localhost'],
               20);
}

# the harness's own port probes (connect, close) count as truncated
# handshakes: everything below is measured from this baseline
my $m = settle();
for (1 .. 20) {
    sleep(0.3);
    my $m2 = settle();
    my $same = ZtProm::value($m2, 'zigtls_handshakes_started_total')
               == ZtProm::value($m, 'zigtls_handshakes_started_total');
    $m = $m2;
    last if $same;
}
my %base;
for my $f (keys %{ $m->{families} }) {
    for my $s (@{ $m->{families}{$f}{samples} }) {
        my $k = join("\0", $s->{name}, map { "$_=$s->{labels}{$_}" }
                                       sort keys %{ $s->{labels} });
        $base{$k} = $s->{value};
    }
}
is(ZtProm::value($m, 'zigtls_handshakes_succeeded_total'), 0,
   'no handshake succeeded before the test');

sub delta {
    my ($mm, $name, %l) = @_;
    my $k = join("\0", $name, map { "$_=$l{$_}" } sort keys %l);
    my $v = ZtProm::value($mm, $name, %l);
    return undef unless defined $v;
    return $v - ($base{$k} // 0);
}

# ---- successes: 3 HTTP/1.1, 3 HTTP/2, 1 s_client (P-256, no ALPN),
#      1 raw client (no ALPN)

my $ok = 0;
for (1 .. 3) {
    my $r = $t->curl('/', '--http1.1');
    $ok++ if $r->{out} =~ /^pid \d+ gen 1$/m;
}
for (1 .. 3) {
    my $r = $t->curl('/', '--http2');
    $ok++ if $r->{out} =~ /^pid \d+ gen 1$/m;
}
is($ok, 6, 'six requests over curl, $zigtls_cert_generation is 1');

my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p0",
             '-servername', 'localhost', '-groups', 'P-256', '-ign_eof'], 15,
            stdin => "GET / HTTP/1.0\r\n\r\n");
like($r->{out}, qr/pid \d+ gen 1/, 's_client with P-256') or diag($r->{all});

$r = rawc('ok');
is($r->{out}, "finished-sent\n", 'raw client completes a handshake')
    or diag($r->{all});

# ---- failures, two of each

my %want = map { $_ => 0 } qw(malformed unexpected_message protocol_version
    no_shared_cipher no_shared_group no_shared_sigalg policy_sni policy_alpn
    policy_reject bad_finished bad_record_mac timeout rate_limited truncated
    peer_alert internal other);

for (1 .. 2) {
    rawc('malformed');                                   $want{malformed}++;
    rawc('unexpected');                           $want{unexpected_message}++;
    s_client($p0, '-tls1_2', '-servername', 'localhost');
                                                    $want{protocol_version}++;
    s_client($p0, '-ciphersuites', 'TLS_AES_128_CCM_SHA256',
             '-servername', 'localhost');           $want{no_shared_cipher}++;
    s_client($p0, '-groups', 'P-384', '-servername', 'localhost');
                                                     $want{no_shared_group}++;
    s_client($p0, '-sigalgs', 'rsa_pss_rsae_sha256', '-servername',
             'localhost');                          $want{no_shared_sigalg}++;
    s_client($p1, '-noservername');                       $want{policy_sni}++;
    s_client($p0, '-alpn', 'foo', '-servername', 'localhost');
                                                         $want{policy_alpn}++;
    rawc('finished');                                   $want{bad_finished}++;
    rawc('mac');                                      $want{bad_record_mac}++;
    rawc('alert');                                        $want{peer_alert}++;
    rawc('truncated');                                     $want{truncated}++;
}

# two stalled clients at once: both time out after 1s
my @stall = map { ZtTest::start_bg({ stdout => $t->dir . "/logs/stall$_" },
                                   'python3', $raw, $p0, 'stall') } 1 .. 2;
my $sd = time + 8;
while (@stall && time < $sd) {
    @stall = grep { waitpid($_, POSIX::WNOHANG()) == 0 } @stall;
    sleep(0.1);
}
is(scalar @stall, 0, 'stalled clients were disconnected by the server');
ZtTest::stop_pid($_, 1) for @stall;
$want{timeout} += 2;

$m = settle();

my $failed = 0;
$failed += $_ for values %want;
my $succeeded = 8;

is(ZtProm::value($m, 'zigtls_handshakes_succeeded_total'), $succeeded,
   "succeeded: $succeeded");
is(delta($m, 'zigtls_handshakes_started_total'),
   $succeeded + $failed, 'started = succeeded + failed');
my $fsum = 0;
$fsum += delta($m, 'zigtls_handshakes_failed_total', reason => $_)
    for keys %want;
is($fsum, $failed, "failed: $failed");

for my $reason (sort keys %want) {
    is(delta($m, 'zigtls_handshakes_failed_total',
             reason => $reason), $want{$reason},
       "failed{reason=\"$reason\"} = $want{$reason}");
}

# alerts: what each failure sends, and the peer's handshake_failure
my %alerts = (decode_error => 2, unexpected_message => 2,
              protocol_version => 2, handshake_failure => 6,
              unrecognized_name => 2, no_application_protocol => 2,
              decrypt_error => 2, bad_record_mac => 2);
for my $a (sort keys %alerts) {
    is(delta($m, 'zigtls_alerts_sent_total', alert => $a) // 0,
       $alerts{$a}, "alerts sent: $a = $alerts{$a}");
}
is(delta($m, 'zigtls_alerts_received_total',
         alert => 'handshake_failure') // 0, 2,
   'alerts received: handshake_failure = 2');

# by parameter
is(ZtProm::sum($m, 'zigtls_handshakes_by_cipher_total'), $succeeded,
   'by cipher adds up');
is(ZtProm::value($m, 'zigtls_handshakes_by_group_total',
                 group => 'secp256r1'), 1, 'one handshake with secp256r1');
is(ZtProm::value($m, 'zigtls_handshakes_by_group_total', group => 'x25519'),
   $succeeded - 1, 'the others with x25519');
is(ZtProm::value($m, 'zigtls_handshakes_by_sigalg_total',
                 sigalg => 'ecdsa_secp256r1_sha256'), $succeeded,
   'all signed with ECDSA');
is(ZtProm::value($m, 'zigtls_handshakes_by_alpn_total', alpn => 'h2'), 3,
   'ALPN h2: 3');
is(ZtProm::value($m, 'zigtls_handshakes_by_alpn_total', alpn => 'http/1.1'),
   3, 'ALPN http/1.1: 3');
is(ZtProm::value($m, 'zigtls_handshakes_by_alpn_total', alpn => 'none'), 2,
   'no ALPN: 2');

# latency histogram
is(ZtProm::value($m, 'zigtls_handshake_duration_seconds_count'), $succeeded,
   'histogram count = succeeded');
my $sum = ZtProm::value($m, 'zigtls_handshake_duration_seconds_sum');
ok($sum > 0 && $sum < $succeeded, "histogram sum plausible ($sum s)");
my @q = map { ZtProm::value($m, 'zigtls_handshake_duration_quantile_seconds',
                            quantile => $_) } qw(0.5 0.95 0.99);
ok($q[0] > 0 && $q[0] <= $q[1] && $q[1] <= $q[2] && $q[2] <= 1,
   "p50 <= p95 <= p99 <= 1 s (@q)");
is(ZtProm::value($m, 'zigtls_handshake_duration_seconds_bucket',
                 le => '0.0001') <= $succeeded ? 1 : 0, 1, 'le label format');

# certificates
is(ZtProm::value($m, 'zigtls_certificate_generation', server => 'localhost'),
   1, 'generation 1');
my $na = ZtProm::value($m, 'zigtls_certificate_expiry_timestamp_seconds',
                       server => 'localhost',
                       certificate => $c->{ecdsa}{cert});
ok($na && $na > time + 20 * 86400 && $na < time + 31 * 86400,
   'not-after of the certificate (30 days)');

# plaintext bytes: one request of known size, its response read in full
my $in0 = ZtProm::value($m, 'zigtls_received_bytes_total');
my $out0 = ZtProm::value($m, 'zigtls_sent_bytes_total');
$r = $t->python(<<'PY', $p0);
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                    server_hostname="localhost")
req = b"GET /bytes HTTP/1.0\r\nX-Pad: " + b"p" * 1000 + b"\r\n\r\n"
s.sendall(req)
data = b""
while True:
    try:
        d = s.recv(65536)
    except ssl.SSLError:
        break
    if not d:
        break
    data += d
print(len(req), len(data))
PY
my ($reqlen, $resplen) = split ' ', $r->{out};
$m = settle();
is(ZtProm::value($m, 'zigtls_received_bytes_total') - $in0, $reqlen,
   "plaintext in: exactly the request ($reqlen bytes)") or diag($r->{all});
is(ZtProm::value($m, 'zigtls_sent_bytes_total') - $out0, $resplen,
   "plaintext out: exactly the response ($resplen bytes)");

# KeyUpdate from s_client ("K" asks for the server's update too)
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p0",
          '-servername', 'localhost'], 15,
         stdin => "K\n", hold => 1);
$m = settle();
ok(ZtProm::value($m, 'zigtls_key_updates_total') >= 1,
   'KeyUpdate counted (' . ZtProm::value($m, 'zigtls_key_updates_total')
   . ')') or diag($r->{all});

# the text page says the same
my $text = get('/status');
my $started = ZtProm::value($m, 'zigtls_handshakes_started_total');
my $tf = ZtProm::sum($m, 'zigtls_handshakes_failed_total');
like($text, qr/handshakes: started $started, succeeded \d+, failed $tf\b/,
     'text page: handshakes') or diag($text);
like($text, qr/ timeout=2 .* truncated=\d+ /, 'text page: failures by reason');
like($text, qr/p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/,
     'text page: quantiles');
like($text, qr/server "localhost": generation 1 /, 'text page: certificate');
like(get('/any?format=prometheus'), qr/^# HELP zigtls_/m,
     '?format=prometheus');

# both workers served (reuseport spreads connections)
my %pids = map { (split)[0] => 1 } split /\n/, $t->read_file('logs/gen.log');
diag('workers that served: ' . join(' ', sort keys %pids));

# counters survive nginx -s reload (same zone name and size)
$t->signal('HUP');
my $deadline = time + 10;
my $after;
while (time < $deadline) {
    sleep(0.3);
    my $rr = $t->curl('/', '--http1.1');
    next unless $rr->{ok};
    $after = ZtProm::value(settle(), 'zigtls_handshakes_started_total');
    last;
}
is($after, $started + 1, 'counters kept across nginx -s reload');

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts in error log')
    or diag($t->error_log);

$t->stop;
done_testing();
