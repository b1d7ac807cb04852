#!/usr/bin/perl

# How records go in and out (docs/architecture.md, "Records out" and
# "Records in"), guarded by behaviour rather than time:
#   - a client without TCP_NODELAY (plain Python ssl: Nagle on) gets its
#     first response without waiting for a delayed ACK, over HTTP/1.1,
#     HTTP/2 and stream: the server acknowledges the client Finished at
#     once when nothing of its own follows it (a delayed ACK is at least
#     40 ms on Linux; an answer here takes well under a millisecond);
#   - HTTP/2: the HEADERS and DATA of a response, written by nginx in two
#     send_chain calls, leave in one record and one send (strace);
#   - a burst of 40 small client records is taken with a few reads;
#   - an idle connection holds no record buffer or cipher context, right
#     after the handshake and after a keep-alive response: the status
#     page's zigtls_connection_memory_bytes (zt_conn_memory of every open
#     connection) stays under 1 kB per connection.

use strict;
use warnings;

use Test::More;
use Time::HiRes ();
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin start_bg stop_pid wait_port);
use ZtProm;

need_bin('python3');

my $t = ZtNginx->new(stream => 1);
$t->certs;

$t->write_file('html/f3k', 'z' x 3000);
$t->write_file('html/small', "ok\n");

my $backend = $t->write_file('tmp/echo.py', <<'PY');
import socket, sys, threading
def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
PY
my $bpid = start_bg({ stdout => $t->dir . '/logs/echo.log',
                      stderr => $t->dir . '/logs/echo.log' },
                    'python3', $backend, $t->port(3));
END { local $?; stop_pid($bpid, 3) if $bpid; }
ok(wait_port($t->port(3), 10), 'echo backend listening')
    or BAIL_OUT('echo backend did not start');

$t->write_conf(<<'CONF');
http {
    access_log off;
    zigtls_zone io:256k;

    server {
        listen 127.0.0.1:%%PORT_2%%;
        location = /metrics { zigtls_status prometheus; }
    }

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_ciphers TLS_AES_128_GCM_SHA256;
        root %%DIR%%/html;
        location = /hello { return 200 "hello\n"; }
    }
}
stream {
    server {
        listen 127.0.0.1:%%PORT_1%%;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        proxy_pass 127.0.0.1:%%PORT_3%%;
    }
}
CONF
$t->start;

# ---- no delayed-ACK stall for a client with Nagle on ------------------------

my $lat = $t->write_file('tmp/latency.py', <<'PY');
import socket, ssl, statistics, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "h2":
    ctx.set_alpn_protocols(["h2"])
ms = []
for i in range(7):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    # no TCP_NODELAY: Nagle holds a small write while one is unacknowledged
    t = ctx.wrap_socket(s, server_hostname="localhost")
    if mode == "h2":
        assert t.selected_alpn_protocol() == "h2"
        block = b"\x82\x87\x04\x06/hello\x01\x09localhost"
        req = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
               b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" +
               len(block).to_bytes(3, "big") + b"\x01\x05\x00\x00\x00\x01" +
               block)
    elif mode == "http":
        req = b"GET /small HTTP/1.1\r\nHost: localhost\r\n\r\n"
    else:
        req = b"ping\n"
    t0 = time.monotonic()
    t.sendall(req)
    buf = b""
    while True:
        d = t.recv(65536)
        if not d:
            break
        buf += d
        if mode == "h2":
            # a HEADERS frame (type 1) on stream 1
            q, seen = 0, False
            while q + 9 <= len(buf):
                ln = int.from_bytes(buf[q:q + 3], "big")
                if buf[q + 3] == 1 and buf[q + 5:q + 9] == b"\x00\x00\x00\x01":
                    seen = True
                q += 9 + ln
            if seen:
                break
        elif mode == "http" and b"\r\n\r\nok\n" in buf:
            break
        elif mode == "stream" and buf == b"ping\n":
            break
    ms.append((time.monotonic() - t0) * 1000)
    t.close()
print("median %.2f max %.2f" % (statistics.median(ms), max(ms)))
PY

for my $case (['http', 0], ['h2', 0], ['stream', 1]) {
    my ($mode, $port) = @$case;
    my $r = run(['python3', $lat, $t->port($port), $mode], 60);
    my ($med) = $r->{out} =~ /median ([\d.]+)/;
    ok(defined $med, "$mode: Nagle client answered") or diag($r->{all});
    SKIP: {
        skip 'timing under valgrind', 1 if $ENV{ZT_VALGRIND};
        ok(defined $med && $med < 20,
           "$mode: first response without a delayed-ACK wait "
           . "(median ${\ ($med // '?')} ms, a delayed ACK is >= 40 ms)");
    }
}

# ---- system calls of the worker, counted by strace ----------------------------

sub worker_pid {
    my $m = $t->read_file('logs/nginx.pid');
    chomp $m;
    my $kids = '';
    for (1 .. 100) {
        if (open(my $fh, '<', "/proc/$m/task/$m/children")) {
            $kids = <$fh> // '';
            close $fh;
        }
        last if $kids =~ /\d/;
        select(undef, undef, undef, 0.05);
    }
    my ($w) = $kids =~ /(\d+)/;
    return $w;
}

# strace the worker while $code runs; the system calls it saw, as
# [epoch time, name] pairs
sub traced {
    my ($what, $code) = @_;
    my $w = worker_pid();
    my $f = $t->dir . "/logs/strace-$what.txt";
    unlink $f;
    my $spid = start_bg({ stderr => $t->dir . '/logs/strace.log' },
                        'strace', '-f', '-ttt', '-o', $f, '-e',
                        'trace=read,recvfrom,readv,recvmsg,write,writev,'
                        . 'sendto,sendmsg', '-p', $w);
    # attached once the worker's next system call shows (a probe request)
    my $deadline = time + 10;
    while (time < $deadline) {
        $t->curl('/small');
        last if -s $f;
        select(undef, undef, undef, 0.1);
    }
    my $t0 = Time::HiRes::time();
    my $out = $code->();
    select(undef, undef, undef, 0.3);
    kill('INT', $spid);
    stop_pid($spid, 5);
    my @calls;
    if (open(my $fh, '<', $f)) {
        while (<$fh>) {
            push @calls, [$1, $2] if /^(?:\d+\s+)?(\d+\.\d+)\s+(\w+)\(/;
        }
        close $fh;
    }
    return ($out, \@calls, $t0);
}

SKIP: {
    skip 'strace not installed', 6 unless -x '/usr/bin/strace';
    skip 'no strace under valgrind', 6 if $ENV{ZT_VALGRIND};
    my $probe = run(['strace', '-o', '/dev/null', 'true'], 20);
    skip 'strace cannot trace here', 6 unless $probe->{ok};

    # HTTP/2: a response of 3 KB on an open connection
    my ($out, $calls) = traced('h2', sub {
        run(['python3', 't/lib/zt_rawclient.py', $t->port(0), 'h2',
             '/f3k'], 30)->{out};
    });
    my ($nrec, $hrec, $d1, $d2, $body, $t3, $tclose) = $out =~
      /h2 records (\d+) headers (\d+) data (\d+)\.\.(\d+) body (\d+) t3 (\S+) tclose (\S+)/;
    ok(defined $nrec && $body == 3000, 'h2: stream 3 answered (3000 bytes)')
        or diag($out);
    is($hrec, $d1, 'h2: HEADERS and DATA begin in the same record')
        or diag($out);
    my @sends = grep { $_->[1] =~ /^(write|writev|sendto|sendmsg)$/
                       && $_->[0] >= $t3 && $_->[0] <= $tclose } @$calls;
    is(scalar(@sends), 1, 'h2: the whole response in one send')
        or diag(join("\n", map { "@$_" } @$calls));

    # 40 small records at once: taken with a few reads
    my $t0;
    ($out, $calls, $t0) = traced('burst', sub {
        run(['python3', 't/lib/zt_rawclient.py', $t->port(0), 'burst',
             '/small'], 30)->{out};
    });
    my ($sent, $resp, $cn) =
      $out =~ /burst sent (\d+) response (\d+) close_notify (\S+)/;
    ok(defined $sent && $sent >= 30 && $resp > 3 && $cn eq 'yes',
       "burst: $sent records of one request, answered") or diag($out);
    # the reads of the burst connection (after the probes of traced())
    my $conn_reads = grep { $_->[1] =~ /^(read|recvfrom|readv|recvmsg)$/
                            && $_->[0] >= $t0 } @$calls;
    ok($conn_reads > 0, 'reads traced');
    ok($conn_reads <= 10,
       "burst: taken with few reads ($conn_reads for the whole "
       . "connection, $sent records)")
        or diag(join("\n", map { "@$_" } @$calls));
}

# ---- memory of idle connections (the status page's gauge) ------------------------

sub conn_memory {
    my $r = run(['curl', '-sS', '--max-time', '10',
                 'http://127.0.0.1:' . $t->port(2) . '/metrics'], 20);
    my ($v) = $r->{out} =~ /^zigtls_connection_memory_bytes (\d+)$/m;
    my ($a) = $r->{out} =~ /^zigtls_connections_active (\d+)$/m;
    return ($v, $a);
}

my $idle = $t->write_file('tmp/idle.py', <<'PY');
import socket, ssl, sys, time
port, n, ready, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
import os
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    conns.append(ctx.wrap_socket(s, server_hostname="localhost"))
open(ready, "w").write("handshaken\n")
for _ in range(200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
for t in conns:
    t.sendall(b"GET /small HTTP/1.1\r\nHost: localhost\r\n\r\n")
    buf = b""
    while b"\r\n\r\nok\n" not in buf:
        buf += t.recv(4096)
open(ready, "a").write("answered\n")
time.sleep(30)
PY

{
    my ($m0, $a0) = conn_memory();
    ok(defined $m0 && defined $a0, "gauge read ($m0 bytes, $a0 connections)");
    my $rf = $t->dir . '/tmp/idle.ready';
    my $gf = $t->dir . '/tmp/idle.go';
    my $ipid = start_bg({ stderr => $t->dir . '/logs/idle.log' },
                        'python3', $idle, $t->port(0), 10, $rf, $gf);
    my $wait = sub {
        my ($re) = @_;
        for (1 .. 400) {
            my $txt = -f $rf ? ZtTest::slurp($rf) : '';
            return 1 if $txt =~ $re;
            select(undef, undef, undef, 0.05);
        }
        return 0;
    };
    ok($wait->(qr/handshaken/), '10 connections past the handshake');
    select(undef, undef, undef, 0.3);
    my ($m1, $a1) = conn_memory();
    my $per = ($m1 - $m0) / 10;
    is($a1 - $a0, 10, '10 more connections open');
    ok($per > 0 && $per <= 1024,
       "right after the handshake: $per bytes per idle connection");
    open(my $g, '>', $gf) or die "$gf: $!";
    close $g;
    ok($wait->(qr/answered/), 'each got a keep-alive response');
    # the cipher contexts of a connection that is not yet idle for nginx
    # go 200 ms after its last response (docs/architecture.md)
    select(undef, undef, undef, 0.8);
    my ($m2) = conn_memory();
    $per = ($m2 - $m0) / 10;
    ok($per > 0 && $per <= 1024,
       "after a keep-alive response: $per bytes per idle connection");
    stop_pid($ipid, 3);
}

$t->stop;
done_testing();
