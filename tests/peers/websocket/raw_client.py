#!/usr/bin/python3
"""Unmasked client frames, which no WebSocket library sends, from a raw
socket: raw_client.py PORT. Over one connection a masked text frame is
echoed (the handshake and framing are right), then an unmasked one must
be answered with close 1002 and the connection closed. Prints "ok STEP";
exits 1 at the first failure."""
import base64
import os
import socket
import struct
import sys


def fail(what):
    print("FAIL " + what, flush=True)
    sys.exit(1)


def frame(opcode, payload, mask):
    head = bytes([0x80 | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    head += bytes([m | n]) if n < 126 else bytes([m | 126]) + struct.pack("!H", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            fail("connection closed after %d of %d bytes" % (len(b), n))
        b += c
    return b


def read_frame(s):
    h = read_exact(s, 2)
    if h[1] & 0x80:
        fail("the server masked a frame")
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(s, 8))[0]
    return h[0] & 0x0F, read_exact(s, n)


def main():
    port = int(sys.argv[1])
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (port, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            fail("no handshake answer")
        head += c
    if not head.startswith(b"HTTP/1.1 101"):
        fail("handshake: %r" % head.split(b"\r\n")[0])
    print("ok handshake", flush=True)
    s.sendall(frame(1, b"masked hello", True))
    op, data = read_frame(s)
    if (op, data) != (1, b"masked hello"):
        fail("masked frame: got %r %r" % (op, data))
    print("ok masked frame echoed", flush=True)
    s.sendall(frame(1, b"unmasked hello", False))
    op, data = read_frame(s)
    if op != 8 or len(data) < 2:
        fail("unmasked frame: answered with opcode %d %r, not a close" % (op, data))
    code = struct.unpack("!H", data[:2])[0]
    if code != 1002:
        fail("unmasked frame: close %d %r, not 1002" % (code, data[2:]))
    print("ok unmasked frame: close 1002 %s" % data[2:].decode(errors="replace"), flush=True)
    try:
        s.sendall(frame(8, data[:2], True))  # the close handshake's answer
    except OSError:
        pass  # a failed connection may be closed at once (RFC 6455 7.1.7)
    while True:
        try:
            c = s.recv(4096)
        except ConnectionResetError:
            break
        except socket.timeout:
            fail("the server did not close the connection after close 1002")
        if not c:
            break
    print("ok connection closed", flush=True)


if __name__ == "__main__":
    main()
