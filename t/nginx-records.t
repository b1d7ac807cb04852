#!/usr/bin/perl

# Output framing: nginx's response buffers (headers, then body, also a
# static file read through the send_chain fallback) are gathered into as
# few TLS records as their size allows: a small response is one protected
# record, then close_notify; a larger one starts with small records
# (dynamic record sizing, docs/architecture.md). Counted by a raw TLS 1.3 client that decrypts
# every record (t/lib/zt_rawclient.py, mode "records").

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new;
$t->certs;

open(my $fh, '>', $t->dir . '/small.html') or die "small.html: $!";
print $fh "x" x 300;
close $fh;
open($fh, '>', $t->dir . '/big.bin') or die "big.bin: $!";
print $fh "y" x 40000;
close $fh;

$t->write_conf(<<'CONF');
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_ciphers TLS_AES_128_GCM_SHA256;
        sendfile on;
        location = /hello { return 200 "hello\n"; }
        location / { root %%DIR%%; }
    }
}
CONF
$t->start;

sub records {
    my ($path) = @_;
    my $r = run(['python3', 't/lib/zt_rawclient.py', $t->port(0), 'records',
                 $path], 20);
    my ($n, $bytes, $cn) =
      $r->{out} =~ /records (\d+) bytes (\d+) close_notify (\S+)/
      or return (undef, undef, $r->{all});
    return ($n, $bytes, $cn);
}

my ($n, $bytes, $cn) = records('/hello');
is($n, 1, 'return 200: headers and body in one record') or diag($cn);
like($bytes, qr/^\d+$/, 'response bytes counted');
ok($bytes > 6 && $bytes < 400, "a small response ($bytes bytes)");
is($cn, 'yes', 'then close_notify');

($n, $bytes, $cn) = records('/small.html');
is($n, 1, 'static file of 300 bytes (sendfile on): one record');
is($cn, 'yes', 'then close_notify');

($n, $bytes, $cn) = records('/big.bin');
ok($bytes > 40000, "40000-byte file arrives whole ($bytes bytes)");
# dynamic record sizing: 3 small records (ZT_BURST_BYTES), one that
# fills the send pipe's record, then full-size ones
ok($n >= 5 && $n <= 7, "small records first, then full-size ones ($n)");
is($cn, 'yes', 'then close_notify');

$t->stop;
done_testing();
