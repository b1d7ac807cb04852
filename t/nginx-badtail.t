#!/usr/bin/perl

# A valid request record and a bad record in the same TCP segment: the
# request may be answered, the bad record gets its alert (bad_record_mac,
# unexpected_message, record_overflow),
# and the connection closes at once, not after client_header_timeout
# (t/lib/zt_rawclient.py, mode "badtail"). http and stream.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new;
$t->certs;

$t->write_conf(<<'CONF');
http {
    access_log off;
    client_header_timeout 20s;
    keepalive_timeout 20s;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_ciphers TLS_AES_128_GCM_SHA256;
        location / { return 200 "hello\n"; }
    }
}
CONF
$t->start;

my %alert = (mac => 20, type => 10, overflow => 22);
for my $kind (qw(mac type overflow)) {
    for my $i (1 .. 2) {
        my $r = run(['python3', 't/lib/zt_rawclient.py', $t->port(0),
                     'badtail', $kind], 40);
        my ($n, $alert, $eof) =
          $r->{out} =~ /badtail responses (\d+) alert (\S+) eof ([\d.]+)/
          or fail("$kind $i: no result: $r->{all}"), next;
        ok($n <= 1, "$kind $i: at most the one response ($n)");
        is($alert, $alert{$kind}, "$kind $i: alert $alert{$kind}");
        ok($eof < 5, "$kind $i: closed at once (after $eof s, timeout 20 s)");
    }
}

$t->stop;
done_testing();
