#!/usr/bin/env bash
# Restart without loss: under steady load (nethttp load, keep-alive on and
# off), SIGUSR2 hands the listening socket to a new process twice in a row
# (three processes): no request fails, each old process exits (without
# the drain delay SIGTERM would wait), the newest serves, and a SIGUSR2
# during a handover is ignored. Then a handover whose
# new process cannot start (its TLS key is gone) leaves the old one serving.
# Usage: test_handover.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
need openssl
work=$(mktemp -d)
pids=() # every process started here, killed by pid at exit
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log (tail):"; tail -30 "$work/log" || true; exit 1; }

# gone PID: the process has exited (a zombie left to an init that does not
# reap counts as exited).
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
wait_gone() { for _ in $(seq 600); do gone "$1" && return 0; sleep 0.05; done; fail "pid $1 did not exit"; }
# wait_log PATTERN [N]: until the log has N (default 1) lines matching.
wait_log() {
  for _ in $(seq 600); do [ "$(grep -c -- "$1" "$work/log" || true)" -ge "${2:-1}" ] && return 0; sleep 0.05; done
  fail "no log line $1 (x${2:-1})"
}
# The pids that logged "serving", in order.
serving_pids() { sed -n 's/.*"msg":"serving",.*"pid":\([0-9]*\).*/\1/p' "$work/log"; }

# --- three processes in a row under load
"$bin" httpbin --addr 127.0.0.1:0 --threads 2 --log-format json --shutdown-timeout 30s \
  --drain-delay 20s >"$work/log" 2>&1 &
p1=$!
pids+=("$p1")
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "server did not start"
base="http://127.0.0.1:$port"
[ "$(code "$base/get")" = 200 ] || fail "first process does not serve"

L() { timeout 60 "$bin" load --threads 1 --json -z 10s "$@" "$base/get"; }
L -c 4 -q 300 >"$work/keepalive.json" 2>"$work/keepalive.err" &
pids+=($!)
l1=$!
L -c 2 -q 100 --disable-keepalive >"$work/fresh.json" 2>"$work/fresh.err" &
pids+=($!)
l2=$!
sleep 2

# First handover, with a request in flight (the old process drains it, so
# it is still there for the second SIGUSR2, which it ignores: its new
# process is either starting or serving already).
curl -s --max-time 30 -o /dev/null -w '%{http_code}' "$base/delay/3" >"$work/delayed" &
pids+=($!)
cd_pid=$!
sleep 0.5
kill -USR2 "$p1"
wait_log '"msg":"handover: started a new process'
kill -USR2 "$p1" || fail "the old process left before the second SIGUSR2"
wait_log '"msg":"handover: the new process serves'
p2=$(serving_pids | sed -n 2p)
[ -n "$p2" ] && [ "$p2" != "$p1" ] || fail "no second process"
pids+=("$p2")
wait_log '"msg":"SIGUSR2 ignored'
wait "$cd_pid" || true
[ "$(cat "$work/delayed")" = 200 ] || fail "the request in flight during the handover got $(cat "$work/delayed")"
wait_gone "$p1"
wait "$p1" || fail "the first process exited with status $?"
sleep 2

# Second handover: from the new process to a third.
kill -USR2 "$p2"
wait_log '"msg":"handover: the new process serves' 2
p3=$(serving_pids | sed -n 3p)
[ -n "$p3" ] && [ "$p3" != "$p2" ] || fail "no third process"
pids+=("$p3")
wait_gone "$p2"

wait "$l1" || fail "load (keep-alive) failed: $(cat "$work/keepalive.err")"
wait "$l2" || fail "load (no keep-alive) failed: $(cat "$work/fresh.err")"
for r in keepalive fresh; do
  json "$work/$r.json" "j['errors'] == 0 and j['responses'] > 100 and j['status'] == {'200': j['responses']}"
done
# The old processes closed their keep-alive connections: the 4 callers
# went on, without an error, on new ones (to the new processes).
json "$work/keepalive.json" "j['connections_opened'] >= 8"
# Exactly three processes served: the ignored SIGUSR2 started none.
[ "$(serving_pids | sort -u | wc -l)" = 3 ] || fail "want 3 serving processes, got: $(serving_pids | tr '\n' ' ')"
[ "$(grep -c '"msg":"handover: started a new process' "$work/log")" = 2 ] || fail "want 2 handovers started"
# The newest serves on the same port; the old ones are gone.
[ "$(code "$base/get")" = 200 ] || fail "the third process does not serve"
gone "$p1" && gone "$p2" || fail "an old process is still there"
# A handover skips the drain delay (the sockets stay open); SIGTERM keeps it.
! grep -q '"msg":"draining"' "$work/log" || fail "a handover waited for the drain delay"
kill -TERM "$p3"
wait_log '"msg":"draining"'
kill -TERM "$p3" # a second signal: now
wait_gone "$p3"

# --- a new process that cannot start: the old one goes on serving
d="$work/tls"
mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
mv "$work/log" "$work/log.1" # the first part's, kept for a look
"$bin" serve "$work" --addr 127.0.0.1:0 --log-format json --tls-cert "$d/cert.pem" \
  --tls-key "$d/key.pem" >"$work/log" 2>&1 &
p4=$!
pids+=("$p4")
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "TLS server did not start"
echo hello >"$work/hello.txt"
[ "$(curl -sk --max-time 10 "https://127.0.0.1:$port/hello.txt")" = hello ] || fail "TLS server does not serve"
rm "$d/key.pem"
kill -USR2 "$p4"
wait_log '"msg":"handover failed; still serving"'
grep -q '"reason":"the new process ended before it served".*"ended":"exit status 1"' "$work/log" \
  || fail "the failed handover does not say why"
[ "$(curl -sk --max-time 10 "https://127.0.0.1:$port/hello.txt")" = hello ] || fail "the old process stopped serving"
kill -0 "$p4" || fail "the old process is gone"
# and it can still hand over once the key is back
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
kill -USR2 "$p4"
wait_log '"msg":"handover: the new process serves'
p5=$(serving_pids | sed -n 2p)
pids+=("$p5")
wait_gone "$p4"
[ "$(curl -sk --max-time 10 "https://127.0.0.1:$port/hello.txt")" = hello ] || fail "the new TLS process does not serve"
kill -TERM "$p5"
wait_gone "$p5"
echo "ok"
