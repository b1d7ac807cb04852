#!/usr/bin/perl

# zigtls nginx module: every configuration mistake fails "nginx -t" with
# the file, the line and the reason (an expired certificate only warns).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('openssl');

my $t = ZtNginx->new(stream => 1);
my $c = $t->certs;
$t->cert('other', cn => 'other.test');
$t->cert('p384', type => 'p384');
$t->cert('ed448', type => 'ed448');
$t->cert('rsa1024', type => 'rsa1024');
$t->cert('expired', expired => 1);
$t->write_file('certs/garbage.crt', "this is not PEM\n");

my $n = 0;

# Write a configuration; the line holding "#HERE" is the one the error
# must name. Returns (nginx -t result, file, line).
sub check {
    my ($http, %o) = @_;
    my $body = $o{stream} ? $http : "http {\n    access_log off;\n$http}\n";
    my $file = $t->write_conf($body, file => 'conf/t' . (++$n) . '.conf');
    my @lines = split /\n/, $t->read_file($file);
    my ($line) = grep { $lines[$_ - 1] =~ /#HERE/ } 1 .. @lines;
    my $r = $t->test_config($file);
    return ($r, $file, $line // 0);
}

sub fails_with {
    my ($name, $re, $conf, %o) = @_;
    my ($r, $file, $line) = check($conf, %o);
    isnt($r->{exit}, 0, "$name: nginx -t fails") or diag($r->{all});
    my ($emerg) = $r->{all} =~ /^(.*\[emerg\].*)$/m;
    $emerg //= '';
    like($emerg, $re, "$name: reason") or diag($r->{all});
    like($emerg, qr/\Q$file\E:$line\b/, "$name: names $file:$line")
        or diag($r->{all});
}

my $srv = sub {
    my ($extra, $cert, $key) = @_;
    $cert //= '%%CERTS%%/ecdsa.crt';
    $key //= '%%CERTS%%/ecdsa.key';
    return <<"CONF";
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate $cert;
        zigtls_certificate_key $key;
$extra
    }
CONF
};

# a good one first
my ($r) = check($srv->(''));
is($r->{exit}, 0, 'valid configuration passes nginx -t') or diag($r->{all});

fails_with('missing certificate file', qr/cannot read zigtls certificate ".*nosuch\.crt".*No such file/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/nosuch.crt;  #HERE
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
CONF

fails_with('missing key file', qr/cannot read zigtls certificate key ".*nosuch\.key"/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/nosuch.key;  #HERE
    }
CONF

fails_with('unreadable certificate (not PEM)', qr/cannot load zigtls certificate ".*garbage\.crt"/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/garbage.crt;  #HERE
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
CONF

fails_with('key does not match certificate', qr/cannot load zigtls certificate ".*ecdsa\.crt" with key ".*other\.key": .*match/i, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;  #HERE
        zigtls_certificate_key %%CERTS%%/other.key;
    }
CONF

for my $k (qw(p384 ed448 rsa1024)) {
    fails_with("unsupported key type $k", qr/cannot load zigtls certificate ".*$k\.crt".*: \S/, <<"CONF");
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/$k.crt;  #HERE
        zigtls_certificate_key %%CERTS%%/$k.key;
    }
CONF
}

{
    my ($r, $file, $line) = check(<<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/expired.crt;  #HERE
        zigtls_certificate_key %%CERTS%%/expired.key;
    }
CONF
    is($r->{exit}, 0, 'expired certificate: nginx -t passes')
        or diag($r->{all});
    like($r->{all}, qr/\[warn\].*zigtls certificate ".*expired\.crt" has expired.*\Q$file\E:$line\b/,
         'expired certificate: warning with file:line') or diag($r->{all});
}

fails_with('no certificate', qr/no "zigtls_certificate" is defined/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;  #HERE
    }
CONF

fails_with('certificate without key', qr/no "zigtls_certificate_key" is defined for certificate/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_certificate %%CERTS%%/rsa.crt;  #HERE
    }
CONF

fails_with('zigtls on and off on one address:port', qr/"zigtls on" in .* and a server without it \("plain\.test"\) listen on the same address 127\.0\.0\.1:\d+/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name plain.test;
    }
    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name tls.test;
        zigtls on;  #HERE
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
CONF

fails_with('listen ssl on a zigtls port', qr/the "ssl" parameter of "listen 127\.0\.0\.1:\d+" conflicts with "zigtls on"/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%% ssl;
        ssl_certificate %%CERTS%%/ecdsa.crt;
        ssl_certificate_key %%CERTS%%/ecdsa.key;
        zigtls on;  #HERE
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
CONF

fails_with('listen http2 on a zigtls port', qr/the "http2" parameter of "listen 127\.0\.0\.1:\d+" cannot be used with "zigtls on"/, <<'CONF');
    server {
        listen 127.0.0.1:%%PORT_0%% http2;
        zigtls on;  #HERE
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
CONF

fails_with('unknown cipher', qr/unknown cipher suite "TLS_RSA_WITH_RC4" in "zigtls_ciphers"/,
           $srv->('        zigtls_ciphers TLS_AES_128_GCM_SHA256:TLS_RSA_WITH_RC4;  #HERE'));

fails_with('unknown group', qr/unknown group "ffdhe2048" in "zigtls_groups"/,
           $srv->('        zigtls_groups x25519:ffdhe2048;  #HERE'));

# five names for four groups: the repeat is named, with the group it is
fails_with('group listed twice', qr/group "P-256" is listed twice \(as secp256r1\) in "zigtls_groups"/,
           $srv->('        zigtls_groups x25519mlkem768:x25519:secp256r1:secp256r1mlkem768:P-256;  #HERE'));

fails_with('cipher suite listed twice', qr/cipher suite "TLS_AES_128_GCM_SHA256" is listed twice \(as TLS_AES_128_GCM_SHA256\) in "zigtls_ciphers"/,
           $srv->('        zigtls_ciphers TLS_AES_128_GCM_SHA256:TLS_AES_128_GCM_SHA256;  #HERE'));

($r) = check($srv->('        zigtls_groups x25519mlkem768:secp256r1mlkem768:x25519:secp256r1;'));
is($r->{exit}, 0, 'every group the core has, in one zigtls_groups') or diag($r->{all});

($r) = check($srv->("        zigtls_ciphers TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256;\n"
                    . "        zigtls_groups secp256r1:x25519;\n"
                    . "        zigtls_alpn http/1.1;\n"
                    . "        zigtls_handshake_timeout 5s;\n"
                    . "        zigtls_require_sni on;\n"
                    . "        zigtls_server_names_strict on;"));
is($r->{exit}, 0, 'all directives accepted') or diag($r->{all});

# stream
fails_with('stream: listen ssl with zigtls', qr/the "ssl" parameter of "listen 127\.0\.0\.1:\d+" conflicts with "zigtls on"/, <<'CONF', stream => 1);
stream {
    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        ssl_certificate %%CERTS%%/ecdsa.crt;
        ssl_certificate_key %%CERTS%%/ecdsa.key;
        zigtls on;  #HERE
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        proxy_pass 127.0.0.1:1;
    }
}
CONF

fails_with('stream: key mismatch', qr/cannot load zigtls certificate/, <<'CONF', stream => 1);
stream {
    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;  #HERE
        zigtls_certificate_key %%CERTS%%/rsa.key;
        proxy_pass 127.0.0.1:1;
    }
}
CONF

fails_with('stream: unknown group', qr/unknown group "x448" in "zigtls_groups"/, <<'CONF', stream => 1);
stream {
    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_groups x448;  #HERE
        proxy_pass 127.0.0.1:1;
    }
}
CONF

done_testing();
