#!/usr/bin/env bash
# bench/compress/run.sh — compressed JSON responses per server CPU-second:
# `nethttp serve --compress` against nginx with `gzip on`, the same JSON
# document compressed on the fly at the same gzip level, one server at a
# time.
#
#   bench/compress/run.sh                           levels 1 and 6, 10 s each
#   LEVELS="1 6 9" CONNS=32 DURATION=20 bench/compress/run.sh
#
# Every server has one thread / worker pinned to core SERVER_CPU (1) and no
# access log; wrk has one thread on core CLIENT_CPU (0) and sends
# "Accept-Encoding: gzip" on keep-alive connections. Both servers read the
# file and gzip it for every request (nginx: gzip_static off, no cache;
# nethttp: the middleware around its file server, gzip only), with
# min_length 1024 for both. Before measuring, the script checks that each
# server answers with Content-Encoding: gzip and that the body decodes to
# the document byte for byte. The server's CPU is utime+stime of its
# process tree from /proc/PID/stat over the measured run. Reported:
# requests/s, server CPU, requests per server CPU-second, compressed
# bytes per response, and nethttp's ratio to nginx per CPU-second.
#
# Env: LEVELS ("1 6"), CONNS (16), DURATION seconds (10), WARMUP seconds
#      (2), DOC_KIB (size of the JSON document, 30), SERVER_CPU (1),
#      CLIENT_CPU (0), NETHTTP_BIN (a release build of the nethttp program;
#      brought up to date in build/compress-release first).
# Ports 18095-18096 on 127.0.0.1. Raw wrk output: build/bench/compress-last/.
set -uo pipefail
. "$(dirname "$0")/../http/lib.sh"

LEVELS=${LEVELS:-"1 6"}
CONNS=${CONNS:-16}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
DOC_KIB=${DOC_KIB:-30}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/compress-last
NETHTTP_BIN=${NETHTTP_BIN:-$ROOT/build/compress-release/nethttp}
CSERVERS="nethttp nginx"
declare -A CPORT=([nethttp]=18095 [nginx]=18096)
declare -A CLABEL=([nethttp]="nethttp serve --compress" [nginx]="nginx gzip on")

need wrk; need curl; need taskset; need cmp; need python3
[ -x /usr/sbin/nginx ] || die "/usr/sbin/nginx missing: run scripts/install-deps.sh bench"
ensure_built "$NETHTTP_BIN" nethttp
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"; rm -rf "$RESULTS"; mkdir -p "$RESULTS"

WWW=$(mktemp -d /tmp/nethttp-bench-compress.XXXXXX)
TMPDIRS+=("$WWW")
# A JSON document of about DOC_KIB KiB: records with repeated keys and
# varying values, as an API's list response.
python3 - "$WWW/data.json" "$DOC_KIB" <<'PY'
import json, random, sys
random.seed(7)
out, kib = sys.argv[1], int(sys.argv[2])
items, doc = [], ""
while len(doc) < kib * 1024:
    i = len(items)
    items.append({"id": i, "sku": "SKU-%06d" % random.randrange(10**6), "name": "item %d" % i,
                  "price": round(random.uniform(1, 500), 2), "in_stock": i % 3 != 0,
                  "tags": random.sample(["red", "blue", "sale", "new", "eco", "xl", "s"], 3),
                  "updated": "2026-12-%02dT%02d:%02d:00Z" % (1 + i % 28, i % 24, i % 60)})
    doc = json.dumps({"items": items, "count": len(items)})
open(out, "w").write(doc)
PY
DOC_BYTES=$(stat -c %s "$WWW/data.json")
chmod -R a+rX "$WWW"   # nginx workers may run as nobody

start_compress_nethttp() {
  spawn taskset -c "$SERVER_CPU" "$NETHTTP_BIN" serve "$WWW" --addr "127.0.0.1:$1" --threads 1 \
    --log-level warn --compress-encodings gzip --compress-level "gzip=$LEVEL" --compress-min-size 1024
}

start_compress_nginx() {
  spawn_nginx "${SERVER_TMP:?}" "  types { application/json json; }
  default_type application/octet-stream;
  sendfile on;
  gzip on;
  gzip_comp_level $LEVEL;
  gzip_types application/json;
  gzip_min_length 1024;
  gzip_vary on;
  server {
    listen 127.0.0.1:$1;
    root $WWW;
  }"
}

# The answer must be gzip and decode to the document.
check_gzip() {
  local enc
  enc=$(curl -s --max-time 2 -H 'Accept-Encoding: gzip' -D - -o "$SERVER_TMP/got.gz" \
        "http://127.0.0.1:$1/data.json" 2>/dev/null | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ee]ncoding: //p') \
    || { CHECK_ERR="no answer"; return 1; }
  [ -n "$enc" ] || [ -s "$SERVER_TMP/got.gz" ] || { CHECK_ERR="no answer"; return 1; }
  [ "$enc" = gzip ] || { CHECK_ERR="not gzip (Content-Encoding '$enc')"; return 1; }
  gzip -dc < "$SERVER_TMP/got.gz" | cmp -s - "$WWW/data.json" \
    || { CHECK_ERR="the body does not decode to the document"; return 1; }
  GZ_BYTES=$(stat -c %s "$SERVER_TMP/got.gz")
}

start_compress_server() { start_checked "$1" "${CPORT[$1]}" "start_compress_$1" check_gzip; }

declare -A RPS CPU_PCT RPCPU ERRS STEAL NOTE BYTES
BUSY_BEFORE=$(machine_busy_line)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
for LEVEL in $LEVELS; do
  for name in $CSERVERS; do
    key=$name/$LEVEL
    log "$key: starting on 127.0.0.1:${CPORT[$name]} (core $SERVER_CPU)"
    if ! start_compress_server "$name"; then NOTE[$key]="did not start or serve gzip"; continue; fi
    BYTES[$key]=$GZ_BYTES
    url="http://127.0.0.1:${CPORT[$name]}/data.json"
    wrk=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -H "Accept-Encoding: gzip")
    fg_run "${wrk[@]}" -d"${WARMUP}s" "$url" >/dev/null 2>&1
    pids=$(tree_pids "$SERVER_PID"); out=$RESULTS/$name.$LEVEL.wrk
    s0=$(cpu_stat "$SERVER_CPU"); c0=$(cpu_ticks $pids); t0=$(date +%s.%N)
    fg_run "${wrk[@]}" -d"${DURATION}s" "$url" >"$out" 2>&1
    c1=$(cpu_ticks $pids); t1=$(date +%s.%N); s1=$(cpu_stat "$SERVER_CPU")
    if ! alive "$SERVER_PID"; then NOTE[$key]="server died during the run"; stop_server; continue; fi
    read -r busy steal < <(cpu_share "$s0" "$s1")
    reqs=$(awk '/requests in/ {print $1}' "$out")
    RPS[$key]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    ERRS[$key]=$(awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10}
                      /Non-2xx/ {e += $NF} END {print e + 0}' "$out")
    read -r CPU_PCT[$key] RPCPU[$key] < <(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
      -v n="${reqs:-0}" 'BEGIN { s = c / hz; printf "%.0f %.0f\n", 100 * s / (t1 - t0), (s > 0 ? n / s : 0) }')
    STEAL[$key]=$steal
    log "$key: ${RPS[$key]} req/s, server CPU ${CPU_PCT[$key]}%, ${RPCPU[$key]} req/CPU-s, ${BYTES[$key]} bytes/response"
    stop_server
  done
done
BUSY_AFTER=$(machine_busy_line)

echo
echo "## Compression: gzip on the fly, ${DOC_BYTES}-byte JSON document, one server thread"
echo
echo "- command: \`LEVELS=\"$LEVELS\" CONNS=$CONNS DURATION=$DURATION bench/compress/run.sh\`"
echo "  (load: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s -H 'Accept-Encoding: gzip'\` on keep-alive; servers on core $SERVER_CPU)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(machine_line)"
echo "- load: load average $LOADAVG before the run; before: $BUSY_BEFORE; after: $BUSY_AFTER"
echo "- versions: $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), nethttp $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?") (+ working tree), zlib $(python3 -c 'import zlib; print(zlib.ZLIB_RUNTIME_VERSION)'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo
echo "| gzip level | server | requests/s | server CPU | requests per CPU-second | bytes per response | errors | steal |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
for LEVEL in $LEVELS; do
  for name in $CSERVERS; do
    key=$name/$LEVEL
    if [ -z "${RPS[$key]:-}" ]; then echo "| $LEVEL | ${CLABEL[$name]} | ${NOTE[$key]:-no result} | | | | | |"; continue; fi
    echo "| $LEVEL | ${CLABEL[$name]} | ${RPS[$key]} | ${CPU_PCT[$key]}% | ${RPCPU[$key]} | ${BYTES[$key]} | ${ERRS[$key]} | ${STEAL[$key]}% |"
  done
  if [ -n "${RPCPU[nethttp/$LEVEL]:-}" ] && [ -n "${RPCPU[nginx/$LEVEL]:-}" ]; then
    echo "| $LEVEL | nethttp / nginx | | | $(awk -v a="${RPCPU[nethttp/$LEVEL]}" -v b="${RPCPU[nginx/$LEVEL]}" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }') | | | |"
  fi
done
echo
echo "Raw wrk output: build/bench/compress-last/."
