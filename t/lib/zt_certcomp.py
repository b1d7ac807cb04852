#!/usr/bin/env python3
# A TLS 1.3 client that asks for certificate compression (RFC 8879), for
# t/nginx-certcomp.t: it offers the given algorithms in compress_certificate,
# decompresses a CompressedCertificate itself (zlib from Python, brotli
# through Debian's libbrotlidec), checks uncompressed_length, verifies the
# server's CertificateVerify with the leaf it got and the server Finished
# over the transcript as sent, finishes the handshake and sends a request.
#
#   zt_certcomp.py PORT ALGS [PATH]
#
# ALGS: "none" (no extension) or a comma list of algorithm numbers
# (1 zlib, 2 brotli, 3 zstd). Prints one line:
#   cert ALG raw N comp M flight B certs K verify ok finished ok status S
#   leaf HASH
# (ALG 0: a plain Certificate; raw/comp: the Certificate body and the
# compressed bytes; flight: every byte of the server's first flight,
# ServerHello to Finished, record headers included; HASH: the first 16
# hex digits of the leaf certificate's SHA-256)
# or "error WHAT" and exits 1.

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import socket
import struct
import sys
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zt_rawclient import (expand_label, ext, hkdf_extract, read_record,
                          record)


def fail(what):
    print("error " + what)
    sys.exit(1)


def brotli_decompress(data, size):
    lib = ctypes.CDLL(ctypes.util.find_library("brotlidec") or
                      "libbrotlidec.so.1")
    out = ctypes.create_string_buffer(size + 1)
    n = ctypes.c_size_t(size + 1)
    if lib.BrotliDecoderDecompress(ctypes.c_size_t(len(data)), data,
                                   ctypes.byref(n), out) != 1:
        fail("brotli")
    return out.raw[:n.value]


def hello(pub, algs):
    name = b"localhost"
    entry = b"\x00" + struct.pack(">H", len(name)) + name
    exts = ext(0, struct.pack(">H", len(entry)) + entry)
    exts += ext(16, b"\x00\x09\x08http/1.1")
    exts += ext(43, b"\x02\x03\x04")
    exts += ext(10, b"\x00\x02\x00\x1d")
    exts += ext(13, b"\x00\x04\x04\x03\x08\x04")
    ks = b"\x00\x1d" + struct.pack(">H", len(pub)) + pub
    exts += ext(51, struct.pack(">H", len(ks)) + ks)
    if algs:
        lst = b"".join(struct.pack(">H", a) for a in algs)
        exts += ext(27, bytes([len(lst)]) + lst)
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32)
    body += b"\x00\x02\x13\x01\x01\x00" + struct.pack(">H", len(exts)) + exts
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


class Keys:
    def __init__(self, secret):
        self.key = expand_label(secret, b"key", b"", 16)
        self.iv = expand_label(secret, b"iv", b"", 12)
        self.seq = 0

    def nonce(self):
        n = bytes(a ^ b for a, b in
                  zip(self.iv, b"\x00" * 4 + struct.pack(">Q", self.seq)))
        self.seq += 1
        return n

    def open(self, body):
        aad = b"\x17\x03\x03" + struct.pack(">H", len(body))
        pt = AESGCM(self.key).decrypt(self.nonce(), body, aad).rstrip(b"\x00")
        return pt[:-1], pt[-1]

    def seal(self, data, ctype):
        inner = data + bytes([ctype])
        aad = b"\x17\x03\x03" + struct.pack(">H", len(inner) + 16)
        return record(23, AESGCM(self.key).encrypt(self.nonce(), inner, aad))


def certificates(body):
    p = 1 + body[0]
    end = p + 3 + struct.unpack(">I", b"\x00" + body[p:p + 3])[0]
    p += 3
    certs = []
    while p < end:
        n = struct.unpack(">I", b"\x00" + body[p:p + 3])[0]
        certs.append(body[p + 3:p + 3 + n])
        p += 3 + n
        p += 2 + struct.unpack(">H", body[p:p + 2])[0]
    return certs


def verify_cv(leaf, scheme, sig, th):
    content = b"\x20" * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    key = x509.load_der_x509_certificate(leaf).public_key()
    if scheme == 0x0403:
        key.verify(sig, content, ec.ECDSA(hashes.SHA256()))
    elif scheme == 0x0804:
        key.verify(sig, content,
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                               salt_length=32), hashes.SHA256())
    else:
        fail("scheme %04x" % scheme)


def main():
    port, algs = int(sys.argv[1]), sys.argv[2]
    path = sys.argv[3] if len(sys.argv) > 3 else "/"
    algs = [] if algs == "none" else [int(a) for a in algs.split(",")]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    priv = X25519PrivateKey.generate()
    pub = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    ch = hello(pub, algs)
    s.sendall(record(22, ch, b"\x03\x01"))

    t, sh = read_record(s)
    if t != 22:
        fail("no ServerHello (%s)" % (sh.hex() if sh else "closed"))
    flight = 5 + len(sh)
    p = 4 + 2 + 32
    p += 1 + sh[p] + 3
    end = p + 2 + struct.unpack(">H", sh[p:p + 2])[0]
    p += 2
    server_pub = None
    while p < end:
        et, el = struct.unpack(">HH", sh[p:p + 4])
        if et == 51:
            server_pub = sh[p + 8:p + 4 + el]
        p += 4 + el
    shared = priv.exchange(X25519PublicKey.from_public_bytes(server_pub))
    zero = b"\x00" * 32
    empty = hashlib.sha256(b"").digest()
    hs = hkdf_extract(expand_label(hkdf_extract(zero, zero), b"derived",
                                   empty, 32), shared)
    th = hashlib.sha256(ch + sh).digest()
    c_hs = expand_label(hs, b"c hs traffic", th, 32)
    s_hs = expand_label(hs, b"s hs traffic", th, 32)
    rd = Keys(s_hs)

    transcript = ch + sh
    buf = b""
    alg = raw = comp = 0
    leaf = None
    ncerts = 0
    verified = finished = False
    while not finished:
        t, body = read_record(s)
        if t is None:
            fail("closed in the server flight")
        flight += 5 + len(body)
        if t == 20:
            continue
        if t == 21:
            fail("alert %d" % body[1])
        pt, inner = rd.open(body)
        if inner == 21:
            fail("alert %d" % pt[1])
        buf += pt
        while len(buf) >= 4:
            n = struct.unpack(">I", b"\x00" + buf[1:4])[0]
            if len(buf) < 4 + n:
                break
            msg, buf = buf[:4 + n], buf[4 + n:]
            typ, m = msg[0], msg[4:]
            if typ == 11:
                certs = certificates(m)
                raw = len(m)
            elif typ == 25:
                # RFC 8879 section 4
                alg = struct.unpack(">H", m[0:2])[0]
                raw = struct.unpack(">I", b"\x00" + m[2:5])[0]
                comp = struct.unpack(">I", b"\x00" + m[5:8])[0]
                data = m[8:8 + comp]
                if alg not in algs:
                    fail("algorithm %d was not offered" % alg)
                if alg == 1:
                    dec = zlib.decompress(data)
                elif alg == 2:
                    dec = brotli_decompress(data, raw)
                else:
                    fail("algorithm %d" % alg)
                if len(dec) != raw:
                    fail("uncompressed_length %d, got %d" % (raw, len(dec)))
                certs = certificates(dec)
            elif typ == 15:
                scheme = struct.unpack(">H", m[0:2])[0]
                sig = m[4:4 + struct.unpack(">H", m[2:4])[0]]
                verify_cv(certs[0], scheme, sig,
                          hashlib.sha256(transcript).digest())
                verified = True
            elif typ == 20:
                key = expand_label(s_hs, b"finished", b"", 32)
                want = hmac.new(key, hashlib.sha256(transcript).digest(),
                                hashlib.sha256).digest()
                if not hmac.compare_digest(want, m):
                    fail("server Finished")
                finished = True
            if typ in (11, 25):
                ncerts = len(certs)
                leaf = certs[0]
            transcript += msg

    wr = Keys(c_hs)
    key = expand_label(c_hs, b"finished", b"", 32)
    verify = hmac.new(key, hashlib.sha256(transcript).digest(),
                      hashlib.sha256).digest()
    fin = b"\x14\x00\x00\x20" + verify
    s.sendall(wr.seal(fin, 22))
    master = hkdf_extract(expand_label(hs, b"derived", empty, 32), zero)
    th = hashlib.sha256(transcript).digest()
    rd = Keys(expand_label(master, b"s ap traffic", th, 32))
    wr = Keys(expand_label(master, b"c ap traffic", th, 32))
    s.sendall(wr.seal(("GET %s HTTP/1.1\r\nHost: localhost\r\n"
                       "Connection: close\r\n\r\n" % path).encode(), 23))
    resp = b""
    while b"\r\n" not in resp:
        t, body = read_record(s)
        if t is None:
            break
        pt, inner = rd.open(body)
        if inner == 23:
            resp += pt
        elif inner == 21:
            break
    status = resp.split(b" ")[1].decode() if resp.count(b" ") else "none"
    print("cert %d raw %d comp %d flight %d certs %d verify %s finished ok "
          "status %s leaf %s" % (alg, raw, comp, flight, ncerts,
                                 "ok" if verified else "no", status,
                                 hashlib.sha256(leaf).hexdigest()[:16]))


main()
