#!/usr/bin/perl

# zigtls nginx module, stream: handshake in the SSL phase, proxy_pass to a
# loopback TCP backend in both directions, proxy_half_close, close_notify
# whichever side closes first, $zigtls_* in the stream log_format.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin start_bg stop_pid wait_port);

need_bin($_) for qw(openssl python3);

my $t = ZtNginx->new(stream => 1);
$t->certs;

# backends: echo (until EOF, then "BYE\n"), and greeter (says hi, closes)
my $backend = $t->write_file('tmp/backend.py', <<'PY');
import socket, sys, threading
echo_port, greet_port = int(sys.argv[1]), int(sys.argv[2])
def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.sendall(b"BYE\n")
    finally:
        c.close()
def greet(c):
    c.sendall(b"hi there\n")
    c.close()
def serve(port, fn):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()
threading.Thread(target=serve, args=(greet_port, greet), daemon=True).start()
serve(echo_port, echo)
PY
my $bpid = start_bg({ stdout => $t->dir . '/logs/backend.log',
                      stderr => $t->dir . '/logs/backend.log' },
                    'python3', $backend, $t->port(2), $t->port(5));
END { local $?; stop_pid($bpid, 3) if $bpid; }
ok(wait_port($t->port(2), 10) && wait_port($t->port(5), 10),
   'backends listening') or BAIL_OUT('backend did not start');

$t->write_conf(<<'CONF');
stream {
    log_format zt '$zigtls_protocol|$zigtls_cipher|$zigtls_group|'
                  '$zigtls_sigalg|$zigtls_server_name|$zigtls_alpn|'
                  '$zigtls_session_reused|$zigtls_handshake_time|'
                  '$bytes_received|$bytes_sent|$status|$server_port';
    access_log %%DIR%%/logs/stream.log zt;

    zigtls_certificate %%CERTS%%/ed25519.crt;
    zigtls_certificate_key %%CERTS%%/ed25519.key;
    zigtls_certificate %%CERTS%%/ecdsa.crt;
    zigtls_certificate_key %%CERTS%%/ecdsa.key;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        zigtls on;
        zigtls_alpn echo/1;
        proxy_pass 127.0.0.1:%%PORT_2%%;
    }

    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        proxy_half_close on;
        proxy_pass 127.0.0.1:%%PORT_2%%;
    }

    server {
        listen 127.0.0.1:%%PORT_3%%;
        zigtls on;
        zigtls_handshake_timeout 1s;
        proxy_pass 127.0.0.1:%%PORT_5%%;
    }

    server {
        listen 127.0.0.1:%%PORT_6%% proxy_protocol;
        zigtls on;
        return "$proxy_protocol_addr $zigtls_protocol $zigtls_server_name\n";
    }

    server {
        listen 127.0.0.1:%%PORT_4%%;
        zigtls on;
        proxy_half_close on;
        proxy_pass 127.0.0.1:%%PORT_5%%;
    }
}
CONF
$t->start;

my $r;

# openssl s_client: a line there and back
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(0),
          '-servername', 'stream.test', '-alpn', 'echo/1'], 20,
         stdin => "ping through zigtls\n", until => qr/ping through zigtls/);
like($r->{out}, qr/ping through zigtls/, 's_client: echo through proxy_pass')
    or diag($r->{all});

# python: 4 MB both ways, then the client's close_notify, and the
# backend's "BYE" (sent after it saw EOF) does not arrive without
# half-close, or does with it
my $client = <<'PY';
import hashlib, socket, ssl, sys
port, mode = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
sock = socket.create_connection(("127.0.0.1", port), timeout=15)
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="stream.test")
def pump_out():
    d = out.read()
    if d:
        sock.sendall(d)
def pump_in():
    d = sock.recv(65536)
    if not d:
        return False
    inc.write(d)
    return True
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        pump_out()
        if not pump_in():
            print("eof in handshake"); sys.exit(1)
pump_out()
payload = bytes((i * 7 + i // 251) & 0xff for i in range(4 * 1024 * 1024)) if mode != "greet" else b""
got = b""
sent = 0
sock.setblocking(False)
import select
closed_notify = False
clean = None
outbuf = b""
while True:
    if sent < len(payload) and len(outbuf) < 65536:
        sent += obj.write(payload[sent:sent + 16384])
    if sent >= len(payload) and mode == "halfclose" and not closed_notify:
        try:
            obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        closed_notify = True
    outbuf += out.read()
    busy = sent < len(payload) or outbuf
    r, w, _ = select.select([sock], [sock] if outbuf else [], [],
                            0 if (sent < len(payload) and not outbuf) else 10)
    if w:
        try:
            n = sock.send(outbuf)
            outbuf = outbuf[n:]
        except BlockingIOError:
            pass
    if r:
        d = sock.recv(65536)
        if not d:
            clean = False if clean is None else clean
            break
        inc.write(d)
        while True:
            try:
                x = obj.read(65536)
                if not x:
                    clean = True
                    break
                got += x
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                clean = True
                break
        if clean:
            break
        if mode == "nohalf" and len(got) >= len(payload) > 0:
            print("all echoed")
            break
    elif not w and not busy:
        print("timeout")
        break
print("echo-ok", got[:len(payload)] == payload)
print("tail", got[len(payload):])
print("clean", clean)
PY

$r = $t->python($client, $t->port(0), 'nohalf');
like($r->{out}, qr/echo-ok True/, '4 MB echoed through zigtls stream')
    or diag($r->{all});

$r = $t->python($client, $t->port(1), 'halfclose');
like($r->{out}, qr/echo-ok True/, 'half-close: data echoed') or diag($r->{all});
like($r->{out}, qr/tail b'BYE\\n'/,
     'half-close: backend answer after client close_notify arrives');
like($r->{out}, qr/clean True/, 'half-close: server close_notify at the end');

# the backend closes first: the client gets close_notify
$r = $t->python($client, $t->port(3), 'greet');
like($r->{out}, qr/tail b'hi there\\n'/, 'greeting from the backend')
    or diag($r->{all});
like($r->{out}, qr/clean True/, 'backend closed first: close_notify');

# the same with proxy_half_close: close_notify before nginx's TCP half-close
$r = $t->python($client, $t->port(4), 'greet');
like($r->{out}, qr/tail b'hi there\\n'/, 'half-close: greeting from the backend')
    or diag($r->{all});
like($r->{out}, qr/clean True/,
     'half-close, backend closed first: close_notify') or diag($r->{all});

# the PROXY protocol header before the ClientHello
$r = $t->python(<<'PY', $t->port(6));
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
raw.sendall(b"PROXY TCP4 192.0.2.9 192.0.2.1 40000 443\r\n")
s = ctx.wrap_socket(raw, server_hostname="pp.test")
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.decode(), end="")
PY
is($r->{out}, "192.0.2.9 TLSv1.3 pp.test\n", 'stream: proxy_protocol + zigtls')
    or diag($r->{all});

# a TLS 1.2 client is refused, with an alert
$r = run(['openssl', 's_client', '-connect', '127.0.0.1:' . $t->port(0),
          '-tls1_2'], 20, stdin => '');
like($r->{all}, qr/alert protocol version/i, 'stream: TLS 1.2 refused')
    or diag($r->{all});

# a stalled client is cut at zigtls_handshake_timeout
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->port(3), Proto => 'tcp')
        or die "connect: $!\n";
    syswrite($s, "\x16\x03\x01");
    my $t0 = time;
    my $sel = IO::Select->new($s);
    my $n = $sel->can_read(8) ? sysread($s, my $buf, 100) : -1;
    my $el = time - $t0;
    ok(defined $n && $n == 0 && $el <= 4, "stalled stream client cut ($el s)");
    close($s);
}

$t->stop;

my $log = $t->read_file('logs/stream.log');
my ($line) = grep { /\|200\|${\ $t->port(1)}$/ && /\|4194308\|/ }
             split /\n/, $log;
ok($line, 'stream log line for the 4 MB half-closed session') or diag($log);
my @f = split /\|/, ($line // '');
is($f[0], 'TLSv1.3', 'stream $zigtls_protocol');
like($f[1] // '', qr/^TLS_/, 'stream $zigtls_cipher');
like($f[2] // '', qr/^(x25519|secp256r1)$/, 'stream $zigtls_group');
like($f[3] // '', qr/^(ed25519|ecdsa_secp256r1_sha256)$/,
     'stream $zigtls_sigalg');
is($f[4], 'stream.test', 'stream $zigtls_server_name');
is($f[5], '', 'stream $zigtls_alpn (none offered)');
like($f[7] // '', qr/^\d+\.\d{3}$/, 'stream $zigtls_handshake_time');
is($f[8], 4194304, 'stream $bytes_received is plaintext');
is($f[9], 4194308, 'stream $bytes_sent is plaintext (echo + BYE)');

like($log, qr/^TLSv1\.3\|[^|]+\|[^|]+\|[^|]+\|stream\.test\|echo\/1\|/m,
     'stream $zigtls_alpn with ALPN') or diag($log);

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alerts')
    or diag($t->error_log);

done_testing();
