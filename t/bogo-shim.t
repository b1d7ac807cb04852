#!/usr/bin/perl
# The BoGo shim (t/bogo/shim.c, build/bogo-shim) without BoringSSL's runner
# (which is not in the repository; see docs/conformance.md): it answers
# -is-handshaker-supported, refuses what it does not implement with the
# runner's "unimplemented" code 89 (an unknown flag, the client role,
# DTLS, exporters), and speaks the runner's protocol to a real TLS 1.3 client
# (t/bogo/smoke.py with Python's ssl): shim id, handshake, echo XOR 0xff,
# clean close with nothing on stderr; -resume-count 1: the second
# connection resumes the first one's ticket; garbage fails with the error
# name on stderr.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use Test::More;
use ZtTest qw(:all);

my $root = repo_root();
my $shim = "$root/build/bogo-shim";
ok(-x $shim, 'build/bogo-shim is built') or BAIL_OUT('make first');

my $r = run([$shim, '-is-handshaker-supported'], 10);
is($r->{exit}, 0, '-is-handshaker-supported exits 0');
is($r->{out}, "No\n", 'no split handshakes');

for my $case (['-server', '-no-such-flag'], ['-port', '1'],
              ['-server', '-dtls'], ['-server', '-export-keying-material', '16'],
              ['-server', '-verify-fail'], ['-server', '-curves', '24'],
              ['-server', '-max-version', '771'])
{
    $r = run([$shim, @$case], 10);
    is($r->{exit}, 89, "@$case: unimplemented (89)");
    is($r->{err}, '', "@$case: nothing on stderr");
}

my $dir = tempdir(CLEANUP => 1);
my $certs = make_certs($dir);
for my $k (qw(ecdsa rsa ed25519)) {
    $r = run(['python3', "$root/t/bogo/smoke.py", $shim,
              $certs->{$k}{cert}, $certs->{$k}{key}, 'echo'], 30);
    like($r->{out}, qr/^echo ok TLSv1\.3$/m, "$k: handshake and echo");
    like($r->{out}, qr/^shim exit 0$/m, "$k: shim exits 0");
    unlike($r->{out}, qr/shim stderr: \S/, "$k: nothing on stderr")
        or diag($r->{all});
}

$r = run(['python3', "$root/t/bogo/smoke.py", $shim, $certs->{ecdsa}{cert},
          $certs->{ecdsa}{key}, 'resume'], 30);
like($r->{out}, qr/^echo ok TLSv1\.3 reused False$/m, 'first connection: full');
like($r->{out}, qr/^echo ok TLSv1\.3 reused True$/m, 'second: resumed');
like($r->{out}, qr/^shim exit 0$/m, 'resume: shim exits 0')
    or diag($r->{all});

$r = run(['python3', "$root/t/bogo/smoke.py", $shim, $certs->{ecdsa}{cert},
          $certs->{ecdsa}{key}, 'garbage'], 30);
like($r->{out}, qr/^shim exit 1$/m, 'garbage: shim exits 1');
like($r->{out}, qr/:unexpected_message: alert_sent=unexpected_message/,
     'garbage: the error and the alert on stderr') or diag($r->{all});

done_testing();
