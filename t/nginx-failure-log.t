#!/usr/bin/perl

# Every failed handshake has its log line, also those counted as "other":
# a client that sent half a ClientHello when the worker is shut down
# (worker_shutdown_timeout) is closed with "zigtls handshake failed:
# connection closed before the handshake ended (worker shutdown)", and
# the metrics count it as other while the line is written.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run);

my $t = ZtNginx->new;
$t->certs;

$t->write_conf(<<'CONF');
worker_shutdown_timeout 1s;

http {
    access_log off;
    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        location / { return 200 "ok\n"; }
    }
}
CONF
$t->start;

# the start of a ClientHello: record header, handshake header, 10 bytes
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => $t->port(0), Proto => 'tcp')
    or die "connect: $!\n";
print $s "\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03\x03" . ("\x11" x 8);
select(undef, undef, undef, 0.3);

my $t0 = time;
$t->stop(10);
ok(time - $t0 < 5, 'the worker shut down after worker_shutdown_timeout');
like($t->error_log,
     qr/zigtls handshake failed: connection closed before the handshake ended \(worker shutdown\)/,
     'the handshake closed by the shutdown is logged');
close($s);

done_testing();
