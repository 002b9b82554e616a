#!/usr/bin/env bash
# bench/files/run.sh — static file throughput: `nethttp serve` against nginx
# serving the same 1 MiB file, side by side in one run, one server at a time.
#
#   bench/files/run.sh                      c=16, 10 s each
#   CONNS=64 DURATION=20 bench/files/run.sh
#
# nginx runs twice, with tcp_nopush on (the usual production setting) and
# off (see start_files_nginx). Every server gets one thread / worker pinned to core SERVER_CPU (1), send
# the body with sendfile(2) and write no access log; wrk gets one thread on
# core CLIENT_CPU (0) and asks for the file over keep-alive connections on
# loopback. The script checks each server returns the file byte for byte
# before measuring, measures the server's CPU from /proc, stops every process
# it started by pid and removes its temp dirs, even when interrupted.
#
# Env: CONNS (16), DURATION seconds (10), WARMUP seconds (2), SIZE bytes
#      (1048576), SERVER_CPU (1), CLIENT_CPU (0), NETHTTP_BIN (a release
#      build of the nethttp program; brought up to date in build/files-release
#      first). Raw wrk output: build/bench/files-last/.
set -uo pipefail
. "$(dirname "$0")/../http/lib.sh"

CONNS=${CONNS:-16}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SIZE=${SIZE:-1048576}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/files-last
NETHTTP_BIN=${NETHTTP_BIN:-$ROOT/build/files-release/nethttp}
FILE_SERVERS="nethttp nginx nginx_nopush_off"
declare -A FPORT=([nethttp]=18090 [nginx]=18091 [nginx_nopush_off]=18092)
declare -A FLABEL=([nethttp]="nethttp serve" [nginx]="nginx (tcp_nopush on)"
                   [nginx_nopush_off]="nginx (tcp_nopush off)")

need wrk; need curl; need taskset; need cmp
[ -x /usr/sbin/nginx ] || die "/usr/sbin/nginx missing: run scripts/install-deps.sh bench"
ensure_built "$NETHTTP_BIN" nethttp
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"; rm -rf "$RESULTS"; mkdir -p "$RESULTS"

WWW=$(mktemp -d /tmp/nethttp-bench-files.XXXXXX)
TMPDIRS+=("$WWW")
head -c "$SIZE" /dev/urandom > "$WWW/file.bin"
chmod -R a+rX "$WWW"   # nginx workers may run as nobody

start_files_nethttp() {
  spawn taskset -c "$SERVER_CPU" "$NETHTTP_BIN" serve "$WWW" --addr "127.0.0.1:$1" --threads 1 \
    --log-level warn
}

# tcp_nopush on (TCP_CORK) puts the head and the start of the body in one
# segment; off, the head leaves alone, as nethttp's does (TCP_NODELAY).
# Both are shown: on loopback the client's core is the limit, and one more
# segment per response is one more wakeup for it.
start_files_nginx() { start_nginx_files "$1" on; }
start_files_nginx_nopush_off() { start_nginx_files "$1" off; }

start_nginx_files() {
  spawn_nginx "${SERVER_TMP:?}" "  default_type application/octet-stream;
  sendfile on;
  tcp_nopush $2;
  server {
    listen 127.0.0.1:$1;
    root $WWW;
  }"
}

# The file must come back intact.
check_file() {
  curl -s --max-time 2 -o "$SERVER_TMP/got" "http://127.0.0.1:$1/file.bin" 2>/dev/null \
    || { CHECK_ERR="no answer"; return 1; }
  cmp -s "$SERVER_TMP/got" "$WWW/file.bin" || { CHECK_ERR="the file came back different"; return 1; }
}

# Starts one server and waits until it returns the file intact.
start_files_server() { start_checked "$1" "${FPORT[$1]}" "start_files_$1" check_file; }

to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}

declare -A RPS GIBS P99 CPU_PCT ERRS STEAL NOTE
BUSY_BEFORE=$(machine_busy_line)
for name in $FILE_SERVERS; do
  log "$name: starting on 127.0.0.1:${FPORT[$name]} (core $SERVER_CPU)"
  if ! start_files_server "$name"; then NOTE[$name]="did not start or serve the file"; continue; fi
  url="http://127.0.0.1:${FPORT[$name]}/file.bin"
  wrk=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" --latency)
  fg_run "${wrk[@]}" -d"${WARMUP}s" "$url" >/dev/null 2>&1
  pids=$(tree_pids "$SERVER_PID"); out=$RESULTS/$name.wrk
  s0=$(cpu_stat "$SERVER_CPU"); c0=$(cpu_ticks $pids); t0=$(date +%s.%N)
  fg_run "${wrk[@]}" -d"${DURATION}s" "$url" >"$out" 2>&1
  c1=$(cpu_ticks $pids); t1=$(date +%s.%N); s1=$(cpu_stat "$SERVER_CPU")
  if ! alive "$SERVER_PID"; then NOTE[$name]="server died during the run"; stop_server; continue; fi
  read -r busy steal < <(cpu_share "$s0" "$s1")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  RPS[$name]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  GIBS[$name]=$(awk -v n="${reqs:-0}" -v s="$SIZE" -v t="$DURATION" 'BEGIN { printf "%.2f", n * s / t / 1073741824 }')
  P99[$name]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  ERRS[$name]=$(awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10}
                     /Non-2xx/ {e += $NF} END {print e + 0}' "$out")
  CPU_PCT[$name]=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.0f", 100 * c / hz / (t1 - t0) }')
  STEAL[$name]=$steal
  log "$name: ${RPS[$name]} req/s, ${GIBS[$name]} GiB/s, p99 ${P99[$name]} ms, server CPU ${CPU_PCT[$name]}%"
  stop_server
done

echo
echo "## Static file, $SIZE bytes, one server thread, sendfile"
echo
echo "- command: \`CONNS=$CONNS DURATION=$DURATION SIZE=$SIZE bench/files/run.sh\`"
echo "  (load: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s --latency\` on keep-alive; servers on core $SERVER_CPU)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(machine_line)"
echo "- before the run: $BUSY_BEFORE"
echo "- versions: $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), nethttp $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?") (+ working tree), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo
echo "| server | requests/s | GiB/s | p99 ms | server CPU | errors | steal |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for name in $FILE_SERVERS; do
  if [ -z "${RPS[$name]:-}" ]; then echo "| ${FLABEL[$name]} | ${NOTE[$name]:-no result} | | | | | |"; continue; fi
  echo "| ${FLABEL[$name]} | ${RPS[$name]} | ${GIBS[$name]} | ${P99[$name]} | ${CPU_PCT[$name]}% | ${ERRS[$name]} | ${STEAL[$name]}% |"
done
echo
echo "Raw wrk output: build/bench/files-last/."
