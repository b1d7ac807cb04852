#!/usr/bin/perl

# zigtls operations plane in stream{}: the same zone name as http makes
# stream handshakes count into the totals of the http status page;
# $zigtls_cert_generation, zigtls_handshake_rate and
# zigtls_certificate_reload_interval work in stream servers.

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtProm;
use ZtTest qw(run need_bin);

need_bin($_) for qw(curl openssl python3);

my $t = ZtNginx->new(stream => 1);
$t->certs;
$t->cert($_, cn => "$_.test") for qw(one two);
my $cd = $t->dir . '/certs';

sub put {
    my ($name, $dst) = @_;
    for my $ext (qw(crt key)) {
        copy("$cd/$name.$ext", "$cd/$dst.$ext.tmp") or die "copy: $!";
        rename("$cd/$dst.$ext.tmp", "$cd/$dst.$ext") or die "rename: $!";
    }
}

put('one', 'live');

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;
    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        location = /metrics { zigtls_status prometheus; }
    }
}

stream {
    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/live.crt;
        zigtls_certificate_key %%CERTS%%/live.key;
        zigtls_certificate_reload_interval 200ms;
        return "gen $zigtls_cert_generation\n";
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_handshake_rate 2r/s burst=3;
        return "limited\n";
    }
}
CONF
$t->start;

my ($p0, $p1, $p2) = map { $t->port($_) } 0 .. 2;

sub metrics {
    my $r = run(['curl', '-sS', '--max-time', '10',
                 "http://127.0.0.1:$p0/metrics"], 20);
    my $m = eval { ZtProm::parse($r->{out}) };
    ok($m, 'Prometheus output parses') or diag($@);
    return $m || { families => {} };
}

sub s_client {
    my ($port) = @_;
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-ign_eof'], 15, stdin => '');
    my ($cn) = $r->{out} =~ /subject=.*CN\s*=\s*([\w.]+)/;
    my ($body) = $r->{out} =~ /^(gen \d+|limited)$/m;
    return ($body // 'fail', $cn // '');
}

my $m0 = metrics();
my $s0 = ZtProm::value($m0, 'zigtls_handshakes_succeeded_total');

my @r = s_client($p1);
is($r[0], 'gen 1', 'stream: $zigtls_cert_generation is 1');
is($r[1], 'one.test', 'stream: cert one');
s_client($p1) for 1 .. 2;

my $m = metrics();
is(ZtProm::value($m, 'zigtls_handshakes_succeeded_total') - $s0, 3,
   'stream handshakes counted in the shared zone');

# the watcher
put('two', 'live');
my $deadline = time + 5;
while (time < $deadline) {
    sleep(0.2);
    @r = s_client($p1);
    last if $r[1] eq 'two.test';
}
is($r[1], 'two.test', 'stream: the watcher loaded cert two');
like($r[0], qr/^gen ([2-9]|\d\d+)$/, "stream: new generation ($r[0])");
my %seen;
for (1 .. 6) { my @x = s_client($p1); $seen{$x[1]}++ }
is_deeply(\%seen, { 'two.test' => 6 }, 'both workers serve cert two');

# the stream servers are listed by the http status page (shared zone)
$m = metrics();
my ($gen) = $r[0] =~ /(\d+)/;
my @st = grep { $_->{labels}{server} =~ /^stream:nginx\.conf:\d+$/ }
         @{ $m->{families}{zigtls_certificate_generation}{samples} || [] };
is(scalar @st, 2, 'both stream servers in zigtls_certificate_generation');
ok((grep { $_->{value} == $gen } @st),
   "one of them at generation $gen");
is(ZtProm::sum($m, 'zigtls_certificate_reloads_total', result => 'success'),
   1, 'the watcher reload counted');
ok(ZtProm::value($m, 'zigtls_certificate_expiry_timestamp_seconds',
                 server => $st[0]{labels}{server},
                 certificate => ($st[0]{labels}{server} =~ /:(\d+)$/ && 0)
                                || $t->dir . '/certs/live.crt')
   || ZtProm::value($m, 'zigtls_certificate_expiry_timestamp_seconds',
                    server => $st[1]{labels}{server},
                    certificate => $t->dir . '/certs/live.crt'),
   'expiry of the stream certificate, labelled with its file');

# the rate limit
my $rl0 = ZtProm::value(metrics(), 'zigtls_handshakes_failed_total',
                        reason => 'rate_limited');
my ($ok, $no) = (0, 0);
for (1 .. 12) {
    my @x = s_client($p2);
    $x[0] eq 'limited' ? $ok++ : $no++;
}
ok($ok >= 3 && $ok < 12, "stream rate limit: $ok admitted, $no refused");
is(ZtProm::value(metrics(), 'zigtls_handshakes_failed_total',
                 reason => 'rate_limited') - $rl0, $no,
   'refusals counted as rate_limited');

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts in error log')
    or diag($t->error_log);

$t->stop;
done_testing();
