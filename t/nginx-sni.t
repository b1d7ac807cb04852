#!/usr/bin/perl

# zigtls nginx module: SNI chooses the server{} (exact, wildcard, regex
# names) and its certificate; zigtls_require_sni and
# zigtls_server_names_strict refuse with unrecognized_name; several key
# types on one server, chosen by the client's signature algorithms.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin($_) for qw(curl openssl python3);

my $t = ZtNginx->new;
my $c = $t->certs;    # ed25519, ecdsa, rsa for localhost

$t->cert('default', cn => 'default.test');
$t->cert('exact', cn => 'exact.test');
$t->cert('wild', cn => '*.wild.test');
$t->cert('regex', cn => 'regex.test', san => ['DNS:www7.regex.test']);
$t->cert('strict', cn => 'strict.test');

$t->write_conf(<<'CONF');
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%% default_server;
        server_name default.test;
        zigtls on;
        zigtls_certificate %%CERTS%%/default.crt;
        zigtls_certificate_key %%CERTS%%/default.key;
        return 200 "default $zigtls_server_name\n";
    }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name exact.test;
        zigtls on;
        zigtls_certificate %%CERTS%%/exact.crt;
        zigtls_certificate_key %%CERTS%%/exact.key;
        return 200 "exact $zigtls_server_name\n";
    }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name *.wild.test;
        zigtls on;
        zigtls_certificate %%CERTS%%/wild.crt;
        zigtls_certificate_key %%CERTS%%/wild.key;
        return 200 "wild $zigtls_server_name\n";
    }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name ~^www\d+\.regex\.test$;
        zigtls on;
        zigtls_certificate %%CERTS%%/regex.crt;
        zigtls_certificate_key %%CERTS%%/regex.key;
        return 200 "regex $zigtls_server_name\n";
    }

    # several key types on one server
    server {
        listen 127.0.0.1:%%PORT_1%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ed25519.crt;
        zigtls_certificate_key %%CERTS%%/ed25519.key;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_certificate %%CERTS%%/rsa.crt;
        zigtls_certificate_key %%CERTS%%/rsa.key;
        return 200 "multi $zigtls_sigalg\n";
    }

    # policy: SNI required and must name this server
    server {
        listen 127.0.0.1:%%PORT_2%%;
        server_name strict.test;
        zigtls on;
        zigtls_require_sni on;
        zigtls_server_names_strict on;
        zigtls_certificate %%CERTS%%/strict.crt;
        zigtls_certificate_key %%CERTS%%/strict.key;
        return 200 "strict $zigtls_server_name\n";
    }
}
CONF
$t->start;

sub subject {
    my ($port, @args) = @_;
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 @args], 20, stdin => '');
    my ($cn) = $r->{out} =~ m{^subject=.*?CN\s*=\s*([^\s,/]+)}m;
    return ($cn // '', $r);
}

my ($cn, $r);

($cn, $r) = subject($t->port(0), '-servername', 'exact.test');
is($cn, 'exact.test', 'exact name: its certificate') or diag($r->{all});
($cn) = subject($t->port(0), '-servername', 'a.wild.test');
is($cn, '*.wild.test', 'wildcard name: its certificate');
($cn) = subject($t->port(0), '-servername', 'www42.regex.test');
is($cn, 'regex.test', 'regex name: its certificate');
($cn) = subject($t->port(0), '-servername', 'unknown.test');
is($cn, 'default.test', 'unknown name: default server certificate');
($cn) = subject($t->port(0), '-noservername');
is($cn, 'default.test', 'no SNI: default server certificate');
($cn) = subject($t->port(0), '-servername', 'EXACT.TEST');
is($cn, 'exact.test', 'SNI is case-insensitive');

# the request lands in the server chosen by SNI when Host says nothing
my $p0 = $t->port(0);
for my $case (['exact.test', 'exact'], ['b.wild.test', 'wild'],
              ['www1.regex.test', 'regex'])
{
    my ($name, $srv) = @$case;
    $r = run(['curl', '-sS', '-k', '--max-time', '10', '--http1.1',
              '--resolve', "$name:$p0:127.0.0.1", "https://$name:$p0/"], 20);
    is($r->{out}, "$srv $name\n", "curl to $name served by its server")
        or diag($r->{all});
    $r = run(['curl', '-sS', '-k', '--max-time', '10', '--http2',
              '--resolve', "$name:$p0:127.0.0.1", "https://$name:$p0/"], 20);
    is($r->{out}, "$srv $name\n", "h2 to $name served by its server")
        or diag($r->{all});
}

# Ed25519 + ECDSA + RSA on one server, chosen by signature algorithms
my $p1 = $t->port(1);
for my $case (['ed25519', qr/Peer signature type: Ed25519/i],
              ['ecdsa_secp256r1_sha256', qr/Peer signature type: ECDSA/],
              ['rsa_pss_rsae_sha256', qr/Peer signature type: RSA-PSS/])
{
    my ($alg, $re) = @$case;
    $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p1",
              '-servername', 'localhost', '-sigalgs', $alg], 20,
             stdin => '');
    like($r->{out}, $re, "sigalgs $alg gets its certificate")
        or diag($r->{all});
}

# curl --http2 against the multi-certificate server
$r = run(['curl', '-sS', '-k', '--max-time', '10', '--http2',
          "https://127.0.0.1:$p1/"], 20);
like($r->{out}, qr/^multi (ed25519|ecdsa_secp256r1_sha256|rsa_pss_rsae_sha256)$/,
     'curl --http2 against Ed25519+ECDSA+RSA') or diag($r->{all});

# policy
my $p2 = $t->port(2);
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p2",
          '-servername', 'strict.test'], 20, stdin => '');
like($r->{out}, qr/subject=.*strict\.test/, 'strict: known name accepted')
    or diag($r->{all});
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p2",
          '-servername', 'other.test'], 20, stdin => '');
like($r->{all}, qr/unrecognized name/i,
     'strict: unknown name gets unrecognized_name') or diag($r->{all});
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p2",
          '-noservername'], 20, stdin => '');
like($r->{all}, qr/unrecognized name/i,
     'require_sni: no SNI gets unrecognized_name') or diag($r->{all});

$t->stop;

my $log = $t->error_log;
like($log, qr/zigtls handshake failed: .*alert sent: unrecognized_name, sni: "other\.test".*client: 127\.0\.0\.1/,
     'info line for refused SNI with client, reason, alert, SNI')
    or diag($log);

done_testing();
