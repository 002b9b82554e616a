#!/usr/bin/python3
"""Header-block attacks against `nethttp httpbin --h2c`: the CONTINUATION
flood (CVE-2024-27316 and kin: a header block that never ends) and HPACK
bombs (a literal far over the header budget, or one dynamic-table entry
referenced thousands of times). The server must refuse them (431 on the
stream, or the connection closed) with bounded memory, and still answer a
normal request on a new connection afterwards.
Usage: test_header_attacks.py NETHTTP CASE"""

import socket

import h2raw as H

FRAME = 16384  # SETTINGS_MAX_FRAME_SIZE's initial value
# Far past any header budget (64 KiB by default, --max-header-bytes): a
# server that buffers the block grows by this much.
FLOOD_BYTES = 64 << 20
RSS_LIMIT_MB = 32


def split_block(stream, block, end_stream=True):
    """A header block as HEADERS then CONTINUATION frames of FRAME bytes."""
    parts = [block[i:i + FRAME] for i in range(0, len(block), FRAME)] or [b""]
    out = [H.headers(stream, parts[0], end_stream=end_stream, end_headers=len(parts) == 1)]
    for i, p in enumerate(parts[1:], 1):
        out.append(H.continuation(stream, p, end_headers=i == len(parts) - 1))
    return b"".join(out)


def continuation_flood(binary):
    """HEADERS without END_HEADERS, then CONTINUATION frames full of valid
    header fields, without end: the server must close the connection with
    a GOAWAY once the block passes its budget, not buffer it."""
    srv = H.Server(binary)
    H.serves(srv, when="before")
    before = srv.rss_kb()
    c = H.Conn(srv.port)
    c.sock.settimeout(20)
    c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    unit = H.hpack_literal(b"x-flood", b"a" * 119)
    payload = unit * (FRAME // len(unit))
    c.send(H.headers(1, H.request_block("/get"), end_stream=True, end_headers=False))
    batch = H.continuation(1, payload) * 16
    try:
        while c.sent < FLOOD_BYTES and not c.goaways() and c.send(batch):
            pass
    except socket.timeout:
        raise H.Failure("send blocked 20 s after %d bytes: the server stopped reading the endless "
                        "header block without closing the connection" % c.sent)
    c.wait_closed(20)
    H.log("CONTINUATION flood: %d bytes sent; %s" % (c.sent, c.summary(3)))
    H.check(c.closed, "the connection is still open after %d MiB of one header block: %s"
            % (c.sent >> 20, c.summary()))
    H.check(c.goaways(), "the connection was closed without a GOAWAY (%s)" % c.close_reason)
    H.check(c.status_of(1) is None, "the endless header block got a response: %s" % c.status_of(1))
    H.rss_bounded(srv, before, RSS_LIMIT_MB, "CONTINUATION flood")
    H.serves(srv)


def refused(c, what):
    """After a header block over budget: 431 on stream 1, or the
    connection closed; never a 2xx."""
    c.wait_for(lambda f: (f[0] == H.HEADERS and f[2] == 1) or f[0] == H.GOAWAY, 20)
    status = c.status_of(1)
    if status is None:
        c.wait_closed(10)
    H.log("%s: status %s; %s" % (what, status, c.summary(4)))
    if status is not None:
        H.check(status == 431, "%s: status %d, want 431 (or the connection closed)" % (what, status))
    else:
        H.check(c.closed, "%s: neither a 431 nor the connection closed: %s" % (what, c.summary()))


def hpack_bomb_literal(binary):
    """One literal header field of 1 MiB, 16 times the header budget."""
    srv = H.Server(binary)
    H.serves(srv, when="before")
    before = srv.rss_kb()
    c = H.Conn(srv.port)
    c.sock.settimeout(20)
    c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    block = H.request_block("/get") + H.hpack_literal(b"x-huge", b"b" * (1 << 20))
    try:
        c.send(split_block(1, block))
    except socket.timeout:
        raise H.Failure("send blocked 20 s: the server stopped reading the 1 MiB header block "
                        "without answering or closing")
    refused(c, "1 MiB literal header")
    H.rss_bounded(srv, before, RSS_LIMIT_MB, "1 MiB literal header")
    H.serves(srv)


def hpack_bomb_table(binary):
    """One 4,000-byte entry put in the dynamic table (which 4,096 bytes
    allow), then referenced 16,000 times by its one-byte index: 16 KiB on
    the wire that decode to 64 MB of header fields."""
    srv = H.Server(binary)
    H.serves(srv, when="before")
    before = srv.rss_kb()
    c = H.Conn(srv.port)
    c.sock.settimeout(20)
    c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    block = (H.request_block("/get") + H.hpack_literal(b"x-bomb", b"c" * 4000, indexing=True)
             + H.hpack_indexed(62) * 16000)
    try:
        c.send(split_block(1, block))
    except socket.timeout:
        raise H.Failure("send blocked 20 s on a 20 KiB header block")
    refused(c, "dynamic-table entry referenced 16,000 times")
    H.rss_bounded(srv, before, RSS_LIMIT_MB, "HPACK table bomb")
    H.serves(srv)


if __name__ == "__main__":
    H.run({"continuation_flood": continuation_flood, "hpack_bomb_literal": hpack_bomb_literal,
           "hpack_bomb_table": hpack_bomb_table})
