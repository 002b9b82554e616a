#!/usr/bin/python3
"""Control-frame and empty-frame floods against `nethttp httpbin --h2c`
(CVE-2019-9512 ping flood, CVE-2019-9515 settings flood, CVE-2019-9518
empty frames flood): each must end with the connection closed by the
server, within a bounded count of frames and bounded memory, and the same
server must answer a normal request on a new connection afterwards.
Usage: test_floods.py NETHTTP CASE"""

import socket
import time

import h2raw as H

FLOOD_FRAMES = 100_000
# The unread floods: more answers than the kernel buffers of both ends hold
# (4 MiB with tcp_wmem's default maximum), so the server has to queue.
UNREAD_FRAMES = 1_000_000
BATCH = 1000


def flood_unread(binary, one_frame, what):
    """Sends UNREAD_FRAMES copies of one_frame, each asking for an answer,
    on a connection that never reads (a small receive buffer): the server
    cannot write its answers, and must stop queueing them and close the
    connection rather than keep reading. Returns (sent, answers read)."""
    srv = H.Server(binary)
    H.serves(srv, when="before")
    before = srv.rss_kb()
    c = H.Conn(srv.port, rcvbuf=4096)
    c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    c.sock.settimeout(20)
    batch = one_frame * BATCH
    sent = 0
    stalled = False
    while sent < UNREAD_FRAMES:
        try:
            c.sock.sendall(batch)
        except socket.timeout:
            stalled = True
            break
        except OSError as e:
            c.close_reason = "send: %s" % e
            break
        sent += BATCH
    H.log("%s: %d frames sent without reading (%s)" % (what, sent,
                                                       "send blocked 20 s" if stalled else
                                                       c.close_reason or "all sent"))
    # Now read what the server had written: its answers, and its end.
    c.sock.settimeout(10)
    closed = c.wait_closed(20)
    answers = sum(1 for f in c.frames if f[0] in (H.PING, H.SETTINGS) and f[1] & H.ACK)
    H.log("%s: %d acks read, %s" % (what, answers, c.summary(3)))
    H.check(closed, "%s: the connection is still open after %d frames that were never read "
            "(%s): the server keeps queueing answers or waits for the reader instead of closing"
            % (what, sent, "the server stopped reading" if stalled else "it read them all"))
    H.check(answers < sent, "%s: every one of %d frames was answered" % (what, sent))
    H.rss_bounded(srv, before, 64, what)
    H.serves(srv)


def ping_flood(binary):
    flood_unread(binary, H.ping(b"floodpng"), "PING flood")


def settings_flood(binary):
    flood_unread(binary, H.settings([(H.SETTINGS_ENABLE_PUSH, 0)]), "SETTINGS flood")


def settings_too_many(binary):
    """One SETTINGS frame of 1,000 entries (unknown identifiers, which
    alone must be ignored): a cost per entry the server refuses to pay, as
    Go's (more than 100) and nghttp2's (more than 32) do."""
    srv = H.Server(binary)
    H.serves(srv, when="before")
    c = H.Conn(srv.port)
    c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    c.send(H.settings([(0x100 + i, i) for i in range(1000)]))
    ga = c.wait_for(lambda f: f[0] == H.GOAWAY, 15)
    c.wait_closed(10)
    H.log("SETTINGS with 1000 entries: %s" % c.summary(3))
    H.check(ga is not None, "no GOAWAY after a SETTINGS frame of 1000 entries: %s" % c.summary())
    code = H.struct.unpack(">II", ga[3][:8])[1]
    H.check(code != H.NO_ERROR, "GOAWAY with NO_ERROR after 1000 settings entries")
    H.check(c.closed, "the connection stays open after its GOAWAY: %s" % c.summary())
    H.serves(srv)


def flood_read(binary, opening, one_frame, what):
    """After `opening` (frames that open a stream), FLOOD_FRAMES copies of
    one_frame, each of which costs the server work and carries nothing;
    the client reads as it goes. The server must close the connection."""
    srv = H.Server(binary)
    H.serves(srv, when="before")
    before = srv.rss_kb()
    c = H.Conn(srv.port)
    c.sock.settimeout(20)
    c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    c.send(opening)
    batch = one_frame * BATCH
    sent = 0
    try:
        while sent < FLOOD_FRAMES and not c.goaways() and c.send(batch):
            sent += BATCH
    except socket.timeout:
        raise H.Failure("%s: send blocked 20 s after %d frames: the server stopped reading "
                        "without closing the connection" % (what, sent))
    closed = c.wait_closed(20)
    H.log("%s: %d frames sent; %s" % (what, sent, c.summary(3)))
    H.check(closed, "%s: the connection is still open after %d frames: %s" % (what, sent, c.summary()))
    H.rss_bounded(srv, before, 64, what)
    H.serves(srv)


def empty_data_flood(binary):
    opening = H.headers(1, H.request_block("/post", method="POST"), end_stream=False)
    flood_read(binary, opening, H.data(1, b""), "empty DATA flood")


def empty_continuation_flood(binary):
    opening = H.headers(1, H.request_block("/get"), end_stream=True, end_headers=False)
    flood_read(binary, opening, H.continuation(1, b""), "empty CONTINUATION flood")


def empty_headers_flood(binary):
    """HEADERS with an empty block and no END_HEADERS, then empty
    CONTINUATION frames, on one stream after another is never done: the
    first stream's block never ends, so it is one endless empty block."""
    opening = H.headers(1, b"", end_stream=True, end_headers=False)
    flood_read(binary, opening, H.continuation(1, b""), "empty HEADERS and CONTINUATION flood")


if __name__ == "__main__":
    H.run({"ping_flood": ping_flood, "settings_flood": settings_flood,
           "settings_too_many": settings_too_many, "empty_data_flood": empty_data_flood,
           "empty_continuation_flood": empty_continuation_flood,
           "empty_headers_flood": empty_headers_flood})
