#!/usr/bin/env bash
# bench/http/run.sh — throughput, p99 and CPU efficiency of a 13-byte
# hello-world server: nethttp against Go net/http, nginx, h2o, libmicrohttpd
# and a raw-epoll "limit" server, in one run, one server at a time.
#
#   bench/http/run.sh                       all servers, c=64, 10 s each
#   CONNS=256 DURATION=20 bench/http/run.sh
#   SERVERS="limit nethttp go" bench/http/run.sh
#
# Each server gets one thread (worker/process) pinned to core SERVER_CPU (1);
# wrk gets one thread pinned to core CLIENT_CPU (0). On a 2-core machine one
# wrk thread (and, in a VM, the cost of waking the other core) limits the rate
# before the fast C servers use a whole core, so requests/s alone cannot rank
# them: the script also measures the server's own CPU use during the wrk run
# (utime+stime of its whole process tree, from /proc) and reports
# requests per CPU-second = requests completed / server CPU seconds.
#
# On a shared or virtual machine the figures move by 10-30% from run to run
# (see the steal column); RUNS=N runs N rounds, each server once per round,
# and keeps each server's run with the most requests per CPU-second.
#
# Env: CONNS (64), DURATION seconds (10), WARMUP seconds (2), RUNS (1), SERVERS,
#      SERVER_CPU (1), CLIENT_CPU (0), NETHTTP_HELLO (build/release/hello).
# The raw wrk output of the last run is kept in build/bench/http-last/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-1}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/http-last

need wrk
build_peers
BUSY_BEFORE=$(machine_busy_line)   # other work on the machine skews the figures
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"

# Latency as wrk prints it (850.00us, 1.23ms, 2.01s) to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}

now_s() { date +%s.%N; }

declare -A RPS P99 CPU_PCT RPCPU REQS ERRS STEAL NOTE
declare -A ALL_RPCPU ALL_P99 ALL_USER ALL_SYS   # every round's figures, for the medians

# Warms up the server that is already running (SERVER_PID): page in code,
# grow buffers and pools, let Go's heap settle.
warm_up() {
  fg_run taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:${PORT[$1]}/" >/dev/null 2>&1
}

# One wrk run; its figures replace the kept ones if it has more requests per
# CPU-second.
measure_once() {
  local name=$1 run=$2 url="http://127.0.0.1:${PORT[$1]}/" pids t0 t1 c0 c1 u0 u1 s0 s1 out
  local wrk=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" --latency)
  pids=$(tree_pids "$SERVER_PID")   # nginx master + worker, etc.
  out=$RESULTS/$name.$run.wrk
  s0=$(cpu_stat "$SERVER_CPU"); c0=$(cpu_ticks $pids); u0=$(user_ticks $pids); t0=$(now_s)
  fg_run "${wrk[@]}" -d"${DURATION}s" "$url" >"$out" 2>&1
  c1=$(cpu_ticks $pids); u1=$(user_ticks $pids); t1=$(now_s); s1=$(cpu_stat "$SERVER_CPU")
  # A VM's vCPU can lose time to the host: stolen time slows everything and
  # makes the run less comparable, so it is shown beside the figures.
  local busy steal reqs rps p99 errs pct rpcpu
  read -r busy steal < <(cpu_share "$s0" "$s1")
  if ! alive "$SERVER_PID"; then NOTE[$name]="server died during the run"; return 1; fi
  reqs=$(awk '/requests in/ {print $1}' "$out")
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  # Socket errors and non-2xx answers, so a fast-but-failing server shows.
  errs=$(awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10}
              /Non-2xx/ {e += $NF} END {print e + 0}' "$out")
  read -r pct rpcpu < <(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
    -v n="${reqs:-0}" 'BEGIN { s = c / hz; printf "%.0f %.0f\n", 100 * s / (t1 - t0), (s > 0 ? n / s : 0) }')
  log "$name: run $run: $rps req/s, p99 $p99 ms, server CPU $pct%, $rpcpu req/CPU-s, steal $steal%"
  # Server CPU per request, split into user space and kernel (microseconds).
  local us_user us_sys
  read -r us_user us_sys < <(awk -v u="$((u1 - u0))" -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v n="${reqs:-0}" \
    'BEGIN { if (n > 0) printf "%.2f %.2f\n", 1e6 * u / hz / n, 1e6 * (c - u) / hz / n; else print "0 0" }')
  ALL_RPCPU[$name]+="$rpcpu " ALL_P99[$name]+="$p99 " ALL_USER[$name]+="$us_user " ALL_SYS[$name]+="$us_sys "
  if [ -z "${RPCPU[$name]:-}" ] || [ "$rpcpu" -gt "${RPCPU[$name]}" ]; then
    REQS[$name]=$reqs RPS[$name]=$rps P99[$name]=$p99 ERRS[$name]=$errs
    CPU_PCT[$name]=$pct RPCPU[$name]=$rpcpu STEAL[$name]=$steal
  fi
}

# Rounds: each round runs every server once, so a machine whose speed
# drifts over minutes (a VM's neighbours) weighs on all servers alike
# rather than on whichever ran during a slow spell. Best run per server.
declare -A GAVE_UP
for run in $(seq "$RUNS"); do
  for name in $SERVERS; do
    [ -n "${GAVE_UP[$name]:-}" ] && continue
    if ! server_available "$name"; then
      log "$name: skipped: $SKIP_REASON"; NOTE[$name]="skipped: $SKIP_REASON"; GAVE_UP[$name]=1; continue
    fi
    log "$name: starting on 127.0.0.1:${PORT[$name]} (core $SERVER_CPU), run $run of $RUNS"
    if ! start_server "$name"; then
      NOTE[$name]="did not start or answer correctly (see above)"; GAVE_UP[$name]=1; continue
    fi
    warm_up "$name"
    measure_once "$name" "$run" || GAVE_UP[$name]=1
    stop_server
  done
done

# ---- report ----
ratio() { # $1 / $2 with two decimals, or "–" when either is missing
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f×", a / b }'
}
thousands() { # 123456 -> 123.5k
  awk -v a="${1:-}" 'BEGIN { if (a == "") print "–"; else printf "%.1fk", a / 1000 }'
}

echo
echo "## HTTP/1.1 hello world (13-byte body), one server thread"
echo
echo "- command: \`CONNS=$CONNS DURATION=$DURATION WARMUP=$WARMUP RUNS=$RUNS SERVERS=\"$SERVERS\" bench/http/run.sh\`"
echo "  (load: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s --latency\`; servers on core $SERVER_CPU;"
echo "  $([ "$RUNS" -gt 1 ] && echo "best of $RUNS rounds (each server once per round) by requests per CPU-second" || echo "one run per server"))"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(machine_line)"
echo "- before the run: $BUSY_BEFORE"
echo "- versions: $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), $(h2o --version 2>/dev/null | head -1 | sed 's/ version//'), libmicrohttpd $(pkg-config --modversion libmicrohttpd 2>/dev/null), $(go version 2>/dev/null | awk '{print $3}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo
echo "| server | requests/s | p99 ms | server CPU | requests per CPU-second | vs limit | vs Go | errors | steal |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for name in $SERVERS; do
  if [ -z "${RPS[$name]:-}" ]; then
    echo "| ${LABEL[$name]:-$name} | ${NOTE[$name]:-no result} | | | | | | | |"
    continue
  fi
  echo "| ${LABEL[$name]} | $(thousands "${RPS[$name]}") | ${P99[$name]} | ${CPU_PCT[$name]}% | $(thousands "${RPCPU[$name]}") | $(ratio "${RPCPU[$name]}" "${RPCPU[limit]:-}") | $(ratio "${RPCPU[$name]}" "${RPCPU[go]:-}") | ${ERRS[$name]} | ${STEAL[$name]}% |"
done
echo
echo "server CPU: the server's utime+stime during the wrk run over wall time (100% = one core);"
echo "vs limit / vs Go: ratios of requests per CPU-second; errors: wrk socket errors + non-2xx answers;"
echo "steal: share of the server core's time taken by the hypervisor during the run (0 on bare metal)."
echo "Raw wrk output of every run: build/bench/http-last/."

# Medians over the rounds: less swayed than the best run by one lucky or
# unlucky spell of the machine. CPU per request is split into user space
# (the server's own code) and kernel (sockets, TCP, epoll).
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ "$RUNS" -gt 1 ]; then
  declare -A MED
  for name in $SERVERS; do MED[$name]=$(median <<<"${ALL_RPCPU[$name]:-}"); done
  echo
  echo "Medians over the $RUNS rounds:"
  echo
  echo "| server | requests per CPU-second | vs limit | vs Go | p99 ms | user µs per request | kernel µs per request |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for name in $SERVERS; do
    [ -z "${MED[$name]:-}" ] && continue
    echo "| ${LABEL[$name]} | $(thousands "${MED[$name]}") | $(ratio "${MED[$name]}" "${MED[limit]:-}") | $(ratio "${MED[$name]}" "${MED[go]:-}") | $(median <<<"${ALL_P99[$name]}") | $(median <<<"${ALL_USER[$name]}") | $(median <<<"${ALL_SYS[$name]}") |"
  done
  echo
  echo "Per round, requests per CPU-second:"
  for name in $SERVERS; do
    [ -n "${ALL_RPCPU[$name]:-}" ] && echo "- ${LABEL[$name]}: $(for v in ${ALL_RPCPU[$name]}; do thousands "$v"; echo; done | paste -sd/ | sed 's|/| / |g')"
  done
fi
