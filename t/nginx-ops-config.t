#!/usr/bin/perl

# What operators trip on, refused or made visible:
#   - "nginx -t" refuses zigtls_status and zigtls_reload without a
#     zigtls_zone, naming the file and line (they could only answer 503);
#   - zigtls_log_failures: failed handshakes at a level the error_log
#     shows (Debian's default error_log level hides "info"), or off, and
#     at most rate=N lines a second per worker, the rest counted and
#     reported; bad values refused by "nginx -t".

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run);

my $t = ZtNginx->new;
$t->certs;

sub conf {
    my ($http, $server, %o) = @_;
    $t->write_conf(<<"CONF", log_level => $o{log_level} || 'notice');
http {
    access_log off;
    $http

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        $server
        location / { return 200 "ok\\n"; }
    }
}
CONF
}

# ---- nginx -t: the zone is needed ----------------------------------------

for my $d ('zigtls_status', 'zigtls_status prometheus', 'zigtls_reload') {
    my ($name) = $d =~ /^(\S+)/;
    conf('', "location = /ops { $d; }");
    my $r = $t->test_config;
    ok(!$r->{ok}, "nginx -t refuses \"$d\" without zigtls_zone");
    like($r->{all},
         qr/"\Q$name\E" in \S+nginx\.conf:\d+ needs a "zigtls_zone"/,
         "... naming the directive, file and line");
    conf('zigtls_zone ops:256k;', "location = /ops { $d; }");
    $r = $t->test_config;
    ok($r->{ok}, "with a zone it passes") or diag($r->{all});
}

# the zone may come after the location that uses it
$t->write_conf(<<'CONF');
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        location = /status { zigtls_status; }
    }
    zigtls_zone ops:256k;
}
CONF
ok($t->test_config->{ok}, 'zone declared after the location: accepted');

# ---- zigtls_log_failures: bad values -------------------------------------

for my $bad (['zigtls_log_failures loud;', qr/invalid level "loud"/],
             ['zigtls_log_failures warn rate=0/s;', qr/invalid rate/],
             ['zigtls_log_failures warn 10;', qr/expected rate=N\/s/],
             ['zigtls_log_failures off rate=5/s;', qr/no rate with "off"/],
             ['zigtls_log_failures warn; zigtls_log_failures info;',
              qr/is duplicate/]) {
    conf('', $bad->[0]);
    my $r = $t->test_config;
    ok(!$r->{ok}, "nginx -t refuses: $bad->[0]");
    like($r->{all}, $bad->[1], '... saying why');
    like($r->{all}, qr/nginx\.conf:\d+/, '... and where');
}

# ---- zigtls_log_failures: levels -------------------------------------------

# a client that sends a fatal alert instead of a ClientHello
sub bad_handshakes {
    my ($n) = @_;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->port(0),
                                      Timeout => 5) or die "connect: $!";
        print $s "\x15\x03\x01\x00\x02\x02\x28";
        my $buf;
        sysread($s, $buf, 64);   # the server closes
        close($s);
    }
}

# the lines of those clients (not of the port probe of start(), which
# connects and closes: "client closed connection")
sub failure_lines {
    my @l = grep { /zigtls handshake failed: peer_alert, alert received/ }
            split /\n/, $t->error_log;
    return @l;
}

sub wait_lines {
    my ($n) = @_;
    for (1 .. 100) {
        return if failure_lines() >= $n;
        select(undef, undef, undef, 0.05);
    }
}

# default: "info", hidden by an error_log at "notice"
conf('', '');
$t->start;
bad_handshakes(2);
$t->stop;
is(scalar(failure_lines()), 0, 'default (info): not shown at notice');
conf('', '', log_level => 'info');
unlink($t->dir . '/logs/error.log');
$t->start;
bad_handshakes(2);
wait_lines(2);
$t->stop;
my @l = failure_lines();
is(scalar @l, 2, 'default: shown at info');
like($l[0] // '', qr/\[info\].*alert received: handshake_failure/,
     '... at [info], with the reason');

# "warn": seen with Debian's default error_log level (error is stricter;
# here the log is at notice)
unlink($t->dir . '/logs/error.log');
conf('zigtls_log_failures warn;', '');
$t->start;
bad_handshakes(3);
wait_lines(3);
$t->stop;
@l = failure_lines();
is(scalar @l, 3, 'zigtls_log_failures warn (http level): every failure');
like($l[0] // '', qr/\[warn\] .*zigtls handshake failed/, '... at [warn]');

# "off" in the server overrides http
unlink($t->dir . '/logs/error.log');
conf('zigtls_log_failures warn;', 'zigtls_log_failures off;',
     log_level => 'debug');
$t->start;
bad_handshakes(3);
$t->stop;
is(scalar(failure_lines()), 0, 'off: nothing, even at debug');

# a handshake cut by the worker's shutdown follows the directive too
for my $lv (['warn', 1], ['off', 0]) {
    unlink($t->dir . '/logs/error.log');
    $t->write_conf(<<"CONF", log_level => 'info');
worker_shutdown_timeout 1s;
http {
    zigtls_log_failures $lv->[0];
    zigtls_zone ops:256k;
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
    }
}
CONF
    $t->start;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->port(0)) or die "$!";
    print $s "\x16\x03\x01\x01\x00\x01\x00\x00\xfc\x03\x03" . ("\x11" x 8);
    select(undef, undef, undef, 0.3);
    $t->stop(10);
    close($s);
    my $n = () = $t->error_log =~
        /\[warn\] .*closed before the handshake ended \(worker shutdown\)/g;
    is($n, $lv->[1], "shutdown: $lv->[0]: $lv->[1] line");
}

# ---- zigtls_log_failures: a flood is cut to the rate ------------------------

unlink($t->dir . '/logs/error.log');
conf('', 'zigtls_log_failures error rate=5/s;');
$t->start;
sleep(1);             # the probe's line in a second of its own
my $t0 = time;
bad_handshakes(40);
my $secs = time - $t0 + 1;
sleep(2);
bad_handshakes(1);    # a new second: reports what was left out
wait_lines(1);
$t->stop;
my $log = $t->error_log;
my $written = () = $log =~
    /\[error\] .*zigtls handshake failed: peer_alert, alert received/g;
my $dropped = 0;
$dropped += $1 while $log =~
    /(\d+) failed-handshake lines? not written \(over zigtls_log_failures rate=5\/s\)/g;
ok($written <= 5 * ($secs + 1) + 1,
   "41 failures in about $secs s: $written lines written");
ok($dropped > 0, "$dropped left out and reported");
is($written + $dropped, 41, 'written plus reported is every failure');

done_testing();
