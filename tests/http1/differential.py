#!/usr/bin/python3
"""The request vectors (tests/http1/vectors.txt) against independent HTTP/1
implementations, compared with nethttp's live server.

  differential.py VECTORS NETHTTP_PORT h11
  differential.py VECTORS NETHTTP_PORT go GO_PORT

h11 is a strict parser (Debian's python3-h11), driven here as a server
would drive it; Go's net/http server runs tests/http1/goecho. Both see the
same bytes as nethttp (a vector and the request pipelined behind it) and
their outcome ("STATUS kept|closed [+1xx] | echo line") must equal
nethttp's, unless the vector lists that exact outcome for that peer with
the rule nethttp follows instead. An allow-list entry that no longer
differs fails too, so the list stays exact. Exits 0 if all agree, 1 if not,
77 (skip) if h11 is missing."""
import concurrent.futures
import re
import select
import socket
import sys

NEXT = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"


def unquote(s):
    """A quoted C-escaped string: (bytes, rest of the line)."""
    s = s.lstrip(" ")
    assert s[0] == '"', s
    out = bytearray()
    i = 1
    while s[i] != '"':
        c = s[i]
        if c == "\\":
            i += 1
            e = s[i]
            if e == "x":
                out.append(int(s[i + 1:i + 3], 16))
                i += 2
            else:
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\", '"': b'"'}[e]
        else:
            out += c.encode("latin-1")
        i += 1
    return bytes(out), s[i + 1:].strip()


def value(arg):
    if arg.startswith('"'):
        return unquote(arg)[0]
    return None if arg == "-" else arg.encode("latin-1")


def load(path):
    vectors, v = [], None
    for raw in open(path, encoding="latin-1"):
        line = raw.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        key, _, arg = line.partition(" ")
        if key == "vector":
            v = {"name": arg, "send": b"", "alone": False, "wire": False, "allow": {},
                 "method": "GET", "target": "/", "version": "1.1", "host": b"x", "x": None,
                 "body": None, "trailer": None, "interim": ""}
            vectors.append(v)
        elif key == "end":
            v = None
        elif key.startswith("send") or key.startswith("body"):
            times = int(key[5:]) if "*" in key else 1
            one = unquote(arg)[0] * times
            k = "send" if key.startswith("send") else "body"
            v[k] = (v[k] or b"") + one
        elif key in ("alone", "wire"):
            v[key] = True
        elif key == "expect":
            parts = arg.split()
            v["status"], v["kept"] = int(parts[0]), parts[1] == "kept"
            v["interim"] = "".join(" " + p for p in parts[2:])
        elif key in ("method", "target", "version"):
            v[key] = arg
        elif key in ("host", "x", "trailer"):
            v[key] = value(arg)
        elif key in ("go", "h11"):
            outcome, why = unquote(arg)
            v["allow"][key] = (outcome.decode("latin-1"), why)
    return vectors


def escape(b):
    return "".join(chr(c) if 0x20 <= c < 0x7F and c != 0x5C else "\\x%02x" % c for c in b)


def fnv(b):
    h = 2166136261
    for c in b:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def echo_line(method, target, v11, host, x, body, trailer):
    b = escape(body) if len(body) <= 32 else "fnv%08x" % fnv(body)
    return "%s %s v=%s host=%s x=%s body=%d:%s trailer=%s" % (
        method, target, "1.1" if v11 else "1.0", escape(host or b""),
        "-" if x is None else escape(x), len(body), b, "-" if trailer is None else escape(trailer))


def outcome(status, how, interim, echo):
    s = "%d %s%s" % (status, how, interim)
    return s + " | " + echo if echo is not None else s


def is_head(v):
    return v["send"].startswith(b"HEAD ")


# ---- over a socket (nethttp, Go) ----

def parse_responses(buf, head_req, eof):
    """[(status, interim, body)] of the final responses in buf, and what is
    wrong with the bytes after them (None: nothing)."""
    out, off, interim = [], 0, ""
    while off < len(buf):
        end = buf.find(b"\r\n\r\n", off)
        if end < 0:
            if not buf.startswith(b"HTTP/1."[:len(buf) - off], off):
                return out, "bytes that are not a response"
            break
        if not re.match(rb"HTTP/1\.[01] \d\d\d", buf[off:end]):
            return out, "bytes that are not a response"
        head = buf[off:end + 2].decode("latin-1")
        status = int(head[9:12])
        hdr = {}
        for l in head.split("\r\n")[1:]:
            if ":" in l:
                k, _, val = l.partition(":")
                hdr.setdefault(k.lower(), val.strip())
        p = end + 4
        if (status // 100 == 1 or status == 204) and ("content-length" in hdr or "transfer-encoding" in hdr):
            return out, "%d with a length" % status
        bodiless = (head_req and not out) or status // 100 == 1 or status in (204, 304)
        body = b""
        if bodiless:
            pass
        elif "transfer-encoding" in hdr:
            total = bytearray()
            while True:
                eol = buf.find(b"\r\n", p)
                if eol < 0:
                    return out, None
                size = int(buf[p:eol].split(b";")[0], 16)
                p = eol + 2
                if size == 0:
                    while True:
                        eol = buf.find(b"\r\n", p)
                        if eol < 0:
                            return out, None
                        n = eol - p
                        p = eol + 2
                        if n == 0:
                            break
                    break
                if len(buf) < p + size + 2:
                    return out, None
                total += buf[p:p + size]
                p += size + 2
            body = bytes(total)
        elif "content-length" in hdr:
            n = int(hdr["content-length"])
            if len(buf) < p + n:
                return out, None
            body = buf[p:p + n]
            p += n
        else:
            if not eof:
                return out, None
            body = buf[p:]
            p = len(buf)
        off = p
        if status // 100 == 1:
            if not out:
                interim += " +%d" % status
            continue
        out.append((status, interim, body))
    return out, None


def over_socket(port, data, head_req):
    """(outcome, next answered right) for data sent to 127.0.0.1:port."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setblocking(False)
    sent, buf, eof, hang = 0, b"", False, False
    while True:
        r, w, _ = select.select([s], [s] if sent < len(data) else [], [], 10)
        if not r and not w:
            hang = True
            break
        if w:
            try:
                sent += s.send(data[sent:])
            except BlockingIOError:
                pass
            except OSError:
                sent = len(data)  # closed: read what it said
        if r:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                eof = True
                break
            buf += chunk
            resps, fault = parse_responses(buf, head_req, False)
            if len(resps) >= 2 or fault:
                break
    s.close()
    resps, garbage = parse_responses(buf, head_req, eof)
    if garbage:
        return "%s after %d response(s)" % (garbage, len(resps)), True
    if not resps:
        return outcome(0, "hang" if hang else "closed", "", None), True
    status, interim, body = resps[0]
    how = "hang" if hang else "kept" if len(resps) >= 2 else "closed" if eof else "?"
    echo = body.decode("latin-1").rstrip("\n") if status == 200 and not head_req else None
    next_ok = len(resps) < 2 or (resps[1][0] == 200 and resps[1][2].startswith(b"GET /next "))
    return outcome(status, how, interim, echo), next_ok


# ---- h11, driven as a server ----

def with_h11(v, data):
    import h11
    c = h11.Connection(h11.SERVER)
    c.receive_data(data)
    answered, status, interim, echo = 0, 0, "", None
    req, body = None, b""
    while True:
        try:
            ev = c.next_event()
        except h11.RemoteProtocolError as e:
            if answered == 0:
                return outcome(e.error_status_hint, "closed", interim, None)
            break
        if ev is h11.NEED_DATA or ev is h11.PAUSED:
            if answered == 0:
                return outcome(0, "hang", interim, None)
            break
        if isinstance(ev, h11.Request):
            req, body = ev, b""
            if c.they_are_waiting_for_100_continue and answered == 0:
                c.send(h11.InformationalResponse(status_code=100, headers=[]))
                interim += " +100"
        elif isinstance(ev, h11.Data):
            body += ev.data
        elif isinstance(ev, h11.EndOfMessage):
            hdr = lambda hs, k: next((val for n, val in hs if n == k), None)
            line = echo_line(req.method.decode("latin-1"), req.target.decode("latin-1"),
                             req.http_version >= b"1.1", hdr(req.headers, b"host"),
                             hdr(req.headers, b"x-echo"), body, hdr(ev.headers, b"x-t"))
            if answered == 0:
                status, echo = 200, line
            answered += 1
            out = (line + "\n").encode("latin-1")
            c.send(h11.Response(status_code=200, headers=[("Content-Length", str(len(out)))]))
            if c.our_state is h11.SWITCHED_PROTOCOL:  # a 2xx to CONNECT: a tunnel now
                return outcome(200, "tunnel", interim, None)
            c.send(h11.Data(data=out))
            c.send(h11.EndOfMessage())
            if c.our_state is not h11.DONE or c.their_state is not h11.DONE:
                break
            c.start_next_cycle()
            if answered >= 2:
                break
    return outcome(status, "kept" if answered >= 2 else "closed", interim, echo)


def main():
    path, port, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if peer == "h11":
        try:
            import h11  # noqa: F401
        except ImportError:
            print("SKIP: python3-h11 is not installed (scripts/install-deps.sh installs it)")
            return 77
    go_port = int(sys.argv[4]) if peer == "go" else 0
    failed = known = 0
    vectors = load(path)
    # Each vector on its own connections, several at a time: a vector a
    # peer leaves hanging costs its 10 s once, not in a row.
    def exchange(args):
        v, p = args
        return over_socket(p, v["send"] + (b"" if v["alone"] else NEXT), is_head(v))
    jobs = [(v, port) for v in vectors] + ([(v, go_port) for v in vectors] if go_port else [])
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(exchange, jobs))
    for i, v in enumerate(vectors):
        data = v["send"] + (b"" if v["alone"] else NEXT)
        head_req = is_head(v)
        ours, next_ok = answers[i]
        expected = outcome(v["status"], "kept" if v["kept"] else "closed", v["interim"], None)
        if ours.split(" | ")[0] != expected or not next_ok:
            print("FAIL %s: nethttp answered %r, the vector expects %r (see test_vectors)" %
                  (v["name"], ours, expected))
            failed += 1
            # The peer is still compared, with what the vector expects.
            echo = None
            if v["status"] == 200 and not head_req and not v["wire"]:
                echo = echo_line(v["method"], v["target"], v["version"] == "1.1", v["host"],
                                 v["x"], v["body"] or b"", v["trailer"])
            ours = outcome(v["status"], "kept" if v["kept"] else "closed", v["interim"], echo)
        if peer == "h11" and v["wire"]:
            continue  # a server's behaviour, not the parser's
        if peer == "h11":
            theirs = with_h11(v, data)
        else:
            theirs, next_ok = answers[len(vectors) + i]
            if not next_ok:
                theirs += " (wrong pipelined answer)"
        allow = v["allow"].get(peer)
        if theirs == ours:
            if allow:
                print("FAIL %s: %s now agrees with nethttp (%r): drop its allow-list entry" %
                      (v["name"], peer, ours))
                failed += 1
            continue
        if allow and allow[0] == theirs:
            known += 1
            print("known %s: %s %r, nethttp %r: %s" % (v["name"], peer, theirs, ours, allow[1]))
            continue
        failed += 1
        print("FAIL %s: %s %r, nethttp %r%s" % (v["name"], peer, theirs, ours,
                                                  " (allow-list says %r)" % allow[0] if allow else ""))
    print("%s: %d vectors, %d known disagreements, %d failures" % (peer, len(vectors), known, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
