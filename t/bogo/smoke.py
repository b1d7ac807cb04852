#!/usr/bin/env python3
# t/bogo/smoke.py: plays BoringSSL's runner for one connection, so that
# `make test` sees the shim work without the runner (which is not in the
# repository): listen on 127.0.0.1, start the shim with -port/-shim-id,
# check the 8-byte little-endian shim id, then, as a real TLS 1.3 client
# (Python's ssl), send data and expect it back XOR 0xff, or send garbage
# and expect the shim to fail with the error string on stderr.
#
#   smoke.py SHIM CERT KEY echo|resume|garbage
# resume: -resume-count 1, two connections, the second offering the
# first one's session (a ticket).
import socket
import ssl
import struct
import subprocess
import sys

shim, cert, key, mode = sys.argv[1:5]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.bind(("127.0.0.1", 0))
ls.listen(1)
ls.settimeout(10)
port = ls.getsockname()[1]
extra = ["-resume-count", "1"] if mode == "resume" else []
p = subprocess.Popen([shim, "-port", str(port), "-shim-id", "4242",
                      "-server", "-key-file", key, "-cert-file", cert] + extra,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def accept():
    conn, _ = ls.accept()
    conn.settimeout(10)
    ident = b""
    while len(ident) < 8:
        chunk = conn.recv(8 - len(ident))
        if not chunk:
            break
        ident += chunk
    assert ident == struct.pack("<Q", 4242), ident
    return conn


def echo(conn, session=None):
    t = ctx.wrap_socket(conn, session=session)
    msg = bytes(range(200)) * 3
    t.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = t.recv(len(msg) - len(got))
        if not chunk:
            break
        got += chunk
    assert got == bytes(b ^ 0xff for b in msg), "bad echo"
    line = "echo ok " + t.version()
    if mode == "resume":
        line += " reused %s" % t.session_reused
    print(line)
    sess = t.session
    t.unwrap()
    t.close()
    return sess


if mode == "garbage":
    conn = accept()
    conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
    conn.close()
else:
    sess = echo(accept())
    if mode == "resume":
        echo(accept(), sess)
out, err = p.communicate(timeout=10)
print("shim exit", p.returncode)
sys.stdout.write("shim stderr: " + err.decode())
