#!/usr/bin/env bash
# nginx (Debian's, its stream module) in front of two `nethttp httpbin`
# instances with PROXY v1 (`proxy_protocol on;`). While a client drives
# steady load through nginx, instance a is restarted by SIGTERM (it serves
# on for the drain delay, then closes its listener; nginx, which has no
# health checks, finds it refusing and passes new connections to b; a new
# a starts on its port) and instance b by SIGUSR2 (a new process takes over
# its listening socket, the old one drains and exits). No request may
# fail, and the access logs must name the clients' own addresses.
# Usage: test_nginx_proxy.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need nginx nginx-light
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] ||
  { echo "SKIP: nginx's stream module not installed (scripts/install-deps.sh installs libnginx-mod-stream)"; exit 77; }
need curl curl
need python3 python3
deploy_setup

start_both_instances

front=$(free_port)
render "$deploy_dir/nginx.conf.in" "$work/nginx.conf" \
  FRONT_ADDR="127.0.0.1:$front" A_ADDR="127.0.0.1:$a_port" B_ADDR="127.0.0.1:$b_port" \
  PROXY_SRC="$PROXY_SRC" DIR="$work"
nginx -q -t -p "$work" -c "$work/nginx.conf" -e "$work/nginx.log" || fail "nginx rejects $work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx.log" -g 'daemon off;' &
nginx_pid=$!
track "$nginx_pid"
up() { [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$front/get")" = 200 ]; }
wait_for 30 up || fail "nothing answers through nginx"

start_load "http://127.0.0.1:$front/get"
start_probes "http://127.0.0.1:$front/headers"
wait_for 30 serving_more "$work/a.log" 100 && wait_for 30 serving_more "$work/b.log" 100 ||
  fail "load does not reach both instances"

# --- a: SIGTERM. Readiness answers 503 at once while liveness stays 200
# (nginx does not ask: a serves on through the drain delay, then closes
# its listener and its idle connections; the clients' next requests go
# through nginx to b). It exits 0, and a new a starts on its port.
kill -TERM "$a_pid"
s=$(as_proxy "http://127.0.0.1:$a_port/ready"); [ "$s" = 503 ] || fail "a draining: /ready $s, want 503"
s=$(as_proxy "http://127.0.0.1:$a_port/live"); [ "$s" = 200 ] || fail "a draining: /live $s, want 200"
wait_for 40 dead "$a_pid" || fail "a did not exit after SIGTERM"
rc=0; wait "$a_pid" || rc=$?
[ "$rc" = 0 ] || fail "a exit status $rc"
start_instance a2 "127.0.0.1:$a_port"
a2_pid=$inst_pid
# The load's connections stay where they are (nginx forwards connections):
# the probes, one connection each, show nginx using the new a again.
wait_for 30 serving_more "$work/a2.log" 0 /headers || fail "nginx sends nothing to the new a"

# --- b: SIGUSR2. A new process (b's child) takes the listening socket
# over; the old one drains and exits 0; the new one serves on. The load's
# connections the old b closes come back through nginx to a and the new b.
kill -USR2 "$b_pid"
wait_for 30 handover_child "$b_pid" || fail "SIGUSR2 started no new process"
b2_pid=$new_pid
track "$b2_pid"
wait_for 40 dead "$b_pid" || fail "the old b did not exit after the handover"
rc=0; wait "$b_pid" || rc=$?
[ "$rc" = 0 ] || fail "old b exit status $rc"
alive "$b2_pid" || fail "the new b is gone"
wait_for 30 serving_more "$work/b.log" "$(served "$work/b.log")" || fail "nothing served after the old b exited"
wait_for 30 serving_more "$work/a2.log" 0 || fail "no load request reached the new a"

# --- 30 s of load in all; then no failure, and the clients' own addresses.
stop_load 30
stop_probes
check_results "$work/a.log" "$work/a2.log" "$work/b.log"

# Everything stops cleanly: nginx first (SIGTERM: at once, as the load is
# over), then the instances (which log any leak or sanitizer report).
kill -TERM "$nginx_pid"
wait "$nginx_pid" || true
kill -TERM "$a2_pid" "$b2_pid"
wait_for 40 dead "$a2_pid" && wait_for 40 dead "$b2_pid" || fail "the instances did not stop"
! grep -l -e 'Sanitizer' -e 'runtime error' "$work"/*.log || fail "sanitizer report"
echo "1 passed, 0 failed"
