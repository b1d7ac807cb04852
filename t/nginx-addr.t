#!/usr/bin/perl

# zigtls nginx module: one wildcard socket serving several addresses of a
# port, some with zigtls and some without (the accept handler repeats
# nginx's address lookup), and IPv6 loopback.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin wait_port);

need_bin('curl');

my $t = ZtNginx->new;
$t->certs;
my $p = $t->port(0);

# 127.0.0.2 must be usable (all of 127/8 is loopback on Linux)
my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.2', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1);
ok($probe, '127.0.0.2 is usable') or BAIL_OUT("no 127.0.0.2: $!");
close($probe);

$t->write_conf(<<'CONF');
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        return 200 "tls $server_addr $scheme\n";
    }

    server {
        listen 127.0.0.2:%%PORT_0%%;
        return 200 "plain $server_addr $scheme\n";
    }

    # the wildcard listen makes one socket serve all addresses of the port
    server {
        listen %%PORT_0%%;
        return 200 "wildcard $server_addr $scheme\n";
    }

    server {
        listen [::1]:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        return 200 "tls6 $scheme\n";
    }
}
CONF
$t->start;
ok(wait_port($p, 10, '127.0.0.2'), 'listening');

my $r = run(['curl', '-sk', '--max-time', '10', "https://127.0.0.1:$p/"], 20);
is($r->{out}, "tls 127.0.0.1 https\n", 'zigtls address of the wildcard socket')
    or diag($r->{all});
$r = run(['curl', '-s', '--max-time', '10', "http://127.0.0.2:$p/"], 20);
is($r->{out}, "plain 127.0.0.2 http\n", 'plain address of the same socket')
    or diag($r->{all});
$r = run(['curl', '-s', '--max-time', '10', "http://127.0.0.3:$p/"], 20);
is($r->{out}, "wildcard 127.0.0.3 http\n", 'other addresses: wildcard server')
    or diag($r->{all});
$r = run(['curl', '-sk', '--max-time', '10', '--http2', "https://127.0.0.1:$p/"],
         20);
is($r->{out}, "tls 127.0.0.1 https\n", 'HTTP/2 on the zigtls address')
    or diag($r->{all});

$r = run(['curl', '-sk', '--max-time', '10', '-g',
          'https://[::1]:' . $t->port(1) . '/'], 20);
is($r->{out}, "tls6 https\n", 'zigtls on [::1] (needs IPv6 loopback)')
    or diag($r->{all});

$t->stop;
unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts')
    or diag($t->error_log);

done_testing();
