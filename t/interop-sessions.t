#!/usr/bin/perl
# Session resumption and 0-RTT of the zigtls core, through the example
# server (build/zigtls-server --tickets / --ticket-key / --early-data),
# with real clients: openssl s_client -sess_out/-sess_in and -early_data,
# the same 0-RTT ClientHello replayed byte for byte by a raw client
# (refused), gnutls-cli --resume and --earlydata, Python ssl session reuse,
# curl resuming across two requests in one process; two server processes
# sharing a key file (resumption crosses, 0-RTT does not); a ticket key
# file that is not 48 or 80 bytes refused at start.
#
# ZIGTLS_SERVER / ZIGTLS_SERVER_WRAPPER as in t/interop-server.t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

use ZtTest qw(:all);

my $root = repo_root();
my $bin  = $ENV{ZIGTLS_SERVER} || "$root/build/zigtls-server";
my @wrap = split ' ', ($ENV{ZIGTLS_SERVER_WRAPPER} || '');
my $slow = @wrap ? 10 : 1;

my %servers;
END {
    for my $s (values %servers) {
        stop_pid($s->{pid}, 5) if $s->{pid};
    }
}

need_bin($_) for qw(openssl curl gnutls-cli python3);
ok(-x $bin, "$bin built") or BAIL_OUT('run make first');

my $dir = tempdir('zt-sessions-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $certs = make_certs("$dir/certs");
my $ca = $certs->{ecdsa}{cert};

# A ticket key file as an operator makes it.
my $keyfile = "$dir/ticket.key";
my $r = run(['openssl', 'rand', '-out', $keyfile, '80'], 10);
ok($r->{exit} == 0 && -s $keyfile == 80, 'openssl rand 80 > ticket.key');

sub start_server {
    my ($name, @extra) = @_;
    my $port = free_port();
    my $log  = "$dir/$name.log";
    my @cmd = (@wrap, $bin, '--listen', "127.0.0.1:$port",
               '--cert', $certs->{ecdsa}{cert}, '--key', $certs->{ecdsa}{key},
               '--alpn', 'http/1.1', '--handshake-timeout', '3000', @extra);
    my $pid = start_bg({ stdout => $log, stderr => $log }, @cmd);
    $servers{$name} = { pid => $pid, port => $port, log => $log };
    ok(wait_port($port, 10 * $slow), "$name listening")
        or diag("@cmd\n" . slurp($log));
    return $servers{$name};
}

sub log_lines {
    my ($s) = @_;
    return grep { /handshake (ok|failed)/ } split /\n/, slurp($s->{log});
}

sub last_line {
    my @l = log_lines(@_);
    return @l ? $l[-1] : '';
}

# Wait (bounded) for the server to log one more handshake than before.
sub wait_lines {
    my ($s, $n) = @_;
    my $deadline = time + 5 * $slow;
    while (time < $deadline) {
        return 1 if log_lines($s) >= $n;
        sleep(0.05);
    }
    return 0;
}

sub request {
    my ($path) = @_;
    return "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
}

# ---- a bad key file is refused at start, with the reason ------------------

{
    my $bad = "$dir/short.key";
    open(my $fh, '>', $bad) or die;
    print $fh 'x' x 40;
    close($fh);
    my $r = run([@wrap, $bin, '--listen', '127.0.0.1:' . free_port(),
                 '--cert', $certs->{ecdsa}{cert}, '--key',
                 $certs->{ecdsa}{key}, '--ticket-key', $bad], 10 * $slow);
    ok($r->{exit} != 0 && $r->{all} =~ /40 bytes, want 48 or 80/,
       'a 40-byte ticket key is refused at start')
        or diag($r->{all});
}

my $a = start_server('a', '--ticket-key', $keyfile, '--early-data', '16384');
my $b = start_server('b', '--ticket-key', $keyfile, '--early-data', '16384');

my @sc = ('openssl', 's_client', '-servername', 'localhost', '-CAfile', $ca,
          '-verify_return_error', '-ign_eof');

# ---- openssl s_client: -sess_out, then -sess_in ------------------------------

my $sess = "$dir/s_client.sess";
$r = run([@sc, '-connect', "127.0.0.1:$a->{port}", '-sess_out', $sess],
         20 * $slow, stdin => request('/first'));
ok($r->{exit} == 0 && $r->{all} =~ /^New, TLSv1\.3/m && -s $sess,
   's_client: full handshake, session saved') or diag($r->{all});
like($r->{out}, qr/^resumed: no$/m, 'page: not resumed');
like(last_line($a), qr/resumed=0 psk=none early=none tickets=1/,
     'server log: one ticket sent');

$r = run([@sc, '-connect', "127.0.0.1:$a->{port}", '-sess_in', $sess],
         20 * $slow, stdin => request('/second'));
ok($r->{exit} == 0 && $r->{all} =~ /^Reused, TLSv1\.3/m,
   's_client -sess_in: resumed') or diag($r->{all});
like($r->{out}, qr/^resumed: yes$/m, 'page: resumed');
like($r->{out}, qr/^sigalg: -$|^sigalg: 0x0000$/m, 'page: no signature');
like(last_line($a), qr/resumed=1 psk=accepted early=none tickets=1/,
     'server log: resumed, a new ticket sent');

# ---- s_client -early_data: accepted once, the replay refused ------------------

# A relay that records what the client sends before the server answers
# (the ClientHello and the 0-RTT records), to replay it byte for byte. The
# child leaves with _exit: the END block (stop the servers) is the
# parent's.
sub relay_capture {
    my ($port, $cmd, $stdin) = @_;
    my $ls = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                   LocalPort => 0, ReuseAddr => 1)
        or die "relay: $!";
    my $rport = $ls->sockport;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $sel0 = IO::Select->new($ls);
        POSIX::_exit(1) unless $sel0->can_read(20);
        my $c = $ls->accept or POSIX::_exit(1);
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
            or POSIX::_exit(1);
        my ($first, $answered) = ('', 0);
        my $sel = IO::Select->new($c, $s);
        my $deadline = time + 20;
        OUTER: while (time < $deadline) {
            for my $h ($sel->can_read(0.5)) {
                my $n = sysread($h, my $buf, 65536);
                last OUTER unless $n;
                if ($h == $c) {
                    $first .= $buf unless $answered;
                    syswrite($s, $buf);
                } else {
                    $answered = 1;
                    syswrite($c, $buf);
                }
            }
        }
        open(my $fh, '>', "$dir/first-flight.bin") or POSIX::_exit(1);
        binmode($fh);
        print $fh $first;
        close($fh);
        POSIX::_exit(0);
    }
    close($ls);
    my @c = map { (my $x = $_) =~ s/\bPORT\b/$rport/; $x } @$cmd;
    my $res = run(\@c, 20 * $slow, stdin => $stdin);
    waitpid($pid, 0);
    return $res;
}

my $early = "$dir/early.txt";
{
    open(my $fh, '>', $early) or die;
    print $fh request('/early');
    close($fh);
}
my $before = log_lines($a);
$r = relay_capture($a->{port},
                   [@sc, '-connect', '127.0.0.1:PORT', '-sess_in', $sess,
                    '-early_data', $early], '');
ok($r->{all} =~ /Early data was accepted/ && $r->{all} =~ /^Reused/m,
   's_client -early_data: 0-RTT accepted') or diag($r->{all});
like($r->{out}, qr/^early_data: 1$/m,
     'page: the request arrived as early data');
like($r->{out}, qr{^path: /early$}m, 'page: answered the early request');
ok(wait_lines($a, $before + 1), 'server logged the 0-RTT handshake');
like(last_line($a), qr/resumed=1 psk=accepted early=accepted/,
     'server log: early=accepted');

# The same bytes again, as a raw client: resumed, but no 0-RTT.
my $flight = slurp("$dir/first-flight.bin");
ok(length($flight) > 300 && ord($flight) == 22,
   'captured the ClientHello and the early data: ' . length($flight)
   . ' bytes');
sub replay {
    my ($port, $bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
    syswrite($s, $bytes);
    my ($got, $deadline) = ('', time + 2 * $slow);
    my $sel = IO::Select->new($s);
    while (time < $deadline) {
        last unless $sel->can_read(0.3);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $got .= $buf;
    }
    close($s);
    my @types;
    for (my $i = 0; $i + 5 <= length($got);) {
        my ($t, $len) = unpack('C x2 n', substr($got, $i, 5));
        push @types, $t;
        $i += 5 + $len;
    }
    return @types;
}
$before = log_lines($a);
my @types = replay($a->{port}, $flight);
ok(wait_lines($a, $before + 1), 'server logged the replayed handshake');
like(last_line($a), qr/psk=accepted early=replayed/,
     'replay: 0-RTT refused as replayed (the ticket still resumes)');
# ServerHello, change_cipher_spec, one record of EncryptedExtensions and
# Finished, and no 0.5-RTT answer to the replayed request.
is(join(',', @types), '22,20,23',
   'replay: the server flight only, nothing answered');

# ---- two processes sharing the key file ---------------------------------------

$before = log_lines($b);
$r = run([@sc, '-connect', "127.0.0.1:$b->{port}", '-sess_in', $sess,
          '-early_data', $early], 20 * $slow, stdin => '');
ok($r->{all} =~ /^Reused/m && $r->{all} =~ /Early data was rejected/,
   'another process with the key file: resumed, 0-RTT rejected')
    or diag($r->{all});
ok(wait_lines($b, $before + 1), 'b logged it');
like(last_line($b), qr/resumed=1 psk=accepted early=other_node/,
     'server b log: early=other_node');

# ---- gnutls-cli --resume, --earlydata ------------------------------------------

$r = run(['gnutls-cli', '--resume', '--x509cafile', $ca, '-p', $a->{port},
          'localhost'], 30 * $slow, stdin => request('/gnutls'));
like($r->{all}, qr/This is a resumed session/, 'gnutls-cli --resume')
    or diag($r->{all});
$r = run(['gnutls-cli', '--resume', '--earlydata', $early, '--x509cafile',
          $ca, '-p', $a->{port}, 'localhost'], 30 * $slow, stdin => '');
like($r->{all}, qr/This is a resumed session/, 'gnutls-cli --earlydata: resumed');
like(last_line($a), qr/resumed=1 psk=accepted early=accepted/,
     'gnutls-cli --earlydata: 0-RTT accepted')
    or diag(join("\n", log_lines($a)));

# ---- Python ssl: a session reused --------------------------------------------

my $py = <<'PY';
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
def get(session):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="localhost", session=session)
    s.sendall(b"GET /py HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    body = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        body += d
    sess, reused = s.session, s.session_reused
    s.close()
    return sess, reused, body
sess, reused1, _ = get(None)
_, reused2, body = get(sess)
print("reused", int(reused1), int(reused2), int(b"resumed: yes" in body))
PY
$r = run(['python3', '-c', $py, $a->{port}, $ca], 30 * $slow);
like($r->{out}, qr/^reused 0 1 1$/m, 'python ssl: the second connection resumed')
    or diag($r->{all});

# ---- curl: two requests, two connections, one process ---------------------------

$r = run(['curl', '-sS', '--cacert', $ca, '--resolve',
          "localhost:$a->{port}:127.0.0.1", '-H', 'Connection: close',
          "https://localhost:$a->{port}/one",
          "https://localhost:$a->{port}/two"], 30 * $slow);
my @pages = split /<!DOCTYPE/, $r->{out};
ok(@pages == 3 && $pages[1] =~ /^resumed: no$/m && $pages[2] =~ /^resumed: yes$/m,
   'curl: the second request resumed the first one\'s session')
    or diag($r->{all});

# ---- the servers stop cleanly ---------------------------------------------------

for my $n (qw(a b)) {
    my $st = stop_pid($servers{$n}{pid}, 10 * $slow);
    delete $servers{$n};
    is($st, 0, "$n exits 0 on SIGTERM");
}

done_testing();
