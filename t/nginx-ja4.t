#!/usr/bin/perl

# JA4 fingerprints ($zigtls_ja4, $zigtls_ja4_r, $zigtls_ja4_o,
# $zigtls_ja4_ro) in http and stream, from real clients: curl, openssl
# s_client, Python's ssl and Chromium. Every client goes through a relay
# (t/lib/zt_ja4.py) that records the ClientHello it really sent; a JA4
# implementation of the test's own computes the expected fingerprints from
# those bytes. Then the variables at work: in an access log, in a map that
# refuses one client, as the key of limit_req.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin start_bg stop_pid wait_port);

need_bin('python3');
need_bin('curl');
need_bin('openssl');

my $t = ZtNginx->new(stream => 1);
my $c = $t->certs;
my $dir = $t->dir;

sub conf {
    my ($block) = @_;
    $t->write_conf(<<"CONF");
http {
    log_format ja4 '\$zigtls_ja4 \$zigtls_ja4_r';
    access_log %%DIR%%/logs/ja4.log ja4;

    map \$zigtls_ja4 \$ja4_blocked {
        default 0;
        $block
    }

    limit_req_zone \$zigtls_ja4 zone=byja4:1m rate=1r/m;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate $c->{ecdsa}{cert};
        zigtls_certificate_key $c->{ecdsa}{key};

        location = /ja4 {
            return 200 "\$zigtls_ja4\\n\$zigtls_ja4_r\\n\$zigtls_ja4_o\\n\$zigtls_ja4_ro\\n";
        }
        location = /blocked {
            if (\$ja4_blocked) { return 403; }
            return 200 "ok\\n";
        }
        location = /limited {
            # limit_req runs after the rewrite phase: a file, not "return"
            limit_req zone=byja4;
            limit_req_status 429;
            root %%DIR%%/html;
        }
    }
}

stream {
    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate $c->{ecdsa}{cert};
        zigtls_certificate_key $c->{ecdsa}{key};
        return "\$zigtls_ja4\\n\$zigtls_ja4_r\\n\$zigtls_ja4_o\\n\$zigtls_ja4_ro\\n";
    }
}
CONF
}

$t->write_file('html/limited', "ok\n");
conf('');
$t->start;

my $hellos = "$dir/hellos.txt";
my @relays;
for my $i (0, 1) {
    push @relays, start_bg({ stderr => "$dir/logs/relay.log" },
                           'python3', 't/lib/zt_ja4.py', 'relay',
                           $t->port($i + 2), $t->port($i), $hellos);
    ok(wait_port($t->port($i + 2), 10), "relay $i listens");
}
END { local $?; stop_pid($_, 3) for @relays; }

# the hellos the relay recorded since the last check (a browser may open
# more than one connection, each with its own extension order)
my $nconn = 0;

sub new_hellos {
    for (1 .. 100) {
        my @l = grep { /\S/ } split /\n/, $t->read_file($hellos);
        if (@l > $nconn) {
            my @new = @l[$nconn .. $#l];
            $nconn = @l;
            return @new;
        }
        select(undef, undef, undef, 0.05);
    }
    return ();
}

sub expected {
    my ($hex) = @_;
    my $r = run(['python3', 't/lib/zt_ja4.py', 'ja4', $hex], 20);
    return [split /\n/, $r->{out}];
}

# what the server said against what the client sent
sub check {
    my ($who, $text) = @_;
    my @got = grep { length } split /\r?\n/, $text;
    my @hex = new_hellos();
    ok(@hex >= 1, "$who: ClientHello recorded");
    my ($hex, $want) = ($hex[0], expected($hex[0] // ''));
    for my $h (@hex) {
        my $w = expected($h);
        ($hex, $want) = ($h, $w) if defined $got[3] && $w->[3] eq $got[3];
    }
    is(scalar @got, 4, "$who: four forms") or diag($text);
    like($got[0] // '', qr/^t13[di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/,
         "$who: JA4 looks like one");
    for my $i (0 .. 3) {
        is($got[$i], $want->[$i],
           "$who: " . (qw(ja4 ja4_r ja4_o ja4_ro))[$i] . " as sent");
    }
    return ($got[0], $got[3], $hex);
}

my $p = $t->port(2);

# curl with SNI "localhost"
sub curl {
    my ($port, $path, @args) = @_;
    return run(['curl', '-sS', '-k', '--max-time', '20', @args,
                '--resolve', "localhost:$port:127.0.0.1",
                "https://localhost:$port$path"], 30);
}

# curl: HTTP/2 (ALPN h2 first)
my $r = curl($p, '/ja4');
my ($curl_ja4) = check('curl', $r->{out});
like($curl_ja4 // '', qr/^t13d\d{4}h2_/, 'curl: SNI and h2 in part a');

# openssl s_client: HTTP/1.1, no SNI (connects by address)
$r = run(['openssl', 's_client', '-connect', "127.0.0.1:$p", '-noservername',
          '-alpn', 'http/1.1', '-quiet', '-no_ign_eof'], 30,
         stdin => "GET /ja4 HTTP/1.0\r\n\r\n", until => qr/\n\S+_\S+\n.*_/s);
my ($body) = $r->{out} =~ /\r\n\r\n(.*)$/s;
my ($ossl_ja4) = check('s_client', $body // $r->{all});
like($ossl_ja4 // '', qr/^t13i\d{4}h1_/, 's_client: no SNI, http/1.1');

# Python's ssl (http.client)
$r = $t->python(<<'PY', $p);
import http.client, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
c = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx,
                                timeout=20)
c.request("GET", "/ja4")
print(c.getresponse().read().decode(), end="")
PY
my ($py_ja4) = check('python', $r->{out});
isnt($py_ja4, $curl_ja4, 'python and curl differ');

# stream: s_client through the stream relay
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(3),
          '-servername', 'localhost', '-quiet'], 30,
         until => qr/(_.*\n){4}/s);
my ($stream_ja4) = check('stream s_client', $r->{out});
like($stream_ja4 // '', qr/^t13d\d{4}00_/, 'stream: SNI, no ALPN');

# Chromium: GREASE, ECH and ALPS as a browser sends them
SKIP: {
    my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
    skip 'chromium not installed (Debian package chromium)', 10
        unless $chromium;
    $r = run([$chromium, '--headless', '--no-sandbox', '--disable-gpu',
              '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update',
              '--disable-sync', '--ignore-certificate-errors',
              "--user-data-dir=$dir/chromium", '--dump-dom',
              "https://localhost:$p/ja4",
              "--host-resolver-rules=MAP localhost 127.0.0.1"], 90);
    my ($pre) = $r->{out} =~ /<pre[^>]*>(.*?)<\/pre>/s;
    my ($ja4, $ro, $hex) = check('chromium', $pre // $r->{all});
    like($ja4 // '', qr/^t13d\d{4}h2_/, 'chromium: SNI and h2');
    my $sent = run(['python3', 't/lib/zt_ja4.py', 'exts', $hex], 20)->{out};
    chomp $sent;
    my @sent = split /,/, $sent;
    my @grease = grep { /^([0-9a-f])a\1a$/ } @sent;
    ok(@grease >= 1, "chromium sent GREASE extensions (@grease)");
    my @real = grep { !/^([0-9a-f])a\1a$/ } @sent;
    my ($ro_exts) = ($ro // '') =~ /^[^_]+_[^_]+_([^_]+)/;
    is($ro_exts, join(',', @real),
       'every extension as sent, GREASE out (' . join(',', @real) . ')');
}

# the access log has the fingerprints of every request
my $log = $t->read_file('logs/ja4.log');
like($log, qr/^\Q$curl_ja4\E t13/m, 'access log: curl');
like($log, qr/^\Q$py_ja4\E t13/m, 'access log: python');

# map: refuse curl by its fingerprint, not python
$t->stop;
conf("\"$curl_ja4\" 1;");
$t->start;
$r = curl($t->port(0), '/blocked', '-o', '/dev/null', '-w', '%{http_code}');
is($r->{out}, '403', 'map: curl refused by its JA4');
my $py_get = <<'PY';
import http.client, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
c = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx,
                                timeout=20)
c.request("GET", sys.argv[2])
print(c.getresponse().status)
PY
$r = $t->python($py_get, $t->port(0), '/blocked');
is($r->{out}, "200\n", 'map: python served');

# limit_req keyed by JA4: one request a minute per fingerprint
$r = curl($t->port(0), '/limited', '-o', '/dev/null', '-w', '%{http_code}');
is($r->{out}, '200', 'limit_req: first curl request');
$r = curl($t->port(0), '/limited', '-o', '/dev/null', '-w', '%{http_code}');
is($r->{out}, '429', 'limit_req: second curl request refused');
$r = $t->python($py_get, $t->port(0), '/limited');
is($r->{out}, "200\n", 'limit_req: python has its own bucket');

$t->stop;
done_testing();
