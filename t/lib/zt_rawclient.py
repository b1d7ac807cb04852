#!/usr/bin/env python3
# A deliberately misbehaving TLS 1.3 client for the operations tests
# (t/nginx-ops-*.t): it provokes one handshake failure on purpose.
#
#   zt_rawclient.py PORT MODE [SNI]
#
# MODE:
#   finished    a correct handshake up to the client's Finished, which
#               carries wrong verify_data (encrypted with the right key)
#   mac         the client's Finished record with one ciphertext byte
#               flipped
#   unexpected  a Finished message as the first handshake message
#   malformed   a ClientHello whose length fields disagree
#   alert       a fatal handshake_failure alert instead of a ClientHello
#   truncated   half a ClientHello, then FIN
#   stall       connects, sends nothing, waits for the server to close
#   ok          the whole handshake with a correct Finished (sanity)
#   bighello    a legal ClientHello whose body is SIZE bytes (third
#               argument); prints "serverhello N" or "alert N"
#   records     the whole handshake, then "GET /" with Connection: close;
#               prints "records N bytes M close_notify C": the protected
#               application data records of the response, their plaintext
#               bytes, and whether close_notify followed (SNI argument:
#               the path to get, default /)
#   badtail     the whole handshake, then a keep-alive "GET /" and, in the
#               same TCP segment, a record that fails to decrypt; prints
#               "badtail responses N alert A eof S": responses decrypted,
#               the alert, and the seconds until the server closed
#               (third argument: the bad record, "mac" (default), "type"
#               for an unknown content type, "overflow" for a header over
#               2^14 + 256)
#   h2          the whole handshake with ALPN h2, then one record with the
#               connection preface, SETTINGS and a GET of PATH (third
#               argument); prints "h2 records N headers R1 data R2..R3
#               body B": how many records came until the response ended,
#               and in which of them (counted from 1) the response's
#               HEADERS and its first and last DATA frame began
#   burst       the whole handshake, then an HTTP/1.1 GET of PATH cut into
#               40 small records sent with one write; prints "burst sent
#               K response B close_notify C"
#
# Prints "closed" or "alert N" (the alert the server sent), then exits 0.
# Needs python3-cryptography; x25519, TLS_AES_128_GCM_SHA256 only.

import hashlib
import hmac
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def expand_label(secret, label, context, length):
    full = b"tls13 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + \
        bytes([len(context)]) + context
    return hkdf_expand(secret, info, length)


def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body


def client_hello(pub, sni, alpn=None):
    exts = b""
    if alpn:
        lst = bytes([len(alpn)]) + alpn
        exts += ext(16, struct.pack(">H", len(lst)) + lst)
    if sni:
        name = sni.encode()
        entry = b"\x00" + struct.pack(">H", len(name)) + name
        exts += ext(0, struct.pack(">H", len(entry)) + entry)
    exts += ext(43, b"\x02\x03\x04")
    exts += ext(10, b"\x00\x02\x00\x1d")
    exts += ext(13, b"\x00\x06\x04\x03\x08\x04\x08\x07")
    ks = b"\x00\x1d" + struct.pack(">H", len(pub)) + pub
    exts += ext(51, struct.pack(">H", len(ks)) + ks)
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32)
    body += b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack(">H", len(exts)) + exts
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def record(ctype, payload, version=b"\x03\x03"):
    return bytes([ctype]) + version + struct.pack(">H", len(payload)) + payload


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


def read_record(s):
    h = read_exact(s, 5)
    if h is None:
        return None, None
    body = read_exact(s, struct.unpack(">H", h[3:5])[0])
    return h[0], body


def outcome(s):
    # what the server does next: an alert (plaintext or not), or a close
    try:
        while True:
            t, body = read_record(s)
            if t is None:
                return "closed"
            if t == 21 and len(body) == 2:
                return "alert %d" % body[1]
            if t == 23 and STATE.get("s_key"):
                try:
                    pt = decrypt(STATE, body, t)
                except Exception:
                    continue
                inner = pt.rstrip(b"\x00")
                if inner and inner[-1] == 21:
                    return "alert %d" % inner[1]
    except (ConnectionResetError, socket.timeout):
        return "closed"


STATE = {}


def decrypt(st, body, t):
    seq = st["s_seq"]
    st["s_seq"] += 1
    nonce = bytes(a ^ b for a, b in
                  zip(st["s_iv"], b"\x00" * 4 + struct.pack(">Q", seq)))
    aad = bytes([t]) + b"\x03\x03" + struct.pack(">H", len(body))
    return AESGCM(st["s_key"]).decrypt(nonce, body, aad)


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    sni = sys.argv[3] if len(sys.argv) > 3 else "localhost"
    s = socket.create_connection(("127.0.0.1", port), timeout=10)

    if mode == "stall":
        print(outcome(s))
        return
    if mode == "alert":
        s.sendall(record(21, b"\x02\x28", b"\x03\x01"))
        print(outcome(s))
        return
    if mode == "unexpected":
        s.sendall(record(22, b"\x14\x00\x00\x20" + b"\x00" * 32, b"\x03\x01"))
        print(outcome(s))
        return
    if mode == "malformed":
        body = b"\x01\x00\x00\x0a" + b"\x03\x03" + b"\x00" * 8
        s.sendall(record(22, body, b"\x03\x01"))
        print(outcome(s))
        return

    priv = X25519PrivateKey.generate()
    pub = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    if mode in ("h2", "burst"):
        path, sni = sni, "localhost"
    ch = client_hello(pub, sni, b"h2" if mode == "h2" else None)

    if mode == "bighello":
        # a legal ClientHello of SIZE bytes (the third argument): GREASE
        # cipher suites (ignored, RFC 8701) and a padding extension fill
        # it; sent in 2^14-byte records; prints "serverhello N" or
        # "alert N"
        size = int(sni)
        ks = b"\x00\x1d" + struct.pack(">H", len(pub)) + pub
        exts = ext(43, b"\x02\x03\x04") + ext(10, b"\x00\x02\x00\x1d") + \
            ext(13, b"\x00\x06\x04\x03\x08\x04\x08\x07") + \
            ext(51, struct.pack(">H", len(ks)) + ks)
        fixed = 2 + 32 + 33 + 2 + 2 + 2 + len(exts) + 4
        suites = b"\x13\x01" + b"\x0a\x0a" * min(32000,
                                                 max(0, size - fixed) // 4)
        pad = size - fixed - len(suites)
        exts = ext(21, b"\x00" * pad) + exts
        body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + \
            struct.pack(">H", len(suites)) + suites + b"\x01\x00" + \
            struct.pack(">H", len(exts)) + exts
        ch = b"\x01" + struct.pack(">I", len(body))[1:] + body
        out = b""
        for i in range(0, len(ch), 16384):
            out += record(22, ch[i:i + 16384], b"\x03\x01")
        s.sendall(out)
        t, b = read_record(s)
        if t == 22:
            print("serverhello %d" % len(body))
        elif t == 21:
            print("alert %d" % b[1])
        else:
            print("closed")
        return

    if mode == "truncated":
        s.sendall(record(22, ch, b"\x03\x01")[:40])
        s.shutdown(socket.SHUT_WR)
        print(outcome(s))
        return

    s.sendall(record(22, ch, b"\x03\x01"))

    t, sh = read_record(s)
    if t != 22:
        print("alert %d" % sh[1] if t == 21 else "closed")
        return
    # ServerHello: find key_share
    p = 4 + 2 + 32
    p += 1 + sh[p]
    p += 2 + 1
    end = p + 2 + struct.unpack(">H", sh[p:p + 2])[0]
    p += 2
    server_pub = None
    while p < end:
        et, el = struct.unpack(">HH", sh[p:p + 4])
        if et == 51:
            server_pub = sh[p + 4 + 4:p + 4 + el]
        p += 4 + el
    shared = priv.exchange(X25519PublicKey.from_public_bytes(server_pub))

    zero = b"\x00" * 32
    early = hkdf_extract(zero, zero)
    derived = expand_label(early, b"derived", hashlib.sha256(b"").digest(), 32)
    hs = hkdf_extract(derived, shared)
    th = hashlib.sha256(ch + sh).digest()
    c_hs = expand_label(hs, b"c hs traffic", th, 32)
    s_hs = expand_label(hs, b"s hs traffic", th, 32)
    STATE.update(s_key=expand_label(s_hs, b"key", b"", 16),
                 s_iv=expand_label(s_hs, b"iv", b"", 12), s_seq=0)
    c_key = expand_label(c_hs, b"key", b"", 16)
    c_iv = expand_label(c_hs, b"iv", b"", 12)

    # the server's flight up to its Finished (message type 20)
    transcript = ch + sh
    msgs = b""
    done = False
    while not done:
        t, body = read_record(s)
        if t is None:
            print("closed")
            return
        if t == 20:
            continue
        if t == 21:
            print("alert %d" % body[1])
            return
        pt = decrypt(STATE, body, t).rstrip(b"\x00")
        msgs += pt[:-1]
        q = 0
        while q + 4 <= len(msgs):
            ln = struct.unpack(">I", b"\x00" + msgs[q + 1:q + 4])[0]
            if q + 4 + ln > len(msgs):
                break
            if msgs[q] == 20:
                done = True
            q += 4 + ln
    transcript += msgs

    fin_key = expand_label(c_hs, b"finished", b"", 32)
    verify = hmac.new(fin_key, hashlib.sha256(transcript).digest(),
                      hashlib.sha256).digest()
    if mode == "finished":
        verify = bytes([verify[0] ^ 1]) + verify[1:]
    inner = b"\x14\x00\x00\x20" + verify + b"\x16"
    aad = b"\x17\x03\x03" + struct.pack(">H", len(inner) + 16)
    ct = AESGCM(c_key).encrypt(c_iv, inner, aad)
    if mode == "mac":
        ct = bytes([ct[0] ^ 0x80]) + ct[1:]
    s.sendall(record(23, ct))

    if mode == "ok":
        print("finished-sent")
        s.close()
        return

    if mode in ("records", "badtail"):
        # application traffic keys (RFC 8446 7.1) over the transcript
        # through the server Finished
        master = hkdf_extract(
            expand_label(hs, b"derived", hashlib.sha256(b"").digest(), 32),
            zero)
        th = hashlib.sha256(transcript).digest()
        c_ap = expand_label(master, b"c ap traffic", th, 32)
        s_ap = expand_label(master, b"s ap traffic", th, 32)
        STATE.update(s_key=expand_label(s_ap, b"key", b"", 16),
                     s_iv=expand_label(s_ap, b"iv", b"", 12), s_seq=0)
        path = sni if len(sys.argv) > 3 else "/"
        conn = "Connection: close\r\n" if mode == "records" else ""
        req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n"
               % (path, conn)).encode() + b"\x17"
        aad = b"\x17\x03\x03" + struct.pack(">H", len(req) + 16)
        ct = AESGCM(expand_label(c_ap, b"key", b"", 16)).encrypt(
            expand_label(c_ap, b"iv", b"", 12), req, aad)
        if mode == "badtail":
            import time
            t0 = time.monotonic()
            s.settimeout(30)
            tails = {"mac": record(23, b"\x00" * 40),
                     "type": b"\x63\x03\x03\x00\x02\x00\x00",
                     "overflow": b"\x17\x03\x03\x48\x00"}
            s.sendall(record(23, ct) + tails[path if path in tails
                                             else "mac"])
            n, alert = 0, "none"
            while True:
                try:
                    t, body = read_record(s)
                except OSError:  # timeout, or a reset after the alert
                    break
                if t is None:
                    break
                try:
                    inner = decrypt(STATE, body, t).rstrip(b"\x00")
                except Exception:
                    break
                if inner[-1] == 23 and inner.startswith(b"HTTP/"):
                    n += 1
                elif inner[-1] == 21:
                    alert = str(inner[1])
            print("badtail responses %d alert %s eof %.1f"
                  % (n, alert, time.monotonic() - t0))
            return
        s.sendall(record(23, ct))
        n = nbytes = 0
        notify = "no"
        while True:
            t, body = read_record(s)
            if t is None:
                break
            inner = decrypt(STATE, body, t).rstrip(b"\x00")
            if inner[-1] == 23:
                n += 1
                nbytes += len(inner) - 1
            elif inner[-1] == 21:
                notify = "yes" if inner[1] == 0 else "alert %d" % inner[1]
                break
        print("records %d bytes %d close_notify %s" % (n, nbytes, notify))
        return

    if mode in ("h2", "burst"):
        app_traffic(s, mode, path, hs, zero, transcript)
        return

    print(outcome(s))


def app_traffic(s, mode, path, hs, zero, transcript):
    master = hkdf_extract(
        expand_label(hs, b"derived", hashlib.sha256(b"").digest(), 32), zero)
    th = hashlib.sha256(transcript).digest()
    c_ap = expand_label(master, b"c ap traffic", th, 32)
    s_ap = expand_label(master, b"s ap traffic", th, 32)
    STATE.update(s_key=expand_label(s_ap, b"key", b"", 16),
                 s_iv=expand_label(s_ap, b"iv", b"", 12), s_seq=0)
    key = AESGCM(expand_label(c_ap, b"key", b"", 16))
    iv = expand_label(c_ap, b"iv", b"", 12)
    seq = [0]

    def seal(data):
        inner = data + b"\x17"
        aad = b"\x17\x03\x03" + struct.pack(">H", len(inner) + 16)
        nonce = bytes(a ^ b for a, b in
                      zip(iv, b"\x00" * 4 + struct.pack(">Q", seq[0])))
        seq[0] += 1
        return record(23, key.encrypt(nonce, inner, aad))

    if mode == "burst":
        req = ("GET %s HTTP/1.1\r\nHost: localhost\r\nX-Pad: %s\r\n"
               "Connection: close\r\n\r\n" % (path, "a" * 100)).encode()
        step = (len(req) + 39) // 40
        recs = [req[i:i + step] for i in range(0, len(req), step)]
        s.sendall(b"".join(seal(r) for r in recs))
        nbytes = 0
        notify = "no"
        while True:
            t, body = read_record(s)
            if t is None:
                break
            inner = decrypt(STATE, body, t).rstrip(b"\x00")
            if inner[-1] == 23:
                nbytes += len(inner) - 1
            elif inner[-1] == 21:
                notify = "yes" if inner[1] == 0 else "alert %d" % inner[1]
                break
        print("burst sent %d response %d close_notify %s" %
              (len(recs), nbytes, notify))
        return

    # HTTP/2: preface, empty SETTINGS, HEADERS (END_STREAM | END_HEADERS)
    # for GET https://localhost PATH on stream 1, HPACK literals without
    # Huffman; once it is answered, the same on stream 3, which is the one
    # reported (the first answer also carries the SETTINGS ACK, a control
    # frame nginx flushes by itself)
    block = (b"\x82\x87" + b"\x04" + bytes([len(path)]) + path.encode() +
             b"\x01\x09localhost")

    def headers(sid):
        return (struct.pack(">I", len(block))[1:] + b"\x01\x05" +
                struct.pack(">I", sid) + block)

    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    out += b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    s.sendall(seal(out + headers(1)))
    buf = [b""]
    h2_response(s, 1, buf)
    t3 = time.time()
    s.sendall(seal(headers(3)))
    res = h2_response(s, 3, buf)
    tclose = time.time()
    print("h2 records %d headers %d data %d..%d body %d t3 %.6f tclose %.6f" %
          (res + (t3, tclose)))


def h2_response(s, want, buf):
    """Read records until stream `want` ends; in which of them (counted
    from 1) did its HEADERS, first and last DATA frame begin."""
    carried = 0     # the record in which buf's partial frame began
    nrec = headers = data_first = data_last = body = 0
    done = False
    while not done:
        t, rb = read_record(s)
        if t is None:
            break
        inner = decrypt(STATE, rb, t).rstrip(b"\x00")
        if inner[-1] != 23:
            continue
        nrec += 1
        at = len(buf[0])
        buf[0] += inner[:-1]
        b = buf[0]
        q = 0
        while q + 9 <= len(b):
            ln = struct.unpack(">I", b"\x00" + b[q:q + 3])[0]
            if q + 9 + ln > len(b):
                break
            ftype, flags = b[q + 3], b[q + 4]
            sid = struct.unpack(">I", b[q + 5:q + 9])[0] & 0x7fffffff
            began = nrec if q >= at else carried
            if sid == want and ftype == 1:
                headers = began
            if sid == want and ftype == 0:
                data_first = data_first or began
                data_last = began
                body += ln
                if flags & 1:
                    done = True
            q += 9 + ln
        carried = nrec if q >= at else carried
        buf[0] = b[q:]
    return (nrec, headers, data_first, data_last, body)


if __name__ == "__main__":
    main()
