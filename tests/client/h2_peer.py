#!/usr/bin/python3
"""A scripted HTTP/2 server (h2c, prior knowledge) for the client's tests:
behaviours a real server does not show on demand. Listens on 127.0.0.1
port 0, prints the port, then one line per event it sees, so a test can
assert what went over the wire:

  conn I open | conn I closed
  conn I stream S METHOD PATH
  conn I stream S header NAME: VALUE
  conn I stream S body N BYTES-AS-TEXT
  conn I reset S CODE          (the client reset stream S)
  conn I ping
  conn I sent S N              (N body bytes sent so far, window mode)

Modes (argv[1]):
  echo       answer each request 200 with its body (content-length set)
  trailers   answer "hello" then trailers x-checksum: abc, x-count: 2
  goaway     answer the first stream of each connection; on the second,
             GOAWAY(last_stream_id = the first) and never answer it
  refuse     RST_STREAM REFUSED_STREAM on the first stream of connection
             0; answer everything else
  reset      RST_STREAM INTERNAL_ERROR on every stream
  silent     never send anything after the SETTINGS (PINGs unanswered)
  maxstreams SETTINGS_MAX_CONCURRENT_STREAMS 1; the first stream is
             answered at once, later ones once two of them are open
  window     answer 1 MiB of 'x' as the flow-control window allows
  hold       send the head and 10 bytes, then wait (until reset)
  nohead     never answer a request (PINGs are answered)
  expect     100 Continue to a request that expects it, then echo
  expect417  417 (END_STREAM) to a request that expects 100-continue
  coded      /gzip, /br, /zstd: the body of coding_peer.py compressed
             with Python's own libraries, content-encoding set
"""
import socket
import sys
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

MODE = sys.argv[1]
lock = threading.Lock()
open_streams = []  # maxstreams: streams waiting for their answer
held = []
released = False  # two held at once: all are answered from then on


def log(*a):
    with lock:
        print(*a, flush=True)


def answer(c, sid, body, extra=()):
    c.send_headers(sid, [(":status", "200"), ("content-length", str(len(body)))] + list(extra))
    c.send_data(sid, body, end_stream=True)


def coded(path):
    """The coding_peer.py body in the coding the path names, and the name."""
    body = "".join("line %d: the quick brown fox jumps over the lazy dog\n" % i
                   for i in range(4000)).encode()
    name = path.strip("/")
    if name == "gzip":
        import gzip
        return gzip.compress(body), name
    if name == "br":
        import brotli
        return brotli.compress(body), name
    if name == "zstd":
        import zstandard
        return zstandard.ZstdCompressor().compress(body), name
    return body, None


def serve(sock, idx):
    cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    c = h2.connection.H2Connection(config=cfg)
    c.initiate_connection()
    if MODE == "maxstreams":
        c.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1})
    sock.sendall(c.data_to_send())
    log(f"conn {idx} open")
    bodies = {}
    nstreams = 0
    pending = {}  # window mode: stream -> bytes left to send
    ignore = False  # frames are no longer parsed (after our GOAWAY)
    mute = False    # nothing more is sent (a silent peer)
    try:
        while True:
            if MODE == "maxstreams":
                global released
                with lock:
                    released = released or len(held) >= 2
                    ready = released
                if ready:
                    with lock:
                        mine = [h for h in held if h[0] is c]
                        for h in mine:
                            held.remove(h)
                    for (_, sid, _) in mine:
                        answer(c, sid, b"ok")
                    sock.sendall(c.data_to_send())
            sock.settimeout(0.05)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                break
            if ignore:
                continue
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    nstreams += 1
                    h = dict(ev.headers)
                    sid = ev.stream_id
                    log(f"conn {idx} stream {sid} {h[':method']} {h[':path']}")
                    for k, v in ev.headers:
                        log(f"conn {idx} stream {sid} header {k}: {v}")
                    bodies[sid] = b""
                    if MODE == "goaway" and nstreams == 2:
                        c.close_connection(last_stream_id=sid - 2)
                        sock.sendall(c.data_to_send())
                        ignore = True
                        break
                    if MODE == "silent":
                        mute = True
                    elif MODE == "expect" and h.get("expect") == "100-continue":
                        c.send_headers(sid, [(":status", "100")])
                    elif MODE == "expect417":
                        c.send_headers(sid, [(":status", "417"), ("content-length", "0")],
                                       end_stream=True)
                    elif MODE == "coded":
                        body, name = coded(h[":path"])
                        extra = [("content-encoding", name)] if name else []
                        answer(c, sid, body, extra)
                    elif MODE == "hold":
                        c.send_headers(sid, [(":status", "200")])
                        c.send_data(sid, b"0123456789")
                elif isinstance(ev, h2.events.DataReceived):
                    bodies[ev.stream_id] = bodies.get(ev.stream_id, b"") + ev.data
                    c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    sid = ev.stream_id
                    body = bodies.get(sid, b"")
                    log(f"conn {idx} stream {sid} body {len(body)} {body[:64].decode('latin-1')}")
                    if MODE == "refuse" and idx == 0 and nstreams == 1:
                        c.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
                    elif MODE == "reset":
                        c.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
                    elif MODE in ("echo", "goaway", "refuse", "expect"):
                        answer(c, sid, body)
                    elif MODE == "trailers":
                        c.send_headers(sid, [(":status", "200")])
                        c.send_data(sid, b"hello")
                        c.send_headers(sid, [("x-checksum", "abc"), ("x-count", "2")],
                                       end_stream=True)
                    elif MODE == "maxstreams":
                        if idx == 0 and nstreams == 1:
                            answer(c, sid, b"ok")
                        else:
                            with lock:
                                held.append((c, sid, idx))
                    elif MODE == "window":
                        c.send_headers(sid, [(":status", "200"), ("content-length", str(1 << 20))])
                        pending[sid] = 1 << 20
                elif isinstance(ev, h2.events.StreamReset):
                    log(f"conn {idx} reset {ev.stream_id} {int(ev.error_code)}")
                    pending.pop(ev.stream_id, None)
                elif isinstance(ev, h2.events.PingReceived):
                    log(f"conn {idx} ping")
                elif isinstance(ev, h2.events.WindowUpdated):
                    pass
            if ignore or mute:
                continue
            for sid in list(pending):
                left = pending[sid]
                room = min(c.local_flow_control_window(sid), left)
                while room > 0:
                    n = min(room, c.max_outbound_frame_size)
                    c.send_data(sid, b"x" * n, end_stream=(left == n))
                    left -= n
                    room -= n
                pending[sid] = left
                log(f"conn {idx} sent {sid} {(1 << 20) - left}")
                if left == 0:
                    del pending[sid]
            sock.sendall(c.data_to_send())
    except (OSError, h2.exceptions.ProtocolError) as e:
        log(f"conn {idx} error {e!r}")
    log(f"conn {idx} closed")
    sock.close()


def main():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    log(ls.getsockname()[1])
    idx = 0
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s, idx), daemon=True).start()
        idx += 1


main()
