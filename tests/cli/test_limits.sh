#!/usr/bin/env bash
# Running behind a load balancer, end to end with curl: --max-conns-per-ip
# closes a connection over the limit unanswered and serves again once one
# closes; --ready-path answers 200 and then 503 from SIGTERM on, while
# --live-path stays 200 and requests (new and on kept connections) are
# served for --drain-delay; then the server closes its listeners and exits
# by itself. nethttp serve takes the same probe flags.
# Usage: test_limits.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need curl
bin=$1
cli_test_setup

# A write to a connection the server closed fails (EPIPE), not kills the test.
trap '' PIPE
# hold FD: a kept connection on descriptor FD with one request answered.
# The server may still count a connection curl closed a moment ago (it
# sees the close soon after) and close this one unanswered: try again.
hold() {
  local line
  for _ in $(seq 100); do
    eval "exec $1<>/dev/tcp/127.0.0.1/$port"
    if printf 'GET /get HTTP/1.1\r\nHost: x\r\n\r\n' >&"$1" 2>/dev/null &&
      read -t 10 -r line <&"$1"; then
      case $line in "HTTP/1.1 200"*) return 0 ;; *) fail "kept connection $1: $line" ;; esac
    fi
    eval "exec $1<&-"
    sleep 0.1
  done
  fail "no answer on kept connection $1"
}
# again FD: one more request on a kept connection, answered 200.
again() {
  printf 'GET /get HTTP/1.1\r\nHost: x\r\n\r\n' >&"$1"
  local line
  while read -t 10 -r line <&"$1"; do # skip the previous response's rest
    case $line in "HTTP/1.1 200"*) return 0 ;; "HTTP/1.1 "*) fail "kept connection $1: $line" ;; esac
  done
  fail "no answer on kept connection $1 during the drain"
}

start_httpbin "$bin" --threads 2 --max-conns-per-ip 2 --ready-path /readyz --live-path /livez \
  --drain-delay 10s --shutdown-timeout 60s

st 200 /readyz
grep -qx 'ready' "$work/b" || fail "readiness body $(cat "$work/b")"
hdr "$work/h" 'Cache-Control: no-store'
[ "$(code -I "$base/readyz")" = 200 ] || fail "HEAD readiness"
st 200 /livez
st 200 /get

# Two kept connections from 127.0.0.1: a third is closed unanswered.
hold 3
hold 4
set +e
out=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$base/get"); rc=$?
set -e
[ "$out" = 000 ] && [ "$rc" != 0 ] || fail "third connection: status $out, curl exit $rc (want a closed connection)"
# Once one of them closes (the server sees it soon after), one more is served.
exec 3<&-
ok=
for _ in $(seq 100); do
  [ "$(code "$base/get")" = 200 ] && { ok=1; break; }
  sleep 0.1
done
[ -n "$ok" ] || fail "no connection served after one of the two closed"

# SIGTERM: readiness turns 503, the rest is served during the delay.
kill -TERM "$pid"
got=
for _ in $(seq 100); do
  got=$(code "$base/readyz") || true
  [ "$got" = 503 ] && break
  sleep 0.05
done
[ "$got" = 503 ] || fail "readiness $got after SIGTERM, want 503"
st 503 /readyz
grep -qx 'draining' "$work/b" || fail "readiness body while draining: $(cat "$work/b")"
st 200 /livez
st 200 /get
again 4
grep -q '"msg":"draining"' "$work/log" || fail "no draining log line"
grep -q '"msg":"shut down cleanly"' "$work/log" && fail "shut down before the drain delay ended"
# Then the listeners close and the process ends by itself.
exec 4<&-
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "still running 60 s after SIGTERM"
wait "$pid" || fail "exit status $?"
pid=
grep -q '"msg":"shut down cleanly"' "$work/log" || fail "no clean shutdown"

# nethttp serve: the same probes in front of the file server.
mkdir -p "$work/www"
echo hi >"$work/www/a.txt"
"$bin" serve "$work/www" --addr 127.0.0.1:0 --threads 1 --log-format json \
  --ready-path /readyz --live-path /livez >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "serve did not start"
base="http://127.0.0.1:$port"
st 200 /readyz
st 200 /livez
st 200 /a.txt
st 404 /readyz/
kill -TERM "$pid"
wait "$pid" || fail "serve exit status $?"
pid=
"$bin" serve "$work/www" --ready-path readyz >/dev/null 2>&1 && fail "a path without / was taken"
echo PASS
