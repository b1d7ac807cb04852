#!/usr/bin/perl

# zigtls nginx module: zigtls_ciphers and zigtls_groups take effect
# (preference order, HelloRetryRequest for a group without a key share,
# refusal when nothing is shared).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin($_) for qw(openssl curl);

my $t = ZtNginx->new;
$t->certs;

$t->write_conf(<<'CONF');
http {
    access_log off;
    zigtls_certificate %%CERTS%%/ecdsa.crt;
    zigtls_certificate_key %%CERTS%%/ecdsa.key;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_ciphers TLS_CHACHA20_POLY1305_SHA256;
        location / { return 200 "$zigtls_cipher $zigtls_group\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_groups secp256r1;
        location / { return 200 "$zigtls_cipher $zigtls_group\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        zigtls on;
        zigtls_ciphers TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256;
        location / { return 200 "$zigtls_cipher $zigtls_group\n"; }
    }
}
CONF
$t->start;

my $r = $t->curl('https://127.0.0.1:' . $t->port(0) . '/', '--http1.1');
like($r->{out}, qr/^TLS_CHACHA20_POLY1305_SHA256 x25519$/,
     'zigtls_ciphers: only ChaCha20-Poly1305') or diag($r->{all});

$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(0),
          '-ciphersuites', 'TLS_AES_256_GCM_SHA384'], 20, stdin => '');
like($r->{all}, qr/alert handshake failure/i,
     'no shared cipher suite: handshake_failure') or diag($r->{all});

# openssl sends an x25519 key share only: HelloRetryRequest for P-256
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(1),
          '-groups', 'x25519:P-256', '-msg'], 20, stdin => '');
like($r->{out}, qr/Server Temp Key: ECDH, prime256v1|Server Temp Key: ECDH, P-256/,
     'zigtls_groups secp256r1: P-256 after HelloRetryRequest')
    or diag($r->{all});
$r = $t->curl('https://127.0.0.1:' . $t->port(1) . '/', '--http1.1');
like($r->{out}, qr/ secp256r1$/, '$zigtls_group is secp256r1')
    or diag($r->{all});

$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(1),
          '-groups', 'x25519'], 20, stdin => '');
like($r->{all}, qr/alert handshake failure|alert illegal parameter/i,
     'no shared group: refused') or diag($r->{all});

# server preference order
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(2),
          '-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384'],
         20, stdin => '');
like($r->{out}, qr/Cipher is TLS_AES_256_GCM_SHA384/,
     'server preference order wins') or diag($r->{all});

$t->stop;
like($t->error_log, qr/zigtls handshake failed: no_shared_cipher, alert sent: handshake_failure/,
     'info line: no shared cipher') or diag($t->error_log);
like($t->error_log, qr/zigtls handshake failed: no_shared_group, alert sent: handshake_failure/,
     'info line: no shared group') or diag($t->error_log);

done_testing();
