#!/usr/bin/perl

# zigtls nginx module: "error_log ... debug" (Debian's nginx is built
# --with-debug) traces the handshake; keep-alive connections give back
# their record buffers while idle.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('curl');

my $t = ZtNginx->new;
$t->certs;
$t->write_file('html/index.html', "dbg\n");
$t->write_conf(<<'CONF', log_level => 'debug');
http {
    access_log off;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        root %%DIR%%/html;
    }
}
CONF
$t->start;

my $r = $t->curl('/index.html', '--http1.1');
is($r->{out}, "dbg\n", 'request with debug log');
my $p = $t->port(0);
$r = $t->curl('/index.html', '--http2', "https://127.0.0.1:$p/index.html");
is($r->{out}, "dbg\ndbg\n", 'two requests over HTTP/2');
$t->stop;

my $log = $t->error_log;
like($log, qr/\[debug\].*zigtls create: fd:\d+ conn:\d+ bytes/,
     'debug: connection created');
like($log, qr/\[debug\].*zigtls handshake: fed \d+ bytes/,
     'debug: bytes fed to the core');
like($log, qr/\[debug\].*zigtls flush: \d+ of \d+/, 'debug: records flushed');
like($log, qr/\[debug\].*zigtls handshake done: TLS_\w+ \w+ ecdsa_secp256r1_sha256 alpn:http\/1\.1/,
     'debug: handshake parameters');
like($log, qr/\[debug\].*zigtls: sending close_notify/, 'debug: close_notify');
like($log, qr/\[debug\].*zigtls: response done, record buffers released/,
     'HTTP/1.1 keep-alive: record buffers released after the response');
like($log, qr/\[debug\].*zigtls: HTTP\/2 idle, record buffers released/,
     'HTTP/2 idle: record buffers released');

done_testing();
