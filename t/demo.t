#!/usr/bin/perl

# "make demo" (demo/zigtls-demo.sh) as a new user runs it: on its own
# ports, its files in a directory under one that others cannot traverse
# (mode 0700, as a home directory often is). It must serve https, stream
# and its status page, keep its private keys 0600, show the operations
# plane at once, stop cleanly, and on a second start reuse the modules and
# certificates it has.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run free_port wait_port slurp repo_root need_bin);

need_bin('curl');

# builds the modules when their sources changed, as any nginx test does
ZtNginx->new;

my $root = repo_root();
my $top = tempdir('zt-demo-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod(0700, $top);
my $dir = "$top/private/demo";
my %env = (ZT_DEMO_DIR => $dir, ZT_DEMO_PORT => free_port(),
           ZT_DEMO_STREAM_PORT => free_port(),
           ZT_DEMO_STATUS_PORT => free_port(),
           ZT_DEMO_BACKEND_PORT => free_port());
mkdir("$top/private");
chmod(0700, "$top/private");

sub demo {
    my ($what) = @_;
    return run(['sh', "$root/demo/zigtls-demo.sh", $what], 300, env => \%env);
}

END { local $?; demo('stop') if -s "$dir/nginx.pid"; }

my $r = demo('start');
ok($r->{ok}, 'demo starts') or diag($r->{all});
like($r->{out}, qr/modules up to date/, 'modules reused, not rebuilt');
ok(!-e "$dir/build.log", '... no build ran');
like($r->{out}, qr/Ports:\s+$env{ZT_DEMO_PORT} https, $env{ZT_DEMO_STREAM_PORT} stream, $env{ZT_DEMO_STATUS_PORT} status and metrics, $env{ZT_DEMO_BACKEND_PORT} backend/,
     'the ports are listed');
like($r->{out}, qr/The status page now.*\n.*handshakes/s,
     'the status page is shown at once');

for my $k (qw(ecdsa ed25519 rsa)) {
    my $mode = (stat("$dir/certs/$k.key"))[2] & 07777;
    is(sprintf('%04o', $mode), '0600', "$k.key is 0600");
}
if ($> == 0) {
    like(slurp("$dir/nginx.conf"), qr/^user root;/m,
         'workers run as root: nobody cannot reach the demo directory');
}

my $c = run(['curl', '-sk', '--max-time', '10',
             "https://127.0.0.1:$env{ZT_DEMO_PORT}/tls"], 20);
like($c->{out}, qr/^https HTTP\/2\.0 TLSv1\.3 /, 'https: HTTP/2 over zigtls');
$c = run(['curl', '-sk', '--max-time', '10',
          "https://127.0.0.1:$env{ZT_DEMO_PORT}/"], 20);
like($c->{out}, qr/Hello from nginx over zigtls/, 'the page under a 0700 tree');
$c = run(['curl', '-sk', '--max-time', '10',
          "https://127.0.0.1:$env{ZT_DEMO_STREAM_PORT}/"], 20);
like($c->{out}, qr/hello from the backend/, 'stream: TLS in front of the backend');
$c = run(['curl', '-sk', '--max-time', '10',
          "https://127.0.0.1:$env{ZT_DEMO_STATUS_PORT}/metrics"], 20);
like($c->{out}, qr/^zigtls_handshakes_succeeded_total [1-9]/m,
     'metrics: the handshakes so far');
like(slurp("$dir/logs/access.log"), qr/ja4=t13[di]\d{4}/, 'access log: JA4');
unlike(slurp("$dir/logs/error.log"), qr/\[(alert|emerg|crit)\]/,
       'error log: no alerts');

my %mtime = map { ($_ => (stat("$dir/certs/$_.crt"))[9]) } qw(ecdsa rsa);
$r = demo('stop');
like($r->{out}, qr/zigtls demo stopped/, 'demo stops');
ok(!wait_port($env{ZT_DEMO_PORT}, 0.5), '... and its port is closed');

sleep(1);
$r = demo('start');
ok($r->{ok}, 'second start') or diag($r->{all});
like($r->{out}, qr/modules up to date/, '... reuses the modules');
unlike($r->{out}, qr/self-signed certificates/, '... and the certificates');
is((stat("$dir/certs/$_.crt"))[9], $mtime{$_}, "$_.crt unchanged")
    for qw(ecdsa rsa);
$c = run(['curl', '-sk', '--max-time', '10',
          "https://127.0.0.1:$env{ZT_DEMO_PORT}/tls"], 20);
like($c->{out}, qr/TLSv1\.3/, '... and serves');
$r = demo('stop');
like($r->{out}, qr/zigtls demo stopped/, 'stopped again');

done_testing();
