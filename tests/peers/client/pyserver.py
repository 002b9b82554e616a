#!/usr/bin/env python3
"""python3's http.server (standard library only) for the nethttp client:
keep-alive over HTTP/1.1, an echo, chunked bodies written raw (with a
trailer), redirects, gzip, a body that trickles, bodies that run until the
server closes (HTTP/1.0), and a connection the server closes when idle.
Listens on 127.0.0.1:0, prints "port N", serves until killed."""
import gzip
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT = b"compressible text " * 1000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_body(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def echo(self):
        body = self.body
        doc = {"method": self.command, "path": self.path,
               "header": {k: self.headers.get_all(k) for k in self.headers.keys()},
               "body": body.decode("latin-1")}
        self.send_body(200, json.dumps(doc, separators=(",", ":")).encode(), "application/json")

    def route(self):
        # Every request's body is read, so the next request starts clean.
        n = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(n) if n else b""
        p = self.path
        if p == "/hello":
            self.send_body(200, b"hello")
        elif p.startswith("/echo"):
            self.echo()
        elif p == "/chunked":
            # Raw framing: sizes in hex, a chunk extension, then a trailer.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for piece in (b"first,", b"second,", b"x" * 5000, b"last"):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\nX-Checksum: 5017\r\n\r\n")
        elif p == "/split-trailer":
            # The trailer's value arrives in two reads, 100 ms apart.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\nX-Checksum: 50")
            self.wfile.flush()
            time.sleep(0.1)
            self.wfile.write(b"17\r\nX-Tail: end\r\n\r\n")
        elif p.startswith("/redirect/"):
            code = int(p[len("/redirect/"):])
            self.send_response(code)
            self.send_header("Location", "/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif p == "/gzip":
            if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                self.send_body(200, gzip.compress(TEXT), extra=[("Content-Encoding", "gzip")])
            else:
                self.send_body(200, TEXT)
        elif p == "/slow":
            # Three pieces 200 ms apart, Content-Length known up front.
            self.send_response(200)
            self.send_header("Content-Length", "15")
            self.end_headers()
            for piece in (b"slow-", b"slow-", b"done!"):
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(0.2)
        elif p == "/http10":
            # An HTTP/1.0 answer without a length: the body ends at close.
            self.protocol_version = "HTTP/1.0"
            self.close_connection = True
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"until-close " * 100)
        elif p == "/close":
            self.send_body(200, b"bye", extra=[("Connection", "close")])
            self.close_connection = True
        elif p == "/idle-close":
            # This connection is closed by the server 200 ms after it goes idle.
            self.request.settimeout(0.2)
            self.send_body(200, b"short-lived")
        elif p.startswith("/status/"):
            code = int(p[len("/status/"):])
            self.send_response(code)
            self.send_header("X-Status", str(code))
            if code not in (204, 304):
                self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_body(404, b"not found")

    do_GET = do_HEAD = do_POST = do_PUT = route


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
