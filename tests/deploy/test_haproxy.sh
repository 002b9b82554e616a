#!/usr/bin/env bash
# HAProxy (Debian's) in front of two `nethttp httpbin` instances, PROXY v2
# to each and HTTP health checks on their readiness handler. While a
# client drives steady load through HAProxy, instance a is restarted by
# SIGTERM (readiness 503 for the drain delay, HAProxy takes it out, it
# exits, a new one starts on its port) and instance b by SIGUSR2 (a new
# process takes over its listening socket, the old one drains and exits).
# No request may fail, and the access logs must name the clients' own
# addresses (lib.sh explains the three loopback addresses).
# Usage: test_haproxy.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need haproxy haproxy
need curl curl
need python3 python3
deploy_setup

start_both_instances

front=$(free_port)
stats=$(free_port)
render "$deploy_dir/haproxy.cfg.in" "$work/haproxy.cfg" \
  FRONT_ADDR="127.0.0.1:$front" A_ADDR="127.0.0.1:$a_port" B_ADDR="127.0.0.1:$b_port" \
  STATS_ADDR="127.0.0.1:$stats" PROXY_SRC="$PROXY_SRC"
haproxy -c -q -f "$work/haproxy.cfg" || fail "haproxy rejects $work/haproxy.cfg"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
track "$haproxy_pid"

# state NAME: HAProxy's view of server NAME (UP, DOWN, "UP 1/2"...), from
# the stats page's CSV (field 18 is the status).
state() {
  curl -s --max-time 5 "http://127.0.0.1:$stats/stats;csv" |
    awk -F, -v s="$1" '$1 == "app" && $2 == s { print $18 }'
}
is() { [ "$(state "$1")" = "$2" ]; }
wait_for 30 is a UP && wait_for 30 is b UP || fail "haproxy does not see both up: a=$(state a) b=$(state b)"

start_load "http://127.0.0.1:$front/get"
start_probes "http://127.0.0.1:$front/headers"
wait_for 30 serving_more "$work/a.log" 100 && wait_for 30 serving_more "$work/b.log" 100 ||
  fail "load does not reach both instances"

# --- a: SIGTERM. Readiness answers 503 at once while liveness stays 200;
# HAProxy takes a out while it still runs (the drain delay); it exits 0.
kill -TERM "$a_pid"
s=$(as_proxy "http://127.0.0.1:$a_port/ready"); [ "$s" = 503 ] || fail "a draining: /ready $s, want 503"
s=$(as_proxy "http://127.0.0.1:$a_port/live"); [ "$s" = 200 ] || fail "a draining: /live $s, want 200"
wait_for 20 is a DOWN || fail "haproxy did not take a out: $(state a)"
alive "$a_pid" || fail "a closed before haproxy took it out (drain delay $DRAIN too short?)"
wait_for 40 dead "$a_pid" || fail "a did not exit after SIGTERM"
rc=0; wait "$a_pid" || rc=$?
[ "$rc" = 0 ] || fail "a exit status $rc"
# A new a on the same port; HAProxy brings it back and sends it load.
start_instance a2 "127.0.0.1:$a_port"
a2_pid=$inst_pid
wait_for 30 is a UP || fail "haproxy does not see the new a: $(state a)"
wait_for 30 serving_more "$work/a2.log" 100 || fail "no load reaches the new a"

# --- b: SIGUSR2. A new process (b's child) takes the listening socket
# over; the old one drains and exits 0; the new one serves on (it writes
# to the same log, so the log grows after the old one is gone). The
# socket never stops being served, so HAProxy must never see b unready.
kill -USR2 "$b_pid"
wait_for 30 handover_child "$b_pid" || fail "SIGUSR2 started no new process"
b2_pid=$new_pid
track "$b2_pid"
wait_for 40 dead "$b_pid" || fail "the old b did not exit after the handover"
rc=0; wait "$b_pid" || rc=$?
[ "$rc" = 0 ] || fail "old b exit status $rc"
alive "$b2_pid" || fail "the new b is gone"
wait_for 30 serving_more "$work/b.log" "$(served "$work/b.log")" || fail "nothing served after the old b exited"
is b UP || fail "haproxy's view of the new b: $(state b)"

# --- 30 s of load in all; then no failure, and the clients' own addresses.
stop_load 30
stop_probes
check_results "$work/a.log" "$work/a2.log" "$work/b.log"
grep -q 'app/a is DOWN' "$work/haproxy.log" || fail "haproxy did not log a going down"
! grep 'app/b is DOWN' "$work/haproxy.log" || fail "haproxy took b out during its handover"
# Requests HAProxy had to send again (its log's retries field, the 5th of
# the connection counts, is not 0): told, not judged; zero failures is.
retried=$(grep -Ec ' [0-9]+/[0-9]+/[0-9]+/[0-9]+/\+?[1-9]' "$work/haproxy.log" || true)
echo "haproxy retried $retried requests"

# Everything stops cleanly: HAProxy first, then the instances (which log
# any leak or sanitizer report as they exit).
kill -USR1 "$haproxy_pid" # soft stop
wait "$haproxy_pid" || true
kill -TERM "$a2_pid" "$b2_pid"
wait_for 40 dead "$a2_pid" && wait_for 40 dead "$b2_pid" || fail "the instances did not stop"
! grep -l -e 'Sanitizer' -e 'runtime error' "$work"/*.log || fail "sanitizer report"
echo "1 passed, 0 failed"
