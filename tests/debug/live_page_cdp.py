#!/usr/bin/python3
"""Loads the live debug page in headless Chromium and checks it over the
DevTools protocol: no console error, no uncaught exception, nothing fetched
from another origin, and charts that move while the server is under load.

    live_page_cdp.py URL [SCREENSHOT.png]

URL is the page (http://127.0.0.1:PORT/debug/). Chromium runs with a
throwaway profile, listens for DevTools on loopback only, and is killed
with its process group when the check ends. Prints one line per finding;
exits 0 when every check passed, 1 otherwise, 77 when Chromium or the
websocket module is missing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

try:
    import websocket  # python3-websocket
except ImportError:
    print("SKIP: python3-websocket not installed")
    sys.exit(77)

# Seconds of charts to let accumulate before the screenshot (for a picture
# with some history in it; the check itself needs none).
SHOT_WAIT = min(float(os.environ.get("NH_LIVE_PAGE_SHOT_WAIT", "1.2")), 120)
DEADLINE = time.monotonic() + 150 + SHOT_WAIT  # the whole check, Chromium's start included


class Failed(Exception):
    pass


def left():
    t = DEADLINE - time.monotonic()
    if t <= 0:
        raise Failed("out of time")
    return t


class Devtools:
    """A minimal DevTools protocol client: commands and the events between."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=min(30, left()),
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            self.ws.settimeout(min(30, left()))
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise Failed("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise Failed("evaluating %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def start_chromium(exe, profile):
    args = [exe, "--headless=new", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-default-apps", "--mute-audio",
            "--disable-dev-shm-usage", "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            "--user-data-dir=" + profile, "--window-size=1200,860", "about:blank"]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with it
    log = open(os.path.join(profile, "chromium.log"), "wb")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    log.close()
    port_file = os.path.join(profile, "DevToolsActivePort")
    while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
        if proc.poll() is not None:
            raise Failed("chromium exited %d at start: %s" % (proc.returncode, tail(profile)))
        if left() < 100:  # 50 s to start, at most
            raise Failed("chromium did not open its DevTools port: " + tail(profile))
        time.sleep(0.1)
    time.sleep(0.1)  # the file is written whole, but give it a moment
    port = int(open(port_file).read().split()[0])
    return proc, port


def tail(profile):
    try:
        with open(os.path.join(profile, "chromium.log"), "rb") as f:
            return f.read()[-600:].decode("utf-8", "replace")
    except OSError:
        return ""


def stop_chromium(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever of its group is left (renderers, zygote)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def page_target(port):
    for _ in range(50):
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                    timeout=min(10, left())) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.2)
    raise Failed("chromium shows no page target")


def wait_state(dt, pred, what):
    while True:
        s = json.loads(dt.eval("JSON.stringify(window.nhLive && nhLive.state())") or "null")
        if s and pred(s):
            return s
        if left() < 5:
            raise Failed("timed out waiting for %s; last state %s" % (what, s))
        time.sleep(0.5)


def problems(events, origin):
    """Console errors, uncaught exceptions, failed or foreign loads."""
    out = []
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: %s %s" % (d.get("text"), d.get("exception", {}).get("description")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console.%s: %s" % (p["type"], [a.get("value", a.get("description"))
                                                         for a in p.get("args", [])]))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append("log error: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
        elif m == "Network.requestWillBeSent":
            u = p.get("request", {}).get("url", "")
            if not u.startswith("data:") and not u.startswith(origin + "/"):
                out.append("fetched from elsewhere: " + u)
        elif m == "Network.loadingFailed":
            out.append("load failed: %s" % p.get("errorText"))
    return out


def check(url, shot):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        print("SKIP: chromium not installed")
        sys.exit(77)
    parts = urllib.parse.urlsplit(url)
    origin = "%s://%s" % (parts.scheme, parts.netloc)
    profile = tempfile.mkdtemp(prefix="nh_live_page_")
    proc = None
    dt = None
    try:
        proc, port = start_chromium(exe, profile)
        dt = Devtools(page_target(port))
        for domain in ("Runtime", "Log", "Page", "Network"):
            dt.call(domain + ".enable")
        dt.call("Emulation.setDeviceMetricsOverride", width=1200, height=860,
                deviceScaleFactor=1, mobile=False)
        dt.call("Page.navigate", url=url)

        # The first readings, then three more a second apart: what moves?
        s1 = wait_state(dt, lambda s: s["samples"] >= 4, "four samples")
        s2 = wait_state(dt, lambda s: s["samples"] >= s1["samples"] + 3, "three more samples")
        print("first:", json.dumps(s1))
        print("later:", json.dumps(s2))
        fails = []
        v1, v2 = s1["view"], s2["view"]
        if s2["errors"]:
            fails.append("live.json polls failed %d times" % s2["errors"])
        if not v2["requests"] > v1["requests"]:
            fails.append("the request counter did not grow under load")
        if not (v2["rate"] or 0) > 0:
            fails.append("the request rate is not above 0 under load: %s" % v2["rate"])
        names = ["rate", "latency", "conns", "fibers", "memory"]
        for i, n in enumerate(names):
            if not s2["points"][i] > s1["points"][i]:
                fails.append("chart %s did not move: %d then %d points"
                             % (n, s1["points"][i], s2["points"][i]))
        if not v2["fibers"] > 0 or not v2["rss"] > 0:
            fails.append("no fibers or no RSS: %s" % v2)
        if v2["conns"]["active"] + v2["conns"]["idle"] + v2["conns"]["new"] < 1:
            fails.append("no open connection shown under load: %s" % v2["conns"])
        # The servers keep a request-duration histogram: the latency chart
        # has a p99 for the last second, a duration above 0.
        if not v2["latency"]:
            fails.append("the page found no request-duration histogram")
        elif not (v2["p99"] or 0) > 0:
            fails.append("no p99 latency under load: %s" % v2["p99"])

        # The percentile arithmetic the latency chart uses, on known counts.
        q = dt.eval("JSON.stringify(["
                    "nhLive.quantile(0.5, [0.001, 0.01, 0.1, Infinity], [0, 10, 0, 0]),"
                    "nhLive.quantile(0.9, [0.001, 0.01, 0.1, Infinity], [50, 40, 10, 0]),"
                    "nhLive.quantile(0.99, [0.001, 0.01, 0.1, Infinity], [90, 0, 0, 10]),"
                    "nhLive.quantile(0.5, [0.001, 0.01], [0, 0])])")
        want = [0.0055, 0.01, 0.1, None]
        got = json.loads(q)
        if any((g is None) != (w is None) or (w is not None and abs(g - w) > 1e-9)
               for g, w in zip(got, want)):
            fails.append("quantiles %s, want %s" % (got, want))

        links = dt.eval("JSON.stringify(Array.from(document.querySelectorAll('nav a'))"
                        ".map(function (a) { return a.href; }))")
        hrefs = set(json.loads(links))
        for path in ("/debug/fibers", "/debug/fibers?debug=2", "/debug/pprof/profile?seconds=30",
                     "/debug/pprof/mutex", "/debug/pprof/block", "/debug/heap",
                     "/debug/trace?seconds=5", "/debug/vars", "/metrics"):
            if origin + path not in hrefs:
                fails.append("no link to " + path)

        if shot:
            time.sleep(SHOT_WAIT)
            img = dt.call("Page.captureScreenshot", format="png")["data"]
            import base64
            with open(shot, "wb") as f:
                f.write(base64.b64decode(img))
            print("screenshot:", shot)

        dt.eval("1")  # collect the events sent so far
        fails += problems(dt.events, origin)
        for f in fails:
            print("FAIL:", f)
        if not fails:
            print("ok: %d samples, %d requests counted, %.0f requests/s, no console error"
                  % (s2["samples"], v2["requests"], v2["rate"]))
        return 1 if fails else 0
    finally:
        if dt:
            dt.close()
        if proc:
            stop_chromium(proc)
        shutil.rmtree(profile, ignore_errors=True)


def terminated(signum, frame):
    raise Failed("terminated")  # so that Chromium is stopped on the way out


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, terminated)
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    try:
        sys.exit(check(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
    except Failed as e:
        print("FAIL:", e)
        sys.exit(1)
