#!/usr/bin/perl

# Certificate compression (RFC 8879, zigtls_certificate_compression):
# a client that offers brotli or zlib gets its chain compressed, computed
# once at load and again at a hot reload; other clients get the plain
# Certificate. A raw client (t/lib/zt_certcomp.py) decompresses, checks
# the announced length, verifies CertificateVerify with the leaf it got
# and the server Finished over the transcript as sent, and is served.
# Chromium (which offers brotli) loads a page through it. The server's
# first flight is measured for an ECDSA and an RSA chain (leaf + CA),
# without and with compression; the counters add up.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtProm;
use ZtTest qw(run need_bin start_bg stop_pid wait_port);

need_bin('python3');
need_bin('openssl');

my $t = ZtNginx->new;
my $dir = $t->dir;
my $cd = "$dir/certs";

# a CA and a leaf signed by it; the chain file is leaf then CA
sub chain {
    my ($name, @newkey) = @_;
    for my $c (["$name-ca", "/CN=zigtls test CA $name", 1],
               [$name, '/CN=localhost', 0]) {
        my ($n, $subj, $ca) = @$c;
        my @sign = $ca
            ? ('-x509', '-addext', 'basicConstraints=critical,CA:TRUE')
            : ('-CA', "$cd/$name-ca.crt", '-CAkey', "$cd/$name-ca.key",
               '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
        my $r = run(['openssl', 'req', @newkey, '-nodes', '-days', '30',
                     '-keyout', "$cd/$n.key", '-out', "$cd/$n.crt",
                     '-subj', $subj, @sign], 60);
        die "openssl: $r->{all}" unless $r->{ok};
    }
    $t->write_file("certs/$name-chain.crt",
                   $t->read_file("certs/$name.crt")
                   . $t->read_file("certs/$name-ca.crt"));
    chmod(0600, "$cd/$name.key");
}

chain('ec', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
chain('rsa', '-newkey', 'rsa:2048');
chain('ec2', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
$t->write_file('certs/live.crt', $t->read_file('certs/ec-chain.crt'));
$t->write_file('certs/live.key', $t->read_file('certs/ec.key'));

$t->write_conf(<<'CONF');
http {
    access_log off;
    # distinct names: one Prometheus series per server
    zigtls_zone ops:1m;
    zigtls_certificate_compression on;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name ec.test;
        zigtls on;
        zigtls_certificate %%CERTS%%/live.crt;
        zigtls_certificate_key %%CERTS%%/live.key;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_1%%;
        server_name rsa.test;
        zigtls on;
        zigtls_certificate %%CERTS%%/rsa-chain.crt;
        zigtls_certificate_key %%CERTS%%/rsa.key;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_2%%;
        server_name off.test;
        zigtls on;
        zigtls_certificate_compression off;
        zigtls_certificate %%CERTS%%/ec-chain.crt;
        zigtls_certificate_key %%CERTS%%/ec.key;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:%%PORT_3%%;
        location = /metrics { zigtls_status prometheus; }
        location = /status { zigtls_status; }
        location = /reload { zigtls_reload; }
    }
}
CONF
$t->start;

my %expect = (zlib => 0, brotli => 0, saved => 0);

sub client {
    my ($port, $algs) = @_;
    my $r = run(['python3', 't/lib/zt_certcomp.py', $port, $algs], 30);
    my %o = $r->{out} =~ /(\w+) (\S+)/g;
    $o{all} = $r->{all};
    if (($o{cert} // 0) && ($o{status} // '') eq '200') {
        $expect{$o{cert} == 1 ? 'zlib' : 'brotli'}++;
        $expect{saved} += $o{raw} - $o{comp} - 8;
    }
    return \%o;
}

sub leaf_sha {
    my ($crt) = @_;
    my $r = run(['openssl', 'x509', '-in', $crt, '-outform', 'DER'], 20);
    return substr(sha256_hex($r->{out}), 0, 16);
}

my %flight;
for my $s ([0, 'ECDSA P-256'], [1, 'RSA-2048']) {
    my ($i, $what) = @{$s};
    my $port = $t->port($i);
    my $plain = client($port, 'none');
    is($plain->{cert}, 0, "$what: no offer, plain Certificate")
        or diag($plain->{all});
    is($plain->{certs}, 2, "$what: leaf and CA");
    is($plain->{verify}, 'ok', "$what: CertificateVerify verified");
    is($plain->{status}, '200', "$what: served");
    $flight{$what}{none} = $plain->{flight};
    $flight{$what}{raw} = $plain->{raw};

    for my $c (['2', 2, 'brotli'], ['1', 1, 'zlib'], ['1,2', 2, 'brotli'],
               ['2,1', 2, 'brotli'], ['3', 0, 'none'], ['3,1', 1, 'zlib']) {
        my ($offer, $want, $name) = @{$c};
        my $o = client($port, $offer);
        is($o->{cert}, $want, "$what: offered $offer, got $name")
            or diag($o->{all});
        is($o->{status}, '200', "$what ($offer): verified and served");
        is($o->{raw}, $plain->{raw}, "$what ($offer): the same chain");
        next unless $want;
        ok($o->{comp} < $o->{raw},
           "$what ($offer): $o->{raw} bytes compressed to $o->{comp}");
        $flight{$what}{$name} = $o->{flight};
        $flight{$what}{"$name-comp"} = $o->{comp};
        # the flight shrinks by what compression saves (an ECDSA signature
        # varies by a byte or two)
        my $d = ($plain->{flight} - $o->{flight})
                - ($o->{raw} - $o->{comp} - 8);
        ok(abs($d) <= ($i == 0 ? 3 : 0),
           "$what ($offer): flight $o->{flight} vs $plain->{flight}");
    }
}

# the server with compression off
my $o = client($t->port(2), '2,1');
is($o->{cert}, 0, 'zigtls_certificate_compression off: plain');
is($o->{status}, '200', '... served');

# curl (OpenSSL 3.0 does not offer compression)
my $r = run(['curl', '-sk', '--max-time', '10',
             'https://127.0.0.1:' . $t->port(0) . '/'], 20);
is($r->{out}, "ok\n", 'curl: served (plain Certificate)');

# the figures for docs/performance.md
for my $w (sort keys %flight) {
    my $f = $flight{$w};
    diag(sprintf('%-12s Certificate %5d B, brotli %5d, zlib %5d; first '
                 . 'flight %5d B, with brotli %5d (-%d), with zlib %5d (-%d)',
                 $w, $f->{raw}, $f->{'brotli-comp'} // 0,
                 $f->{'zlib-comp'} // 0, $f->{none}, $f->{brotli} // 0,
                 $f->{none} - ($f->{brotli} // 0), $f->{zlib} // 0,
                 $f->{none} - ($f->{zlib} // 0)));
}

# counters: every compressed handshake, and the bytes saved
sub metric {
    my ($name) = @_;
    my $m = run(['curl', '-s', '--max-time', '10',
                 'http://127.0.0.1:' . $t->port(3) . '/metrics'], 20)->{out};
    my ($v) = $m =~ /^\Q$name\E (\d+)$/m;
    return ($v, $m);
}
my ($v, $text) = metric('zigtls_certificates_compressed_total{algorithm="brotli"}');
is($v, $expect{brotli}, "metrics: $expect{brotli} brotli");
($v) = metric('zigtls_certificates_compressed_total{algorithm="zlib"}');
is($v, $expect{zlib}, "metrics: $expect{zlib} zlib");
($v) = metric('zigtls_certificate_compression_saved_bytes_total');
is($v, $expect{saved}, "metrics: $expect{saved} bytes saved");
my $prom = eval { ZtProm::parse($text) };
ok($prom, 'Prometheus output parses strictly') or diag($@);
is(ZtProm::value($prom, 'zigtls_certificates_compressed_total',
                 algorithm => 'brotli'), $expect{brotli},
   '... the same value through the parser');
like(run(['curl', '-s', 'http://127.0.0.1:' . $t->port(3) . '/status'], 20)
         ->{out},
     qr/^certificates compressed: brotli $expect{brotli}, zlib $expect{zlib}; $expect{saved} bytes saved$/m,
     'status page: the same');

# hot reload: the new chain is compressed (once, at the reload)
my $before = client($t->port(0), '2');
is($before->{leaf}, leaf_sha("$cd/ec.crt"), 'before the reload: the old leaf');
$t->write_file('certs/live.crt', $t->read_file('certs/ec2-chain.crt'));
$t->write_file('certs/live.key', $t->read_file('certs/ec2.key'));
$r = run(['curl', '-s', '-X', 'POST', '--max-time', '20',
          'http://127.0.0.1:' . $t->port(3) . '/reload'], 30);
like($r->{out}, qr/"ok"/, 'reloaded') or diag($r->{out});
my $after = client($t->port(0), '2');
is($after->{cert}, 2, 'after the reload: still compressed');
is($after->{leaf}, leaf_sha("$cd/ec2.crt"), '... the new leaf');
is($after->{status}, '200', '... verified and served');

# Chromium offers brotli: the chain goes compressed, the page loads
SKIP: {
    skip 'chromium not installed (Debian package chromium)', 4
        unless -x '/usr/bin/chromium';
    my $hellos = "$dir/hellos.txt";
    my $relay = start_bg({ stderr => "$dir/logs/relay.log" },
                         'python3', 't/lib/zt_ja4.py', 'relay',
                         $t->port(4), $t->port(1), $hellos);
    ok(wait_port($t->port(4), 10), 'relay listens');
    my ($n0) = metric('zigtls_certificates_compressed_total{algorithm="brotli"}');
    $r = run(['/usr/bin/chromium', '--headless', '--no-sandbox',
              '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking',
              '--disable-component-update', '--disable-sync',
              '--ignore-certificate-errors', "--user-data-dir=$dir/chromium",
              '--dump-dom', 'https://127.0.0.1:' . $t->port(4) . '/'], 90);
    stop_pid($relay, 3);
    like($r->{out}, qr/ok/, 'chromium: page loaded over the RSA chain');
    my ($hex) = split /\n/, $t->read_file($hellos);
    my $exts = run(['python3', 't/lib/zt_ja4.py', 'exts', $hex // ''],
                   20)->{out};
    like($exts, qr/\b001b\b/, 'chromium offered compress_certificate');
    my ($n1) = metric('zigtls_certificates_compressed_total{algorithm="brotli"}');
    ok($n1 > $n0, "brotli-compressed chains sent to chromium: " . ($n1 - $n0));
}

$t->stop;
done_testing();
