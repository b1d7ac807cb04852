#!/usr/bin/perl

# zigtls operations plane: a certificate or key path that is not a regular
# file (a FIFO in place of the file) never blocks a worker.
#   - nginx -t refuses it at once, naming the file and file:line
#   - a POST to zigtls_reload answers at once that the file is not a
#     regular file; the worker goes on serving the previous certificate,
#     its status page answers and the next POST is not "busy"
#   - the interval watcher meets the same FIFO and the worker goes on too

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use JSON::PP;
use POSIX qw(mkfifo);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin($_) for qw(curl openssl);

my $t = ZtNginx->new;
$t->cert($_, cn => 'localhost') for qw(live watch);
my $cd = $t->dir . '/certs';

# nginx -t with a FIFO for a key: refused at once, with file:line
mkfifo("$cd/fifo.key", 0600) or die "mkfifo: $!";
$t->write_conf(<<'CONF', file => 'conf/fifo.conf');
http {
    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/live.crt;
        zigtls_certificate_key %%CERTS%%/fifo.key;
    }
}
CONF
my $t0 = time;
my $r = $t->test_config;
my $el = time - $t0;
ok(!$r->{timed_out} && $el < 10, sprintf('nginx -t does not block (%.1f s)',
                                         $el));
like($r->{all}, qr/fifo\.key" is not a regular file in \S+fifo\.conf:\d+/,
     'nginx -t: the key is not a regular file, with file:line')
    or diag($r->{all});

$t->write_conf(<<'CONF', workers => 1);
http {
    access_log off;
    zigtls_zone ops:256k;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/live.crt;
        zigtls_certificate_key %%CERTS%%/live.key;
        location / { return 200 "gen $zigtls_cert_generation\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/watch.crt;
        zigtls_certificate_key %%CERTS%%/watch.key;
        zigtls_certificate_reload_interval 200ms;
        location / { return 200 "watched $zigtls_cert_generation\n"; }
    }

    server {
        listen 127.0.0.1:%%PORT_2%%;
        location = /reload { zigtls_reload; }
        location = /status { zigtls_status; }
    }
}
CONF
$t->start;

my ($p0, $p1, $p2) = map { $t->port($_) } 0 .. 2;

sub post {
    my ($path) = @_;
    my $r = run(['curl', '-sS', '--max-time', '8', '-X', 'POST',
                 '-H', 'Zigtls-Action: reload',
                 '-w', '\n%{http_code}', "http://127.0.0.1:$p2$path"], 10);
    my ($body, $code) = $r->{out} =~ /^(.*)\n(\d+)$/s;
    return ($code // 0, eval { decode_json($body // '') }, $r->{all});
}

sub get {
    my ($port, $path) = @_;
    my $r = run(['curl', '-sS', '-k', '--max-time', '5',
                 "https://127.0.0.1:$port$path"], 8);
    return $r->{out};
}

sub status {
    my $r = run(['curl', '-sS', '--max-time', '5',
                 "http://127.0.0.1:$p2/status"], 8);
    return $r->{out};
}

is(get($p0, '/'), "gen 1\n", 'serving generation 1');

# the key becomes a FIFO
unlink("$cd/live.key");
mkfifo("$cd/live.key", 0600) or die "mkfifo: $!";

$t0 = time;
my ($code, $j, $raw) = post('/reload');
$el = time - $t0;
ok($el < 5, sprintf('the reload answers at once (%.1f s)', $el));
is($code, 409, 'reload with a FIFO: 409') or diag($raw);
is($j->{servers}[0]{result}, 'failed', 'the server failed to reload')
    or diag($raw);
like($j->{servers}[0]{reason} // '', qr/live\.key" is not a regular file/,
     'the JSON answer says the key is not a regular file') or diag($raw);

is(get($p0, '/'), "gen 1\n", 'the worker still serves generation 1');
like(status(), qr/server "localhost"|server "_"|generation 1/,
     'the status page answers');

($code, $j, $raw) = post('/reload');
is($code, 409, 'the next POST is not busy (the reload lock was released)')
    or diag($raw);

# the watcher meets a FIFO
unlink("$cd/watch.crt");
mkfifo("$cd/watch.crt", 0600) or die "mkfifo: $!";
my $deadline = time + 10;
my $st = '';
while (time < $deadline) {
    $st = status();
    last if $st =~ /watch\.crt" is not a regular file/;
    sleep(0.1);
}
like($st, qr/last failed \(.*watch\.crt" is not a regular file/,
     'the watcher refused the FIFO, the status page says why') or diag($st);
is(get($p1, '/'), "watched 1\n", 'the watched server still serves');
is(get($p0, '/'), "gen 1\n", 'and so does the other');

# regular files again (a new certificate): the reload works
$t->cert('live2', cn => 'localhost');
for my $f (qw(live.crt live.key watch.crt watch.key)) {
    unlink("$cd/$f");
    (my $src = $f) =~ s/^\w+/live2/;
    copy("$cd/$src", "$cd/$f") or die "copy: $!";
}
($code, $j, $raw) = post('/reload');
is($code, 200, 'regular files again: the reload works') or diag($raw);
is(get($p0, '/'), "gen 2\n", 'generation 2 served');

$t->stop;

unlike($t->error_log, qr/\[(alert|crit|emerg)\]|exited on signal/,
       'no alerts') or diag($t->error_log);

done_testing();
