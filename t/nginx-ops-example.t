#!/usr/bin/perl

# examples/nginx-ops.conf works as written (ports moved, relative paths
# pointed into a test directory, as t/nginx-examples.t does), and the
# other operations examples fit it: examples/prometheus.yml scrapes its
# metrics location, and every zigtls_* metric that the Grafana dashboard
# (examples/grafana-zigtls.json) and the alerting rules query exists.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtProm;
use ZtTest qw(run need_bin repo_root slurp);

need_bin($_) for qw(curl openssl);

my $root = repo_root();
my $t = ZtNginx->new;
my $c = $t->certs;
my $dir = $t->dir;

my %port;
my $i = 0;
sub moved {
    my ($p) = @_;
    $port{$p} //= $t->port(20 + $i++);
    return $port{$p};
}

my $text = slurp("$root/examples/nginx-ops.conf");
ok(length $text, 'examples/nginx-ops.conf exists');
$text =~ s{load_module build/}{load_module $root/build/}g;
$text =~ s{\.\./demo/certs/}{$dir/certs/}g;
$text =~ s{\bbuild/(example-[\w-]+)}{$dir/$1}g;
$text =~ s{127\.0\.0\.1:(8[04]\d\d)\b}{'127.0.0.1:' . moved($1)}ge;
$text = "user root;\n$text" if $> == 0;
mkdir("$dir/example-ops");
my $f = $t->write_file('conf/nginx-ops.conf', $text);

my $r = run(['/usr/sbin/nginx', '-p', "$dir/", '-c', $f, '-t'], 30);
is($r->{exit}, 0, 'nginx -t') or diag($r->{all});
$r = run(['/usr/sbin/nginx', '-p', "$dir/", '-c', $f], 30);
is($r->{exit}, 0, 'starts') or diag($r->{all});
ok(ZtTest::wait_port($_, 10), "listening on $_") for values %port;

my $site = $port{8450};
my $ops = $port{8051};

$r = run(['curl', '-sk', '--max-time', '10', "https://127.0.0.1:$site/"], 20);
like($r->{out}, qr/^TLSv1\.3 TLS_\w+ generation 1$/, 'the site') or diag($r->{all});

$r = run(['curl', '-s', '--max-time', '10', "http://127.0.0.1:$ops/status"],
         20);
like($r->{out}, qr/handshakes: started \d+, succeeded 1, failed \d+/,
     '/status') or diag($r->{all});

$r = run(['curl', '-s', '--max-time', '10', "http://127.0.0.1:$ops/metrics"],
         20);
my $m = eval { ZtProm::parse($r->{out}) };
ok($m, '/metrics is valid Prometheus text') or diag($@);
$m ||= { families => {} };

$r = run(['curl', '-s', '--max-time', '10', '-X', 'POST',
          "http://127.0.0.1:$ops/reload"], 20);
my $j = eval { decode_json($r->{out}) } || {};
is($j->{result}, 'ok', 'POST /reload') or diag($r->{all});
is($j->{servers}[0]{result}, 'unchanged', 'unchanged files: generation kept');

# Prometheus scrape config: the example's metrics location
my $prom = slurp("$root/examples/prometheus.yml");
like($prom, qr{metrics_path: /metrics}, 'prometheus.yml: metrics path');
like($prom, qr{targets: \['127\.0\.0\.1:8051'\]}, 'prometheus.yml: target');
ok(-f "$root/examples/zigtls-rules.yml", 'alerting rules exist');

# every metric queried by the dashboard and the rules exists
my $dash = eval { decode_json(slurp("$root/examples/grafana-zigtls.json")) };
ok($dash && @{ $dash->{panels} || [] } >= 8, 'Grafana dashboard is JSON');
my @exprs = map { $_->{expr} } map { @{ $_->{targets} || [] } }
            @{ $dash->{panels} || [] };
my $rules = slurp("$root/examples/zigtls-rules.yml");
$rules =~ s/^\s*summary:.*$//mg;
push @exprs, $rules;
my %names;
for my $e (@exprs) {
    $names{$_} = 1 for $e =~ /\b(zigtls_[a-z_]+)/g;
}
ok(keys %names >= 15, scalar(keys %names) . ' metric names queried');
for my $n (sort keys %names) {
    ok(exists $m->{families}{$n}
       || ($n =~ /^(.*)_bucket$/ && exists $m->{families}{$1}),
       "metric $n exists");
}

$r = run(['/usr/sbin/nginx', '-p', "$dir/", '-c', $f, '-s', 'quit'], 30);
is($r->{exit}, 0, 'quit') or diag($r->{all});
my $deadline = time + 10;
sleep(0.2) while time < $deadline && -e "$dir/example-ops/nginx.pid";
ok(!-e "$dir/example-ops/nginx.pid", 'stopped');
unlike(slurp("$dir/example-ops/error.log"), qr/\[(alert|crit|emerg)\]/,
       'no alerts');

done_testing();
