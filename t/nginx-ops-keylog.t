#!/usr/bin/perl

# zigtls_keylog does what Wireshark needs: a client records the raw bytes
# that nginx sent (the "capture"), then, knowing nothing but the server's
# key log file, the test finds the lines for that connection (by the
# client random in the ClientHello) and decrypts every record: the
# server's handshake messages with SERVER_HANDSHAKE_TRAFFIC_SECRET, the
# HTTP response with SERVER_TRAFFIC_SECRET_0; the client's request too.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use ZtNginx;
use ZtTest qw(run need_bin);

need_bin('python3');

my $t = ZtNginx->new;
$t->certs;

$t->write_conf(<<'CONF');
http {
    access_log off;

    server {
        listen 127.0.0.1:%%PORT_0%%;
        server_name localhost;
        zigtls on;
        zigtls_certificate %%CERTS%%/ecdsa.crt;
        zigtls_certificate_key %%CERTS%%/ecdsa.key;
        zigtls_ciphers TLS_AES_128_GCM_SHA256;
        zigtls_keylog %%DIR%%/logs/keylog.txt;
        location / { return 200 "secret body 4711\n"; }
    }
}
CONF
$t->start;

my $r = $t->python(<<'PY', $t->port(0), $t->dir . '/logs/keylog.txt');
import hashlib, hmac, socket, ssl, struct, sys, time
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

port, keylog = int(sys.argv[1]), sys.argv[2]

# a client that records what goes over the wire in both directions
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
wire_c, wire_s = b"", b""

def pump():
    global wire_c, wire_s
    data = out.read()
    if data:
        wire_c += data
        sock.sendall(data)

def fill():
    global wire_s
    d = sock.recv(65536)
    if d:
        wire_s += d
        inc.write(d)
    else:
        inc.write_eof()
    return d

while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        pump()
        fill()
pump()
obj.write(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
pump()
body = b""
while True:
    try:
        d = obj.read(65536)
        if not d:
            break
        body += d
    except ssl.SSLWantReadError:
        pump()
        if not fill():
            break
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
sock.close()
print("client read:", body.split(b"\r\n\r\n", 1)[-1].decode().strip())

# ---- "Wireshark": the capture and the server's key log only

def records(wire):
    p = 0
    while p + 5 <= len(wire):
        t, ln = wire[p], struct.unpack(">H", wire[p + 3:p + 5])[0]
        yield t, wire[p:p + 5], wire[p + 5:p + 5 + ln]
        p += 5 + ln

ch = next(records(wire_c))[2]
client_random = ch[6:38].hex()
secrets = {}
for line in open(keylog):
    f = line.split()
    if len(f) == 3 and f[1] == client_random:
        secrets[f[0]] = bytes.fromhex(f[2])
print("lines for this connection:", len(secrets))

def expand_label(secret, label, length):
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]

def decrypt_all(wire, hs_name, app_name):
    keys = [(expand_label(secrets[n], b"key", 16),
             expand_label(secrets[n], b"iv", 12)) for n in (hs_name, app_name)]
    stage, seq, plain, types = 0, 0, b"", []
    for t, hdr, body in records(wire):
        if t != 23:
            continue
        while True:
            key, iv = keys[stage]
            nonce = bytes(a ^ b for a, b in zip(iv, b"\x00" * 4 + struct.pack(">Q", seq)))
            try:
                pt = AESGCM(key).decrypt(nonce, body, hdr)
                seq += 1
                break
            except Exception:
                if stage == 1:
                    return None, types
                stage, seq = 1, 0
        pt = pt.rstrip(b"\x00")
        types.append((stage, pt[-1]))
        if stage == 1 and pt[-1] == 23:
            plain += pt[:-1]
    return plain, types

plain, types = decrypt_all(wire_s, "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                           "SERVER_TRAFFIC_SECRET_0")
print("server handshake records decrypted:", sum(1 for s, t in types if s == 0 and t == 22))
print("server says:", (plain or b"").split(b"\r\n")[0].decode())
print("server body:", (plain or b"").split(b"\r\n\r\n", 1)[-1].decode().strip())
plain, types = decrypt_all(wire_c, "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                           "CLIENT_TRAFFIC_SECRET_0")
print("client says:", (plain or b"").split(b"\r\n")[0].decode())
PY

my $o = $r->{out};
like($o, qr/^client read: secret body 4711$/m, 'the client got the page')
    or diag($r->{all});
like($o, qr/^lines for this connection: 5$/m,
     'the key log has five lines for the connection (found by client random)');
like($o, qr/^server handshake records decrypted: [1-9]/m,
     "the server's encrypted handshake decrypts");
like($o, qr{^server says: HTTP/1\.1 200 OK$}m,
     'the response decrypts with SERVER_TRAFFIC_SECRET_0');
like($o, qr/^server body: secret body 4711$/m, 'including the body');
like($o, qr{^client says: GET / HTTP/1\.0$}m,
     'the request decrypts with CLIENT_TRAFFIC_SECRET_0');

like($t->error_log, qr/\[warn\].*zigtls_keylog is on for server "localhost"/,
     'startup warning in the error log');

$t->stop;
done_testing();
