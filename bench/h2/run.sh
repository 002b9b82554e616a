#!/usr/bin/env bash
# bench/h2/run.sh — HTTP/2 hello world (13-byte body): nethttp's server
# against nginx, h2o and Go net/http, then `nethttp load --h2` against
# h2load as a load generator, in one run.
#
#   bench/h2/run.sh                              everything, 10 s per run
#   ROUNDS=3 DURATION=10 bench/h2/run.sh         medians of 3 rounds
#   PARTS=servers MODES=h2c SERVERS="nethttp h2o" bench/h2/run.sh
#   NETHTTP_HELLO=/tmp/b/hello NETHTTP=/tmp/b/nethttp bench/h2/run.sh
#
# 1. servers: `h2load -c CONNS -m STREAMS` (64 connections, 10 concurrent
#    streams each) for DURATION seconds against each server, over h2c
#    (prior knowledge) and over TLS (ALPN h2), one table per mode. Each
#    server has one thread pinned to core SERVER_CPU (1); h2load has one
#    thread pinned to core CLIENT_CPU (0). Reported: requests/s, the
#    server's CPU (utime+stime of its process tree from /proc/PID/stat) and
#    requests per server CPU-second, the response header bytes h2load
#    received per response (HPACK-compressed), and nethttp's ratio to each
#    peer. A server that is missing is skipped with the reason; a server
#    that does not answer over HTTP/2 (nethttp before it speaks it) is a
#    failed row with the reason, never a zero.
# 2. client: the same -c/-m from one core (CLIENT_CPU) against one h2c
#    server pinned to SERVER_CPU (CLIENT_PEER: h2o, else nginx): h2load and
#    `nethttp load --h2`, each run under bench/client/cputime.c for its own
#    CPU time; requests/s, the generators' CPU per request, and the ratio
#    (target: nethttp load at least 0.8x h2load's requests/s).
# Rounds: each round runs every row once, so a slow spell of the machine
# weighs on all rows alike; the tables give the medians over the rounds.
#
# Env: ROUNDS (1; RUNS is read too), DURATION seconds (10), WARMUP seconds
#      (2, a separate h2load run before each measure), CONNS (64), STREAMS
#      (10), PARTS ("servers client"), MODES ("h2c tls"), SERVERS ("nethttp
#      nginx h2o go"), CLIENT_PEER (h2o), SERVER_CPU (1), CLIENT_CPU (0),
#      NETHTTP_HELLO (build/release/hello), NETHTTP (build/release/nethttp),
#      NETHTTP_LOAD_ARGS (the flags of `nethttp load`; by default --h2,
#      -c CONNS, its streams flag STREAMS, -z DURATIONs, --threads 1, --json).
# Ports 18290-18298 on 127.0.0.1 (bench/h2/lib.sh). Raw output of every run
# and the report (report.md): build/bench/h2-last/.
set -uo pipefail
WANTED_SERVERS=${SERVERS:-}   # bench/http/lib.sh defaults SERVERS to its own list
. "$(dirname "$0")/../http/lib.sh"
. "$(dirname "$0")/lib.sh"

SERVERS=${WANTED_SERVERS:-"nethttp nginx h2o go"}
ROUNDS=${ROUNDS:-${RUNS:-1}}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
STREAMS=${STREAMS:-10}
PARTS=${PARTS:-"servers client"}
MODES=${MODES:-"h2c tls"}
CLIENT_PEER=${CLIENT_PEER:-h2o}
NETHTTP=${NETHTTP:-$ROOT/build/release/nethttp}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/h2-last

need h2load; need curl; need openssl; need taskset
mkdir -p "$OUT"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
build_peers   # hello_go, and NETHTTP_HELLO when it is under build/
if [[ " $PARTS " == *" client "* ]]; then
  case "$NETHTTP" in
    "$ROOT"/build/*) cmake --build "$(dirname "$NETHTTP")" --target nethttp >/dev/null 2>&1 \
                       || log "the nethttp CLI did not build: using $NETHTTP as it is" ;;
  esac
  if stale "$OUT/cputime" "$ROOT/bench/client/cputime.c"; then
    cc -O2 -Wall -o "$OUT/cputime" "$ROOT/bench/client/cputime.c" || die "cputime build failed"
  fi
fi
BUSY_BEFORE=$(machine_busy_line)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- one certificate for every TLS server (removed at the end) ----
CERT_DIR=$(mktemp -d /tmp/nethttp-bench-h2-cert.XXXXXX)
TMPDIRS+=("$CERT_DIR")
CERT=$CERT_DIR/cert.pem KEY=$CERT_DIR/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$KEY" -out "$CERT" 2>/dev/null || die "openssl could not make the certificate"
chmod a+rx "$CERT_DIR"; chmod a+r "$CERT" "$KEY"   # h2o may read them as nobody

# ---- h2load ----

H2LOAD=(h2load -c "$CONNS" -m "$STREAMS")

# h2load_parse FILE: "OK_RESPONSES RPS ERRORS HEADER_BYTES BODY_BYTES", the
# last two per 2xx response.
# Its report:
#   finished in 10.00s, 98765.40 req/s, 3.21MB/s
#   requests: 987654 total, 987654 started, 987654 done, 987654 succeeded, 0 failed, 0 errored, 0 timeout
#   status codes: 987654 2xx, 0 3xx, 0 4xx, 0 5xx
#   traffic: 30.15MB (31614123) total, 1.89MB (1975308) headers (space savings 91.04%), 12.24MB (12839502) data
h2load_parse() {
  awk '
    /^finished in/ { rps = $4 + 0 }
    /^requests:/   { for (i = 2; i < NF; i++) { v = $i + 0; w = $(i + 1); sub(/,/, "", w)
                       if (w == "failed" || w == "errored" || w == "timeout") err += v } }
    /^status codes:/ { ok = $3 + 0; for (i = 4; i < NF; i++) if ($(i + 1) ~ /^[345]xx/) bad += $i + 0 }
    /^traffic:/    { for (i = 1; i < NF; i++) { w = $(i + 1); v = $i; gsub(/[()]/, "", v)
                       if (w == "headers") h = v; else if (w == "data") d = v } }
    END { if (ok > 0) printf "%d %.0f %d %.1f %.1f\n", ok, rps, err + bad, h / ok, d / ok
          else printf "0 %.0f %d\n", rps, err + bad }' "$1"
}

# Why h2load got no answer, from its output: its first error-looking line.
h2load_why() {
  grep -m1 -iE 'error|no protocol|refused|fail|abort' "$1" | cut -c1-120 || true
}

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- 1. servers ----

# Per row "MODE/NAME": every round's figures (for the medians), the last
# round's error count, and why a row has no figures.
declare -A ALL_RPS ALL_RPCPU ALL_PCT ALL_USREQ ALL_HDR ALL_BODY ALL_STEAL ALL_GEN ERRS NOTE TLSINFO HDRNAMES GAVE_UP

measure_server() { # measure_server MODE NAME ROUND
  local mode=$1 name=$2 run=$3 key=$1/$2 scheme=http url pids t0 t1 c0 c1 s0 s1 g0 g1 out alpn=()
  # Over TLS h2load offers only h2: a server that would pick http/1.1 fails
  # instead of being measured over HTTP/1.1.
  [ "$mode" = tls ] && { scheme=https; alpn=(--npn-list=h2); }
  url="$scheme://127.0.0.1:${H2_PORT[$key]}/"
  out=$RESULTS/$mode.$name.$run.h2load
  fg_run taskset -c "$CLIENT_CPU" "${H2LOAD[@]}" "${alpn[@]}" -D "$WARMUP" "$url" >"$RESULTS/$mode.$name.$run.warmup" 2>&1
  pids=$(tree_pids "$SERVER_PID")
  s0=$(cpu_stat "$SERVER_CPU"); g0=$(cpu_stat "$CLIENT_CPU"); c0=$(cpu_ticks $pids); t0=$(date +%s.%N)
  fg_run taskset -c "$CLIENT_CPU" "${H2LOAD[@]}" "${alpn[@]}" -D "$DURATION" "$url" >"$out" 2>&1
  c1=$(cpu_ticks $pids); t1=$(date +%s.%N); s1=$(cpu_stat "$SERVER_CPU"); g1=$(cpu_stat "$CLIENT_CPU")
  local busy steal gen ok rps errs hdr body pct rpcpu usreq
  read -r busy steal < <(cpu_share "$s0" "$s1")
  read -r gen _ < <(cpu_share "$g0" "$g1")   # how busy h2load's core was
  if ! alive "$SERVER_PID"; then NOTE[$key]="failed: the server died during the run"; return 1; fi
  read -r ok rps errs hdr body < <(h2load_parse "$out")
  if [ "${ok:-0}" = 0 ]; then
    NOTE[$key]="failed: no 2xx answer over HTTP/2 ($(h2load_why "$out"))"; return 1
  fi
  read -r pct rpcpu usreq < <(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" -v n="$ok" \
    'BEGIN { s = c / hz; printf "%.0f %.0f %.2f\n", 100 * s / (t1 - t0), (s > 0 ? n / s : 0), 1e6 * s / n }')
  log "$key: round $run: $rps req/s, server CPU $pct%, $rpcpu req/CPU-s, $usreq µs CPU/req, ${hdr:-?}/${body:-?} header/body bytes per response, errors $errs, h2load core $gen%, steal $steal%"
  ALL_GEN[$key]+="$gen " ALL_RPS[$key]+="$rps " ALL_RPCPU[$key]+="$rpcpu " ALL_PCT[$key]+="$pct " ALL_USREQ[$key]+="$usreq "
  ALL_HDR[$key]+="$hdr " ALL_BODY[$key]+="$body " ALL_STEAL[$key]+="$steal "
  ERRS[$key]=$(( ${ERRS[$key]:-0} + errs ))
}

if [[ " $PARTS " == *" servers "* ]]; then
  for run in $(seq "$ROUNDS"); do
    for mode in $MODES; do
      for name in $SERVERS; do
        key=$mode/$name
        [ -n "${GAVE_UP[$key]:-}" ] && continue
        if ! h2_server_available "$mode" "$name"; then
          log "$key: skipped: $SKIP_REASON"; NOTE[$key]="skipped: $SKIP_REASON"; GAVE_UP[$key]=1; continue
        fi
        log "$key: starting on 127.0.0.1:${H2_PORT[$key]} (core $SERVER_CPU), round $run of $ROUNDS"
        if ! start_h2_server "$mode" "$name"; then
          NOTE[$key]="failed: ${START_ERR:-did not start or answer over HTTP/2}"; GAVE_UP[$key]=1; continue
        fi
        [ "$mode" = tls ] && [ -z "${TLSINFO[$key]:-}" ] && TLSINFO[$key]=$(tls_line "${H2_PORT[$key]}")
        [ -z "${HDRNAMES[$key]:-}" ] && HDRNAMES[$key]=$(header_names "$mode" "${H2_PORT[$key]}")
        measure_server "$mode" "$name" "$run" || GAVE_UP[$key]=1
        stop_server
      done
    done
  done
fi

# ---- 2. client: h2load against nethttp load --h2 ----

declare -A G_RPS G_USREQ G_PCT G_SPCT G_ERRS G_NOTE G_CMD
CLIENT_SERVER=""

# The `nethttp load` flags: --h2 and its concurrent-streams flag, from its
# --help (the line that speaks of streams), unless NETHTTP_LOAD_ARGS is set.
nethttp_load_args() {
  local help sflag
  [ -n "${NETHTTP_LOAD_ARGS:-}" ] && { echo "$NETHTTP_LOAD_ARGS"; return 0; }
  help=$("$NETHTTP" load --help 2>&1) || true
  grep -q -- '--h2\b' <<<"$help" || { echo "no --h2 in \`nethttp load --help\`"; return 1; }
  sflag=$(grep -i 'stream' <<<"$help" | grep -oE '(^|[ ,])--?[a-zA-Z0-9-]+' | tr -d ' ,' | grep -v -- '^--h2$' | head -n 1)
  [ -n "$sflag" ] || { echo "no concurrent-streams flag in \`nethttp load --help\`"; return 1; }
  echo "--h2 -c $CONNS $sflag $STREAMS -z ${DURATION}s --threads 1 --json"
}

json_num() { grep -o "\"$1\":[0-9.]*" "$2" | head -1 | cut -d: -f2; }
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$2"; }

measure_gen() { # measure_gen ID ROUND COMMAND...: one generator run under cputime
  local id=$1 run=$2; shift 2
  local out=$RESULTS/client.$id.$run.out cpuf=$RESULTS/client.$id.$run.cpu
  local spids t0 t1 s0 s1 rc n rps errs cpu secs usreq pct spct ok
  spids=$(tree_pids "$SERVER_PID")
  s0=$(cpu_ticks $spids); t0=$(date +%s.%N)
  fg_run "$OUT/cputime" "$cpuf" "$@" >"$out" 2>&1; rc=$?
  s1=$(cpu_ticks $spids); t1=$(date +%s.%N)
  alive "$SERVER_PID" || die "the server died during the $id run; output in $out"
  if [ "$id" = h2load ]; then
    read -r n rps errs _ _ < <(h2load_parse "$out")
  else
    rps=$(json_num requests_per_second "$out"); [ -n "$rps" ] && rps=$(printf '%.0f' "$rps")
    n=$(json_num responses "$out"); ok=$(grep -o '"200":[0-9]*' "$out" | head -1 | cut -d: -f2)
    errs=$(( $(json_num errors "$out" || echo 0) + ${n:-0} - ${ok:-0} )); n=${ok:-0}
  fi
  if [ -z "$rps" ] || [ "${n:-0}" = 0 ]; then
    log "client/$id: round $run: no result (exit $rc); output:"; tail -n 5 "$out" | sed 's/^/    /' >&2
    G_NOTE[$id]="failed: no answers (exit $rc, see build/bench/h2-last/client.$id.$run.out)"; return 1
  fi
  cpu=$(kv cpu_seconds "$cpuf"); secs=$(kv wall_seconds "$cpuf")
  read -r usreq pct spct < <(awk -v c="$cpu" -v s="$secs" -v n="$n" -v sc="$((s1 - s0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.2f %.0f %.0f\n", 1e6 * c / n, 100 * c / s, 100 * sc / hz / (t1 - t0) }')
  log "client/$id: round $run: $rps req/s, $usreq µs CPU/req, generator CPU $pct%, server CPU $spct%, errors $errs"
  G_RPS[$id]+="$rps " G_USREQ[$id]+="$usreq " G_PCT[$id]+="$pct " G_SPCT[$id]+="$spct "
  G_ERRS[$id]=$(( ${G_ERRS[$id]:-0} + errs ))
}

if [[ " $PARTS " == *" client "* ]]; then
  for peer in $CLIENT_PEER nginx; do
    h2_server_available h2c "$peer" || { log "client: $peer: $SKIP_REASON"; continue; }
    log "client: server $peer h2c on 127.0.0.1:${H2_PORT[client/$peer]} (core $SERVER_CPU)"
    if start_h2_server client "$peer"; then CLIENT_SERVER=$peer; break; fi
  done
  if [ -z "$CLIENT_SERVER" ]; then
    G_NOTE[h2load]="skipped: no h2c server (h2o or nginx) started"; G_NOTE[nethttp]=${G_NOTE[h2load]}
  else
    URL="http://127.0.0.1:${H2_PORT[client/$CLIENT_SERVER]}/"
    G_CMD[h2load]="taskset -c $CLIENT_CPU ${H2LOAD[*]} -D $DURATION $URL"
    if [ ! -x "$NETHTTP" ]; then
      G_NOTE[nethttp]="skipped: $NETHTTP not built"
    elif ! LOAD_ARGS=$(nethttp_load_args); then
      G_NOTE[nethttp]="failed: $LOAD_ARGS"
    else
      G_CMD[nethttp]="taskset -c $CLIENT_CPU $NETHTTP load $LOAD_ARGS $URL"
    fi
    fg_run taskset -c "$CLIENT_CPU" "${H2LOAD[@]}" -D "$WARMUP" "$URL" >"$RESULTS/client.warmup" 2>&1
    for run in $(seq "$ROUNDS"); do
      measure_gen h2load "$run" taskset -c "$CLIENT_CPU" "${H2LOAD[@]}" -D "$DURATION" "$URL"
      if [ -n "${G_CMD[nethttp]:-}" ] && [ -z "${G_NOTE[nethttp]:-}" ]; then
        # shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
        measure_gen nethttp "$run" taskset -c "$CLIENT_CPU" "$NETHTTP" load $LOAD_ARGS "$URL"
      fi
    done
    stop_server
  fi
fi

# ---- report ----

ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f×", a / b }'; }
thousands() { awk -v a="${1:-}" 'BEGIN { if (a == "") print "–"; else printf "%.1fk", a / 1000 }'; }
rel() { case "$1" in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }

report() {
  local mode name key nh_rps nh_rpcpu m_rps m_rpcpu
  echo
  echo "## HTTP/2 hello world (13-byte body), one server thread"
  echo
  echo "- command: \`ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS STREAMS=$STREAMS PARTS=\"$PARTS\" MODES=\"$MODES\" SERVERS=\"$SERVERS\" bench/h2/run.sh\`"
  echo "  (load: \`taskset -c $CLIENT_CPU ${H2LOAD[*]} -D $DURATION URL\`, with \`--npn-list=h2\` over TLS, after a ${WARMUP} s warm-up run; servers on core $SERVER_CPU;"
  echo "  $([ "$ROUNDS" -gt 1 ] && echo "medians of $ROUNDS rounds, each row once per round" || echo "one round"))"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(machine_line)"
  echo "- before the run: $BUSY_BEFORE; load average $LOADAVG"
  echo "- versions: $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), $(h2o --version 2>/dev/null | head -1 | sed 's/ version//'), $(go version 2>/dev/null | awk '{print $3}'), $(h2load --version 2>/dev/null | head -1), $(openssl version | awk '{print $1, $2}')"
  echo "- nethttp: \`$(rel "$NETHTTP_HELLO") --threads 1 --h2c\` / \`--tls-cert C --tls-key K\`; nethttp load: \`$(rel "$NETHTTP")\`"
  if [[ " $PARTS " == *" servers "* ]]; then
    for mode in $MODES; do
      echo
      if [ "$mode" = h2c ]; then echo "### h2c (cleartext, prior knowledge)"; else echo "### TLS (ALPN h2, ECDSA P-256 certificate)"; fi
      echo
      nh_rps=$(median <<<"${ALL_RPS[$mode/nethttp]:-}"); nh_rpcpu=$(median <<<"${ALL_RPCPU[$mode/nethttp]:-}")
      echo "| server | requests/s | server CPU | h2load core | requests per CPU-second | µs CPU per request | header / body bytes per response | nethttp ÷ this, requests/s | nethttp ÷ this, per CPU-second | errors | steal |"
      echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      for name in $SERVERS; do
        key=$mode/$name
        if [ -z "${ALL_RPS[$key]:-}" ]; then
          { [ "$mode" = h2c ] && [ "$name" = go ] && [ -z "${NOTE[$key]:-}" ]; } && continue
          echo "| ${H2_LABEL[$name]:-$name} | ${NOTE[$key]:-no result} | | | | | | | | | |"
          continue
        fi
        m_rps=$(median <<<"${ALL_RPS[$key]}"); m_rpcpu=$(median <<<"${ALL_RPCPU[$key]}")
        echo "| ${H2_LABEL[$name]} | $(thousands "$m_rps") | $(median <<<"${ALL_PCT[$key]}" | cut -d. -f1)% | $(median <<<"${ALL_GEN[$key]}" | cut -d. -f1)% | $(thousands "$m_rpcpu") | $(median <<<"${ALL_USREQ[$key]}") | $(median <<<"${ALL_HDR[$key]}" | sed 's/0*$//; s/\.$//') / $(median <<<"${ALL_BODY[$key]}" | sed 's/0*$//; s/\.$//') | $(ratio "$nh_rps" "$m_rps") | $(ratio "$nh_rpcpu" "$m_rpcpu") | ${ERRS[$key]:-0} | $(median <<<"${ALL_STEAL[$key]}" | cut -d. -f1)% |"
      done
      echo
      for name in $SERVERS; do
        [ -n "${HDRNAMES[$mode/$name]:-}" ] && echo "- ${H2_LABEL[$name]} answers with: ${HDRNAMES[$mode/$name]}"
        [ -n "${TLSINFO[$mode/$name]:-}" ] && echo "- ${H2_LABEL[$name]} negotiates: ${TLSINFO[$mode/$name]}"
      done
      if [ "$ROUNDS" -gt 1 ]; then
        echo
        echo "Per round, requests per CPU-second:"
        for name in $SERVERS; do
          [ -n "${ALL_RPCPU[$mode/$name]:-}" ] && echo "- ${H2_LABEL[$name]}: $(for v in ${ALL_RPCPU[$mode/$name]}; do thousands "$v"; echo; done | paste -sd/ | sed 's|/| / |g')"
        done
      fi
    done
    echo
    echo "server CPU: utime+stime of the server's process tree over wall time (100% = one core);"
    echo "h2load core: how busy core $CLIENT_CPU was (near 100%: h2load set the rate, compare per CPU-second);"
    echo "header / body bytes per response: the HEADERS (HPACK-compressed) and DATA payload bytes h2load"
    echo "received over the 2xx answers;"
    echo "errors: h2load's failed, errored and timed-out requests plus non-2xx answers, all rounds;"
    echo "steal: the hypervisor's share of the server core during the run."
  fi
  if [[ " $PARTS " == *" client "* ]]; then
    local h_rps n_rps h_us r
    echo
    echo "### Load generators: h2load and \`nethttp load --h2\`, -c $CONNS, $STREAMS streams per connection, one core"
    echo
    echo "- server: ${CLIENT_SERVER:-none} over h2c on core $SERVER_CPU, as in the h2c table"
    echo
    echo "| generator | requests/s | generator CPU µs/request | generator CPU | server CPU | requests/s ÷ h2load | CPU/request ÷ h2load | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    h_rps=$(median <<<"${G_RPS[h2load]:-}"); n_rps=$(median <<<"${G_RPS[nethttp]:-}")
    h_us=$(median <<<"${G_USREQ[h2load]:-}")
    for id in h2load nethttp; do
      local label="h2load -c $CONNS -m $STREAMS"
      [ "$id" = nethttp ] && label="nethttp load --h2"
      if [ -z "${G_RPS[$id]:-}" ]; then
        echo "| $label | ${G_NOTE[$id]:-no result} | | | | | | |"; continue
      fi
      local rps us
      rps=$(median <<<"${G_RPS[$id]}"); us=$(median <<<"${G_USREQ[$id]}")
      echo "| $label | $(thousands "$rps") | $us | $(median <<<"${G_PCT[$id]}" | cut -d. -f1)% | $(median <<<"${G_SPCT[$id]}" | cut -d. -f1)% | $(ratio "$rps" "$h_rps") | $(ratio "$us" "$h_us") | ${G_ERRS[$id]:-0} |"
    done
    echo
    r=$(awk -v a="$n_rps" -v b="$h_rps" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a / b }')
    if [ -z "$r" ]; then
      echo "- target (nethttp load ≥ 0.8× h2load's requests/s from one core): not measured"
    elif awk -v r="$r" 'BEGIN { exit !(r >= 0.8) }'; then
      echo "- target (nethttp load ≥ 0.8× h2load's requests/s from one core): **met** — ${r}×"
    else
      echo "- target (nethttp load ≥ 0.8× h2load's requests/s from one core): **not met** — ${r}×"
    fi
    echo
    echo "generator CPU: user+system time of the generator (all threads, from wait4) over the answers it"
    echo "counted (2xx); when the server's CPU nears 100% the server caps both generators' rate: then"
    echo "compare the CPU per request."
    echo
    echo "Commands:"
    echo
    echo '```'
    for id in h2load nethttp; do [ -n "${G_CMD[$id]:-}" ] && echo "${G_CMD[$id]//$ROOT\//}"; done
    echo '```'
  fi
  echo
  echo "Raw output of every run: build/bench/h2-last/."
}

report | tee "$RESULTS/report.md"
