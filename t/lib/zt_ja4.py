#!/usr/bin/env python3
# JA4 for the end-to-end tests (t/nginx-ja4.t): an implementation of its
# own, written from the public specification (FoxIO's
# technical_details/JA4.md), to check what the server computes from what a
# real client really sent.
#
#   zt_ja4.py relay LISTEN_PORT TARGET_PORT OUTFILE
#       a TCP relay on 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT; the
#       first ClientHello of every connection is appended to OUTFILE as one
#       line of hex (the handshake message body). Runs until killed.
#   zt_ja4.py ja4 HEX
#       prints the four forms of that ClientHello body, one a line:
#       ja4, ja4_r, ja4_o, ja4_ro
#   zt_ja4.py exts HEX
#       prints the extension types as sent, GREASE included, in hex

import hashlib
import socket
import struct
import sys
import threading


def grease(v):
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def parse(body):
    """(legacy_version, suites, [(type, data)]) of a ClientHello body."""
    p = 2 + 32
    version = struct.unpack(">H", body[0:2])[0]
    p += 1 + body[p]
    n = struct.unpack(">H", body[p:p + 2])[0]
    suites = [struct.unpack(">H", body[p + 2 + i:p + 4 + i])[0]
              for i in range(0, n, 2)]
    p += 2 + n
    p += 1 + body[p]
    exts = []
    if p < len(body):
        end = p + 2 + struct.unpack(">H", body[p:p + 2])[0]
        p += 2
        while p < end:
            t, ln = struct.unpack(">HH", body[p:p + 4])
            exts.append((t, body[p + 4:p + 4 + ln]))
            p += 4 + ln
    return version, suites, exts


def u16s(b):
    return [struct.unpack(">H", b[i:i + 2])[0] for i in range(0, len(b), 2)]


def hexlist(vals):
    return ",".join("%04x" % v for v in vals)


def sha12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def ja4(body):
    version, suites, exts = parse(body)
    ext = dict()
    for t, d in exts:
        ext.setdefault(t, d)
    if 0x002B in ext:
        d = ext[0x002B]
        vs = [v for v in u16s(d[1:1 + d[0]]) if not grease(v)]
        if vs:
            version = max(vs)
    ver = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10",
           0x0300: "s3", 0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2",
           0xFEFC: "d3"}.get(version, "00")
    sni = "d" if 0x0000 in ext else "i"
    cs = [v for v in suites if not grease(v)]
    es = [t for t, _ in exts if not grease(t)]
    alpn = "00"
    if 0x0010 in ext:
        d = ext[0x0010]
        if len(d) >= 3 and d[2] > 0:
            first = d[3:3 + d[2]]
            if chr(first[0]).isalnum() and chr(first[-1]).isalnum() \
                    and first[0] < 128 and first[-1] < 128:
                alpn = chr(first[0]) + chr(first[-1])
            else:
                h = first.hex()
                alpn = h[0] + h[-1]
    sig = []
    if 0x000D in ext:
        d = ext[0x000D]
        sig = [v for v in u16s(d[2:2 + struct.unpack(">H", d[0:2])[0]])
               if not grease(v)]
    a = "t%s%s%02d%02d%s" % (ver, sni, min(len(cs), 99), min(len(es), 99),
                             alpn)
    folded = sorted(t for t in es if t not in (0x0000, 0x0010))
    out = {}
    for name, c_list, e_list in (("ja4", sorted(cs), folded),
                                 ("ja4_o", cs, es)):
        c_str = hexlist(c_list)
        e_str = hexlist(e_list) + ("_" + hexlist(sig) if sig else "")
        b = sha12(c_str) if cs else "000000000000"
        c = sha12(e_str) if folded else "000000000000"
        out[name] = "%s_%s_%s" % (a, b, c)
        out[name.replace("ja4", "ja4_r") if name == "ja4" else "ja4_ro"] = \
            "%s_%s_%s" % (a, c_str, e_str)
    return out


def read_hello(sock, first):
    """Reads the client's records until the ClientHello is whole; returns
    (bytes to forward, hello body or None)."""
    data = first
    while True:
        msg = b""
        p = 0
        while p + 5 <= len(data):
            ln = struct.unpack(">H", data[p + 3:p + 5])[0]
            if p + 5 + ln > len(data):
                break
            if data[p] == 22:
                msg += data[p + 5:p + 5 + ln]
            p += 5 + ln
        if len(msg) >= 4:
            n = struct.unpack(">I", b"\x00" + msg[1:4])[0]
            if len(msg) >= 4 + n:
                return data, msg[4:4 + n]
        more = sock.recv(65536)
        if not more:
            return data, None
        data += more


def pump(src, dst):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, target, outfile, lock):
    client.settimeout(30)
    try:
        up = socket.create_connection(("127.0.0.1", target), timeout=30)
        first = client.recv(65536)
        data, hello = read_hello(client, first)
        if hello is not None:
            with lock, open(outfile, "a") as f:
                f.write(hello.hex() + "\n")
        up.sendall(data)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=pump, args=(up, client), daemon=True)
    t.start()
    pump(client, up)
    t.join(30)
    client.close()
    up.close()


def relay(listen, target, outfile):
    lock = threading.Lock()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, target, outfile, lock),
                         daemon=True).start()


def main():
    if sys.argv[1] == "relay":
        relay(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "ja4":
        f = ja4(bytes.fromhex(sys.argv[2]))
        for k in ("ja4", "ja4_r", "ja4_o", "ja4_ro"):
            print(f[k])
    elif sys.argv[1] == "exts":
        print(",".join("%04x" % t for t, _ in
                       parse(bytes.fromhex(sys.argv[2]))[2]))


main()
