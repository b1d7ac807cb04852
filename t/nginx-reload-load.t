#!/usr/bin/perl

# "nginx -s reload" under load: a client loop (t/lib/zt_loop.py, 1000
# connections from 16 threads, each a handshake and a request) runs while
# the master is told to reload every 0.2 s (25 times). Connections accepted by an
# old worker, still before or inside their handshake, must be completed
# and served, not closed by the graceful shutdown: zero failures, as with
# nginx's own TLS, which the same loop measures on a second port.

use strict;
use warnings;

use Test::More;
use POSIX ();
use Time::HiRes qw(sleep);
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new;
$t->certs;

$t->write_conf(<<'CONF', workers => 2);
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        location / { return 200 "ok\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%% ssl;
        server_name localhost;
        ssl_certificate %%CERTS%%/ecdsa.crt;
        ssl_certificate_key %%CERTS%%/ecdsa.key;
        ssl_protocols TLSv1.3;
        location / { return 200 "ok\n"; }
    }
}
CONF
$t->start;

sub loop_with_reloads {
    my ($port) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        sleep(0.3);
        for (1 .. 25) {
            $t->signal('HUP');
            sleep(0.2);
        }
        POSIX::_exit(0);   # not exit: no destructor may stop nginx
    }
    my $r = run(["python3", "t/lib/zt_loop.py", $port, 1000, 16], 120);
    waitpid($pid, 0);
    my ($ok, $failed) = $r->{out} =~ /^ok (\d+) failed (\d+)$/m
        or return (undef, undef, $r->{all});
    return ($ok, $failed, $r->{out});
}

my ($ok, $failed, $out) = loop_with_reloads($t->port(1));
is($failed, 0, "nginx's own TLS: no request lost over 25 reloads")
    or diag($out);

($ok, $failed, $out) = loop_with_reloads($t->port(0));
is($ok, 1000, 'zigtls: every request served');
is($failed, 0, 'zigtls: no request lost over 25 reloads') or diag($out);

# connected, then a reload, then (0.5 s later) the ClientHello: the old
# worker must still answer it, as nginx's SSL does (zigtls waits up to
# NGX_ZIGTLS_QUIT_GRACE, 2 s, for it; t/nginx-close.t checks that quit
# stays prompt when nothing comes)
for my $port ($t->port(1), $t->port(0)) {
    my $what = $port == $t->port(1) ? "nginx's own TLS" : 'zigtls';
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        sleep(0.5);
        $t->signal('HUP');
        POSIX::_exit(0);
    }
    my $r = run(['python3', 't/lib/zt_loop.py', $port, 20, 20, 1.0], 60);
    waitpid($pid, 0);
    like($r->{out}, qr/^ok 20 failed 0$/m,
         "$what: 20 connections accepted before a reload, hello after it")
        or diag($r->{out});
}

sleep(1);
ok($t->running, 'nginx still running');
unlike($t->error_log, qr/\[(alert|emerg)\]/, 'no alert in the error log');

$t->stop;
done_testing();
