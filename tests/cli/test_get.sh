#!/usr/bin/env bash
# nethttp get (the curl-like client) against nethttp httpbin on loopback:
# bodies, headers, -i/-v/-o/-L/-f, request bodies seen by /post, and the
# curl exit codes for an HTTP error (22), a timeout (28) and a refused
# connection (7).
# Usage: test_get.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
cli_test_setup
LOG_TAIL=5

start_httpbin "$bin" --threads 1 --max-duration 5s

G() { timeout 20 "$bin" get "$@"; }
# rc EXPECTED CMD...: runs CMD, fails unless it exits with EXPECTED.
rc() { local want=$1 got=0; shift; "$@" || got=$?; [ "$got" = "$want" ] || fail "$*: exit $got, want $want"; }

# --- body to stdout, headers sent, no progress output when stderr is not a terminal
G "$base/get?a=1&b=x%20y" -H 'X-Test: hi' -H 'X-Multi: 1' -H 'X-Multi: 2' >"$work/b" 2>"$work/err"
json "$work/b" "j['args']=={'a':['1'],'b':['x y']} and j['headers']['X-Test']==['hi'] \
  and j['headers']['X-Multi']==['1','2'] and j['method']=='GET' and j['url']=='$base/get?a=1&b=x%20y'"
json "$work/b" "j['headers']['User-Agent'][0].startswith('nethttp/') and j['headers']['Accept']==['*/*']"
[ ! -s "$work/err" ] || fail "stderr not empty without a terminal: $(od -c "$work/err" | head -3)"
G 127.0.0.1:$port/get >"$work/b" || fail "URL without a scheme"
json "$work/b" "j['url']=='$base/get'"
G -A 'agent/9' "$base/user-agent" >"$work/b"
json "$work/b" "j=={'user-agent':'agent/9'}"
G -H 'User-Agent:' "$base/headers" >"$work/b" # 'K:' removes K; the client's default then applies
json "$work/b" "j['headers']['User-Agent'][0].startswith('nethttp/')"

# --- --compressed: gzip, br and zstd asked for and decoded (httpbin's /gzip is
# gzip); without it nothing is asked for, as curl
G --compressed -v "$base/headers" >"$work/b" 2>"$work/err"
json "$work/b" "j['headers']['Accept-Encoding']==['gzip, br, zstd']"
grep -qx '> Accept-Encoding: gzip, br, zstd' "$work/err" || fail "--compressed -v: $(cat "$work/err")"
G --compressed "$base/gzip" >"$work/b"
json "$work/b" "j['gzipped'] is True"
G "$base/headers" >"$work/b"
json "$work/b" "'Accept-Encoding' not in j['headers']"

# --- -i: the head (CRLF) then the body
G -i "$base/status/418" >"$work/b"
head -1 "$work/b" | grep -q $'^HTTP/1.1 418 I\'m a teapot\r$' || fail "-i status line: $(head -1 "$work/b")"
grep -q $'^Content-Length: 13\r$' "$work/b" || fail "-i header: $(cat "$work/b")"
[ "$(tail -1 "$work/b")" = "I'm a teapot!" ] || fail "-i body: $(cat "$work/b")"
grep -c $'^\r$' "$work/b" | grep -qx 1 || fail "-i: one blank line between head and body"
# -I: HEAD, the head only
G -I "$base/get" >"$work/b"
head -1 "$work/b" | grep -q '^HTTP/1.1 200 OK' || fail "-I status line"
grep -q '"args"' "$work/b" && fail "-I printed a body"

# --- -v: request head with '> ', response head with '< ' on stderr, body alone on stdout
G -v "$base/get?v=1" -H 'X-V: yes' >"$work/b" 2>"$work/err"
grep -qx '> GET /get?v=1 HTTP/1.1' "$work/err" || fail "-v request line: $(cat "$work/err")"
grep -qx "> Host: 127.0.0.1:$port" "$work/err" || fail "-v Host"
grep -qx '> X-V: yes' "$work/err" || fail "-v request header"
grep -qx '< HTTP/1.1 200 OK' "$work/err" || fail "-v status line: $(cat "$work/err")"
grep -qx '< Content-Type: application/json; charset=utf-8' "$work/err" || fail "-v response header"
json "$work/b" "j['args']=={'v':['1']} and j['headers']['X-V']==['yes']"
# plain http: the connect line before the request head, timings after the response, no TLS lines
grep -qx "\* Connected to 127.0.0.1 (127.0.0.1) port $port" "$work/err" || fail "-v connect line: $(cat "$work/err")"
[ "$(grep -n -m1 '^\* Connected' "$work/err" | cut -d: -f1)" -lt "$(grep -n -m1 '^> GET' "$work/err" | cut -d: -f1)" ] ||
  fail "-v: connect line after the request head"
grep -q '^\* time_total: ' "$work/err" || fail "-v timings: $(cat "$work/err")"
grep -q 'SSL' "$work/err" && fail "-v TLS lines on plain http"

# --- -o: the body to a file, byte for byte (compared with an independent client)
G -o "$work/bytes" "$base/bytes/50000?seed=3" >"$work/out"
[ ! -s "$work/out" ] || fail "-o wrote to stdout"
curl -s --max-time 10 "$base/bytes/50000?seed=3" | cmp -s - "$work/bytes" || fail "-o body differs from curl's"
[ "$(stat -c %s "$work/bytes")" = 50000 ] || fail "-o size"
G -o "$work/chunked" "$base/stream-bytes/30000?seed=4&chunk_size=1000" # chunked body
curl -s --max-time 10 "$base/stream-bytes/30000?seed=4&chunk_size=1000" | cmp -s - "$work/chunked" || fail "-o chunked"

# --- progress bar: drawn on a terminal (a pty from script(1)) for a slow body, erased at the end
if have_or_skip script "the progress bar on a pty"; then
  TERM=xterm timeout 20 script -qec "'$bin' get -o '$work/drip' '$base/drip?duration=1.5&numbytes=3000&delay=0'" \
    /dev/null >"$work/tty" || fail "get on a pty"
  python3 - "$work/tty" <<'PY' || fail "progress bar on a pty: $(od -c "$work/tty" | head -8)"
import sys
t = open(sys.argv[1], "rb").read()
assert b"\r\x1b[K[" in t and b"%" in t and b"ETA" in t and b"KiB" in t, t[:300]
assert t.rstrip(b"\r\n").endswith(b"\r\x1b[K"), t[-40:]  # the bar is erased
PY
  [ "$(tr -d '*' <"$work/drip" | wc -c)" = 0 ] && [ "$(wc -c <"$work/drip")" = 3000 ] || fail "drip body under the bar"
fi

# --- redirects: not followed by default; -L follows; --max-redirs bounds it (curl's 47)
G -i "$base/redirect/3" >"$work/b"
head -1 "$work/b" | grep -q '^HTTP/1.1 302' || fail "redirect followed without -L: $(head -1 "$work/b")"
grep -q $'^Location: /relative-redirect/2\r$' "$work/b" || fail "redirect Location"
G -L "$base/redirect/3" >"$work/b"
json "$work/b" "j['url']=='$base/get'"
G -v -L "$base/redirect/2" >/dev/null 2>"$work/err"
[ "$(grep -c '^\* Following redirect' "$work/err")" = 2 ] || fail "-v -L shows each redirect: $(cat "$work/err")"
rc 47 G -s -L --max-redirs 1 "$base/redirect/3"
G -L --max-redirs 3 "$base/redirect/3" >/dev/null || fail "--max-redirs 3 for 3 redirects"

# --- -f: exit 22 and no body on >= 400; without -f the body and exit 0
rc 22 G -sf "$base/status/404"
G -f "$base/status/418" >"$work/b" 2>"$work/err" || true
[ ! -s "$work/b" ] || fail "-f printed a body"
grep -q '(22)' "$work/err" || fail "-f message: $(cat "$work/err")"
rc 22 G -sf "$base/status/500"
rc 0 G "$base/status/404"

# --- -m: the whole transfer is bounded (exit 28), in about the time asked
t0=$(date +%s%N)
rc 28 G -s -m 0.5 "$base/delay/3"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# Cut (exit 28) before the 3 s delay; the upper bound is a sanity one.
[ "$ms" -ge 450 ] && [ "$ms" -lt 10000 ] || fail "-m 0.5 took $ms ms"
rc 28 G -s -m 500ms "$base/drip?duration=3&numbytes=3" # cuts a body in progress too
G -m 5 "$base/delay/0.2" >/dev/null || fail "-m 5 with a 0.2 s delay"

# --connect-timeout: a listener whose accept queue is full drops new SYNs, so the connect hangs
python3 - "$bin" <<'PY' || fail "--connect-timeout"
import socket, subprocess, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for _ in range(3):  # never accepted: they fill the queue
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.1)
t0 = time.time()
r = subprocess.run([sys.argv[1], "get", "--connect-timeout", "0.5", f"http://127.0.0.1:{port}/"],
                   capture_output=True, text=True, timeout=20)
took = time.time() - t0
assert r.returncode == 28 and 0.45 <= took < 15, (r.returncode, took, r.stderr)
PY

# --- request bodies: -d (no Content-Type guessed), --json, --data-binary @file, -F
G -d 'k=v' -d 'z=1' "$base/post" >"$work/b"
# httpbin shows a body of no declared type as a data: URL of octet-stream
json "$work/b" "j['method']=='POST' and 'Content-Type' not in j['headers'] and j['headers']['Content-Length']==['7'] \
  and j['data']=='data:application/octet-stream;base64,'+__import__('base64').b64encode(b'k=v&z=1').decode()"
G -d 'k=v' -H 'Content-Type: application/x-www-form-urlencoded' "$base/post" >"$work/b"
json "$work/b" "j['form']=={'k':['v']}"
G --json '{"a":[1,2,{"b":null}]}' "$base/post" >"$work/b"
json "$work/b" "j['json']=={'a':[1,2,{'b':None}]} and j['headers']['Content-Type']==['application/json'] \
  and j['headers']['Accept']==['application/json']"
G -X PUT --json '{"x":1}' "$base/put" >"$work/b"
json "$work/b" "j['method']=='PUT' and j['json']=={'x':1}"
printf '\x00\x01\xff\n' >"$work/bin"
G --data-binary @"$work/bin" -H 'Content-Type: application/x-thing' "$base/post" >"$work/b"
json "$work/b" "j['data']=='data:application/x-thing;base64,AAH_Cg=='"
printf 'a=1\nb=2\n' >"$work/form.txt"
G -d @"$work/form.txt" "$base/post" >"$work/b" # -d @file drops newlines, as curl
json "$work/b" "j['data'].endswith(__import__('base64').b64encode(b'a=1b=2').decode())"
printf 'file body\n' >"$work/up.txt"
G -F 'field=value' -F "upload=@$work/up.txt" "$base/post" >"$work/b"
json "$work/b" "j['form']=={'field':['value']} and j['files']=={'upload':['file body\n']} \
  and j['headers']['Content-Type'][0].startswith('multipart/form-data; boundary=')"
G -X DELETE "$base/delete" >"$work/b"
json "$work/b" "j['method']=='DELETE'"
rc 26 G -s --data-binary @"$work/no-such-file" "$base/post"

# --- connection refused: exit 7 (a port just freed by a closed listener)
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
G "http://127.0.0.1:$dead/" 2>"$work/err" && fail "refused connection exit 0"
rc 7 G "http://127.0.0.1:$dead/"
grep -q '(7)' "$work/err" || fail "refused message: $(cat "$work/err")"
rc 7 G -s "http://127.0.0.1:$dead/"

# --- usage errors and unsupported schemes
rc 2 G
rc 2 G --bogus "$base/get"
rc 2 G -m abc "$base/get"
rc 1 G -s "ftp://127.0.0.1:$port/"
rc 35 G -s "https://127.0.0.1:$port/" # TLS to a plain HTTP server: the handshake fails
"$bin" get --help | grep -q -- '--max-time' || fail "--help"

kill -TERM "$pid"
wait "$pid" || fail "server exit status $?"
pid=
if grep -q -e 'Sanitizer' -e 'runtime error' "$work/log"; then fail "sanitizer report in the server"; fi

# --- https against httpbin serving a certificate made here by openssl
if ! command -v openssl >/dev/null; then
  echo "openssl not installed: https part skipped"
  exit 77
fi
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=nethttp get test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$tls/leaf.key" -out "$tls/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
openssl x509 -req -in "$tls/leaf.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 2 -extfile "$tls/ext" -out "$tls/leaf.pem" 2>/dev/null
start_httpbin "$bin" --threads 1 --max-duration 5s --tls-cert "$tls/leaf.pem" --tls-key "$tls/leaf.key"
sbase="https://127.0.0.1:$port"

# Trusted through --cacert: the body, byte for byte as curl sees it
G --cacert "$tls/ca.pem" "$sbase/get?s=1" >"$work/b" 2>"$work/err" || fail "https with --cacert: $(cat "$work/err")"
json "$work/b" "j['args']=={'s':['1']} and j['method']=='GET'"
if command -v curl >/dev/null; then
  G --cacert "$tls/ca.pem" -o "$work/sbytes" "$sbase/bytes/40000?seed=5"
  curl -s --max-time 10 --cacert "$tls/ca.pem" "$sbase/bytes/40000?seed=5" | cmp -s - "$work/sbytes" ||
    fail "https body differs from curl's"
fi
G --cacert "$tls/ca.pem" -d 'x=1' "https://localhost:$port/post" >"$work/b" # by name: SNI and the name checked
json "$work/b" "j['headers']['Host']==['localhost:$port'] and j['method']=='POST'"
# Not trusted without it (curl's 60, with the reason), -k skips the check
rc 60 G -s "$sbase/get"
G "$sbase/get" 2>"$work/err" >/dev/null || true
grep -q '(60).*not trusted.*--cacert' "$work/err" || fail "untrusted message: $(cat "$work/err")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=another CA" -keyout "$tls/other.key" -out "$tls/other.pem" 2>/dev/null
rc 60 G -s --cacert "$tls/other.pem" "$sbase/get"
rc 77 G -s --cacert "$tls/no-such.pem" "$sbase/get"
G -k "$sbase/get" >"$work/b" || fail "-k"
json "$work/b" "j['method']=='GET'"
G -sk -f "$sbase/status/500" && fail "-skf on 500"

# -v: connection, TLS session (h2 by ALPN), certificate, heads in curl's order, and timings
G -v --cacert "$tls/ca.pem" "$sbase/get?v=2" >"$work/b" 2>"$work/err"
python3 - "$work/err" "$port" <<'PY' || fail "-v over https: $(cat "$work/err")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
port = sys.argv[2]
def at(pattern):
    for i, l in enumerate(lines):
        if re.fullmatch(pattern, l):
            return i
    raise AssertionError("no line " + pattern)
order = [at(r"\* Connected to 127\.0\.0\.1 \(127\.0\.0\.1\) port " + port),
         at(r"\* SSL connection using TLSv1\.[23] / [A-Z0-9_-]+"),
         at(r"\* ALPN: server accepted h2"),
         at(r"\*  subject: CN=localhost"),
         at(r"\*  issuer: CN=nethttp get test CA"),
         at(r"\*  SSL certificate verify ok\."),
         at(r"> GET /get\?v=2 HTTP/2"),
         at(r"< HTTP/2\.0 200 OK"),
         at(r"\* time_total: +[0-9.]+s")]
assert order == sorted(order), order
t = {m.group(1): float(m.group(2)) for m in (re.fullmatch(r"\* time_(\w+): +([0-9.]+)s.*", l) for l in lines) if m}
assert 0 < t["connect"] <= t["appconnect"] <= t["requestsent"] <= t["total"], t
assert t["appconnect"] <= t["starttransfer"] <= t["total"], t
PY
json "$work/b" "j['args']=={'v':['2']}"
G -vk "$sbase/get" 2>"$work/err" >/dev/null
grep -q '^\*  SSL certificate not verified' "$work/err" || fail "-vk: $(cat "$work/err")"
kill -TERM "$pid"
wait "$pid" || fail "https server exit status $?"
pid=
if grep -q -e 'Sanitizer' -e 'runtime error' "$work/log"; then fail "sanitizer report in the https server"; fi
finish_or_skip
echo "1 passed, 0 failed"
