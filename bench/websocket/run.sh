#!/usr/bin/env bash
# bench/websocket/run.sh — WebSocket echo: nethttp against gorilla/websocket
# (Go) and Node's ws, each one server thread on one core, driven by one
# load client (bench/websocket/ws_load.c) used identically against all.
#
#   bench/websocket/run.sh                          both parts, 10 s per run
#   ROUNDS=3 bench/websocket/run.sh                 medians of 3 rounds
#   PARTS=memory IDLE_CONNS=5000 SERVERS="nethttp gorilla" bench/websocket/run.sh
#
# 1. echo: CONNS (64) WebSockets, one message in flight on each: a masked
#    BYTES-byte (32) text frame, its echo checked byte for byte, the next.
#    After a WARMUP-second run, ws_load counts round trips for DURATION
#    seconds and reads the server's CPU ticks (utime+stime of its process
#    tree, /proc/PID/stat) at the start and the end of that window.
#    Reported: round trips/s, server CPU, round trips per server
#    CPU-second, and nethttp's ratio to each.
# 2. memory: a fresh server; its RSS and PSS (VmRSS, smaps_rollup's Pss,
#    summed over its process tree) before, then with IDLE_CONNS (10,000)
#    idle WebSockets open (upgraded, nothing sent since). KiB per socket =
#    (with - before) / sockets held. User-space memory only: the kernel's
#    socket buffers are the same for every server and are not counted.
# Servers: nethttp  bench_ws_echo --threads 1 (bench/websocket/ws_echo.c,
#                   build/release, rebuilt when out of date)
#          gorilla  bench/websocket/go_echo, GOMAXPROCS=1 (the runtime's
#                   other threads pinned to the same core and counted)
#          node     bench/websocket/node_echo.js (one thread runs JS)
# all pinned to core SERVER_CPU (1); ws_load to CLIENT_CPU (0). A server
# that is missing is skipped with the reason.
#
# Env: ROUNDS (1), DURATION (10), WARMUP (2), CONNS (64), BYTES (32),
#      IDLE_CONNS (10000), PARTS ("echo memory"), SERVERS ("nethttp gorilla
#      node"), SERVER_CPU (1), CLIENT_CPU (0), NETHTTP_BUILD (build/release,
#      brought up to date first), NETHTTP_WS_ECHO (its bench/bench_ws_echo).
# Ports 18390-18392 on 127.0.0.1. Raw output of every run and the report
# (report.md): build/bench/websocket-last/.
set -uo pipefail
WANTED_SERVERS=${SERVERS:-}   # bench/http/lib.sh defaults SERVERS to its own list
. "$(dirname "$0")/../http/lib.sh"

SERVERS=${WANTED_SERVERS:-"nethttp gorilla node"}
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
BYTES=${BYTES:-32}
IDLE_CONNS=${IDLE_CONNS:-10000}
PARTS=${PARTS:-"echo memory"}
NETHTTP_BUILD=${NETHTTP_BUILD:-$ROOT/build/release}
NETHTTP_WS_ECHO=${NETHTTP_WS_ECHO:-$NETHTTP_BUILD/bench/bench_ws_echo}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/websocket-last
declare -A WS_PORT=([nethttp]=18390 [gorilla]=18391 [node]=18392)
declare -A WS_LABEL=([nethttp]="nethttp" [gorilla]="gorilla/websocket (Go)" [node]="Node ws")

need cc; need taskset
mkdir -p "$OUT"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"

# ---- builds ----
# bench_ws_echo lives in bench/ of its build directory: bring that build
# up to date (configured as lib.sh's ensure_built does, if it is new).
if [ "$NETHTTP_WS_ECHO" = "$NETHTTP_BUILD/bench/bench_ws_echo" ]; then
  case "$NETHTTP_BUILD" in
    "$ROOT"/build/*)
      need cmake
      if [ ! -f "$NETHTTP_BUILD/CMakeCache.txt" ]; then
        cmake -G Ninja -S "$ROOT" -B "$NETHTTP_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF \
          >/dev/null || die "cmake configure of $NETHTTP_BUILD failed"
      fi
      cmake --build "$NETHTTP_BUILD" --target bench_ws_echo >/dev/null || die "building bench_ws_echo failed" ;;
  esac
fi
if stale "$OUT/ws_load" "$ROOT/bench/websocket/ws_load.c"; then
  cc -O2 -Wall -o "$OUT/ws_load" "$ROOT/bench/websocket/ws_load.c" || die "ws_load build failed"
fi
GORILLA=/usr/share/gocode/src/github.com/gorilla/websocket
if command -v go >/dev/null && [ -d "$GORILLA" ] && stale "$OUT/ws_go_echo" "$ROOT/bench/websocket/go_echo/main.go"; then
  # GOPATH-style and offline: gorilla from Debian's package, no module proxy.
  (cd "$ROOT/bench/websocket/go_echo" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$OUT/gocache" \
     GOPROXY=off go build -o "$OUT/ws_go_echo" .) || die "go_echo build failed"
fi

ws_available() {
  SKIP_REASON=""
  case $1 in
    nethttp) [ -x "$NETHTTP_WS_ECHO" ] || SKIP_REASON="$NETHTTP_WS_ECHO not built" ;;
    gorilla) [ -x "$OUT/ws_go_echo" ] || SKIP_REASON="go_echo not built (golang-go or golang-github-gorilla-websocket-dev missing: scripts/install-deps.sh)" ;;
    node)    { command -v node >/dev/null && [ -f /usr/share/nodejs/ws/package.json ]; } \
               || SKIP_REASON="node or node-ws missing (scripts/install-deps.sh)" ;;
    *)       SKIP_REASON="unknown server $1 (known: nethttp gorilla node)" ;;
  esac
  [ -z "$SKIP_REASON" ]
}

start_ws_nethttp() { spawn taskset -c "$SERVER_CPU" "$NETHTTP_WS_ECHO" --addr "127.0.0.1:$1" --threads 1; }
start_ws_gorilla() { spawn env GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$OUT/ws_go_echo" -addr "127.0.0.1:$1"; }
start_ws_node() { spawn env NODE_PATH=/usr/share/nodejs taskset -c "$SERVER_CPU" node "$ROOT/bench/websocket/node_echo.js" "$1"; }

# The server is up when one WebSocket echoes one message.
check_ws_echo() {
  local out
  out=$("$OUT/ws_load" echo 127.0.0.1 "$1" 1 1 "$BYTES" 2>&1) && return 0
  case "$out" in *"round_trips 0"*) CHECK_ERR="no answer" ;; *) CHECK_ERR="no echo: $out" ;; esac
  return 1
}
start_ws() { start_checked "$1" "${WS_PORT[$1]}" "start_ws_$1" check_ws_echo; }

pss_kib() {
  local p total=0 v
  for p in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

BUSY_BEFORE=$(machine_busy_line)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((IDLE_CONNS + 100)) ] || die "open-file limit $(ulimit -n) is too low for $IDLE_CONNS sockets"

declare -A RTPS RTCPU PCT GEN ERRS NOTE BEFORE WITH PBEFORE PWITH HELD PER PPER MNOTE GAVE_UP

# ---- 1. echo ----
measure_echo() { # measure_echo NAME ROUND
  local name=$1 run=$2 port=${WS_PORT[$1]} out pids g0 g1 trips secs ticks errs gen rtps rtcpu pct
  out=$RESULTS/echo.$name.$run
  fg_run taskset -c "$CLIENT_CPU" "$OUT/ws_load" echo 127.0.0.1 "$port" "$CONNS" "$WARMUP" "$BYTES" >"$out.warmup" 2>&1
  pids=$(tree_pids "$SERVER_PID" | paste -sd,)
  g0=$(cpu_stat "$CLIENT_CPU")
  fg_run taskset -c "$CLIENT_CPU" "$OUT/ws_load" echo 127.0.0.1 "$port" "$CONNS" "$DURATION" "$BYTES" "$pids" >"$out" 2>&1
  g1=$(cpu_stat "$CLIENT_CPU")
  read -r gen _ < <(cpu_share "$g0" "$g1")
  alive "$SERVER_PID" || { NOTE[$name]="failed: the server died during the run"; return 1; }
  read -r _ trips _ secs _ ticks _ errs _ < <(grep '^round_trips' "$out")
  if [ "${trips:-0}" = 0 ]; then NOTE[$name]="failed: no round trips ($(tail -n 1 "$out"))"; return 1; fi
  read -r rtps rtcpu pct < <(awk -v n="$trips" -v s="$secs" -v t="$ticks" -v hz="$CLK_TCK" \
    'BEGIN { c = t / hz; printf "%.0f %.0f %.0f\n", n / s, (c > 0 ? n / c : 0), 100 * c / s }')
  log "$name: round $run: $rtps round trips/s, server CPU $pct%, $rtcpu round trips per CPU-second, errors $errs, ws_load core $gen%"
  RTPS[$name]+="$rtps " RTCPU[$name]+="$rtcpu " PCT[$name]+="$pct " GEN[$name]+="$gen "
  ERRS[$name]=$(( ${ERRS[$name]:-0} + errs ))
}

if [[ " $PARTS " == *" echo "* ]]; then
  for run in $(seq "$ROUNDS"); do
    for name in $SERVERS; do
      [ -n "${GAVE_UP[$name]:-}" ] && continue
      if ! ws_available "$name"; then
        log "$name: skipped: $SKIP_REASON"; NOTE[$name]="skipped: $SKIP_REASON"; GAVE_UP[$name]=1; continue
      fi
      log "$name: echo, starting on 127.0.0.1:${WS_PORT[$name]} (core $SERVER_CPU), round $run of $ROUNDS"
      if ! start_ws "$name"; then NOTE[$name]="failed: did not start or echo"; GAVE_UP[$name]=1; continue; fi
      measure_echo "$name" "$run" || GAVE_UP[$name]=1
      stop_server
    done
  done
fi

# ---- 2. memory of idle WebSockets ----
measure_memory() { # measure_memory NAME
  local name=$1 port=${WS_PORT[$1]} out client pids line ok failed held closed
  sleep 0.5
  pids=$(tree_pids "$SERVER_PID")
  BEFORE[$name]=$(rss_kib $pids); PBEFORE[$name]=$(pss_kib $pids)
  out=$RESULTS/memory.$name
  spawn taskset -c "$CLIENT_CPU" "$OUT/ws_load" idle 127.0.0.1 "$port" "$IDLE_CONNS" 600 >"$out" 2>"$out.err"
  client=$BG_PID
  for _ in $(seq 3000); do   # up to 300 s to open them all
    grep -q '^ready' "$out" 2>/dev/null && break
    alive "$client" || break
    sleep 0.1
  done
  read -r line ok failed < <(grep '^ready' "$out")
  if [ "${line:-}" != ready ]; then
    MNOTE[$name]="ws_load did not finish opening: $(tail -n 2 "$out.err" | tr '\n' ' ')"; kill_tree "$client"; return 1
  fi
  sleep 2   # let the server finish with the last upgrades
  pids=$(tree_pids "$SERVER_PID")
  WITH[$name]=$(rss_kib $pids); PWITH[$name]=$(pss_kib $pids)
  cp /proc/"$SERVER_PID"/smaps_rollup "$out.smaps_rollup" 2>/dev/null
  alive "$SERVER_PID" || MNOTE[$name]="server died while holding the sockets"
  kill_tree "$client"
  read -r _ held _ closed < <(grep '^held' "$out")
  HELD[$name]=${held:-$ok}
  [ "${failed:-0}" -gt 0 ] && MNOTE[$name]="$failed of $IDLE_CONNS upgrades failed"
  [ "${closed:-0}" -gt 0 ] && MNOTE[$name]="${MNOTE[$name]:+${MNOTE[$name]}; }server closed $closed sockets while idle"
  PER[$name]=$(awk -v a="${BEFORE[$name]}" -v b="${WITH[$name]}" -v n="${HELD[$name]}" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / n; else print "–" }')
  PPER[$name]=$(awk -v a="${PBEFORE[$name]}" -v b="${PWITH[$name]}" -v n="${HELD[$name]}" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / n; else print "–" }')
  log "$name: RSS ${BEFORE[$name]} -> ${WITH[$name]} KiB, PSS ${PBEFORE[$name]} -> ${PWITH[$name]} KiB with ${HELD[$name]} idle WebSockets: ${PER[$name]} KiB RSS, ${PPER[$name]} KiB PSS each"
}

if [[ " $PARTS " == *" memory "* ]]; then
  for name in $SERVERS; do
    if ! ws_available "$name"; then MNOTE[$name]="skipped: $SKIP_REASON"; continue; fi
    log "$name: memory, starting on 127.0.0.1:${WS_PORT[$name]} (core $SERVER_CPU)"
    if ! start_ws "$name"; then MNOTE[$name]="failed: did not start or echo"; continue; fi
    measure_memory "$name"
    stop_server
  done
fi

# ---- report ----
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || a == "–" || b == "" || b == "–" || b == 0) print "–"; else printf "%.2f×", a / b }'; }
thousands() { awk -v a="${1:-}" 'BEGIN { if (a == "") print "–"; else printf "%.1fk", a / 1000 }'; }

report() {
  local name nh_cpu m_rps m_cpu
  echo
  echo "## WebSocket echo and idle memory, one server thread"
  echo
  echo "- command: \`ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS BYTES=$BYTES IDLE_CONNS=$IDLE_CONNS PARTS=\"$PARTS\" SERVERS=\"$SERVERS\" bench/websocket/run.sh\`"
  echo "  (load: \`taskset -c $CLIENT_CPU ws_load echo 127.0.0.1 PORT $CONNS $DURATION $BYTES PIDS\` after a ${WARMUP} s warm-up run; servers on core $SERVER_CPU;"
  echo "  $([ "$ROUNDS" -gt 1 ] && echo "medians of $ROUNDS rounds, each server once per round" || echo "one round"))"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(machine_line)"
  echo "- before the run: $BUSY_BEFORE; load average $LOADAVG"
  echo "- versions: gorilla/websocket $(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev 2>/dev/null) on $(go version 2>/dev/null | awk '{print $3}'), ws $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' /usr/share/nodejs/ws/package.json 2>/dev/null) on Node $(node --version 2>/dev/null)"
  if [[ " $PARTS " == *" echo "* ]]; then
    echo
    echo "### Echo: $CONNS WebSockets, one $BYTES-byte text message in flight on each"
    echo
    nh_cpu=$(median <<<"${RTCPU[nethttp]:-}")
    echo "| server | round trips/s | server CPU | ws_load core | round trips per server CPU-second | nethttp ÷ this, per CPU-second | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for name in $SERVERS; do
      if [ -z "${RTPS[$name]:-}" ]; then echo "| ${WS_LABEL[$name]:-$name} | ${NOTE[$name]:-no result} | | | | | |"; continue; fi
      m_rps=$(median <<<"${RTPS[$name]}"); m_cpu=$(median <<<"${RTCPU[$name]}")
      echo "| ${WS_LABEL[$name]} | $(thousands "$m_rps") | $(median <<<"${PCT[$name]}" | cut -d. -f1)% | $(median <<<"${GEN[$name]}" | cut -d. -f1)% | $(thousands "$m_cpu") | $(ratio "$nh_cpu" "$m_cpu") | ${ERRS[$name]:-0} |"
    done
    echo
    echo "server CPU: utime+stime of the server's processes over the measured window (100% = one core);"
    echo "ws_load core: how busy core $CLIENT_CPU was (near 100%: the client set the rate; compare per CPU-second)."
  fi
  if [[ " $PARTS " == *" memory "* ]]; then
    echo
    echo "### Memory of $IDLE_CONNS idle WebSockets"
    echo
    echo "| server | RSS before, KiB | RSS with, KiB | PSS before, KiB | PSS with, KiB | WebSockets held | KiB RSS per WebSocket | KiB PSS per WebSocket | note |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for name in $SERVERS; do
      if [ -z "${PER[$name]:-}" ]; then echo "| ${WS_LABEL[$name]:-$name} | | | | | | | | ${MNOTE[$name]:-no result} |"; continue; fi
      echo "| ${WS_LABEL[$name]} | ${BEFORE[$name]} | ${WITH[$name]} | ${PBEFORE[$name]} | ${PWITH[$name]} | ${HELD[$name]} | ${PER[$name]} | ${PPER[$name]} | ${MNOTE[$name]:-} |"
    done
    echo
    echo "Per WebSocket = (with - before) / WebSockets held; a fresh server for each; RSS = VmRSS, PSS = smaps_rollup's Pss,"
    echo "summed over the server's processes; kernel socket buffers not counted."
  fi
  echo
  echo "Raw output of every run: build/bench/websocket-last/."
}

report | tee "$RESULTS/report.md"
