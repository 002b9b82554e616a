#!/usr/bin/env bash
# bench/debug/run.sh — what request metrics and the debug listener cost.
#
#   bench/debug/run.sh                      both parts, 3 rounds of 10 s
#   RUNS=5 DURATION=20 bench/debug/run.sh
#   PARTS=scrape IDLE_CONNS=20000 bench/debug/run.sh
#
# (a) throughput: bench/debug/hello_debug.c (hello world behind a mux, one
#     loop pinned to core SERVER_CPU) with metrics off and no debug
#     listener, against metrics on plus a debug listener scraped once a
#     second, in alternating rounds of one wrk run each (wrk -t1 -cCONNS on
#     core CLIENT_CPU). The figure is requests per server CPU-second
#     (requests / utime+stime of the server during the run); the report
#     gives each round, the medians and their ratio.
# (b) scrape: the same server with metrics on holds IDLE_CONNS (10,000)
#     idle keep-alive connections (bench/http/idle_client.c, one GET each),
#     and /metrics is fetched SCRAPES times over one keep-alive connection
#     by curl; the report gives the server's CPU time per scrape
#     (utime+stime over the SCRAPES, HTTP handling included) and curl's
#     time_total (request sent to last byte read, loopback) median and
#     max, with no connections and with them, and the connection gauge
#     the scrape read.
#
# Everything listens on 127.0.0.1; every process started is killed by pid
# on exit (bench/http/lib.sh), and idle_client stops by itself after 300 s.
#
# Env: PARTS ("throughput scrape"), RUNS (3), DURATION (10), WARMUP (2),
#      CONNS (64), IDLE_CONNS (10000), SCRAPES (1000), SERVER_CPU (1),
#      CLIENT_CPU (0), BUILD_DIR (build/release: the server is
#      BUILD_DIR/bench/bench_hello_debug, built there first).
set -uo pipefail
. "$(dirname "$0")/../http/lib.sh"

PARTS=${PARTS:-throughput scrape}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
IDLE_CONNS=${IDLE_CONNS:-10000}
SCRAPES=${SCRAPES:-1000}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
HELLO_DEBUG=$BUILD_DIR/bench/bench_hello_debug
CLK_TCK=$(getconf CLK_TCK)
PORT[hello_debug]=18090
DEBUG_PORT=18091
METRICS_URL="http://127.0.0.1:$DEBUG_PORT/metrics"

need curl; need taskset
# A release build of the benchmark, brought up to date first.
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF \
    >/dev/null || die "cmake configure of $BUILD_DIR failed"
fi
cmake --build "$BUILD_DIR" -j2 --target bench_hello_debug >/dev/null || die "building bench_hello_debug failed"
mkdir -p "$OUT"
if stale "$OUT/idle_client" "$ROOT/bench/http/idle_client.c"; then
  cc -O2 -Wall -o "$OUT/idle_client" "$ROOT/bench/http/idle_client.c" || die "idle_client build failed"
fi
BUSY_BEFORE=$(machine_busy_line)
# The server holds IDLE_CONNS sockets and inherits this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

MODE=off
start_hello_debug() {
  if [ "$MODE" = on ]; then
    spawn taskset -c "$SERVER_CPU" "$HELLO_DEBUG" --addr "127.0.0.1:$1" --threads 1 \
      --debug-addr "127.0.0.1:$DEBUG_PORT"
  else
    spawn taskset -c "$SERVER_CPU" "$HELLO_DEBUG" --addr "127.0.0.1:$1" --threads 1
  fi
}
start_mode() { MODE=$1; start_checked "metrics $1" "${PORT[hello_debug]}" start_hello_debug check_hello; }

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- (a) throughput ----

declare -A ALL ERRS
SCRAPER=""
# Scrapes once a second while the "on" server is measured, as a Prometheus
# server would (more often than its usual 15 s).
start_scraper() {
  spawn bash -c "while :; do curl -s --max-time 2 -o /dev/null '$METRICS_URL'; sleep 1; done"
  SCRAPER=$BG_PID
}

measure_mode() {
  local mode=$1 run=$2 url="http://127.0.0.1:${PORT[hello_debug]}/" out c0 c1 reqs rpcpu errs
  start_mode "$mode" || { log "metrics $mode: did not start"; return 1; }
  fg_run taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null 2>&1
  [ "$mode" = on ] && start_scraper
  out=$OUT/debug-last/$mode.$run.wrk
  c0=$(cpu_ticks "$SERVER_PID")
  fg_run taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url" >"$out" 2>&1
  c1=$(cpu_ticks "$SERVER_PID")
  [ -n "$SCRAPER" ] && { kill_tree "$SCRAPER"; SCRAPER=""; }
  reqs=$(awk '/requests in/ {print $1}' "$out")
  errs=$(awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10}
              /Non-2xx/ {e += $NF} END {print e + 0}' "$out")
  rpcpu=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v n="${reqs:-0}" 'BEGIN { s = c / hz; printf "%.0f", (s > 0 ? n / s : 0) }')
  log "metrics $mode: run $run: $reqs requests, $rpcpu req/CPU-s, $errs errors"
  ALL[$mode]+="$rpcpu "
  ERRS[$mode]=$(( ${ERRS[$mode]:-0} + errs ))
  stop_server
}

throughput() {
  need wrk
  rm -rf "$OUT/debug-last"; mkdir -p "$OUT/debug-last"
  local run
  for run in $(seq "$RUNS"); do
    # Alternate which goes first, so a drifting machine weighs on both.
    if [ $((run % 2)) = 1 ]; then measure_mode off "$run"; measure_mode on "$run"
    else measure_mode on "$run"; measure_mode off "$run"; fi
  done
  local off on
  off=$(median <<<"${ALL[off]:-}"); on=$(median <<<"${ALL[on]:-}")
  echo
  echo "### Hello world: metrics and debug listener off vs on"
  echo
  echo "- command: \`RUNS=$RUNS DURATION=$DURATION CONNS=$CONNS PARTS=throughput bench/debug/run.sh\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line)"
  echo "- before the run: $BUSY_BEFORE"
  echo
  echo "| server | requests per CPU-second, each round | median | errors |"
  echo "|---|---|---:|---:|"
  echo "| metrics off, no debug listener | ${ALL[off]:-} | ${off:-–} | ${ERRS[off]:-–} |"
  echo "| metrics on, debug listener scraped every 1 s | ${ALL[on]:-} | ${on:-–} | ${ERRS[on]:-–} |"
  echo
  awk -v a="${on:-0}" -v b="${off:-0}" 'BEGIN { if (a > 0 && b > 0) printf "on/off = %.3f (cost %.1f%% of requests per CPU-second)\n", a / b, 100 * (1 - a / b); else print "on/off: no result" }'
}

# ---- (b) scrape with many connections ----

# SCRAPES fetches of /metrics over one connection:
# "CPU_MS_PER_SCRAPE MEDIAN_MS MAX_MS".
scrape_times() {
  local args=() i c0 c1 times
  for i in $(seq "$SCRAPES"); do args+=(-o /dev/null "$METRICS_URL"); done
  c0=$(cpu_ticks "$SERVER_PID")
  times=$(curl -s --max-time 120 -w '%{time_total}\n' "${args[@]}")
  c1=$(cpu_ticks "$SERVER_PID")
  awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v n="$SCRAPES" 'BEGIN { printf "%.3f ", 1000 * c / hz / n }'
  sort -g <<<"$times" | awk '{ v[NR] = $1 } END { if (NR == 0) print "– –"; else printf "%.3f %.3f\n", 1000 * v[int((NR + 1) / 2)], 1000 * v[NR] }'
}

scrape() {
  local out client i line ok failed closed cpu0 med0 max0 cpu1 med1 max1 idle1 bytes
  MODE=on
  start_mode on || die "the metrics server did not start"
  read -r cpu0 med0 max0 < <(scrape_times)
  out=$SERVER_TMP/idle_client.out
  spawn taskset -c "$CLIENT_CPU" "$OUT/idle_client" 127.0.0.1 "${PORT[hello_debug]}" "$IDLE_CONNS" 300 >"$out" 2>"$out.err"
  client=$BG_PID
  for i in $(seq 1200); do   # up to 120 s to open them all
    grep -q '^ready' "$out" 2>/dev/null && break
    alive "$client" || break
    sleep 0.1
  done
  read -r line ok failed closed < <(grep '^ready' "$out")
  [ "${line:-}" = ready ] || die "idle_client did not finish: $(tail -n 2 "$out.err" | tr '\n' ' ')"
  sleep 1
  read -r cpu1 med1 max1 < <(scrape_times)
  idle1=$(curl -s "$METRICS_URL" | awk '$1 == "nethttp_server_connections{state=\"idle\"}" {print $2}')
  bytes=$(curl -s "$METRICS_URL" | wc -c)
  kill_tree "$client"
  stop_server
  echo
  echo "### /metrics scrape with $IDLE_CONNS idle connections"
  echo
  echo "- command: \`IDLE_CONNS=$IDLE_CONNS SCRAPES=$SCRAPES PARTS=scrape bench/debug/run.sh\`"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(machine_line)"
  echo
  echo "| connections open | server CPU per scrape, ms | scrape median, ms | scrape max, ms |"
  echo "|---:|---:|---:|---:|"
  echo "| 0 | $cpu0 | $med0 | $max0 |"
  echo "| $ok (gauge read: ${idle1:-?} idle; $failed failed) | $cpu1 | $med1 | $max1 |"
  echo
  echo "$SCRAPES scrapes each over one keep-alive connection on loopback; CPU: the server's utime+stime"
  echo "over them (the HTTP exchange included); median and max: curl's time_total. The page is $bytes bytes."
}

for part in $PARTS; do
  case $part in
    throughput) throughput ;;
    scrape) scrape ;;
    *) die "unknown part $part (throughput, scrape)" ;;
  esac
done
