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
put('one', 'posted');

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;
    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        location = /metrics { zigtls_status prometheus; }
        location = /reload { zigtls_reload; }
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
        listen 127.0.0.1:%%PORT_3%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/posted.crt;
        zigtls_certificate_key %%CERTS%%/posted.key;
        return "posted $zigtls_cert_generation\n";
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

my ($p0, $p1, $p2, $p3) = map { $t->port($_) } 0 .. 3;

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
    my ($body) = $r->{out} =~ /^((?:gen|posted) \d+|limited)$/m;
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
is(scalar @st, 3, 'the three stream servers in zigtls_certificate_generation');
ok((grep { $_->{value} == $gen } @st),
   "one of them at generation $gen");
is(ZtProm::sum($m, 'zigtls_certificate_reloads_total', result => 'success'),
   1, 'the watcher reload counted');
my $live = $t->dir . '/certs/live.crt';
ok((grep { $_->{labels}{server} =~ /^stream:/
           && $_->{labels}{certificate} eq $live && $_->{value} > time }
    @{ $m->{families}{zigtls_certificate_expiry_timestamp_seconds}{samples}
       || [] }),
   'expiry of the stream certificate, labelled with its file');

# a POST to the http zigtls_reload location reaches the stream servers
@r = s_client($p3);
is_deeply(\@r, ['posted 1', 'one.test'], 'stream server without a watcher');
put('two', 'posted');
my $r = run(['curl', '-sS', '-X', 'POST', "http://127.0.0.1:$p0/reload"], 20);
like($r->{out}, qr/"result":"ok"/, 'POST to http zigtls_reload')
    or diag($r->{all});
$deadline = time + 5;
while (time < $deadline) {
    sleep(0.2);
    @r = s_client($p3);
    last if $r[1] eq 'two.test';
}
is($r[1], 'two.test', 'a stream worker took the request within a second or so');
%seen = ();
for (1 .. 6) { my @x = s_client($p3); $seen{"$x[1] $x[0]"}++ }
is(scalar(keys %seen), 1, 'every worker: ' . join(', ', keys %seen));
like($t->error_log, qr/certificate reload requested by zigtls_reload/,
     'logged by the stream worker');

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
