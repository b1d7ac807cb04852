#!/usr/bin/perl

# zigtls_max_handshake_size: the ClientHello cap (default 64 KiB). A legal
# ClientHello of 100000 bytes (GREASE suites and padding) gets decode_error
# by default and a ServerHello where the cap is raised to 128k; one of
# 60000 bytes passes the default; a value outside 256..16777215 is refused
# by nginx -t, naming file:line.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new(stream => 1);
$t->certs;

$t->write_conf(<<'CONF');
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        location / { return 200 "ok\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_max_handshake_size 128k;
        location / { return 200 "ok\n"; }
    }
}

stream {
    server {
        listen 127.0.0.1:%%PORT_2%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_max_handshake_size 1k;
        return "ok\n";
    }
}
CONF
$t->start;

sub hello {
    my ($port, $size) = @_;
    my $r = run(['python3', 't/lib/zt_rawclient.py', $port, 'bighello',
                 $size], 30);
    chomp(my $o = $r->{out});
    return $o || $r->{all};
}

like(hello($t->port(0), 60000), qr/^serverhello 60000$/,
     'default cap: a 60000-byte ClientHello is served');
is(hello($t->port(0), 100000), 'alert 50',
   'default cap: a 100000-byte ClientHello gets decode_error');
like(hello($t->port(1), 100000), qr/^serverhello 100000$/,
     'zigtls_max_handshake_size 128k: 100000 bytes served');
is(hello($t->port(2), 2000), 'alert 50',
   'stream, zigtls_max_handshake_size 1k: 2000 bytes refused');
like(hello($t->port(2), 900), qr/^serverhello 900$/,
     'stream: 900 bytes served');
like($t->error_log, qr/zigtls handshake failed: handshake_too_large/,
     'the refusal is logged with its reason');
$t->stop;

my $bad = ZtNginx->new;
$bad->certs;
$bad->write_conf(<<'CONF');
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_max_handshake_size 100;
    }
}
CONF
my $r = run(['/usr/sbin/nginx', '-t', '-p', $bad->dir . '/', '-c',
             $bad->dir . '/conf/nginx.conf'], 20);
isnt($r->{exit}, 0, 'zigtls_max_handshake_size 100: nginx -t fails');
like($r->{all}, qr/"zigtls_max_handshake_size" directive must be between 256 and 16777215 bytes in \S+nginx\.conf:\d+/,
     'the error names the directive and file:line') or diag($r->{all});

done_testing();
