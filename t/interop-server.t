#!/usr/bin/perl
# Interop matrix for build/zigtls-server (the standalone example server on
# the zigtls core) against real clients: openssl s_client, curl, gnutls-cli
# and Python's ssl, over every TLS 1.3 suite x {x25519, secp256r1, secp256r1
# through a HelloRetryRequest} x {Ed25519, ECDSA P-256, RSA-PSS} certificate.
# Plus: bad configurations refused at startup; keep-alive, pipelining,
# request bodies, bulk bodies with backpressure and a slow reader; KeyUpdate
# both ways and server-initiated by a record limit; a chain larger than one
# record; records cut into single bytes and a ClientHello reassembled from
# 1-byte records (also around a HelloRetryRequest); half-close and
# truncation; client limit, idle timeout, 1000 idle connections holding no
# buffers, h2load; server preference, no shared suite/group/signature,
# ALPN without overlap, bad SNI, middlebox compatibility CCS; TLS 1.2-only
# clients (protocol_version), mutated ClientHellos, garbage and silence;
# the server log; SIGTERM with a client connected.
#
# ZIGTLS_SERVER / ZIGTLS_SERVER_WRAPPER run the same file against another
# build or under valgrind (.ci/run does both).
#
# Nothing is skipped: a missing tool or binary is a failure.

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
# ZIGTLS_SERVER: another build (e.g. build-asan/zigtls-server);
# ZIGTLS_SERVER_WRAPPER: a command to run it under (e.g. "valgrind -q
# --error-exitcode=99 --leak-check=full"); its exit status is checked.
my $bin  = $ENV{ZIGTLS_SERVER} || "$root/build/zigtls-server";
my @wrap = split ' ', ($ENV{ZIGTLS_SERVER_WRAPPER} || '');
my $slow = @wrap ? 10 : 1;   # timeouts scale under valgrind

my %servers;      # name => {pid, port, log, pidfile}
my $dir;

END {
    for my $s (values %servers) {
        stop_pid($s->{pid}, 5) if $s->{pid};
    }
}

# ---- prerequisites: fail loudly --------------------------------------------

my @missing;
for my $tool (qw(openssl curl gnutls-cli python3 h2load)) {
    my $ok = eval { need_bin($tool); 1 };
    push @missing, $tool unless $ok;
}
ok(!@missing, 'client tools installed') or diag("missing: @missing");
ok(-x $bin, "$bin built") or diag('run make first');
if (@missing || !-x $bin) {
    done_testing();
    exit 1;
}

$dir = tempdir('zt-interop-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $certs = make_certs("$dir/certs");
ok(-s $certs->{$_}{cert}, "$_ certificate generated") for qw(ed25519 ecdsa rsa);
# All three, for clients that leave the choice of certificate to the server.
my $bundle = "$dir/certs/all.pem";
{
    open(my $fh, '>', $bundle) or die "$bundle: $!";
    print $fh slurp($certs->{$_}{cert}) for qw(ed25519 ecdsa rsa);
    close($fh) or die "$bundle: $!";
}

# ---- bad configurations are refused at startup, with a clear reason ---------

{
    my $c = $certs;
    my @base = ('--listen', '127.0.0.1:' . free_port());
    my @cases = (
        [ 'key does not match the certificate',
          [ '--cert', $c->{ecdsa}{cert}, '--key', $c->{rsa}{key} ],
          qr/does not match/ ],
        [ 'unknown cipher suite',
          [ '--cert', $c->{ecdsa}{cert}, '--key', $c->{ecdsa}{key},
            '--ciphers', 'TLS_AES_128_CCM_SHA256' ],
          qr/--ciphers: unknown cipher suite "TLS_AES_128_CCM_SHA256"/ ],
        [ 'unknown group',
          [ '--cert', $c->{ecdsa}{cert}, '--key', $c->{ecdsa}{key},
            '--groups', 'x25519:x448' ],
          qr/--groups: unknown group "x448"/ ],
        [ 'a group listed twice',
          [ '--cert', $c->{ecdsa}{cert}, '--key', $c->{ecdsa}{key},
            '--groups', 'secp256r1:x25519:prime256v1' ],
          qr/--groups: group "prime256v1" is listed twice \(as secp256r1\)/ ],
        [ 'missing certificate file',
          [ '--cert', "$dir/none.pem", '--key', $c->{ecdsa}{key} ],
          qr/none\.pem/ ],
        [ 'a --cert without its --key', [ '--cert', $c->{ecdsa}{cert} ],
          qr/as many --key as --cert/ ],
    );
    for my $case (@cases) {
        my ($name, $args, $re) = @$case;
        my $r = run([@wrap, $bin, @base, @$args], 30 * $slow);
        ok(!$r->{timed_out} && $r->{exit} != 0 && $r->{err} =~ $re,
           "refused at startup: $name")
            or diag("exit $r->{exit}: $r->{all}");
    }
}

# ---- servers -----------------------------------------------------------------

sub start_server {
    my ($name, @extra) = @_;
    my $port = free_port();
    my $log  = "$dir/$name.log";
    my $pidf = "$dir/$name.pid";
    my @cmd = (@wrap, $bin, '--listen', "127.0.0.1:$port",
               (map { ('--cert', $certs->{$_}{cert},
                       '--key', $certs->{$_}{key}) } qw(ecdsa ed25519 rsa)),
               '--alpn', 'http/1.1', '--pidfile', $pidf,
               '--handshake-timeout', '3000', @extra);
    my $pid = start_bg({ stdout => $log, stderr => $log }, @cmd);
    $servers{$name} = { pid => $pid, port => $port, log => $log,
                        pidfile => $pidf, cmd => "@cmd" };
    my $up = wait_port($port, 10 * $slow);
    ok($up, "$name server listening on 127.0.0.1:$port")
        or diag("command: @cmd\nlog:\n" . slurp($log));
    return $up;
}

# "main": every group; "p256": secp256r1 only, so that a client sending an
# x25519 key share gets a HelloRetryRequest.
my $up = start_server('main');
$up = start_server('p256', '--groups', 'secp256r1') && $up;
if (!$up) {
    done_testing();
    exit 1;
}
like(slurp($servers{main}{log}), qr/listening on/, 'server logs its start');

# ---- the matrix ----------------------------------------------------------------

my @suites = (
    { name => 'TLS_AES_128_GCM_SHA256',       gnutls => 'AES-128-GCM' },
    { name => 'TLS_AES_256_GCM_SHA384',       gnutls => 'AES-256-GCM' },
    { name => 'TLS_CHACHA20_POLY1305_SHA256', gnutls => 'CHACHA20-POLY1305' },
);
my @groups = (
    { label => 'x25519', server => 'main', expect => 'x25519', hrr => 0,
      ossl => 'X25519', curl => 'X25519',
      gnutls => '+GROUP-X25519',
      s_client_key => qr/Server Temp Key: X25519/ },
    { label => 'secp256r1', server => 'main', expect => 'secp256r1', hrr => 0,
      ossl => 'P-256', curl => 'P-256',
      gnutls => '+GROUP-SECP256R1',
      s_client_key => qr/Server Temp Key: ECDH, prime256v1/ },
    # The client prefers x25519 and sends only that key share; the server
    # has secp256r1 only: HelloRetryRequest, then secp256r1.
    { label => 'secp256r1-hrr', server => 'p256', expect => 'secp256r1',
      hrr => 1, ossl => 'X25519:P-256', curl => 'X25519:P-256',
      gnutls => '+GROUP-X25519:+GROUP-SECP256R1',
      s_client_key => qr/Server Temp Key: ECDH, prime256v1/ },
);
my @sigs = (
    { label => 'ed25519', cert => 'ed25519', expect => 'ed25519',
      ossl => 'ed25519', gnutls => 'SIGN-EDDSA-ED25519',
      s_client => qr/Signature type: ed25519/i,
      gnutls_desc => 'EdDSA-Ed25519' },
    { label => 'ecdsa', cert => 'ecdsa', expect => 'ecdsa_secp256r1_sha256',
      ossl => 'ecdsa_secp256r1_sha256', gnutls => 'SIGN-ECDSA-SECP256R1-SHA256',
      s_client => qr/Signature type: ECDSA/,
      gnutls_desc => 'ECDSA-SECP256R1-SHA256' },
    { label => 'rsa', cert => 'rsa', expect => 'rsa_pss_rsae_sha256',
      ossl => 'rsa_pss_rsae_sha256', gnutls => 'SIGN-RSA-PSS-RSAE-SHA256',
      s_client => qr/Signature type: RSA-PSS/,
      gnutls_desc => 'RSA-PSS-RSAE-SHA256' },
);

# What the page must say for one combination.
sub check_page {
    my ($body, $c) = @_;
    my @bad;
    push @bad, 'no "zigtls" in the page' unless $body =~ /zigtls/;
    push @bad, 'no HTTP 200' unless $body =~ m{HTTP/1\.1 200 OK}
                                  || $c->{no_status};
    my %want = (protocol => 'TLSv1.3', cipher => $c->{suite}{name},
                group => $c->{group}{expect}, sigalg => $c->{sig}{expect},
                hrr => $c->{group}{hrr} ? 'yes' : 'no');
    for my $k (sort keys %want) {
        my ($got) = $body =~ /^\Q$k\E: (\S+)$/m;
        push @bad, "page $k: got " . (defined $got ? $got : 'nothing')
            . ", want $want{$k}"
            unless defined $got && $got eq $want{$k};
    }
    return @bad;
}

sub report {
    my ($name, $r, @bad) = @_;
    push @bad, 'client timed out' if $r->{timed_out};
    ok(!@bad, $name) or diag(join("\n", "command: $r->{cmd}", @bad,
                                  '--- client output (tail):',
                                  tail($r->{all}, 40)));
}

sub tail {
    my ($s, $n) = @_;
    my @l = split /\n/, $s;
    @l = @l[-$n .. -1] if @l > $n;
    return join("\n", @l);
}

sub request {
    my ($path) = @_;
    return "GET $path HTTP/1.1\r\nHost: localhost\r\n"
         . "User-Agent: zigtls-interop\r\nConnection: close\r\n\r\n";
}

sub run_s_client {
    my ($c) = @_;
    my $port = $servers{ $c->{group}{server} }{port};
    my $path = "/s_client/$c->{id}";
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-tls1_3',
                 '-ciphersuites', $c->{suite}{name},
                 '-groups', $c->{group}{ossl},
                 '-sigalgs', $c->{sig}{ossl},
                 '-CAfile', $certs->{ $c->{sig}{cert} }{cert},
                 '-verify_return_error', '-verify_hostname', 'localhost',
                 '-brief', '-ign_eof', '-msg'],
                20 * $slow, stdin => request($path));
    my @bad = check_page($r->{out}, $c);
    my $all = $r->{all};
    push @bad, "exit $r->{exit}" unless $r->{exit} == 0;
    push @bad, 'not TLSv1.3' unless $all =~ /Protocol version: TLSv1\.3/;
    push @bad, 'wrong suite'
        unless $all =~ /Ciphersuite: \Q$c->{suite}{name}\E/;
    push @bad, 'wrong key exchange' unless $all =~ $c->{group}{s_client_key};
    push @bad, 'wrong signature type' unless $all =~ $c->{sig}{s_client};
    push @bad, 'certificate not verified' unless $all =~ /Verification: OK/;
    my $hellos = () = $all =~ />>> [^\n]*ClientHello/g;
    push @bad, "sent $hellos ClientHello(s), want " . ($c->{group}{hrr} ? 2 : 1)
        unless $hellos == ($c->{group}{hrr} ? 2 : 1);
    push @bad, 'no close_notify from the server'
        unless $all =~ /<<< [^\n]*Alert[^\n]*close_notify/;
    # s_client asks for middlebox compatibility (a legacy_session_id): one
    # dummy change_cipher_spec record must come from the server
    my $ccs = () = $all =~ /<<< [^\n]*RecordHeader[^\n]*\n\s+14 03 03 00 01/g;
    push @bad, "server sent $ccs change_cipher_spec records, want 1"
        unless $ccs == 1;
    push @bad, 'page does not show the path'
        unless $r->{out} =~ /^path: \Q$path\E$/m;
    push @bad, 'page does not show the SNI'
        unless $r->{out} =~ /^sni: localhost$/m;
    report("s_client $c->{id}", $r, @bad);
}

sub run_curl {
    my ($c) = @_;
    my $port = $servers{ $c->{group}{server} }{port};
    # curl has no option for signature algorithms: pin them (and the rest)
    # through an OpenSSL configuration file.
    (my $file = "curl-$c->{id}.cnf") =~ s{/}{_}g;
    my $conf = openssl_conf("$dir/$file", sigalgs => $c->{sig}{ossl});
    my $r = run(['curl', '-sS', '-v', '--tlsv1.3',
                 '--tls13-ciphers', $c->{suite}{name},
                 '--curves', $c->{group}{curl},
                 '--cacert', $certs->{ $c->{sig}{cert} }{cert},
                 '--max-time', 15 * $slow,
                 "https://127.0.0.1:$port/curl/$c->{id}"],
                20 * $slow, env => { OPENSSL_CONF => $conf });
    my @bad = check_page($r->{out}, { %$c, no_status => 1 });
    push @bad, "exit $r->{exit}" unless $r->{exit} == 0;
    push @bad, 'wrong TLS version or suite'
        unless $r->{err} =~ m{SSL connection using TLSv1\.3 / \Q$c->{suite}{name}\E};
    push @bad, 'no ALPN http/1.1'
        unless $r->{err} =~ m{ALPN: server accepted http/1\.1}
            && $r->{out} =~ m{^alpn: http/1\.1$}m;
    push @bad, 'no 200' unless $r->{err} =~ m{< HTTP/1\.1 200 OK};
    report("curl $c->{id}", $r, @bad);
}

sub run_gnutls {
    my ($c) = @_;
    my $port = $servers{ $c->{group}{server} }{port};
    my $prio = join(':', 'NORMAL', '-VERS-ALL', '+VERS-TLS1.3',
                    '-CIPHER-ALL', "+$c->{suite}{gnutls}",
                    '-GROUP-ALL', $c->{group}{gnutls},
                    '-SIGN-ALL', "+$c->{sig}{gnutls}");
    my $r = run(['gnutls-cli', '-d', '4', '--single-key-share',
                 '-p', $port, '127.0.0.1', '--sni-hostname', 'localhost',
                 '--x509cafile', $certs->{ $c->{sig}{cert} }{cert},
                 '--priority', $prio],
                20 * $slow, stdin => request("/gnutls/$c->{id}"),
                until => qr{</html>});
    my $all = $r->{all};
    my @bad = check_page($r->{out}, $c);
    my $gname = $c->{group}{expect} eq 'x25519' ? 'X25519' : 'SECP256R1';
    my $desc = "(TLS1.3-X.509)-(ECDHE-$gname)-($c->{sig}{gnutls_desc})"
             . "-($c->{suite}{gnutls})";
    push @bad, "no description $desc" unless $all =~ /\Q$desc\E/;
    push @bad, 'certificate not trusted'
        unless $all =~ /The certificate is trusted/;
    my $hrr = $all =~ /HELLO RETRY REQUEST/ ? 1 : 0;
    push @bad, "HelloRetryRequest seen: $hrr, want $c->{group}{hrr}"
        unless $hrr == $c->{group}{hrr};
    report("gnutls-cli $c->{id}", $r, @bad);
}

my $py_client = "$dir/client.py";
{
    open(my $fh, '>', $py_client) or die "$py_client: $!";
    print $fh <<'PY';
import socket, ssl, sys
port, cafile, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.set_alpn_protocols(["http/1.1"])
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
s = ctx.wrap_socket(raw, server_hostname="localhost")
print("VERSION", s.version())
print("CIPHER", s.cipher()[0])
print("ALPN", s.selected_alpn_protocol())
s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
           % path).encode())
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ssl.SSLZeroReturnError:
        print("CLOSE_NOTIFY")
        break
    if not chunk:
        print("CLOSE_NOTIFY")
        break
    data += chunk
sys.stdout.write(data.decode("utf-8", "replace"))
s.close()
PY
    close($fh);
}

sub run_python {
    my ($c) = @_;
    my $port = $servers{ $c->{group}{server} }{port};
    # Python's ssl cannot choose TLS 1.3 suites, groups or signature
    # algorithms itself: an OpenSSL configuration file does.
    (my $file = "py-$c->{id}.cnf") =~ s{/}{_}g;
    my $conf = openssl_conf("$dir/$file",
                            ciphersuites => $c->{suite}{name},
                            groups => $c->{group}{curl},
                            sigalgs => $c->{sig}{ossl});
    my $r = run(['python3', $py_client, $port,
                 $certs->{ $c->{sig}{cert} }{cert}, "/python/$c->{id}"],
                20 * $slow, env => { OPENSSL_CONF => $conf });
    my @bad = check_page($r->{out}, $c);
    push @bad, "exit $r->{exit}" unless $r->{exit} == 0;
    push @bad, 'not TLSv1.3' unless $r->{out} =~ /^VERSION TLSv1\.3$/m;
    push @bad, 'wrong suite'
        unless $r->{out} =~ /^CIPHER \Q$c->{suite}{name}\E$/m;
    push @bad, 'no ALPN' unless $r->{out} =~ m{^ALPN http/1\.1$}m;
    report("python ssl $c->{id}", $r, @bad);
}

for my $suite (@suites) {
    for my $group (@groups) {
        for my $sig (@sigs) {
            (my $short = $suite->{name}) =~ s/^TLS_//;
            my $c = { suite => $suite, group => $group, sig => $sig,
                      id => "$short/$group->{label}/$sig->{label}" };
            run_s_client($c);
            run_curl($c);
            run_gnutls($c);
            run_python($c);
        }
    }
}

# The server's own log agrees: one "handshake ok" line per client above,
# each naming what was settled.
{
    my $n = 0;
    for my $s (values %servers) {
        $n += () = slurp($s->{log}) =~ /handshake ok version=TLSv1\.3 /g;
    }
    my $want = @suites * @groups * @sigs * 4;
    cmp_ok($n, '>=', $want, "server logs >= $want successful handshakes");
    like(slurp($servers{p256}{log}),
         qr/handshake ok version=TLSv1\.3 cipher=TLS_\S+ group=secp256r1 sigalg=\S+ alpn=\S+ sni=localhost hrr=1/,
         'HelloRetryRequest handshakes are logged with hrr=1');
}

# ---- keep-alive: two requests on one connection -----------------------------

{
    my $port = $servers{main}{port};
    my $r = run(['curl', '-sS', '-v', '--cacert', $bundle,
                 '--max-time', 15 * $slow,
                 "https://127.0.0.1:$port/ka/1", "https://127.0.0.1:$port/ka/2"],
                20);
    my $all = $r->{all};
    my @bad;
    push @bad, "exit $r->{exit}" unless $r->{exit} == 0;
    push @bad, 'connection not reused'
        unless $all =~ /Re-using existing connection/;
    push @bad, 'second request not on the same connection'
        unless $r->{out} =~ /^request: 2 on this connection$/m
            && $r->{out} =~ m{^path: /ka/2$}m;
    report('keep-alive: two requests on one connection', $r, @bad);
}

# ---- bulk transfer: GET /bytes/N, many records, send backpressure ----------

sub bytes_body {
    my ($n) = @_;
    my $line = "zigtls bulk data 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGH\n";
    return substr($line x (int($n / 64) + 1), 0, $n);
}

{
    require Digest::SHA;
    my $port = $servers{main}{port};
    my $n = 10 * 1024 * 1024 + 7;
    my $want = Digest::SHA::sha256_hex(bytes_body($n));
    for my $suite (@suites) {
        my $file = "$dir/bulk.bin";
        unlink $file;
        my $r = run(['curl', '-sS', '--cacert', $bundle, '--tlsv1.3',
                     '--tls13-ciphers', $suite->{name}, '--max-time', 30 * $slow,
                     '-o', $file, "https://127.0.0.1:$port/bytes/$n"],
                    40 * $slow);
        my $got = -e $file ? Digest::SHA->new(256)->addfile($file)->hexdigest : '';
        my @bad;
        push @bad, "exit $r->{exit}" unless $r->{exit} == 0;
        push @bad, sprintf('body differs (%d bytes received)', -s $file || 0)
            unless $got eq $want;
        report("bulk: $n bytes with $suite->{name}", $r, @bad);
    }

    # A slow reader with a tiny receive buffer: the server must stop
    # writing (the core's send pipe fills) and resume, without losing data.
    my $script = "$dir/slow.py";
    open(my $fh, '>', $script) or die "$script: $!";
    print $fh <<'PY';
import hashlib, socket, ssl, sys, time
port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
raw.settimeout(20)
raw.connect(("127.0.0.1", port))
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % n)
data = b""
while b"\r\n\r\n" not in data:
    data += s.recv(1000)
head, body = data.split(b"\r\n\r\n", 1)
body = bytearray(body)
i = 0
while len(body) < n:
    chunk = s.recv(1000)
    if not chunk:
        break
    body += chunk
    i += 1
    if i % 200 == 0:
        time.sleep(0.05)
print("LEN", len(body))
print("SHA", hashlib.sha256(bytes(body)).hexdigest())
# keep-alive still works after the stream
s.sendall(b"GET /after-bulk HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
tail = b""
while True:
    try:
        chunk = s.recv(65536)
    except ssl.SSLZeroReturnError:
        break
    if not chunk:
        break
    tail += chunk
print("AFTER", b"path: /after-bulk" in tail)
PY
    close($fh);
    my $m = 3 * 1024 * 1024 + 1;
    my $r = run(['python3', $script, $port, $bundle, $m], 60 * $slow);
    my @bad;
    push @bad, 'length' unless $r->{out} =~ /^LEN $m$/m;
    push @bad, 'content' unless $r->{out} =~ /^SHA \Q${\ Digest::SHA::sha256_hex(bytes_body($m))}\E$/m;
    push @bad, 'no response after the stream' unless $r->{out} =~ /^AFTER True$/m;
    report("slow reader: $m bytes through a 4 KiB receive buffer", $r, @bad);
}

# ---- server-initiated KeyUpdate (--key-update-limit) ------------------------

# The server rotates its sending key every 8 records (about 7 KeyUpdates over
# the 62 records of this body): every client must follow them without
# losing a byte.
{
    require Digest::SHA;
    my $ok = start_server('rekey', '--key-update-limit', 8);
    my $port = $servers{rekey}{port};
    my $n = 1000003;
    my $want = Digest::SHA::sha256_hex(bytes_body($n));
    my $body_of = sub {
        my ($text) = @_;
        my $i = index($text, "\r\n\r\n");
        return $i < 0 ? '' : substr($text, $i + 4, $n);
    };

    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-tls1_3', '-msg', '-ign_eof'],
                60 * $slow, stdin => request("/bytes/$n"));
    my $kus = () = $r->{all} =~ /<<< [^\n]*KeyUpdate/g;
    report('KeyUpdate from the server: s_client follows', $r,
           $kus >= 5 && $r->{all} =~ /<<< [^\n]*close_notify/
               ? () : ("$kus KeyUpdates seen"));

    my $file = "$dir/rekey.bin";
    $r = run(['curl', '-sS', '--cacert', $bundle, '--max-time', 30 * $slow,
              '-o', $file, "https://127.0.0.1:$port/bytes/$n"], 40 * $slow);
    my $got = -e $file ? Digest::SHA->new(256)->addfile($file)->hexdigest : '';
    report('KeyUpdate from the server: curl body intact', $r,
           $r->{exit} == 0 && $got eq $want ? () : ('body differs'));

    $r = run(['gnutls-cli', '-p', $port, '127.0.0.1', '--sni-hostname',
              'localhost', '--x509cafile', $bundle],
             60 * $slow, stdin => request("/bytes/$n"),
             until => qr/Peer has closed/);
    report('KeyUpdate from the server: gnutls-cli body intact', $r,
           Digest::SHA::sha256_hex($body_of->($r->{out})) eq $want
               ? () : ('body differs'));

    $r = run(['python3', '-c', <<'PY', $port, $bundle, $n], 60 * $slow);
import hashlib, socket, ssl, sys
port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="localhost")
s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % n)
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ssl.SSLZeroReturnError:
        break
    if not chunk:
        break
    data += chunk
body = data.split(b"\r\n\r\n", 1)[1]
print("SHA", hashlib.sha256(body).hexdigest())
PY
    report('KeyUpdate from the server: Python body intact', $r,
           $r->{out} =~ /^SHA $want$/m ? () : ('body differs'));
}

# ---- a certificate chain larger than one record ------------------------------

# A leaf with 900 subjectAltNames (about 19 KB) signed by a CA, sent as a
# two-certificate chain: the Certificate message spans two records.
{
    my $d = "$dir/bigchain";
    mkdir $d;
    my $san = join(',', 'DNS:localhost', 'IP:127.0.0.1',
                   map { "DNS:host$_.example.com" } 1 .. 900);
    open(my $fh, '>', "$d/ext.cnf") or die "$d/ext.cnf: $!";
    print $fh "subjectAltName=$san\n";
    close($fh);
    my @steps = (
        [ 'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
          'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$d/ca.key",
          '-out', "$d/ca.crt", '-days', '5', '-subj', '/CN=zigtls test CA',
          '-addext', 'basicConstraints=critical,CA:TRUE',
          '-addext', 'keyUsage=critical,keyCertSign' ],
        [ 'openssl', 'req', '-newkey', 'ec', '-pkeyopt',
          'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$d/leaf.key",
          '-out', "$d/leaf.csr", '-subj', '/CN=localhost' ],
        [ 'openssl', 'x509', '-req', '-in', "$d/leaf.csr", '-CA', "$d/ca.crt",
          '-CAkey', "$d/ca.key", '-CAcreateserial', '-days', '5',
          '-extfile', "$d/ext.cnf", '-out', "$d/leaf.crt" ],
    );
    my $made = 1;
    for my $cmd (@steps) {
        my $r = run($cmd, 60);
        $made = 0, diag($r->{all}) unless $r->{ok};
    }
    open($fh, '>', "$d/chain.pem") or die "$d/chain.pem: $!";
    print $fh slurp("$d/leaf.crt"), slurp("$d/ca.crt");
    close($fh);
    ok($made && -s "$d/leaf.crt" > 16384, 'a chain larger than one record')
        or diag('leaf certificate: ' . (-s "$d/leaf.crt" || 0) . ' bytes');

    my $port = free_port();
    my $log = "$dir/bigchain.log";
    my @cmd = (@wrap, $bin, '--listen', "127.0.0.1:$port",
               '--cert', "$d/chain.pem", '--key', "$d/leaf.key",
               '--pidfile', "$dir/bigchain.pid");
    $servers{bigchain} = { pid => start_bg({ stdout => $log, stderr => $log }, @cmd),
                           port => $port, log => $log,
                           pidfile => "$dir/bigchain.pid" };
    ok(wait_port($port, 10 * $slow), 'bigchain server listening')
        or diag(slurp($log));

    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-tls1_3', '-CAfile', "$d/ca.crt",
                 '-verify_return_error', '-verify_hostname', 'localhost',
                 '-brief', '-ign_eof'], 20 * $slow, stdin => request('/big'));
    report('big chain: s_client verifies it', $r,
           $r->{all} =~ /Verification: OK/ && $r->{out} =~ m{^path: /big$}m
               ? () : ('not verified'));
    $r = run(['curl', '-sS', '--cacert', "$d/ca.crt", '--max-time', 15 * $slow,
              "https://localhost:$port/big"], 20 * $slow);
    report('big chain: curl verifies it', $r,
           $r->{exit} == 0 && $r->{out} =~ m{^path: /big$}m ? () : ('failed'));
    $r = run(['gnutls-cli', '-p', $port, 'localhost', '--x509cafile', "$d/ca.crt"],
             20 * $slow, stdin => request('/big'), until => qr{</html>});
    report('big chain: gnutls-cli verifies it', $r,
           $r->{all} =~ /The certificate is trusted/ && $r->{out} =~ m{^path: /big$}m
               ? () : ('failed'));
    $r = run(['python3', $py_client, $port, "$d/ca.crt", '/big'], 20 * $slow);
    report('big chain: Python verifies it', $r,
           $r->{exit} == 0 && $r->{out} =~ m{^path: /big$}m ? () : ('failed'));
}

# ---- records cut into single bytes, pipelining, truncation ------------------

# A Python client over MemoryBIO, so that it decides how the TLS bytes hit
# the wire: "drip" sends every byte in its own TCP segment (ClientHello,
# Finished and the requests arrive a byte at a time), "whole" sends each
# flight in one write. Three pipelined requests (one with a body) follow
# the handshake. "truncate" does one keep-alive request, then closes TCP
# without close_notify; "hold" does one and waits for the server to close.
my $wire_py = "$dir/wire.py";
{
    open(my $fh, '>', $wire_py) or die "$wire_py: $!";
    print $fh <<'PY';
import socket, ssl, sys, time
port, cafile, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
sock = socket.create_connection(("127.0.0.1", port), timeout=20)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def refragment(data, size):
    # re-cut every plaintext handshake record (ClientHello) into records
    # of `size` bytes of fragment each; other records go through as they are
    res, i = b"", 0
    while i + 5 <= len(data):
        typ, ver, n = data[i], data[i + 1:i + 3], int.from_bytes(data[i + 3:i + 5], "big")
        body = data[i + 5:i + 5 + n]
        if typ == 0x16:
            for j in range(0, len(body), size):
                frag = body[j:j + size]
                res += bytes([typ]) + ver + len(frag).to_bytes(2, "big") + frag
        else:
            res += data[i:i + 5 + n]
        i += 5 + n
    return res + data[i:]
def flush():
    data = out.read()
    if mode.startswith("frag"):
        data = refragment(data, int(mode[4:]))
    if mode == "drip":
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
            if i % 8 == 7:
                time.sleep(0.001)
    elif data:
        sock.sendall(data)
def pump():
    d = sock.recv(65536)
    if not d:
        raise EOFError
    inc.write(d)
def read_until(marker):
    data = b""
    while marker not in data:
        try:
            chunk = obj.read(65536)
            if not chunk:  # SSLObject.read gives b"" on close_notify
                print("CLOSE_NOTIFY")
                break
            data += chunk
        except ssl.SSLWantReadError:
            try:
                pump()
            except EOFError:
                print("EOF")
                break
        except ssl.SSLZeroReturnError:
            print("CLOSE_NOTIFY")
            break
    return data
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        pump()
flush()
print("HANDSHAKE", obj.version(), obj.cipher()[0], flush=True)
if mode == "halfclose":
    # request, then our close_notify and TCP half-close at once: the server
    # must still deliver the whole response, then its close_notify
    obj.write(b"GET /bytes/300000 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    try:
        obj.unwrap()
    except ssl.SSLWantReadError:
        pass
    flush()
    sock.shutdown(socket.SHUT_WR)
    data = read_until(b"never")
    head, _, body = data.partition(b"\r\n\r\n")
    print("BODY", len(body), flush=True)
    sys.exit(0)
if mode in ("truncate", "hold"):
    obj.write(b"GET /%s HTTP/1.1\r\nHost: localhost\r\n\r\n" % mode.encode())
    flush()
    data = read_until(b"</html>")
    print("PAGE", b"zigtls" in data, flush=True)
    if mode == "truncate":
        sock.close()
        sys.exit(0)
    print("READY", flush=True)
    read_until(b"never")
    sys.exit(0)
obj.write(b"GET /p/1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
          b"POST /p/2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n"
          b"hello world"
          b"GET /p/3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
flush()
data = read_until(b"never")
print("RESPONSES", data.count(b"HTTP/1.1 200 OK"))
print("HRR", b"\nhrr: yes\n" in data)
for i in (1, 2, 3):
    print("PATH", i, (b"path: /p/%d\n" % i) in data)
PY
    close($fh);
}

# frag7/frag1: the ClientHello cut into records of 7 bytes / 1 byte (a
# handshake message reassembled across records); against "p256" the second
# ClientHello after the HelloRetryRequest is cut as well.
for my $case ([ 'drip', 'main' ], [ 'whole', 'main' ], [ 'frag7', 'main' ],
              [ 'frag1', 'main' ], [ 'frag7', 'p256' ]) {
    my ($mode, $srv) = @$case;
    my $r = run(['python3', $wire_py, $servers{$srv}{port}, $bundle, $mode],
                60 * $slow);
    my @bad;
    push @bad, 'no handshake' unless $r->{out} =~ /^HANDSHAKE TLSv1\.3 /m;
    push @bad, 'not three responses' unless $r->{out} =~ /^RESPONSES 3$/m;
    for my $i (1 .. 3) {
        push @bad, "response $i missing" unless $r->{out} =~ /^PATH $i True$/m;
    }
    push @bad, 'no close_notify after Connection: close'
        unless $r->{out} =~ /^CLOSE_NOTIFY$/m;
    my $hrr = $srv eq 'p256' ? 'True' : 'False';
    push @bad, "HelloRetryRequest: want $hrr" unless $r->{out} =~ /^HRR $hrr$/m;
    report("$mode ($srv server): handshake and three pipelined requests", $r, @bad);
}

{
    my $r = run(['python3', $wire_py, $servers{main}{port}, $bundle,
                 'halfclose'], 30 * $slow);
    my @bad;
    push @bad, 'response cut short' unless $r->{out} =~ /^BODY 300000$/m;
    push @bad, 'no close_notify' unless $r->{out} =~ /^CLOSE_NOTIFY$/m;
    report('half-close: request then close_notify, whole response follows',
           $r, @bad);
}

{
    my $r = run(['python3', $wire_py, $servers{main}{port}, $bundle,
                 'truncate'], 30 * $slow);
    report('truncate: a page, then TCP close without close_notify', $r,
           $r->{out} =~ /^PAGE True$/m ? () : ('no page'));
    my $found = 0;
    for (1 .. 50) {
        if (slurp($servers{main}{log}) =~ /connection truncated reason=truncated \S+ \S+ requests=1/) {
            $found = 1;
            last;
        }
        sleep(0.1);
    }
    ok($found, 'server logs the truncation')
        or diag(tail(slurp($servers{main}{log}), 5));
}

# ---- KeyUpdate both ways (openssl s_client commands K and k) ----------------

{
    my $port = $servers{main}{port};
    my $get = sub {
        my ($path, $close) = @_;
        return "GET $path HTTP/1.1\r\nHost: localhost\r\n"
             . ($close ? "Connection: close\r\n" : '') . "\r\n";
    };
    # K: KeyUpdate with update_requested (the server must answer with its
    # own KeyUpdate); k: update_not_requested (no answer).
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-tls1_3', '-msg'],
                30 * $slow,
                dialog => [ qr/Verify return code/, "K\n",
                            qr/<<< [^\n]*KeyUpdate/, $get->('/ku/1', 0),
                            qr{path: /ku/1}, "k\n",
                            qr/KEYUPDATE[\s\S]*KEYUPDATE/,
                            $get->('/ku/2', 1) ],
                until => qr/<<< [^\n]*close_notify/);
    my $all = $r->{all};
    my $sent = () = $all =~ />>> [^\n]*KeyUpdate/g;
    my $recv = () = $all =~ /<<< [^\n]*KeyUpdate/g;
    my @bad;
    push @bad, "client sent $sent KeyUpdates, want 2" unless $sent == 2;
    push @bad, "server sent $recv KeyUpdates, want 1 (answer to K only)"
        unless $recv == 1;
    push @bad, 'no page after the first KeyUpdate'
        unless $all =~ m{^path: /ku/1$}m;
    push @bad, 'no page after the second KeyUpdate'
        unless $all =~ m{^path: /ku/2$}m && $all =~ /^request: 2 on this connection$/m;
    push @bad, 'no close_notify' unless $all =~ /<<< [^\n]*close_notify/;
    report('KeyUpdate both ways, requests go on', $r, @bad);
}

# ---- many clients at once ---------------------------------------------------

{
    my $script = "$dir/many.py";
    open(my $fh, '>', $script) or die "$script: $!";
    print $fh <<'PY';
import socket, ssl, sys, threading
port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
# all TCP connections first, so that the handshakes overlap in the server
raws = [socket.create_connection(("127.0.0.1", port), timeout=20)
        for _ in range(n)]
ok = []
def one(i):
    try:
        s = ctx.wrap_socket(raws[i], server_hostname="localhost")
        s.sendall(b"GET /many/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i)
        data = b""
        while b"</html>" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if b"zigtls" in data and (b"path: /many/%d\n" % i) in data:
            ok.append(i)
        else:
            print("bad response", i, data[:200])
        s.close()
    except Exception as e:
        print("client", i, "failed:", e)
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join(30)
print("OK", len(ok), "of", n)
PY
    close($fh);
    my $n = 64;
    my $r = run(['python3', $script, $servers{main}{port},
                 $bundle, $n], 60 * $slow);
    report("$n concurrent clients", $r,
           $r->{out} =~ /^OK $n of $n$/m ? () : ('not all clients served'));
}

# ---- the client limit and the keep-alive idle timeout ------------------------

{
    my $ok = start_server('small', '--max-clients', '4',
                          '--idle-timeout', 1500 * $slow);
    my $script = "$dir/limit.py";
    open(my $fh, '>', $script) or die "$script: $!";
    print $fh <<'PY';
import socket, ssl, sys, time
port, cafile, tmo = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
def conn():
    raw = socket.create_connection(("127.0.0.1", port), timeout=tmo)
    return ctx.wrap_socket(raw, server_hostname="localhost")
def get(s, path):
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"</html>" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
held = [conn() for _ in range(4)]
print("held", sum(b"zigtls" in get(s, b"/held") for s in held))
try:
    extra = conn()
    print("fifth accepted", get(extra, b"/fifth")[:20])
except Exception as e:
    print("fifth refused")
# the server closes idle keep-alive connections with close_notify
closed = 0
for s in held:
    try:
        if s.recv(100) == b"":
            closed += 1
    except ssl.SSLZeroReturnError:
        closed += 1
    except Exception as e:
        print("idle close:", e)
    s.close()  # as a client does on close_notify: frees the server's slot
print("idle closed", closed)
time.sleep(0.2)
s = conn()
print("after", b"zigtls" in get(s, b"/after"))
PY
    close($fh);
    my $r = run(['python3', $script, $servers{small}{port}, $bundle,
                 10 * $slow], 60 * $slow);
    my @bad;
    push @bad, 'four connections not served' unless $r->{out} =~ /^held 4$/m;
    push @bad, 'fifth connection not refused'
        unless $r->{out} =~ /^fifth refused$/m;
    push @bad, 'idle connections not closed with close_notify'
        unless $r->{out} =~ /^idle closed 4$/m;
    push @bad, 'no service after the idle ones left'
        unless $r->{out} =~ /^after True$/m;
    report('--max-clients refuses the excess, --idle-timeout closes cleanly',
           $r, @bad);
    my $log = slurp($servers{small}{log});
    like($log, qr/refused: 4 clients already/, 'refusal is logged');
    like($log, qr/idle timeout after 1 request/, 'idle timeout is logged');
}

# ---- load: h2load over HTTP/1.1, pipelined -----------------------------------

{
    my $n = 5000;
    my $r = run(['h2load', '--h1', '-n', $n, '-c', 100, '-m', 4,
                 "https://127.0.0.1:$servers{main}{port}/"], 120 * $slow);
    report("h2load: $n pipelined requests on 100 connections", $r,
           $r->{out} =~ /requests: $n total, $n started, $n done, $n succeeded, 0 failed, 0 errored, 0 timeout/
               ? () : ('not every request succeeded'));
}

# ---- a thousand idle keep-alive connections ---------------------------------

# 1000 connections at once (the default limit is 1024), each with one
# request, then held idle: the server's SIGUSR1 stats line must show every
# one of them idle (the core's record buffers and the server's request
# buffers given back), then each does a second request on its connection.
{
    my $ok = start_server('wide', '--quiet', '--handshake-timeout', 10000 * $slow);
    my $script = "$dir/thousand.py";
    open(my $fh, '>', $script) or die "$script: $!";
    print $fh <<'PY';
import asyncio, ssl, sys, resource
port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
ctx = ssl.create_default_context(cafile=cafile)
async def one(i):
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
    w.write(b"GET /k/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i)
    data = b""
    while b"</html>" not in data:
        chunk = await r.read(65536)
        if not chunk: break
        data += chunk
    return (r, w, (b"path: /k/%d\n" % i) in data)
async def main():
    res = await asyncio.gather(*[one(i) for i in range(n)], return_exceptions=True)
    good = [x for x in res if not isinstance(x, BaseException) and x[2]]
    bad = [x for x in res if isinstance(x, BaseException)]
    print("OPEN", len(good), "of", n, flush=True)
    await asyncio.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else 0)
    for b in bad[:5]: print("error:", repr(b))
    # all still open: one more request on each, on the same connections
    async def again(t):
        r, w, _ = t
        w.write(b"GET /again HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = await r.read(65536)
        while b"</html>" not in data:
            chunk = await r.read(65536)
            if not chunk: break
            data += chunk
        w.close()
        return b"request: 2 on this connection" in data
    res2 = await asyncio.gather(*[again(t) for t in good], return_exceptions=True)
    print("AGAIN", sum(1 for x in res2 if x is True), "of", len(good))
asyncio.run(main())
PY
    close($fh);
    my $n = 1000;
    my $out = "$dir/thousand.out";
    my $pid = start_bg({ stdout => $out, stderr => $out },
                       'python3', $script, $servers{wide}{port}, $bundle, $n,
                       3 * $slow);
    my $open = 0;
    for (1 .. 600 * $slow) {
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        if (slurp($out) =~ /^OPEN \d+ of/m) { $open = 1; last }
        sleep(0.1);
    }
    sleep(0.5);
    kill('USR1', $servers{wide}{pid});
    my $stats = '';
    for (1 .. 50) {
        ($stats) = slurp($servers{wide}{log}) =~ /(stats connections=\d+ idle=\d+ [^\n]*)/;
        last if $stats;
        sleep(0.1);
    }
    my $done = 0;
    for (1 .. 600 * $slow) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) { $done = 1; last }
        sleep(0.1);
    }
    stop_pid($pid, 2) unless $done;
    my $text = slurp($out);
    ok($open && $text =~ /^OPEN $n of $n$/m, "$n connections at once, each served")
        or diag($text);
    ok(defined $stats && $stats =~ /connections=$n idle=$n /,
       "all $n idle connections hold no record or request buffers")
        or diag($stats // 'no stats line');
    # what the core says it keeps per idle connection (zt_conn_size() plus
    # zt_conn_buffer_bytes()): a loose bound, a regression guard only
    my ($core) = ($stats // '') =~ /core_bytes=(\d+)/;
    ok(defined $core && $core / $n < 2048,
       sprintf('the core keeps %s bytes per idle connection (< 2048)',
               defined $core ? int($core / $n) : '?'));
    note($stats) if defined $stats;
    ok($text =~ /^AGAIN $n of $n$/m, "$n second requests on the same connections")
        or diag($text);
}

# ---- server preference (--ciphers), no shared suite or group ----------------

{
    my $ok = start_server('pref', '--ciphers',
                          'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384');
    my $port = $servers{pref}{port};
    # OpenSSL offers AES-256, ChaCha20, AES-128 in that order: the server's
    # order decides.
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-tls1_3', '-brief', '-ign_eof'],
                20 * $slow, stdin => request('/pref'));
    report('server preference: ChaCha20 chosen over the client\'s AES-256', $r,
           $r->{all} =~ /Ciphersuite: TLS_CHACHA20_POLY1305_SHA256/
               && $r->{out} =~ /^cipher: TLS_CHACHA20_POLY1305_SHA256$/m
               ? () : ('wrong suite'));
    $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
              '-servername', 'localhost', '-tls1_3',
              '-ciphersuites', 'TLS_AES_128_GCM_SHA256'],
             20 * $slow, stdin => '');
    report('no shared suite: handshake_failure', $r,
           $r->{exit} != 0 && $r->{all} =~ /alert handshake failure/
               ? () : ('client did not get handshake_failure'));
    $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$servers{p256}{port}",
              '-servername', 'localhost', '-tls1_3', '-groups', 'X25519'],
             20 * $slow, stdin => '');
    report('no shared group: handshake_failure', $r,
           $r->{exit} != 0 && $r->{all} =~ /alert handshake failure/
               ? () : ('client did not get handshake_failure'));
    $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
              '-servername', 'localhost', '-tls1_3',
              '-sigalgs', 'ecdsa_secp384r1_sha384'], 20 * $slow, stdin => '');
    report('no certificate for the offered signature algorithms: handshake_failure',
           $r, $r->{exit} != 0 && $r->{all} =~ /alert handshake failure/
               ? () : ('client did not get handshake_failure'));
    $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
              '-servername', "bad name\nwith a newline", '-tls1_3'],
             20 * $slow, stdin => '');
    report('SNI that is not a host name: illegal_parameter', $r,
           $r->{exit} != 0 && $r->{all} =~ /alert illegal parameter/
               ? () : ('client did not get illegal_parameter'));
    my $found = 0;
    for (1 .. 50) {
        $found = slurp($servers{pref}{log}) =~ /handshake failed reason=no_shared_cipher alert_sent=handshake_failure/
              && slurp($servers{pref}{log}) =~ /handshake failed reason=no_shared_sigalg alert_sent=handshake_failure/
              && slurp($servers{p256}{log}) =~ /handshake failed reason=no_shared_group alert_sent=handshake_failure/;
        last if $found;
        sleep(0.1);
    }
    ok($found, 'server logs no_shared_cipher, no_shared_sigalg and no_shared_group');
}

# ---- no middlebox compatibility asked: no change_cipher_spec ----------------

{
    my $r = run(['openssl', 's_client', '-connect',
                 "127.0.0.1:$servers{main}{port}", '-servername', 'localhost',
                 '-tls1_3', '-no_middlebox', '-msg', '-ign_eof'],
                20 * $slow, stdin => request('/no-middlebox'));
    my $ccs = () = $r->{all} =~ /RecordHeader[^\n]*\n\s+14 03 03 00 01/g;
    report('-no_middlebox: no change_cipher_spec either way', $r,
           $ccs == 0 && $r->{out} =~ m{^path: /no-middlebox$}m
               ? () : ("$ccs change_cipher_spec records"));
}

# ---- ALPN without overlap; request bodies ----------------------------------

{
    my $port = $servers{main}{port};
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-servername', 'localhost', '-tls1_3', '-alpn', 'h2'],
                20 * $slow, stdin => '');
    report('ALPN h2 only against http/1.1: no_application_protocol', $r,
           $r->{exit} != 0 && $r->{all} =~ /alert no application protocol/
               ? () : ('client did not get no_application_protocol'));

    # 5 MB POST with Content-Length, then one with chunked encoding: the
    # bodies are read and dropped, the answer is the page.
    my $body = "$dir/body.bin";
    open(my $fh, '>', $body) or die "$body: $!";
    print $fh 'x' x (5 * 1024 * 1024);
    close($fh);
    for my $te ('', 'chunked') {
        my $r2 = run(['curl', '-sS', '--cacert', $bundle, '--max-time', 30 * $slow,
                      ($te ? ('-H', "Transfer-Encoding: $te") : ()),
                      '--data-binary', "\@$body",
                      "https://127.0.0.1:$port/post/" . ($te || 'length')],
                     40 * $slow);
        report('POST of 5 MiB (' . ($te || 'Content-Length') . ')', $r2,
               $r2->{exit} == 0 && $r2->{out} =~ m{^path: /post/}m
                   ? () : ('no page'));
    }
}

# ---- a TLS 1.2-only client is refused with protocol_version ----------------

{
    my $port = $servers{main}{port};
    my $log = $servers{main}{log};
    my $before = () = slurp($log) =~ /protocol_version/g;
    my $r = run(['openssl', 's_client', '-connect', "127.0.0.1:$port",
                 '-tls1_2', '-servername', 'localhost'], 20 * $slow, stdin => '');
    my @bad;
    push @bad, 'TLS 1.2 client succeeded' if $r->{exit} == 0;
    push @bad, 'client did not see a protocol_version alert'
        unless $r->{all} =~ /alert protocol version/;
    report('TLS 1.2-only client fails', $r, @bad);
    my $found = 0;
    for (1 .. 50) {
        my $after = () = slurp($log) =~ /protocol_version/g;
        if ($after > $before) { $found = 1; last }
        sleep(0.1);
    }
    ok($found && slurp($log) =~ /handshake failed reason=\S+ alert_sent=protocol_version/,
       'server log shows the protocol_version refusal')
        or diag(tail(slurp($log), 10));
}

# ---- mutated ClientHellos over the network -------------------------------------

# A real ClientHello with random byte changes and cuts, 500 times (fixed
# seed): the server must answer each with a ServerHello, an alert or a
# close, and stay up (under valgrind and ASan in CI, memory errors show).
{
    my $script = "$dir/mutate.py";
    open(my $fh, '>', $script) or die "$script: $!";
    print $fh <<'PY';
import collections, random, socket, ssl, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
random.seed(20261122)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
ch = out.read()
seen = collections.Counter()
for it in range(n):
    b = bytearray(ch)
    for _ in range(random.choice([1, 1, 2, 3, 8])):
        i = random.randrange(len(b))
        if random.random() < 0.7:
            b[i] = random.randrange(256)
        else:
            b[i] ^= 1 << random.randrange(8)
    if random.random() < 0.1:
        b = b[:random.randrange(len(b))]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(1)
    try:
        s.sendall(bytes(b))
        if len(b) < len(ch):
            s.shutdown(socket.SHUT_WR)
        d = s.recv(5)
        seen["alert" if d[:1] == b"\x15" else "server_hello" if d[:1] == b"\x16"
             else "close" if not d else "other"] += 1
    except socket.timeout:
        seen["waits for more"] += 1   # e.g. a length made longer
    except ConnectionResetError:
        seen["reset"] += 1
    s.close()
print("SEEN", dict(seen))
print("OTHER", seen["other"])
PY
    close($fh);
    my $r = run(['python3', $script, $servers{main}{port}, 500], 300 * $slow);
    report('500 mutated ClientHellos: each answered or closed', $r,
           $r->{exit} == 0 && $r->{out} =~ /^OTHER 0$/m ? () : ('unexpected'));
    note($r->{out});
    ok(kill(0, $servers{main}{pid}), 'server still running');
    $r = run(['curl', '-sS', '--cacert', $bundle, '--max-time', 15 * $slow,
              "https://127.0.0.1:$servers{main}{port}/after-mutations"], 20 * $slow);
    report('server still serves after the mutations', $r,
           $r->{out} =~ m{^path: /after-mutations$}m ? () : ('no page'));
}

# ---- garbage gets an alert and a close ----------------------------------------

# Send bytes, read until EOF (bounded); returns what the server sent.
sub raw_exchange {
    my ($port, $bytes, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or return (undef, "connect: $!");
    $s->syswrite($bytes) if length $bytes;
    my $sel = IO::Select->new($s);
    my $got = '';
    my $deadline = time + $timeout;
    my $eof = 0;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = $s->sysread(my $buf, 4096);
        if (!$n) { $eof = 1; last }
        $got .= $buf;
    }
    close($s);
    return ($got, $eof ? 'eof' : 'timeout');
}

for my $case (
    [ 'plain HTTP request', "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" ],
    [ 'handshake record with garbage body',
      "\x16\x03\x01\x00\x10" . ("\xde\xad\xbe\xef" x 4) ],
    [ 'random bytes', join('', map { chr(($_ * 73 + 41) % 256) } 1 .. 300) ],
) {
    my ($name, $bytes) = @$case;
    my ($got, $how) = raw_exchange($servers{main}{port}, $bytes, 10);
    my $ok = defined $got && length($got) >= 7
        && substr($got, 0, 1) eq "\x15"              # alert record
        && substr($got, 3, 2) eq "\x00\x02"          # plaintext alert
        && substr($got, 5, 1) eq "\x02"              # fatal
        && $how eq 'eof';
    ok($ok, "$name: fatal alert, then close")
        or diag("got " . (defined $got ? unpack('H*', $got) : 'nothing')
                . " ($how)");
}

# ---- a client that says nothing hits the handshake timeout ------------------

{
    my $t0 = time;
    my ($got, $how) = raw_exchange($servers{main}{port}, '', 15);
    my $dt = time - $t0;
    ok(defined $got && $how eq 'eof' && $dt >= 2.5 && $dt < 12,
       sprintf('silent client closed after the handshake timeout (%.1fs)', $dt))
        or diag("how: $how");
    my $found = 0;
    for (1 .. 30) {
        if (slurp($servers{main}{log}) =~ /handshake failed reason=handshake_timeout/) {
            $found = 1; last;
        }
        sleep(0.1);
    }
    ok($found, 'server log shows the handshake timeout');
}

# ---- the log names every failure ----------------------------------------------

{
    my $log = slurp($servers{main}{log});
    my @fails = grep { /handshake failed/ } split /\n/, $log;
    my @unnamed = grep { !/reason=\S+ alert_sent=\S+ alert_received=\S+/ } @fails;
    ok(@fails >= 4 && !@unnamed, 'every failed handshake is logged with reason and alert')
        or diag(join("\n", @fails));
}

# ---- SIGTERM: clean exit, pid file removed ------------------------------------

# A keep-alive client is connected to "main" when it stops: it must get a
# close_notify, not a reset.
my ($holder, $holder_out);
{
    $holder_out = "$dir/holder.out";
    $holder = start_bg({ stdout => $holder_out, stderr => $holder_out },
                       'python3', $wire_py, $servers{main}{port}, $bundle,
                       'hold');
    my $ready = 0;
    for (1 .. 100 * $slow) {
        if (slurp($holder_out) =~ /^READY$/m) { $ready = 1; last }
        sleep(0.1);
    }
    ok($ready, 'a keep-alive client is connected before SIGTERM')
        or diag(slurp($holder_out));
}

for my $name (sort keys %servers) {
    my $s = $servers{$name};
    ok(-s $s->{pidfile} && slurp($s->{pidfile}) =~ /^(\d+)$/m && $1 == $s->{pid},
       "$name: pid file holds the server pid");
    my $st = stop_pid($s->{pid}, 10);
    $s->{pid} = 0;
    is($st, 0, "$name: exits 0 on SIGTERM");
    ok(!-e $s->{pidfile}, "$name: pid file removed");
    like(slurp($s->{log}), qr/shutting down/, "$name: logs its shutdown");
}
{
    my $done = 0;
    for (1 .. 100 * $slow) {
        if (waitpid($holder, POSIX::WNOHANG()) == $holder) { $done = 1; last }
        sleep(0.1);
    }
    stop_pid($holder, 2) unless $done;
    like(slurp($holder_out), qr/^CLOSE_NOTIFY$/m,
         'the connected client got close_notify on SIGTERM');
}

if (!Test::More->builder->is_passing) {
    for my $name (sort keys %servers) {
        diag("--- $name server log (tail):\n" . tail(slurp($servers{$name}{log}), 30));
    }
}

done_testing();
