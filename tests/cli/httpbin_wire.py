#!/usr/bin/python3
"""Byte-level checks against nethttp httpbin, over raw sockets.

1. HEAD never carries body bytes: HEAD of a streamed, dripped, chunked or
   bodyless endpoint is followed on the same connection, pipelined, by a
   GET whose status line must come right after the HEAD's head; the
   connection stays open (HTTP/1.1, and HTTP/1.0 with keep-alive).
2. The connection limit (--max-conns LIMIT, several loops): LIMIT+EXTRA
   clients each make a request and stay idle; a new client is answered
   every time, and exactly the surplus of old connections was closed.

Usage: httpbin_wire.py PORT LIMIT"""
import select
import socket
import sys
import time

port, limit = int(sys.argv[1]), int(sys.argv[2])
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        fields = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        return lines[0], fields

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """A whole response to a GET (Content-Length or chunked)."""
        status, fields = self.head()
        if fields.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self.fill()
                size, self.buf = self.buf.split(b"\r\n", 1)
                n = int(size.split(b";")[0], 16)
                if n == 0:
                    self.exactly(2)
                    return status, fields, body
                body += self.exactly(n)
                self.exactly(2)
        return status, fields, self.exactly(int(fields.get("content-length", "0")))

    def starts_with_status(self):
        while len(self.buf) < 9:
            self.fill()
        return self.buf.startswith(b"HTTP/1.1 ")


def head_then_get(path, version="HTTP/1.1", extra=""):
    what = "HEAD %s %s" % (path, version)
    s = connect()
    r = Reader(s)
    host = "Host: 127.0.0.1\r\n"
    s.sendall(("HEAD %s %s\r\n%s%s\r\nGET /get?after=1 %s\r\n%s%s\r\n"
               % (path, version, host, extra, version, host, extra)).encode())
    try:
        status, fields = r.head()
        check("transfer-encoding" not in fields, "%s: Transfer-Encoding on a HEAD answer" % what)
        check(fields.get("connection", "").lower() != "close", "%s: connection closed" % what)
        check(r.starts_with_status(), "%s: bytes after the head: %r" % (what, r.buf[:20]))
        status, fields, body = r.response()
        check(status.startswith("HTTP/1.1 200") and b'"after"' in body,
              "%s: the pipelined GET got %s %r" % (what, status, body[:60]))
        s.sendall(("GET /get %s\r\n%s%s\r\n" % (version, host, extra)).encode())
        status, _, _ = r.response()
        check(status.startswith("HTTP/1.1 200"), "%s: connection not kept: %s" % (what, status))
    except (EOFError, OSError) as e:
        check(False, "%s: %s" % (what, e))
    s.close()


for path in ("/stream-bytes/50000", "/stream-bytes/50000?chunk_size=1000", "/stream/3",
             "/drip?duration=0&delay=0&numbytes=5", "/bytes/100", "/get", "/status/204",
             "/status/304", "/status/418"):
    head_then_get(path)
head_then_get("/stream-bytes/50000", "HTTP/1.0", "Connection: keep-alive\r\n")


def closed(sock, wait):
    """True if the server closed sock (EOF or reset) within wait seconds."""
    ready, _, _ = select.select([sock], [], [], wait)
    if not ready:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def get_answered(what):
    s = connect()
    s.sendall(b"GET /get HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status, _, _ = Reader(s).response()
    check(status.startswith("HTTP/1.1 200"), "%s: %s" % (what, status))
    return s


EXTRA = 4
for run in range(5):
    old = []
    try:
        for i in range(limit + EXTRA):
            old.append(get_answered("run %d: old client %d" % (run, i)))
        fresh = get_answered("run %d: the new client at the limit" % run)
    except (EOFError, OSError) as e:
        check(False, "run %d: a client got no answer: %s" % (run, e))
        break
    # Each arrival past the limit closed one idle connection; wait for
    # those closes to be seen, then count.
    deadline = time.monotonic() + 5
    while sum(closed(s, 0) for s in old) < EXTRA + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    n = sum(closed(s, 0) for s in old)
    check(n == EXTRA + 1, "run %d: %d old connections closed, want %d" % (run, n, EXTRA + 1))
    for s in old + [fresh]:
        s.close()
    time.sleep(0.2)  # the server sees the closes before the next run

sys.exit(1 if failures else 0)
