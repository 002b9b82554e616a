#!/usr/bin/env bash
# Log formats of nethttp serve and nethttp httpbin: JSON when stderr is a
# file or a pipe (the default, --log-format auto), text on a terminal (a pty
# from script(1); that part is skipped, exit 77, without script), and
# either by flag. JSON durations are numbers (duration_ms); a taken port is
# logged with its address and the error, exit status 1.
# Usage: test_log_format.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
cli_test_setup
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/www"
printf 'hello\n' >"$work/www/a.txt"

# get PORT PATH: one request over bash's /dev/tcp (no peer tool needed).
get() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$2" >&3
  timeout 10 cat <&3 >/dev/null
  exec 3<&-
}
# wait_for FILE TEXT: up to 5 s for TEXT to appear in FILE.
wait_for() {
  for _ in $(seq 100); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# --- stderr to a file, no flag: every line is JSON; the access line's
# duration is a number of milliseconds.
"$bin" serve "$work/www" --addr 127.0.0.1:0 --threads 1 2>"$work/log" &
pid=$!; pids+=("$pid")
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "serve did not start (or did not log JSON to a file)"
get "$port" /a.txt
wait_for "$work/log" '"path":"/a.txt"' || fail "no access line"
kill -TERM "$pid"; wait "$pid" || fail "serve exit status $?"
python3 - "$work/log" <<'PY' || fail "JSON log"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]  # every line parses
acc = [l for l in lines if l.get("path") == "/a.txt"]
assert acc, lines
a = acc[0]
assert isinstance(a["duration_ms"], (int, float)) and not isinstance(a["duration_ms"], bool), a
assert a["duration_ms"] >= 0 and "duration" not in a, a
assert a["status"] == 200, a
PY

# --- a taken port: the address and the error in the log, exit status 1.
"$bin" serve "$work/www" --addr 127.0.0.1:0 --threads 1 2>"$work/log" &
pid=$!; pids+=("$pid")
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "serve did not start"
set +e
"$bin" serve "$work/www" --addr "127.0.0.1:$port" --threads 1 2>"$work/taken"
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit status $rc on a taken port"
python3 - "$work/taken" "127.0.0.1:$port" <<'PY' || fail "taken port log: $(cat "$work/taken")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert any(l["msg"] == "cannot listen" and l["addr"] == sys.argv[2]
           and l["error"] == "address already in use" and l["level"] == "ERROR" for l in lines), lines
PY
kill -TERM "$pid"; wait "$pid" || fail "serve exit status $?"

# --- --log-format text to a file: text.
"$bin" serve "$work/www" --addr 127.0.0.1:0 --threads 1 --log-format text 2>"$work/log" &
pid=$!; pids+=("$pid")
wait_for "$work/log" " INFO serving addr=127.0.0.1:" || fail "no text serving line"
port=$(sed -n 's/.* INFO serving addr=127.0.0.1:\([0-9]*\).*/\1/p' "$work/log" | head -1)
get "$port" /a.txt
wait_for "$work/log" "path=/a.txt" || fail "no text access line"
grep -E 'INFO request .*status=200 .*duration=[0-9.]+[^ ]*s ' "$work/log" >/dev/null \
  || fail "text access line"
kill -TERM "$pid"; wait "$pid" || fail "serve exit status $?"

# --- httpbin: JSON to a file by default too.
"$bin" httpbin --addr 127.0.0.1:0 --threads 1 2>"$work/log" &
pid=$!; pids+=("$pid")
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "httpbin did not log JSON to a file"
kill -TERM "$pid"; wait "$pid" || fail "httpbin exit status $?"

# --- on a terminal: text by default, JSON by flag.
if ! command -v script >/dev/null; then
  echo "SKIP: script(1) missing: text on a terminal not checked"
  exit 77
fi
for mode in auto json; do
  flag=()
  [ "$mode" = json ] && flag=(--log-format json)
  : >"$work/tty"
  TERM=xterm script -qfec "echo \$\$ >'$work/srv.pid'; exec '$bin' httpbin --addr 127.0.0.1:0 --threads 1 ${flag[*]}" \
    /dev/null >"$work/tty" 2>&1 &
  spid=$!; pids+=("$spid")
  wait_for "$work/tty" "serving" || fail "no serving line on a pty: $(cat "$work/tty")"
  srv=$(cat "$work/srv.pid"); pids+=("$srv")
  if [ "$mode" = auto ]; then
    grep -qE '^[0-9TZ:.-]+ INFO serving addr=127\.0\.0\.1:[0-9]+' <(tr -d '\r' <"$work/tty") \
      || fail "not text on a terminal: $(cat "$work/tty")"
  else
    grep -qF '"msg":"serving"' "$work/tty" || fail "--log-format json ignored on a terminal"
  fi
  kill -TERM "$srv"
  wait "$spid" || true
done
echo "1 passed, 0 failed"
