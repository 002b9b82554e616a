#!/usr/bin/python3
"""Graceful shutdown of `nethttp httpbin` over HTTP/2 on SIGTERM or SIGINT
(RFC 9113 6.8, as Go's server does it): the client first sees a GOAWAY
with last-stream-id 2^31-1 (NO_ERROR), then a second GOAWAY with the real
last stream id; the stream in flight completes; a stream opened after the
second GOAWAY gets no response (refused); the process then exits cleanly.
Usage: test_graceful_shutdown.py NETHTTP sigterm|sigint|sigterm_tls"""

import signal
import struct

import h2raw as H


def shutdown(binary, sig, tls=False):
    srv = H.Server(binary, tls=tls)
    H.serves(srv, when="before")
    c = H.Conn(srv.port, tls=tls)
    scheme = "https" if tls else "http"
    # A response that takes 2 s: four bytes, the first at once.
    c.send(H.headers(1, H.request_block("/drip?duration=2&numbytes=4&delay=0", scheme=scheme,
                                        encoder=c.enc)))
    got = c.wait_for(lambda f: f[0] == H.HEADERS and f[2] == 1, 20)
    H.check(got is not None, "no response headers on stream 1: %s" % c.summary())
    H.check(c.status_of(1) == 200, "stream 1: status %r" % c.status_of(1))
    srv.signal(sig)
    H.log("stream 1 in flight; sent %s to pid %d" % (signal.Signals(sig).name, srv.pid))

    first = c.wait_for(lambda f: f[0] == H.GOAWAY, 20)
    H.check(first is not None, "no GOAWAY after %s: %s" % (signal.Signals(sig).name, c.summary()))
    last, code = struct.unpack(">II", first[3][:8])
    H.log("first GOAWAY: last_stream_id=%d %s" % (last, H.error_name(code)))
    H.check(last == H.MAX_STREAM_ID and code == H.NO_ERROR,
            "the first GOAWAY must announce the shutdown with last-stream-id 2^31-1 and NO_ERROR, "
            "got last_stream_id=%d %s" % (last, H.error_name(code)))
    second = c.wait_for(lambda f: f[0] == H.GOAWAY and f is not first, 20)
    H.check(second is not None, "no second GOAWAY with the real last stream id: %s" % c.summary())
    last2, code2 = struct.unpack(">II", second[3][:8])
    H.log("second GOAWAY: last_stream_id=%d %s" % (last2, H.error_name(code2)))
    H.check(last2 == 1 and code2 == H.NO_ERROR,
            "the second GOAWAY must carry the last stream processed (1) and NO_ERROR, got "
            "last_stream_id=%d %s" % (last2, H.error_name(code2)))

    # A stream opened now is past the last stream id: it is not processed.
    c.send(H.headers(3, H.request_block("/get", scheme=scheme, encoder=c.enc)))
    end = c.wait_for(lambda f: f[0] == H.DATA and f[2] == 1 and f[1] & H.END_STREAM, 20)
    body = b"".join(f[3] for f in c.frames if f[0] == H.DATA and f[2] == 1)
    H.check(end is not None, "stream 1 did not complete after the GOAWAYs: %s" % c.summary())
    H.check(body == b"****", "stream 1's body: %r, want 4 bytes" % body)
    H.log("ok: the stream in flight completed (%d bytes) after both GOAWAYs" % len(body))
    H.check(c.wait_closed(20), "the connection stays open after its streams are done: %s"
            % c.summary())
    answered = [f for f in c.frames if f[0] in (H.HEADERS, H.DATA) and f[2] == 3]
    H.check(not answered, "stream 3, opened after the second GOAWAY, was answered: %s"
            % [H.describe(f) for f in answered])
    rst = [f for f in c.frames if f[0] == H.RST_STREAM and f[2] == 3]
    H.log("ok: stream 3 was refused (%s)" % (H.describe(rst[0]) if rst else "ignored, then closed"))
    try:
        rc = srv.proc.wait(timeout=30)
    except H.subprocess.TimeoutExpired:
        raise H.Failure("the server did not exit within 30 s of %s" % signal.Signals(sig).name)
    H.check(rc == 0, "the server exited with %d" % rc)
    H.check(b"shut down cleanly" in srv.log_bytes(), "no clean shutdown in the log")
    H.log("ok: the server exited cleanly")


if __name__ == "__main__":
    H.run({"sigterm": lambda b: shutdown(b, signal.SIGTERM),
           "sigint": lambda b: shutdown(b, signal.SIGINT),
           "sigterm_tls": lambda b: shutdown(b, signal.SIGTERM, tls=True)})
