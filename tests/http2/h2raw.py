"""HTTP/2 frames built by hand, for the attack tests in tests/http2.

The h2 module refuses to send malformed or abusive sequences, so frames
are packed here with struct; HPACK blocks come from the hpack module (a
dependency of h2) or are packed by hand where they must be abusive. Also:
a server started on a free loopback port and stopped by its pid, its
memory and fiber stacks read from /proc, and a normal request made with h2
on a new connection. Only loopback is used; every wait is bounded.

A test script calls run(CASES): argv is NETHTTP CASE; a missing peer
module or tool ends the case with 77 (SKIP in ctest)."""

import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77

try:
    import hpack
    import h2.config
    import h2.connection
    import h2.events
except ImportError as e:  # pragma: no cover - reported as SKIP
    print("SKIP: python3-h2 not installed (scripts/install-deps.sh installs it): %s" % e)
    sys.exit(SKIP)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE",
               "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, \
    STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, \
    CONNECT_ERROR, ENHANCE_YOUR_CALM, INADEQUATE_SECURITY, HTTP_1_1_REQUIRED = range(14)
ERROR_NAMES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
               "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
               "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
               "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]

SETTINGS_HEADER_TABLE_SIZE = 1
SETTINGS_ENABLE_PUSH = 2
SETTINGS_MAX_CONCURRENT_STREAMS = 3
SETTINGS_INITIAL_WINDOW_SIZE = 4
SETTINGS_MAX_FRAME_SIZE = 5
SETTINGS_MAX_HEADER_LIST_SIZE = 6

MAX_STREAM_ID = (1 << 31) - 1


def error_name(code):
    return ERROR_NAMES[code] if 0 <= code < len(ERROR_NAMES) else "0x%x" % code


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def log(msg):
    print(msg, flush=True)


# ---- frames ----

def frame(ftype, flags, stream, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, stream & MAX_STREAM_ID) + payload


def settings(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def ping(data=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, data)


def rst_stream(stream, code=CANCEL):
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def window_update(stream, incr):
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", incr))


def headers(stream, block, end_stream=True, end_headers=True):
    flags = (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, flags, stream, block)


def continuation(stream, block, end_headers=False):
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, stream, block)


def data(stream, payload=b"", end_stream=False):
    return frame(DATA, END_STREAM if end_stream else 0, stream, payload)


def request_block(path, method="GET", authority="127.0.0.1", scheme="http", extra=(), encoder=None):
    """An HPACK block for a request; a fresh encoder unless one is given
    (a connection's blocks must share one when they use its table)."""
    enc = encoder or hpack.Encoder()
    hs = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
    return enc.encode(hs + list(extra))


def hpack_int(value, prefix_bits, first_byte_flags=0):
    """RFC 7541 5.1 integer with an N-bit prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = [first_byte_flags | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value, indexing=False):
    """A literal header field with a literal name, not Huffman coded:
    with incremental indexing (enters the dynamic table) or without."""
    first = hpack_int(0, 6, 0x40) if indexing else hpack_int(0, 4, 0x00)
    return (first + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value)


def hpack_indexed(index):
    return hpack_int(index, 7, 0x80)


def parse_frames(buf):
    """Splits complete frames off buf: ([(type, flags, stream, payload)], rest)."""
    out = []
    while len(buf) >= 9:
        hi, lo, ftype, flags, stream = struct.unpack(">BHBBI", buf[:9])
        n = (hi << 16) | lo
        if len(buf) < 9 + n:
            break
        out.append((ftype, flags, stream & MAX_STREAM_ID, buf[9:9 + n]))
        buf = buf[9 + n:]
    return out, buf


def describe(fr):
    ftype, flags, stream, payload = fr
    name = FRAME_NAMES[ftype] if ftype < len(FRAME_NAMES) else "type%d" % ftype
    extra = ""
    if ftype == GOAWAY and len(payload) >= 8:
        last, code = struct.unpack(">II", payload[:8])
        extra = " last_stream_id=%d error=%s debug=%r" % (last & MAX_STREAM_ID, error_name(code),
                                                          payload[8:60])
    elif ftype == RST_STREAM and len(payload) == 4:
        extra = " error=" + error_name(struct.unpack(">I", payload)[0])
    return "%s flags=0x%x stream=%d len=%d%s" % (name, flags, stream, len(payload), extra)


# ---- a raw client connection ----

class Conn:
    """A client connection speaking raw frames. recv side: frames are
    parsed as they come and kept in .frames; .closed says the peer ended
    the connection (EOF or reset)."""

    def __init__(self, port, tls=False, rcvbuf=None, settings_frame=True, timeout=10.0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            s = ctx.wrap_socket(s, server_hostname="localhost")
            check(s.selected_alpn_protocol() == "h2",
                  "TLS: ALPN chose %r, not h2" % s.selected_alpn_protocol())
        self.sock = s
        self.tls = tls
        self.buf = b""
        self.frames = []
        self.closed = False
        self.close_reason = ""
        self.sent = 0
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.dec.max_allowed_table_size = 1 << 16
        if settings_frame:
            # Straight out: send() reads first, and would answer the
            # server's SETTINGS before the preface.
            self.sock.sendall(PREFACE + settings([(SETTINGS_ENABLE_PUSH, 0)]))

    def fileno(self):
        return self.sock.fileno()

    def send(self, b):
        """Sends all of b; False when the peer has closed (the reason is
        kept), True otherwise. Reads what is pending first, so a GOAWAY is
        taken before a reset can discard it."""
        self.poll(0)
        if self.closed:
            return False
        try:
            self.sock.sendall(b)
            self.sent += len(b)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError) as e:
            # What the server wrote before its reset is still queued here
            # (a GOAWAY, typically): read it before calling this closed.
            self.poll(1.0)
            self._mark_closed("send: %s" % e)
            return False

    def _mark_closed(self, why):
        if not self.closed:
            self.closed = True
            self.close_reason = why

    def poll(self, timeout):
        """Reads what arrives within timeout seconds (0: only what is
        there); returns the new frames."""
        new = []
        deadline = time.monotonic() + timeout
        while not self.closed:
            pending = self.tls and self.sock.pending()
            if not pending:
                left = deadline - time.monotonic()
                r, _, _ = select.select([self.sock], [], [], max(0.0, left))
                if not r:
                    break
            try:
                chunk = self.sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (ConnectionResetError, ssl.SSLError, OSError) as e:
                self._mark_closed("recv: %s" % e)
                break
            if not chunk:
                self._mark_closed("EOF")
                break
            self.buf += chunk
            frs, self.buf = parse_frames(self.buf)
            self.frames.extend(frs)
            new.extend(frs)
            # Answer the server's SETTINGS as a client must.
            for f in frs:
                if f[0] == SETTINGS and not f[1] & ACK:
                    try:
                        self.sock.sendall(settings(ack=True))
                    except OSError:
                        pass
            if timeout == 0:
                continue
        return new

    def wait_for(self, pred, timeout):
        """Reads until a frame satisfies pred (returned), the connection
        closes, or timeout seconds pass (None)."""
        for f in self.frames:
            if pred(f):
                return f
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            for f in self.poll(min(0.2, max(0.0, deadline - time.monotonic()))):
                if pred(f):
                    return f
        return None

    def wait_closed(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.poll(min(0.2, max(0.0, deadline - time.monotonic())))
        return self.closed

    def goaways(self):
        out = []
        for f in self.frames:
            if f[0] == GOAWAY and len(f[3]) >= 8:
                last, code = struct.unpack(">II", f[3][:8])
                out.append((last & MAX_STREAM_ID, code))
        return out

    def status_of(self, stream):
        """The :status of the first HEADERS on stream (decoded in order
        with this connection's decoder), or None."""
        for f in self.frames:
            if f[0] in (HEADERS, CONTINUATION) and f[2] == stream and f[0] == HEADERS:
                block = f[3]
                if f[1] & 0x8:  # PADDED
                    block = block[1:len(block) - block[0]]
                if f[1] & 0x20:  # PRIORITY
                    block = block[5:]
                for k, v in self.dec.decode(block):
                    k = k.decode() if isinstance(k, bytes) else k
                    v = v.decode() if isinstance(v, bytes) else v
                    if k == ":status":
                        return int(v)
        return None

    def summary(self, last=8):
        s = ", ".join(describe(f) for f in self.frames[-last:])
        return "%d frames received, last: [%s]; closed=%s %s" % (len(self.frames), s, self.closed,
                                                                 self.close_reason)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the server under test ----

_servers = []


class Server:
    """`NETHTTP CMD --addr 127.0.0.1:0 --log-format json FLAGS...` with
    --h2c (default) or TLS; stopped by its pid at exit."""

    def __init__(self, binary, cmd="httpbin", tls=False, flags=(), workdir=None):
        self.work = workdir or tempfile.mkdtemp(prefix="nh-h2-")
        self.tls = tls
        self.proc = None
        self.reference = False
        _servers.append(self)
        args = [binary, cmd]
        if os.path.basename(binary) == "nghttpd":
            # A reference server, to check a script itself: nghttpd (over
            # h2c) serving files from a scratch directory.
            self.reference = True
            self._start_nghttpd(binary)
            return
        if cmd == "serve":
            www = os.path.join(self.work, "www")
            os.makedirs(www, exist_ok=True)
            with open(os.path.join(www, "index.html"), "w") as f:
                f.write("<html><body>h2 attack tests</body></html>\n")
            args.append(www)
        args += ["--addr", "127.0.0.1:0", "--log-format", "json"]
        if tls:
            cert, key = make_cert(self.work)
            args += ["--tls-cert", cert, "--tls-key", key]
        else:
            args.append("--h2c")
        args += list(flags)
        self.args = args
        self.logpath = os.path.join(self.work, "log")
        self.logf = open(self.logpath, "wb")
        # Under AddressSanitizer freed memory waits in a quarantine (256 MiB
        # by default) and counts in VmRSS: keep it small so the memory
        # bounds measure what the server holds.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "quarantine_size_mb=8"]))
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self.port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(rb'"msg":"serving","addr":"127\.0\.0\.1:(\d+)"', self.log_bytes())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            raise Failure("%s did not start: %s" % (" ".join(args), self.log_tail()))

    def _start_nghttpd(self, binary):
        www = os.path.join(self.work, "www")
        os.makedirs(www, exist_ok=True)
        os.makedirs(os.path.join(www, "delay"), exist_ok=True)
        for name in ("get", "post", "index.html", "delay/1"):
            with open(os.path.join(www, name), "w") as f:
                f.write("reference\n")
        self.logpath = os.path.join(self.work, "log")
        self.logf = open(self.logpath, "wb")
        for _ in range(5):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            self.args = [binary, "-a", "127.0.0.1", "-d", www, "--no-tls", str(port)]
            self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT)
            self.pid = self.proc.pid
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.port = port
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise Failure("nghttpd did not start")

    def log_bytes(self):
        with open(self.logpath, "rb") as f:
            return f.read()

    def log_tail(self, n=15):
        return "\n".join(self.log_bytes().decode(errors="replace").splitlines()[-n:])

    def alive(self):
        return self.proc.poll() is None

    def status(self, field):
        """A field of /proc/PID/status in kB (VmRSS, VmHWM), or None."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def rss_kb(self):
        return self.status("VmRSS")

    def fiber_stacks(self):
        """Fiber stacks mapped now: each is mapped with a 16 KiB PROT_NONE
        guard below it (src/runtime/fiber.c, NH_STACK_GUARD_SIZE), so the
        count of such guards is the count of stacks, live or pooled."""
        n = 0
        try:
            with open("/proc/%d/maps" % self.pid) as f:
                for line in f:
                    parts = line.split()
                    if parts[1] != "---p" or len(parts) > 5 and parts[5]:
                        continue
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    if hi - lo == 16 * 1024:
                        n += 1
        except OSError:
            return None
        return n

    def signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.logf.close()


def make_cert(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                        "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    except FileNotFoundError:
        print("SKIP: openssl not installed")
        sys.exit(SKIP)
    return cert, key


def normal_request(port, path="/get", tls=False, timeout=20.0):
    """One GET with the h2 module on a new connection: (status, body).
    Raises Failure when no full answer comes within timeout seconds."""
    try:
        c = Conn(port, tls=tls, settings_frame=False, timeout=timeout)
    except OSError as e:
        raise Failure("normal request: cannot connect: %s" % e)
    h = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    h.initiate_connection()
    sid = h.get_next_available_stream_id()
    h.send_headers(sid, [(":method", "GET"), (":scheme", "https" if tls else "http"),
                         (":authority", "127.0.0.1"), (":path", path)], end_stream=True)
    status, body = None, b""
    deadline = time.monotonic() + timeout
    try:
        c.sock.sendall(h.data_to_send())
        while time.monotonic() < deadline:
            r, _, _ = select.select([c.sock], [], [], 0.2) if not (tls and c.sock.pending()) else ([1], 0, 0)
            if not r:
                continue
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            for ev in h.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    h.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    c.close()
                    return status, body
                elif isinstance(ev, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    raise Failure("normal request %s: %r" % (path, ev))
            c.sock.sendall(h.data_to_send())
    except (OSError, ssl.SSLError) as e:
        raise Failure("normal request %s: %s" % (path, e))
    finally:
        c.close()
    raise Failure("normal request %s: no full answer in %.0f s (status %r)" % (path, timeout, status))


def serves(server, path="/get", when="after the attack"):
    """The server (still) answers a normal request on a new connection."""
    check(server.alive(), "the server exited: %s" % server.log_tail())
    status, _ = normal_request(server.port, path, tls=server.tls)
    check(status == 200, "normal request %s %s: status %r" % (path, when, status))
    log("ok: a normal request on a new connection is answered 200 %s" % when)


def rss_bounded(server, before_kb, limit_mb, what):
    after = server.rss_kb()
    hwm = server.status("VmHWM")
    log("%s: VmRSS %s kB before, %s kB after (peak %s kB)" % (what, before_kb, after, hwm))
    check(after is not None and after - before_kb < limit_mb * 1024,
          "%s: VmRSS grew from %s to %s kB, more than %d MiB" % (what, before_kb, after, limit_mb))


def run(cases):
    """argv: NETHTTP CASE. Runs cases[CASE](NETHTTP); exit 0 pass, 1 fail."""
    if len(sys.argv) != 3 or sys.argv[2] not in cases:
        print("usage: %s NETHTTP {%s}" % (sys.argv[0], "|".join(cases)))
        sys.exit(2)
    binary = sys.argv[1]
    if not os.access(binary, os.X_OK):
        print("FAIL: %s is not an executable" % binary)
        sys.exit(1)
    try:
        cases[sys.argv[2]](binary)
    except Failure as e:
        print("FAIL: %s" % e)
        for srv in _servers:
            if srv.proc is not None:
                print("--- server log (tail):\n" + srv.log_tail())
        sys.exit(1)
    finally:
        for srv in _servers:
            srv.stop()
            shutil.rmtree(srv.work, ignore_errors=True)
    print("1 passed, 0 failed")
    sys.exit(0)
