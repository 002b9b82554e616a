#!/usr/bin/env bash
# --debug-addr on `nethttp serve` and `nethttp httpbin`, driven by curl:
# the debug pages answer on the private listener (TCP loopback or a Unix
# socket) and never on the public one; a non-loopback --debug-addr is
# refused at start unless --debug-allow-remote; the debug listener goes
# away with the public server on SIGTERM. Usage: test_debug_addr.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
cli_test_setup
mkdir -p "$work/www"
printf 'hello\n' > "$work/www/a.txt"

# debug_port LOG: the port of the "debug pages" log line (waits like serving_port).
debug_port() {
  for _ in $(seq 400); do grep -q '"msg":"debug pages"' "$1" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*"msg":"debug pages","addr":"[^"]*:\([0-9]*\)".*/\1/p' "$1" | head -1
}

# stop: SIGTERM, then the process must exit 0 by itself.
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "exit status $? after SIGTERM"
  pid=
}

# 1. serve: public 404 for /debug/, debug listener 200 for fibers and vars.
"$bin" serve "$work/www" --addr 127.0.0.1:0 --debug-addr 127.0.0.1:0 --log-format json \
  --shutdown-timeout 5s >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
dport=$(debug_port "$work/log")
[ -n "$port" ] && [ -n "$dport" ] || fail "server or debug listener did not start"
[ "$port" != "$dport" ] || fail "one port for both"
[ "$(code "http://127.0.0.1:$port/a.txt")" = 200 ] || fail "public file"
[ "$(code "http://127.0.0.1:$port/debug/fibers")" = 404 ] || fail "public /debug/fibers not 404"
[ "$(code "http://127.0.0.1:$port/debug/vars")" = 404 ] || fail "public /debug/vars not 404"
[ "$(code "http://127.0.0.1:$dport/debug/fibers")" = 200 ] || fail "debug /debug/fibers"
C "http://127.0.0.1:$dport/debug/fibers" | head -1 | grep -q '^fiber profile: total [0-9]' || fail "fibers text"
C "http://127.0.0.1:$dport/debug/fibers?debug=2&format=json" > "$work/f.json"
json "$work/f.json" 'j["total"] == len(j["fibers"]) and any(f["label"] == "accept" for f in j["fibers"])'
C "http://127.0.0.1:$dport/debug/vars" > "$work/v.json"
# The public server's request counter: the three requests above to it.
json "$work/v.json" 'j["servers"][0]["requests"] == 3 and j["cmdline"][1] == "serve"'
[ "$(code "http://127.0.0.1:$dport/a.txt")" = 404 ] || fail "debug listener serves files"
stop
# Shut down with the public server: the debug port no longer answers.
[ "$(code "http://127.0.0.1:$dport/debug/vars" || true)" = 000 ] || fail "debug port still open"

# 2. httpbin with the debug pages on a Unix socket (a bare path).
sock="$work/debug.sock"
"$bin" httpbin --addr 127.0.0.1:0 --debug-addr "$sock" --log-format json >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "httpbin did not start"
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ "$(code "http://127.0.0.1:$port/get")" = 200 ] || fail "httpbin /get"
[ "$(code "http://127.0.0.1:$port/debug/fibers")" = 404 ] || fail "httpbin public /debug/fibers not 404"
[ "$(code --unix-socket "$sock" "http://x/debug/fibers")" = 200 ] || fail "unix /debug/fibers"
C --unix-socket "$sock" "http://x/debug/vars" > "$work/v.json"
json "$work/v.json" 'j["servers"][0]["requests"] == 2 and j["cmdline"][1] == "httpbin"'
stop

# 3. A non-loopback debug address is refused at start, with the reason.
for bad in 0.0.0.0:0 :0 "[::]:0"; do
  set +e
  "$bin" serve "$work/www" --addr 127.0.0.1:0 --debug-addr "$bad" --log-format json >"$work/log" 2>&1 &
  pid=$!
  wait "$pid"
  rc=$?
  set -e
  pid=
  [ "$rc" != 0 ] || fail "--debug-addr $bad accepted"
  grep -q "not a loopback address or a Unix socket" "$work/log" || fail "no reason for $bad"
  ! grep -q '"msg":"serving"' "$work/log" || fail "public server started with a refused debug address"
done
set +e
"$bin" httpbin --addr 127.0.0.1:0 --debug-addr 0.0.0.0:0 >"$work/log" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] && grep -q "not a loopback" "$work/log" || fail "httpbin accepted a public debug address"

# 4. ...and served there when explicitly allowed.
"$bin" serve "$work/www" --addr 127.0.0.1:0 --debug-addr 0.0.0.0:0 --debug-allow-remote \
  --log-format json >"$work/log" 2>&1 &
pid=$!
dport=$(debug_port "$work/log")
[ -n "$dport" ] || fail "allowed debug listener did not start"
[ "$(code "http://127.0.0.1:$dport/debug/vars")" = 200 ] || fail "allowed debug listener"
stop
echo PASS
