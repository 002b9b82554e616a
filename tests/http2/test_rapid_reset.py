#!/usr/bin/python3
"""Rapid reset (CVE-2023-44487) against `nethttp httpbin --h2c`: streams
for a slow handler (/delay/1) opened and reset at once, thousands of them
on one connection. As Go's server does, the server runs at most its
concurrency limit of handlers at once (250 by default, the
SETTINGS_MAX_CONCURRENT_STREAMS it advertises), queues a few more, and
past that queue answers GOAWAY ENHANCE_YOUR_CALM and closes. A normal
client on another connection is served during the attack, and after it.
Usage: test_rapid_reset.py NETHTTP h2c|tls

Handlers running at once are seen from outside in two ways: the fiber
stacks the process has mapped (/proc/PID/maps: a handler runs on a fiber;
how many stacks one running handler holds is measured first, with a few
slow requests that are not reset), and the access log's intervals of the
/delay requests that ran."""

import json
import struct
import threading
import time

import h2raw as H

STREAMS = 10_000
BATCH = 50
LIMIT = 250
# Slow handlers run to learn how many fiber stacks one holds.
CALIBRATE = 20
# Fibers besides the handlers: the connections' own, the normal client's,
# a handler's that is ending while the next one starts.
STACK_SLACK = 100


class Sampler(threading.Thread):
    """Samples the server's fiber stacks every 20 ms until stopped."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.peak, self.stop_ev = srv, 0, threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            n = self.srv.fiber_stacks()
            if n is not None:
                self.peak = max(self.peak, n)
            time.sleep(0.02)


def overlapping_delays(log_bytes):
    """The most /delay requests whose handlers ran at the same time, from
    the access log (end time and duration of each)."""
    events = []
    for line in log_bytes.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("msg") != "access" or not str(j.get("path", "")).startswith("/delay"):
            continue
        end = time.mktime(time.strptime(j["time"][:19], "%Y-%m-%dT%H:%M:%S")) + \
            float("0" + j["time"][19:-1])
        dur = float(j.get("duration_ms", 0)) / 1000
        events += [(end - dur, 1), (end, -1)]
    cur = peak = 0
    for _, d in sorted(events):
        cur += d
        peak = max(peak, cur)
    return peak, len(events) // 2


def stacks_per_handler(srv, tls, base):
    """Fiber stacks one running handler holds on this server (its own,
    and any it starts): CALIBRATE slow handlers are started on their own
    connection, and once each has answered its headers the stacks are
    counted. The connection is then closed, which cancels them."""
    c = H.Conn(srv.port, tls=tls)
    scheme = "https" if tls else "http"
    for i in range(CALIBRATE):
        c.send(H.headers(2 * i + 1, H.request_block("/drip?duration=5&numbytes=2&delay=0",
                                                    scheme=scheme, encoder=c.enc)))
    started = lambda: len({f[2] for f in c.frames if f[0] == H.HEADERS})
    c.wait_for(lambda f: started() >= CALIBRATE, 20)
    H.check(started() == CALIBRATE, "only %d of %d slow requests were answered: %s"
            % (started(), CALIBRATE, c.summary()))
    n = srv.fiber_stacks()
    c.close()
    # A handler's second fiber, if any, may not have started yet: the
    # count per handler is a whole number.
    per = max(1, round((n - base) / CALIBRATE))
    H.log("calibration: %d handlers running hold %d fiber stacks (+%d): %d each"
          % (CALIBRATE, n, n - base, per))
    # Their fibers end (cancelled with their connection) before the attack,
    # so that they are not counted with it: the access log shows them.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and srv.log_bytes().count(b'"path":"/drip') < CALIBRATE:
        time.sleep(0.05)
    return per


def rapid_reset(binary, tls=False):
    srv = H.Server(binary, tls=tls)
    H.serves(srv, when="before")
    base_stacks = srv.fiber_stacks()
    before = srv.rss_kb()
    H.check(base_stacks is not None or srv.reference, "cannot read /proc/%d/maps" % srv.pid)
    per = 1.0 if srv.reference else stacks_per_handler(srv, tls, base_stacks)
    c = H.Conn(srv.port, tls=tls)
    sf = c.wait_for(lambda f: f[0] == H.SETTINGS and not f[1] & H.ACK, 10)
    H.check(sf is not None, "no SETTINGS from the server: %s" % c.summary())
    adv = dict(struct.unpack(">HI", sf[3][i:i + 6]) for i in range(0, len(sf[3]), 6))
    mcs = adv.get(H.SETTINGS_MAX_CONCURRENT_STREAMS)
    H.log("server SETTINGS: %s" % adv)
    H.check(mcs is not None and mcs <= LIMIT,
            "SETTINGS_MAX_CONCURRENT_STREAMS %r: want the concurrency limit, at most %d" % (mcs, LIMIT))

    sampler = Sampler(srv)
    sampler.start()
    normal = {}

    def normal_client():
        t0 = time.monotonic()
        try:
            normal["status"] = H.normal_request(srv.port, "/get", tls=tls, timeout=20)[0]
        except H.Failure as e:
            normal["error"] = str(e)
        normal["seconds"] = round(time.monotonic() - t0, 3)
        normal["attack connection open then"] = not c.closed and not c.goaways()

    scheme = "https" if tls else "http"
    client = None
    opened = 0
    sid = 1
    while opened < STREAMS and not c.closed:
        out = []
        for _ in range(BATCH):
            out.append(H.headers(sid, H.request_block("/delay/1", scheme=scheme, encoder=c.enc)))
            out.append(H.rst_stream(sid, H.CANCEL))
            sid += 2
        if not c.send(b"".join(out)):
            break
        opened += BATCH
        if client is None:  # the attack has begun
            client = threading.Thread(target=normal_client, daemon=True)
            client.start()
        if c.goaways():
            break
    H.log("rapid reset: %d streams opened and reset; %s" % (opened, c.summary(3)))
    c.wait_for(lambda f: f[0] == H.GOAWAY, 20)
    c.wait_closed(20)
    if client is None:
        client = threading.Thread(target=normal_client, daemon=True)
        client.start()
    client.join(30)
    time.sleep(1.5)  # the last /delay handlers finish and are logged
    sampler.stop_ev.set()
    sampler.join()
    peak_delays, logged = overlapping_delays(srv.log_bytes())
    if srv.reference:  # not nethttp: no fibers to count
        base_stacks = sampler.peak = 0
    grown = sampler.peak - base_stacks
    H.log("fiber stacks: %d before, peak %d (+%d); /delay handlers logged: %d, at most %d at once"
          % (base_stacks, sampler.peak, grown, logged, peak_delays))
    H.log("normal client during the attack: %s" % normal)

    H.check(normal.get("status") == 200,
            "the normal client on another connection was not served during the attack: %s" % normal)
    H.check(grown <= per * LIMIT + STACK_SLACK,
            "%d fiber stacks were mapped at once during the attack (+%d over the idle server, "
            "%d per running handler): more handlers ran than the limit of %d"
            % (sampler.peak, grown, per, LIMIT))
    H.check(peak_delays <= LIMIT, "the access log shows %d /delay handlers running at once, "
            "more than the limit of %d" % (peak_delays, LIMIT))
    gas = c.goaways()
    H.check(gas, "no GOAWAY after %d streams opened and reset at once (%s)" % (opened, c.summary()))
    last, code = gas[-1]
    H.check(code == H.ENHANCE_YOUR_CALM, "GOAWAY with %s, want ENHANCE_YOUR_CALM" % H.error_name(code))
    # Past the limit, a small queue: Go's is 4 times the limit.
    H.check(last <= 2 * 6 * LIMIT, "GOAWAY only after %d streams (last stream %d): the queue "
            "past the limit of %d is not small" % ((last + 1) // 2, last, LIMIT))
    H.check(c.closed, "the connection stays open after GOAWAY ENHANCE_YOUR_CALM: %s" % c.summary())
    H.rss_bounded(srv, before, 64, "rapid reset")
    H.serves(srv)


if __name__ == "__main__":
    H.run({"h2c": lambda b: rapid_reset(b), "tls": lambda b: rapid_reset(b, tls=True)})
