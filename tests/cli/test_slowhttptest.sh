#!/usr/bin/env bash
# slowhttptest (Debian's, a real attacker) against `nethttp serve` held to
# 256 descriptors: slow headers, slow body and slow read, each with 512
# connections (twice the limit), while curl keeps sending normal requests.
# Every normal request must succeed. Usage: test_slowhttptest.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need slowhttptest "slowhttptest (the bench group)"
need curl
work=$(mktemp -d)
pid=
attack=
cleanup() {
  [ -n "$attack" ] && kill -KILL "$attack" 2>/dev/null || true
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null || true
printf 'probe ok\n' > "$work/probe.txt"
head -c 1048576 /dev/zero > "$work/big.bin" # what the attackers ask for
# The server gets 256 descriptors; the attacker twice as many connections.
bash -c "ulimit -n 256; exec '$bin' serve '$work' --addr 127.0.0.1:0 --log-format json \
  --log-level info --read-header-timeout 2s --read-timeout 3s --write-timeout 3s" \
  >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || { echo "server did not start"; cat "$work/log"; exit 1; }
url="http://127.0.0.1:$port/probe.txt"
target="http://127.0.0.1:$port/big.bin"

total_fail=0
for mode in H B X; do
  extra=""
  [ "$mode" = X ] && extra="-k 3 -w 512 -y 1024 -n 3 -z 32"
  slowhttptest -$mode -c 512 -r 256 -i 1 -l 10 -u "$target" -p 3 $extra >"$work/attack-$mode.log" 2>&1 &
  attack=$!
  sleep 2 # let the attack build up to its full connection count
  ok=0 fail=0
  for _ in $(seq 30); do
    got=$(curl -s -m 3 -w ' %{http_code} %{time_total}s' "$url" 2>&1 || true)
    if [ "${got%% *}" = "probe" ]; then ok=$((ok + 1)); else fail=$((fail + 1)); echo "  probe failed: $got"; fi
    sleep 0.2
  done
  wait "$attack" || true
  attack=
  echo "slowhttptest -$mode: $ok/30 normal requests served while under attack"
  total_fail=$((total_fail + fail))
done
kill -TERM "$pid"; wait "$pid" || true; pid=
if [ "$total_fail" -ne 0 ]; then
  echo "FAIL: $total_fail normal requests failed"; tail -n 20 "$work"/attack-*.log; exit 1
fi
echo "1 passed, 0 failed"
