#!/usr/bin/env bash
# nethttp load (the hey-like load generator) against nethttp httpbin on
# loopback: counts checked against the server's own access log, keep-alive
# (connections opened <= callers), monotonic percentiles, a -z run that
# stops by itself, status and error tallies, per-request timeouts, Ctrl-C.
# Usage: test_load.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
cli_test_setup
LOG_TAIL=3

start_httpbin "$bin" --threads 2 --max-duration 5s

L() { timeout 40 "$bin" load --threads 2 --json "$@"; }
# The shape every report has: percentiles in order, the histogram adding up.
sane() {
  json "$1" "(lambda l: l['min'] <= l['p50'] <= l['p90'] <= l['p99'] <= l['p99.9'] <= l['max'] \
    and l['min'] <= l['mean'] <= l['max'])(j['latency_ms'])"
  json "$1" "sum(b['count'] for b in j['histogram']) == j['responses'] \
    and [b['le_ms'] for b in j['histogram']] == sorted(b['le_ms'] for b in j['histogram']) \
    and j['requests'] == j['responses'] + j['errors'] \
    and sum(j['status'].values()) == j['responses'] and sum(j['errors_by_kind'].values()) == j['errors']"
}
logged() { grep -c "\"method\":\"$1\",\"path\":\"$2\"" "$work/log" || true; }

# --- 2000 requests from 8 callers: all 200, kept alive, the server saw exactly 2000
L -n 2000 -c 8 "$base/get" >"$work/r"
sane "$work/r"
json "$work/r" "j['requests']==2000 and j['responses']==2000 and j['errors']==0 and j['status']=={'200':2000}"
json "$work/r" "j['concurrency']==8 and j['loops']==2 and j['interrupted'] is False and j['bytes'] > 2000*100"
json "$work/r" "1 <= j['connections_opened'] <= 8" # keep-alive: one connection per caller at most
json "$work/r" "j['total_seconds'] > 0 and abs(j['requests_per_second'] - 2000 / j['total_seconds']) < 1"
[ "$(logged GET /get)" = 2000 ] || fail "server logged $(logged GET /get) GET /get, want 2000"
# hey's details: each phase's mean between its fastest and slowest; the phases of a
# response add up to no more than its whole time; the lookup is part of getting a connection
phases() {
  json "$1" "all(set(j['details_ms'][k]) == {'mean','min','max'} and \
    0 <= j['details_ms'][k]['min'] <= j['details_ms'][k]['mean'] <= j['details_ms'][k]['max'] \
    for k in ('dns_dialup','dns_lookup','req_write','resp_wait','resp_read'))"
  json "$1" "(lambda d: d['dns_dialup']['mean'] + d['req_write']['mean'] + d['resp_wait']['mean'] \
    + d['resp_read']['mean'] <= j['latency_ms']['mean'] * 1.01 + 0.01 and d['resp_wait']['mean'] > 0 \
    and d['dns_lookup']['max'] <= d['dns_dialup']['max'])(j['details_ms'])"
}
phases "$work/r"
# Keep-alive: most requests reuse a connection, so the fastest DNS+dialup is far below the
# slowest (a dial); a new connection each time makes every request pay a dial.
json "$work/r" "j['details_ms']['dns_dialup']['min'] * 10 < j['details_ms']['dns_dialup']['max']"
L -n 40 -c 2 --disable-keepalive "$base/get" >"$work/r"
phases "$work/r"
json "$work/r" "j['connections_opened'] == 40 and j['details_ms']['dns_dialup']['min'] > 0"

# --- -z: a timed run stops by itself, and takes the time asked
t0=$(date +%s%N)
L -z 1s -c 4 "$base/get" >"$work/r"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 950 ] && [ "$ms" -lt 5000 ] || fail "-z 1s ran for $ms ms"
sane "$work/r"
json "$work/r" "j['responses'] > 0 and j['errors']==0 and 0.9 <= j['total_seconds'] < 5"

# --- status codes are counted, not mistaken for errors
L -n 300 -c 6 "$base/status/500" >"$work/r"
sane "$work/r"
json "$work/r" "j['status']=={'500':300} and j['errors']==0 and j['responses']==300"
L -n 200 -c 4 "$base/status/200,404" >"$work/r" # httpbin picks one at random
json "$work/r" "set(j['status'])=={'200','404'} and sum(j['status'].values())==200"

# --- method, headers and body reach the server
L -n 40 -c 4 -m POST -H 'X-Load: 1' -T application/json -d '{"k":"v"}' "$base/post" >"$work/r"
json "$work/r" "j['status']=={'200':40}"
[ "$(logged POST /post)" = 40 ] || fail "server logged $(logged POST /post) POST /post, want 40"
curl -s --max-time 5 -o /dev/null "$base/get" # the server is still healthy

# --- errors by kind: refused connections; per-request timeouts (-t)
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
L -n 50 -c 5 "http://127.0.0.1:$dead/" >"$work/r"
sane "$work/r"
json "$work/r" "j['errors']==50 and j['responses']==0 and j['errors_by_kind']=={'ECONNREFUSED':50}"
t0=$(date +%s%N)
L -n 4 -c 4 -t 300ms "$base/delay/3" >"$work/r"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
json "$work/r" "j['errors_by_kind']=={'ETIMEDOUT':4} and j['responses']==0"
# Timed out, not answered at the 3 s delay (ETIMEDOUT above); the bound is a sanity one.
[ "$ms" -lt 10000 ] || fail "-t 300ms took $ms ms"

# --- Ctrl-C: stops early with the results so far, exit 130
timeout 40 "$bin" load --threads 2 --json -z 30s -c 4 "$base/get" >"$work/r" &
lpid=$!
before=$(logged GET /get) # interrupt once requests flow (the handler is installed by then)
for _ in $(seq 200); do [ "$(logged GET /get)" -gt "$((before + 50))" ] && break; sleep 0.05; done
kill -INT "$lpid"
code=0
wait "$lpid" || code=$?
[ "$code" = 130 ] || fail "SIGINT: exit $code, want 130"
sane "$work/r"
json "$work/r" "j['interrupted'] is True and j['responses'] > 0 and j['total_seconds'] < 10"

# --- the text report
timeout 40 "$bin" load --threads 1 -n 100 -c 2 "$base/get" >"$work/t" 2>"$work/err"
for want in 'Requests/sec:' 'Response time histogram:' 'Latency distribution:' 'p99.9' \
  '\[200\] 100 responses' 'Requests:     100 (100 responses, 0 errors)' \
  'Details (average, fastest, slowest):' '  DNS+dialup  [0-9.]* secs, [0-9.]* secs, [0-9.]* secs' \
  '  DNS-lookup  ' '  req write   ' '  resp wait   ' '  resp read   '; do
  grep -q "$want" "$work/t" || fail "text report lacks $want: $(cat "$work/t")"
done
[ ! -s "$work/err" ] || fail "stderr not empty without a terminal: $(od -c "$work/err" | head -3)"

# --- the live line: on a terminal (a pty from script(1)) only, erased before the report
if have_or_skip script "the live line on a pty"; then
  TERM=xterm timeout 20 script -qec "'$bin' load --threads 1 -z 0.8s -c 2 '$base/get'" /dev/null >"$work/tty" \
    || fail "load on a pty"
  python3 - "$work/tty" <<'PY' || fail "live line on a pty: $(od -c "$work/tty" | head -8)"
import re, sys
t = open(sys.argv[1], "rb").read()
assert re.search(rb"\r\x1b\[K0\.[0-9]s  [0-9]+ requests  [0-9]+ req/s", t), t[:300]
assert b"\r\x1b[K\r\nSummary:" in t or b"\r\x1b[K\nSummary:" in t, t[:600]
# -z: the time left, counting down to the end of the run
left = [float(x) for x in re.findall(rb"req/s  ([0-9.]+)s left \([0-9]+%\)", t)]
assert left and left == sorted(left, reverse=True) and all(0 <= x <= 0.8 for x in left), left
PY
  TERM=xterm timeout 20 script -qec "'$bin' load --threads 1 -n 100 -c 2 '$base/get'" /dev/null >"$work/tty" \
    || fail "load -n on a pty"
  grep -q "left" "$work/tty" && fail "time left shown without -z: $(od -c "$work/tty" | head -4)"
fi

# --- https: trusted through --cacert (hey's details include the handshake), refused without
if command -v openssl >/dev/null; then
  tls=$work/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=nethttp load test CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tls/leaf.key" -out "$tls/leaf.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$tls/ext"
  openssl x509 -req -in "$tls/leaf.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$tls/ext" -out "$tls/leaf.pem" 2>/dev/null
  "$bin" httpbin --addr 127.0.0.1:0 --log-format json --threads 1 \
    --tls-cert "$tls/leaf.pem" --tls-key "$tls/leaf.key" >"$work/tlslog" 2>&1 &
  tpid=$!
  sport=$(serving_port "$work/tlslog")
  [ -n "$sport" ] || { kill -KILL "$tpid"; fail "https server did not start"; }
  L -n 60 -c 3 --cacert "$tls/ca.pem" "https://127.0.0.1:$sport/get" >"$work/r" || true
  L -n 6 -c 3 "https://127.0.0.1:$sport/get" >"$work/r2" || true
  L -n 6 -c 3 -k "https://127.0.0.1:$sport/get" >"$work/r3" || true
  kill -TERM "$tpid"
  wait "$tpid" || fail "https server exit status $?"
  sane "$work/r"
  phases "$work/r"
  json "$work/r" "j['status']=={'200':60} and j['errors']==0 and 1 <= j['connections_opened'] <= 3"
  json "$work/r2" "j['errors_by_kind']=={'ECERT':6} and j['responses']==0"
  json "$work/r3" "j['status']=={'200':6}"
else
  echo "openssl not installed: https part skipped"
  skipped=1
fi

# --- usage
code=0; "$bin" load 2>/dev/null || code=$?; [ "$code" = 2 ] || fail "no URL: exit $code"
code=0; "$bin" load -c 0 "$base/" 2>/dev/null || code=$?; [ "$code" = 2 ] || fail "-c 0: exit $code"
code=0; "$bin" load -z abc "$base/" 2>/dev/null || code=$?; [ "$code" = 2 ] || fail "-z abc: exit $code"
"$bin" load --help | grep -q -- '--threads' || fail "--help"

kill -TERM "$pid"
wait "$pid" || fail "server exit status $?"
pid=
if grep -q -e 'Sanitizer' -e 'runtime error' "$work/log"; then fail "sanitizer report in the server"; fi
[ -z "${skipped:-}" ] || exit 77
finish_or_skip
echo "1 passed, 0 failed"
