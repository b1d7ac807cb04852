#!/usr/bin/env python3
# A bounded client loop for reload tests: THREADS threads make COUNT
# connections in all, each a TLS 1.3 handshake (Python's ssl, no
# verification) then "GET / HTTP/1.1" with Connection: close; a request
# counts as ok when a 200 response arrives whole.
#
#   zt_loop.py PORT COUNT THREADS [DELAY]
# DELAY: seconds between connect() and the ClientHello (a connection that
# is accepted but has not started its handshake).
# Prints "ok N failed M" and, per failure, "fail <reason>".
import socket
import ssl
import sys
import threading
import time

port, count, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
lock = threading.Lock()
res = {"ok": 0, "failed": 0, "left": count, "why": []}


def one():
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        if delay:
            time.sleep(delay)
        t = ctx.wrap_socket(s, server_hostname="localhost")
        t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            try:
                chunk = t.recv(4096)
            except ssl.SSLEOFError:
                break
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1.1 200") or not data.endswith(b"ok\n"):
            return "response %r" % data[:40]
        return None
    finally:
        s.close()


def worker():
    while True:
        with lock:
            if res["left"] == 0:
                return
            res["left"] -= 1
        try:
            why = one()
        except Exception as e:  # a reset, a closed handshake, a timeout
            why = "%s: %s" % (type(e).__name__, e)
        with lock:
            if why is None:
                res["ok"] += 1
            else:
                res["failed"] += 1
                res["why"].append(why)


ts = [threading.Thread(target=worker) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("ok %d failed %d" % (res["ok"], res["failed"]))
for w in res["why"][:10]:
    print("fail", w)
