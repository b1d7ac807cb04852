#!/usr/bin/perl

# The configurations in examples/nginx-*.conf work as written: each is run
# with only its ports moved to free ones and its relative paths (module,
# certificates, logs) pointed into a test directory.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin repo_root slurp);

need_bin($_) for qw(curl openssl);

my $root = repo_root();
my $t = ZtNginx->new(stream => 1);
my $c = $t->certs;
my $dir = $t->dir;

# the examples' fixed ports -> free ones
my %port;
my $i = 0;
sub moved {
    my ($p) = @_;
    $port{$p} //= $t->port(10 + $i++);
    return $port{$p};
}

sub prepare {
    my ($name) = @_;
    my $text = slurp("$root/examples/$name");
    ok(length $text, "examples/$name exists") or return;
    $text =~ s{load_module build/}{load_module $root/build/}g;
    $text =~ s{\.\./demo/certs/}{$dir/certs/}g;
    $text =~ s{\bbuild/(example-[\w-]+)}{$dir/$1}g;
    $text =~ s{root docs;}{root $root/docs;}g;
    $text =~ s{127\.0\.0\.1:(8[04]\d\d)\b}{'127.0.0.1:' . moved($1)}ge;
    $text = "user root;\n$text" if $> == 0;
    my ($sub) = $text =~ m{pid \Q$dir\E/(example-[\w-]+)/};
    mkdir("$dir/$sub");
    my $f = $t->write_file("conf/$name", $text);
    return $f;
}

for my $ex (qw(nginx-http.conf nginx-http2-multicert.conf nginx-stream.conf)) {
    my $f = prepare($ex) or next;
    my $r = run(['/usr/sbin/nginx', '-p', "$dir/", '-c', $f, '-t'], 30);
    is($r->{exit}, 0, "$ex: nginx -t") or diag($r->{all});
    $r = run(['/usr/sbin/nginx', '-p', "$dir/", '-c', $f], 30);
    is($r->{exit}, 0, "$ex: starts") or diag($r->{all});
    for my $p (slurp($f) =~ /listen 127\.0\.0\.1:(\d+)/g) {
        ok(ZtTest::wait_port($p, 10), "$ex: listening on $p");
    }

    if ($ex eq 'nginx-http.conf') {
        my $p = moved('8443');
        $r = run(['curl', '-sk', '--max-time', '10',
                  "https://127.0.0.1:$p/"], 20);
        like($r->{out}, qr/^https HTTP\/2\.0 TLSv1\.3 TLS_\w+ alpn=h2$/,
             'http example: /') or diag($r->{all});
        $r = run(['curl', '-sk', '--max-time', '10', '--http1.1',
                  "https://127.0.0.1:$p/directives.md"], 20);
        like($r->{out}, qr/ngx_http_zigtls_module/,
             'http example: static file') or diag($r->{all});
    } elsif ($ex eq 'nginx-http2-multicert.conf') {
        my $p = moved('8445');
        $r = run(['curl', '-sk', '--max-time', '10', '--http2',
                  "https://127.0.0.1:$p/"], 20);
        like($r->{out}, qr/^HTTP\/2\.0 via h2, certificate for \w+/,
             'multicert example: h2') or diag($r->{all});
        for my $a (['ed25519', qr/Peer signature type: ed25519/i],
                   ['ecdsa_secp256r1_sha256', qr/Peer signature type: ECDSA/],
                   ['rsa_pss_rsae_sha256', qr/Peer signature type: RSA-PSS/]) {
            $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p",
                      '-sigalgs', $a->[0]], 20, stdin => '');
            like($r->{out}, $a->[1], "multicert example: $a->[0]")
                or diag($r->{all});
        }
        $r = run(['curl', '-sk', '--max-time', '10', '-o', '/dev/null',
                  '-w', '%{redirect_url}', "https://127.0.0.1:$p/old"], 20);
        is($r->{out}, "https://127.0.0.1:$p/", 'multicert example: redirect');
        $r = run(['curl', '-sk', '--max-time', '10', '--resolve',
                  "api.localhost:$p:127.0.0.1", "https://api.localhost:$p/"],
                 20);
        is($r->{out}, "api backend: forwarded proto https\n",
           'multicert example: SNI server and proxy_pass') or diag($r->{all});
    } else {
        my $p = moved('8446');
        $r = run(['curl', '-sk', '--max-time', '10',
                  "https://127.0.0.1:$p/"], 20);
        is($r->{out}, "hello over TLS through nginx stream\n",
           'stream example: TLS -> http backend') or diag($r->{all});
        $p = moved('8447');
        $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p",
                  '-quiet'], 20, stdin => '', until => qr/hello from/);
        like($r->{out}, qr/hello from the stream backend/,
             'stream example: TLS -> line backend') or diag($r->{all});
    }

    $r = run(['/usr/sbin/nginx', '-p', "$dir/", '-c', $f, '-s', 'quit'], 30);
    is($r->{exit}, 0, "$ex: quit") or diag($r->{all});
    my ($sub) = slurp($f) =~ m{pid \Q$dir\E/(example-[\w-]+)/};
    my $deadline = time + 10;
    sleep(1) while time < $deadline && -e "$dir/$sub/nginx.pid";
    ok(!-e "$dir/$sub/nginx.pid", "$ex: stopped");
    unlike(slurp("$dir/$sub/error.log"), qr/\[(alert|crit|emerg)\]/,
           "$ex: no alerts");
}

done_testing();
