#!/usr/bin/env bash
# bench/client/run.sh — HTTP clients side by side against one server:
# nethttp's client, Go's net/http and libcurl, then the load generators
# hey, wrk and `nethttp load`, in one run, reported as ratios.
#
#   bench/client/run.sh                      5 s per measurement
#   DURATION=10 RUNS=3 bench/client/run.sh   best of 3 runs (by requests/s) per row
#   BUILD=build/mybuild bench/client/run.sh  a release build dir of your own
#
# The target is nethttp's hello example (13-byte "hello, world\n"), one loop
# thread pinned to core SERVER_CPU (1); every client runs pinned to core
# CLIENT_CPU (0), loopback only:
#   1. one caller, sequential keep-alive requests: nethttp from a plain thread
#      and from one fiber, Go (one goroutine), libcurl's easy interface;
#   2. 64 concurrent callers: nethttp 64 fibers on one loop, Go 64 goroutines
#      with GOMAXPROCS=1, libcurl 64 easy handles in one multi handle;
#   3. load generators at -c 64: hey (GOMAXPROCS=1), wrk -t1, nethttp load.
# Each client counts requests and its own CPU time (getrusage, all threads)
# over DURATION after a WARMUP; the load generators' CPU comes from wait4
# (bench/client/cputime.c), their requests from their own output.
#
# Env: DURATION seconds (5), WARMUP seconds (1), CONNS (64), RUNS (1),
#      SERVER_CPU (1), CLIENT_CPU (0), BUILD (build/release), PORT (18180),
#      NETHTTP_LOAD_ARGS (flags for `nethttp load`; default -c CONNS -z DURATIONs
#      --threads 1 --json).
# Raw output of every run is kept in build/bench/client-last/.
set -uo pipefail
. "$(dirname "$0")/../http/lib.sh"

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
RUNS=${RUNS:-1}
BUILD=${BUILD:-$ROOT/build/release}
PORT[nethttp]=${PORT_CLIENT:-18180}
RESULTS=$OUT/client-last
URL="http://127.0.0.1:${PORT[nethttp]}/"

# ---- build ----

need taskset; need curl; need cmake
mkdir -p "$OUT"
if [ ! -f "$BUILD/build.ninja" ]; then
  log "configuring $BUILD (release)"
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null \
    || die "cmake configure failed"
fi
cmake --build "$BUILD" --target bench_client hello >/dev/null || die "build failed (bench_client, hello; is $BUILD configured with -DNH_BUILD_BENCH=OFF?)"
# The CLI only for `nethttp load`: a failed build leaves that row skipped.
cmake --build "$BUILD" --target nethttp >/dev/null 2>&1 || log "the nethttp CLI did not build: using $BUILD/nethttp as it is"
NETHTTP_HELLO=$BUILD/hello
HAVE_CURL=""
if pkg-config --exists libcurl && cmake --build "$BUILD" --target curl_client >/dev/null 2>&1; then
  HAVE_CURL=1
fi
HAVE_GO=""
if command -v go >/dev/null && { ! stale "$OUT/goclient" "$ROOT/bench/client/goclient" || \
   (cd "$ROOT/bench/client/goclient" && GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$OUT/gocache" \
      GOPATH="$OUT/gopath" go build -o "$OUT/goclient" .); }; then
  HAVE_GO=1
fi
if stale "$OUT/cputime" "$ROOT/bench/client/cputime.c"; then
  cc -O2 -Wall -o "$OUT/cputime" "$ROOT/bench/client/cputime.c" || die "cputime build failed"
fi
# `nethttp load` is there once the subcommand answers --help.
HAVE_LOAD=""
"$BUILD/nethttp" load --help >/dev/null 2>&1 && HAVE_LOAD=1
# Its flags are hey's (-c callers, -z duration); --threads 1: one event loop
# for the one core; --json: the report as one object.
NETHTTP_LOAD_ARGS=${NETHTTP_LOAD_ARGS:-"-c $CONNS -z ${DURATION}s --threads 1 --json"}

BUSY_BEFORE=$(machine_busy_line)
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
ulimit -n 4096 2>/dev/null || true

# ---- measuring ----

declare -A RPS CPU_US CLIENT_PCT SERVER_PCT ERRS STEAL OTHER CMD NOTE
ROWS=()

json_num() { # json_num KEY FILE: the first number after "KEY": in FILE
  grep -o "\"$1\":[0-9.]*" "$2" | head -1 | cut -d: -f2
}

kv() { # kv KEY FILE: the value of KEY=... in the key=value line of FILE
  awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$2"
}

# Runs one measurement RUNS times: run_row ID KIND CMD..., KIND "client" (the
# command prints the key=value line) or "hey"/"wrk"/"load" (a load generator,
# run under cputime). Keeps the run with the most requests/s.
run_row() {
  local id=$1 kind=$2 run; shift 2
  ROWS+=("$id")
  CMD[$id]="$*"
  for run in $(seq "$RUNS"); do
    run_once "$id" "$kind" "$run" "$@"
  done
}

run_once() {
  local id=$1 kind=$2 run=$3; shift 3
  local out=$RESULTS/$id.$run.out cpuf=$RESULTS/$id.$run.cpu
  local spids s0 s1 k0 k1 v0 v1 t0 t1 rc busy steal sbusy ssteal rps cpu_us pct errs n secs cpu
  spids=$(tree_pids "$SERVER_PID")
  k0=$(cpu_stat "$CLIENT_CPU"); v0=$(cpu_stat "$SERVER_CPU"); s0=$(cpu_ticks $spids); t0=$(date +%s.%N)
  if [ "$kind" = client ]; then
    fg_run env "$@" >"$out" 2>&1; rc=$?
  else
    fg_run "$OUT/cputime" "$cpuf" env "$@" >"$out" 2>&1; rc=$?
  fi
  s1=$(cpu_ticks $spids); t1=$(date +%s.%N); k1=$(cpu_stat "$CLIENT_CPU"); v1=$(cpu_stat "$SERVER_CPU")
  read -r busy steal < <(cpu_share "$k0" "$k1")
  read -r sbusy ssteal < <(cpu_share "$v0" "$v1")
  if ! alive "$SERVER_PID"; then die "the server died during $id; output in $out"; fi
  case $kind in
    client)
      rps=$(kv rps "$out"); cpu_us=$(kv cpu_us_per_req "$out"); errs=$(kv errors "$out")
      pct=$(awk -v c="$(kv cpu_seconds "$out")" -v s="$(kv seconds "$out")" 'BEGIN { if (s > 0) printf "%.0f", 100 * c / s }')
      ;;
    hey)
      # "Requests/sec: N"; responses per status under "Status code distribution";
      # failed requests under "Error distribution" as "[count] message".
      rps=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$out")
      n=$(awk '/^ *\[[0-9]+\][ \t]+[0-9]+ responses/ {n += $2} END {print n + 0}' "$out")
      errs=$(awk '/Error distribution/ {e = 1; next} e && /^ *\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); s += $1} END {print s + 0}' "$out")
      errs=$((errs + $(awk '/^ *\[[0-9]+\][ \t]+[0-9]+ responses/ && $1 != "[200]" {s += $2} END {print s + 0}' "$out")))
      ;;
    wrk)
      rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
      n=$(awk '/requests in/ {print $1}' "$out")
      errs=$(awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} /Non-2xx/ {e += $NF} END {print e + 0}' "$out")
      ;;
    load)
      # --json: one object with requests_per_second, responses, errors, status{}.
      local ok
      rps=$(json_num requests_per_second "$out"); [ -n "$rps" ] && rps=$(printf '%.0f' "$rps")
      n=$(json_num responses "$out")
      ok=$(grep -o '"200":[0-9]*' "$out" | head -1 | cut -d: -f2)
      errs=$(( $(json_num errors "$out" || echo 0) + ${n:-0} - ${ok:-0} ))
      ;;
  esac
  if [ "$kind" != client ]; then
    cpu=$(kv cpu_seconds "$cpuf" 2>/dev/null)
    cpu_us=$(awk -v c="${cpu:-}" -v n="${n:-0}" 'BEGIN { if (c != "" && n > 0) printf "%.2f", c * 1e6 / n }')
    secs=$(kv wall_seconds "$cpuf" 2>/dev/null)
    pct=$(awk -v c="${cpu:-}" -v s="${secs:-0}" 'BEGIN { if (c != "" && s > 0) printf "%.0f", 100 * c / s }')
  fi
  local spct
  spct=$(awk -v c="$((s1 - s0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
           'BEGIN { printf "%.0f", 100 * c / hz / (t1 - t0) }')
  if [ -z "$rps" ]; then
    log "$id: run $run: no result (exit $rc); output:"; sed 's/^/    /' "$out" | tail -n 5 >&2
    NOTE[$id]="no result (exit $rc, see build/bench/client-last/$id.$run.out)"
    return
  fi
  log "$id: run $run: $rps req/s, ${cpu_us:-?} µs CPU/req, client CPU ${pct:-?}%, server CPU $spct%, errors ${errs:-?}, steal $steal%"
  if [ -z "${RPS[$id]:-}" ] || [ "$rps" -gt "${RPS[$id]}" ]; then
    RPS[$id]=$rps CPU_US[$id]=${cpu_us:-} CLIENT_PCT[$id]=${pct:-} SERVER_PCT[$id]=$spct
    ERRS[$id]=${errs:-} STEAL[$id]=$steal
    # What else ran on the two cores (builds, other jobs): each core's busy
    # share less the pinned process's own.
    OTHER[$id]="$(other_load "$busy" "${pct:-0}") / $(other_load "$sbusy" "$spct")"
  fi
}

other_load() { awk -v b="$1" -v p="$2" 'BEGIN { o = b - p; printf("%.0f%%", (o > 0 ? o : 0)) }'; }

skip_row() { ROWS+=("$1"); CMD[$1]=""; NOTE[$1]=$2; }

log "server: $NETHTTP_HELLO on 127.0.0.1:${PORT[nethttp]} (core $SERVER_CPU)"
start_server nethttp || die "the nethttp hello server did not start"

on_client=(taskset -c "$CLIENT_CPU")
clientargs=(--url "$URL" --duration "$DURATION" --warmup "$WARMUP")
goargs=(-url "$URL" -duration "$DURATION" -warmup "$WARMUP")
BC=$BUILD/bench/bench_client CC_=$BUILD/bench/curl_client GC=$OUT/goclient

# 1. one caller
run_row seq_nh_thread client "${on_client[@]}" "$BC" "${clientargs[@]}" --thread
run_row seq_nh_fiber client "${on_client[@]}" "$BC" "${clientargs[@]}" --conns 1
if [ -n "$HAVE_GO" ]; then run_row seq_go client GOMAXPROCS=1 "${on_client[@]}" "$GC" "${goargs[@]}" -conns 1
else skip_row seq_go "skipped: go missing (scripts/install-deps.sh bench)"; fi
if [ -n "$HAVE_CURL" ]; then run_row seq_curl client "${on_client[@]}" "$CC_" "${clientargs[@]}" --easy
else skip_row seq_curl "skipped: libcurl headers missing (scripts/install-deps.sh bench)"; fi

# 2. CONNS concurrent callers
run_row conc_nh client "${on_client[@]}" "$BC" "${clientargs[@]}" --conns "$CONNS"
if [ -n "$HAVE_GO" ]; then run_row conc_go client GOMAXPROCS=1 "${on_client[@]}" "$GC" "${goargs[@]}" -conns "$CONNS"
else skip_row conc_go "skipped: go missing"; fi
if [ -n "$HAVE_CURL" ]; then run_row conc_curl client "${on_client[@]}" "$CC_" "${clientargs[@]}" --conns "$CONNS"
else skip_row conc_curl "skipped: libcurl headers missing"; fi

# 3. load generators
if command -v hey >/dev/null; then run_row load_hey hey GOMAXPROCS=1 "${on_client[@]}" hey -z "${DURATION}s" -c "$CONNS" "$URL"
else skip_row load_hey "skipped: hey missing (scripts/install-deps.sh bench)"; fi
if command -v wrk >/dev/null; then run_row load_wrk wrk "${on_client[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL"
else skip_row load_wrk "skipped: wrk missing (scripts/install-deps.sh bench)"; fi
if [ -n "$HAVE_LOAD" ]; then
  # shellcheck disable=SC2086 # NETHTTP_LOAD_ARGS is a list of flags
  run_row load_nh load "${on_client[@]}" "$BUILD/nethttp" load $NETHTTP_LOAD_ARGS "$URL"
else skip_row load_nh "skipped: \`nethttp load\` not in this build yet"; fi

stop_server

# ---- report ----

declare -A LABEL_ROW=(
  [seq_nh_thread]="nethttp, plain thread" [seq_nh_fiber]="nethttp, 1 fiber" [seq_go]="Go net/http, 1 goroutine"
  [seq_curl]="libcurl, easy interface"
  [conc_nh]="nethttp, $CONNS fibers on 1 loop" [conc_go]="Go net/http, $CONNS goroutines, GOMAXPROCS=1"
  [conc_curl]="libcurl, multi with $CONNS easy handles"
  [load_hey]="hey -c $CONNS (GOMAXPROCS=1)" [load_wrk]="wrk -t1 -c$CONNS" [load_nh]="nethttp load -c $CONNS --threads 1")

ratio() { # $1 / $2 with two decimals, or "–"
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f×", a / b }'
}
thousands() { awk -v a="${1:-}" 'BEGIN { if (a == "") print "–"; else printf "%.1fk", a / 1000 }'; }
pct() { [ -n "${1:-}" ] && echo "$1%" || echo "–"; }

table() { # table BASE_ID BASE_NAME ID...: one row per ID, ratios against BASE_ID
  local base=$1 name=$2 id; shift 2
  echo "| client | requests/s | client CPU µs/request | client CPU | server CPU | req/s vs $name | CPU/request vs $name | errors | other load, core $CLIENT_CPU / $SERVER_CPU | steal |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for id in "$@"; do
    if [ -z "${RPS[$id]:-}" ]; then
      echo "| ${LABEL_ROW[$id]} | ${NOTE[$id]:-no result} | | | | | | | | |"
      continue
    fi
    echo "| ${LABEL_ROW[$id]} | $(thousands "${RPS[$id]}") | ${CPU_US[$id]:-–} | $(pct "${CLIENT_PCT[$id]}") | $(pct "${SERVER_PCT[$id]}") | $(ratio "${RPS[$id]}" "${RPS[$base]:-}") | $(ratio "${CPU_US[$id]}" "${CPU_US[$base]:-}") | ${ERRS[$id]:-–} | ${OTHER[$id]} | ${STEAL[$id]}% |"
  done
}

verdict() { # verdict NH_ID GO_ID WHAT: the target line for one pair of rows
  local nh=$1 go=$2 what=$3 r c
  r=$(awk -v a="${RPS[$nh]:-}" -v b="${RPS[$go]:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a / b }')
  c=$(awk -v a="${CPU_US[$nh]:-}" -v b="${CPU_US[$go]:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a / b }')
  if [ -z "$r" ] || [ -z "$c" ]; then echo "- target (nethttp ≥ 2× Go's requests/s at ≤ 0.5× its CPU per request, $what): not measured"; return; fi
  local met="not met"
  awk -v r="$r" -v c="$c" 'BEGIN { exit !(r >= 2 && c <= 0.5) }' && met="met"
  echo "- target (nethttp ≥ 2× Go's requests/s at ≤ 0.5× its CPU per request, $what): **$met** — ${r}× the requests/s at ${c}× the CPU per request"
}

echo
echo "## HTTP clients against one server (nethttp hello, 13-byte body)"
echo
echo "- command: \`DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS RUNS=$RUNS bench/client/run.sh\`"
echo "  (server: \`taskset -c $SERVER_CPU $(realpath --relative-to="$ROOT" "$NETHTTP_HELLO") --addr 127.0.0.1:${PORT[nethttp]} --threads 1\`;"
echo "  every client pinned to core $CLIENT_CPU; $([ "$RUNS" -gt 1 ] && echo "best of $RUNS runs per row by requests/s" || echo "one run per row"))"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(machine_line)"
echo "- before the run: $BUSY_BEFORE"
echo "- versions: $(go version 2>/dev/null | awk '{print $3}'), libcurl $(pkg-config --modversion libcurl 2>/dev/null || echo –), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), hey $(dpkg-query -W -f='${Version}' hey 2>/dev/null || echo '?')"
echo
echo "### 1. One caller, sequential keep-alive requests"
echo
table seq_go Go seq_nh_thread seq_nh_fiber seq_go seq_curl
echo
verdict seq_nh_fiber seq_go "one fiber"
verdict seq_nh_thread seq_go "a plain thread"
echo
echo "### 2. $CONNS concurrent callers on one core"
echo
table conc_go Go conc_nh conc_go conc_curl
echo
verdict conc_nh conc_go "$CONNS callers"
echo
echo "### 3. Load generators, -c $CONNS, one core each"
echo
table load_hey hey load_hey load_wrk load_nh
echo
echo "client CPU µs/request: the client process's user+system CPU time (all threads) over the requests it"
echo "completed; client/server CPU: CPU time over wall time (100% = one core; the server's includes the"
echo "warm-up); other load: what else kept each core busy meanwhile (the machine is shared: high values"
echo "mean noisy figures); steal: share of the client core taken by the hypervisor. The server's own limit caps"
echo "requests/s when its CPU nears 100%: then compare CPU per request. Raw output: build/bench/client-last/."
echo
echo "Commands (as run; \`env\` and the pinning included):"
echo
echo '```'
for id in "${ROWS[@]}"; do
  [ -n "${CMD[$id]}" ] && echo "${CMD[$id]//$ROOT\//}"
done
echo '```'
