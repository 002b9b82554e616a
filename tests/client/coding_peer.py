"""An HTTP/1.1 server on loopback that sends bodies in the content codings
gzip, br and zstd, compressed by Python's own libraries (gzip, python3-brotli,
python3-zstandard): the independent encoder for the client's decoding tests.

GET /<coding>[/<variant>] where coding is gzip, br, zstd, identity or
compress (a coding the client does not decode) and variant is:
  (none)     the body below, with Content-Length
  chunked    the same, chunked in pieces of 1000 bytes
  corrupt    the stream with bytes in its middle overwritten (checked here
             to fail Python's own decoder)
  truncated  the first half of the stream
  trailing   the stream followed by bytes that are no stream
  twice      two streams one after the other (two gzip members, two zstd
             frames), the body twice
  bomb       64 MiB of zeros
Every response says what Accept-Encoding the request had in
X-Accept-Encoding ("-" for none). The port is its first line of output.
"""
import gzip
import http.server
import sys

import brotli
import zstandard


def body():
    return b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i
                    for i in range(4000))


def encode(coding, data, fast=False):
    if coding == "gzip":
        return gzip.compress(data, compresslevel=1 if fast else 6)
    if coding == "br":
        return brotli.compress(data, quality=1 if fast else 5)
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=1 if fast else 3).compress(data)
    if coding == "compress":
        return b"not really LZW: the client leaves this alone"
    return data


def decode(coding, data):
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    return zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 24)


def corrupt(coding, enc):
    """Overwrites bytes in the middle until Python's decoder refuses it."""
    for at in range(len(enc) // 2, len(enc) - 16, 7):
        bad = enc[:at] + b"\xff" * 16 + enc[at + 16:]
        try:
            decode(coding, bad)
        except Exception:
            return bad
    raise SystemExit("no corruption found for " + coding)


CACHE = {}


def payload(coding, variant):
    key = (coding, variant)
    if key in CACHE:
        return CACHE[key]
    if variant == "bomb":
        enc = encode(coding, bytes(64 << 20), fast=True)
    elif variant == "twice":
        enc = encode(coding, body()) + encode(coding, body())
    else:
        enc = encode(coding, body())
        if variant == "corrupt":
            enc = corrupt(coding, enc)
        elif variant == "truncated":
            enc = enc[:len(enc) // 2]
        elif variant == "trailing":
            enc = enc + b"\x00garbage after the end"
    CACHE[key] = enc
    return enc


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        coding = parts[0]
        variant = parts[1] if len(parts) > 1 else ""
        enc = payload(coding, variant)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if coding != "identity":
            self.send_header("Content-Encoding", coding)
        self.send_header("X-Accept-Encoding", self.headers.get("Accept-Encoding", "-"))
        if variant == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(enc), 1000):
                piece = enc[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(enc)))
            self.end_headers()
            self.wfile.write(enc)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
