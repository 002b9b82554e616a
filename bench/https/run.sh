#!/usr/bin/env bash
# bench/https/run.sh — HTTPS hello world (13-byte body) over TLS 1.3 on
# loopback: nethttp against nginx (ssl, one worker) and Go net/http
# (ListenAndServeTLS, GOMAXPROCS=1), in one run, one server at a time.
#
#   bench/https/run.sh
#   DURATION=20 RUNS=3 bench/https/run.sh
#   SERVERS="nethttp go" bench/https/run.sh
#
# Two measures per server, both with one wrk thread (core CLIENT_CPU, 0)
# against one server thread (core SERVER_CPU, 1):
#   keep-alive  wrk -t1 -c64 over https: 64 connections, one handshake each,
#               then requests; the cost of TLS records on top of HTTP.
#   resumed     the same with "Connection: close": the server answers and
#               closes, wrk reconnects, so every request is a new TCP
#               connection and a new TLS 1.3 handshake. wrk keeps the
#               session ticket the server sent and offers it on reconnect,
#               so these are resumptions (PSK with X25519, no certificate
#               signature), as a returning browser does.
#   full        the same against the server restarted with resumption off
#               (it sends no tickets, or does not accept them): every
#               handshake is a full one, with the ECDSA signature.
#               nginx: ssl_session_tickets off + ssl_session_cache off; Go:
#               tls.Config.SessionTicketsDisabled; nethttp has no such
#               switch, so its server gets OpenSSL's "NumTickets = 0" through
#               an OPENSSL_CONF file.
# Before each handshake measure, openssl s_client connects twice with the
# first session and the table shows whether the second was resumed. The
# connections are counted, not assumed: the kernel's PassiveOpens counter
# (/proc/net/snmp) over the run.
# Each measure reports the rate and the server's CPU per unit (utime+stime of
# its process tree from /proc), since on two cores the client may limit the
# rate before a server fills its core.
#
# All servers use one certificate, an ECDSA P-256 key made here with openssl
# into a temp dir that is removed at the end. The protocol, cipher and key
# exchange each server negotiates with OpenSSL's default client offer are
# shown beside its figures.
#
# The whole script runs in its own network namespace (unshare --net, root),
# so the connection counter sees only its own connections and no other
# process on the machine can take the ports; without that it falls back to
# the machine's counters and says so.
#
# Env: CONNS (64), DURATION seconds (10), WARMUP seconds (2), RUNS (1, best
#      kept by CPU per unit), SERVERS ("nethttp nginx go"), SERVER_CPU (1),
#      CLIENT_CPU (0), NETHTTP_HELLO (build/release/hello, built with TLS).
# Raw wrk output of the last run: build/bench/https-last/.
set -uo pipefail

# Own network namespace: private loopback, private TCP counters.
if [ -z "${NH_BENCH_NETNS:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null \
     && unshare --net true 2>/dev/null; then
    exec unshare --net env NH_BENCH_NETNS=1 bash "$0" "$@"
  fi
  NH_BENCH_NETNS=shared
fi
if [ "$NH_BENCH_NETNS" = 1 ]; then
  ip link set lo up || { echo "error: cannot bring up lo in the new namespace" >&2; exit 1; }
fi

WANTED_SERVERS=${SERVERS:-}   # lib.sh defaults SERVERS to bench/http's list
. "$(dirname "$0")/../http/lib.sh"

ALL_HTTPS_SERVERS="nethttp nginx go"
SERVERS=${WANTED_SERVERS:-$ALL_HTTPS_SERVERS}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-1}
CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/https-last
declare -A TLS_PORT=([nethttp]=18443 [go]=18444 [nginx]=18445)

need wrk; need openssl
build_peers
BUSY_BEFORE=$(machine_busy_line)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"

# ---- the certificate, shared by every server ----
CERT_DIR=$(mktemp -d /tmp/nethttp-bench-https-cert.XXXXXX)
TMPDIRS+=("$CERT_DIR")
CERT=$CERT_DIR/cert.pem
KEY=$CERT_DIR/key.pem
CERT_CMD="openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$KEY" -out "$CERT" 2>/dev/null || die "openssl could not make the certificate"
# OpenSSL's configuration for an OpenSSL server that must not resume: no
# TLS 1.3 tickets, so a client has nothing to offer.
NO_TICKETS_CONF=$CERT_DIR/no-tickets.cnf
cat > "$NO_TICKETS_CONF" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_module
[ssl_module]
system_default = system_default_sect
[system_default_sect]
NumTickets = 0
EOF
NO_RESUME=0   # 1 while the servers run with resumption off (the "full" measure)

# ---- the servers, HTTPS on TLS_PORT, pinned to SERVER_CPU ----

start_tls_nethttp() {
  local env=()
  [ "$NO_RESUME" = 1 ] && env=(OPENSSL_CONF="$NO_TICKETS_CONF")
  spawn env "${env[@]}" taskset -c "$SERVER_CPU" "$NETHTTP_HELLO" --addr "127.0.0.1:$1" --threads 1 \
    --tls-cert "$CERT" --tls-key "$KEY"
}

start_tls_go() {
  spawn env GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$OUT/hello_go" -addr "127.0.0.1:$1" \
    -tls-cert "$CERT" -tls-key "$KEY" -tls-no-resume="$([ "$NO_RESUME" = 1 ] && echo true || echo false)"
}

start_tls_nginx() {
  # As bench/http's nginx (one worker, no access log, files in SERVER_TMP),
  # plus ssl with TLS 1.3 only, and keepalive_requests raised from 1000 so
  # that, like the other two, nginx never closes a busy keep-alive
  # connection (which would add handshakes to the keep-alive measure).
  local resume=""
  [ "$NO_RESUME" = 1 ] && resume="ssl_session_tickets off; ssl_session_cache off;"
  spawn_nginx "${SERVER_TMP:?}" "  default_type text/plain;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.3;
    $resume
    location / {
      return 200 \"hello, world\\n\";
    }
  }"
}

tls_server_available() {
  SKIP_REASON=""
  case $1 in
    nethttp) [ -x "$NETHTTP_HELLO" ] || SKIP_REASON="$NETHTTP_HELLO not built yet (make build)" ;;
    go)      [ -x "$OUT/hello_go" ] || SKIP_REASON="hello_go not built (golang-go missing? scripts/install-deps.sh bench)" ;;
    nginx)   [ -x /usr/sbin/nginx ] || SKIP_REASON="/usr/sbin/nginx missing (scripts/install-deps.sh bench)" ;;
    *)       SKIP_REASON="unknown server $1 (known: $ALL_HTTPS_SERVERS)" ;;
  esac
  [ -z "$SKIP_REASON" ]
}

# GET / over TLS 1.3 must give exactly the 13-byte body as text/plain.
check_https_hello() {
  local port=$1 got code size type
  got=$(curl -sk --tlsv1.3 --max-time 2 -o "$SERVER_TMP/check-body" \
        -w '%{http_code} %{size_download} %{content_type}' "https://127.0.0.1:$port/" 2>/dev/null) \
    || { CHECK_ERR="no answer"; return 1; }
  read -r code size type <<<"$got"
  if [ "$code" != 200 ] || ! printf '%s' "$HELLO_BODY" | cmp -s - "$SERVER_TMP/check-body" \
     || [ "${type%%;*}" != text/plain ]; then
    CHECK_ERR="wrong answer: status $code, $size bytes, type '$type' (want 200, 13 bytes, text/plain)"
    return 1
  fi
}

# Starts server $1 and waits (up to 10 s) until it answers over HTTPS.
start_tls_server() { start_checked "$1" "${TLS_PORT[$1]}" "start_tls_$1" check_https_hello https; }

# "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519": what OpenSSL's default client
# offer (wrk's too) gets from the server.
tls_params() {
  openssl s_client -connect "127.0.0.1:$1" -servername localhost -brief </dev/null 2>&1 |
    awk -F': *' '/^Protocol version/ {p = $2} /^Ciphersuite/ {c = $2}
                 /^(Server|Peer) Temp Key/ {split($2, k, ","); g = k[1]}
                 END {print p, c, g}'
}

# "yes" if a second connection resumes the first one's session, else "no".
resumes() {
  local f=$SERVER_TMP/session
  # stdin stays open a moment so s_client reads the tickets sent after the handshake
  sleep 0.3 | openssl s_client -connect "127.0.0.1:$1" -servername localhost -sess_out "$f" >/dev/null 2>&1
  if sleep 0.3 | openssl s_client -connect "127.0.0.1:$1" -servername localhost -sess_in "$f" 2>/dev/null |
     grep -q '^Reused,'; then echo yes; else echo no; fi
}

# Connections the kernel accepted so far (PassiveOpens in /proc/net/snmp).
passive_opens() {
  awk '/^Tcp:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "PassiveOpens") f = i; n = 1 } else print $f }' /proc/net/snmp
}

now_s() { date +%s.%N; }

# Result arrays, keyed "name,mode" with mode ka (keep-alive) or hs (handshakes).
declare -A RESUMED CLIENT_BUSY RPS CONNS_PS PER_CPU US_PER CPU_PCT ERRS STEAL NEWCONNS TLSINFO NOTE

# One wrk run of mode $2 against server $1; its figures replace the kept
# ones if the server used less CPU per unit (request or handshake).
measure_once() {
  local name=$1 mode=$2 run=$3 url="https://127.0.0.1:${TLS_PORT[$1]}/" pids out
  local t0 t1 c0 c1 s0 s1 l0 l1 o0 o1 hdr=()
  [ "$mode" != ka ] && hdr=(-H 'Connection: close')
  pids=$(tree_pids "$SERVER_PID")
  out=$RESULTS/$name.$mode.$run.wrk
  s0=$(cpu_stat "$SERVER_CPU"); l0=$(cpu_stat "$CLIENT_CPU"); o0=$(passive_opens); c0=$(cpu_ticks $pids); t0=$(now_s)
  fg_run taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "${hdr[@]}" "$url" >"$out" 2>&1
  c1=$(cpu_ticks $pids); t1=$(now_s); o1=$(passive_opens); s1=$(cpu_stat "$SERVER_CPU"); l1=$(cpu_stat "$CLIENT_CPU")
  if ! alive "$SERVER_PID"; then NOTE[$name]="server died during the run"; return 1; fi
  local busy steal cbusy csteal reqs errs rps cps pct per us newc
  read -r busy steal < <(cpu_share "$s0" "$s1")
  # The load generator's core: near 100% means wrk, not the server, set the rate.
  read -r cbusy csteal < <(cpu_share "$l0" "$l1")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  errs=$(awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10}
              /Non-2xx/ {e += $NF} END {print e + 0}' "$out")
  newc=$((o1 - o0))
  # per: units per server CPU-second (requests for ka, handshakes for hs);
  # us: server CPU microseconds per unit.
  read -r rps cps pct per us < <(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
    -v n="${reqs:-0}" -v k="$newc" -v mode="$mode" 'BEGIN {
      s = c / hz; w = t1 - t0; u = (mode == "ka" ? n : k)
      printf "%.0f %.0f %.0f %.0f %.1f\n", n / w, k / w, 100 * s / w, (s > 0 ? u / s : 0), (u > 0 ? 1e6 * s / u : 0) }')
  log "$name $mode run $run: $rps req/s, $cps new conns/s ($newc), server CPU $pct%, client core $cbusy%, $per per CPU-s, ${us} us CPU each, errors $errs, steal $steal%"
  local key=$name,$mode
  if [ -z "${PER_CPU[$key]:-}" ] || [ "$per" -gt "${PER_CPU[$key]}" ]; then
    RPS[$key]=$rps CONNS_PS[$key]=$cps PER_CPU[$key]=$per US_PER[$key]=$us
    CPU_PCT[$key]=$pct CLIENT_BUSY[$key]=$cbusy ERRS[$key]=$errs STEAL[$key]=$steal NEWCONNS[$key]=$newc
  fi
}

# Measures the running server in each of modes $2...
measure() {
  local name=$1 mode run hdr; shift
  for mode in "$@"; do
    hdr=(); [ "$mode" != ka ] && hdr=(-H 'Connection: close')
    [ "$mode" != ka ] && RESUMED[$name,$mode]=$(resumes "${TLS_PORT[$name]}")
    fg_run taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${hdr[@]}" \
      "https://127.0.0.1:${TLS_PORT[$name]}/" >/dev/null 2>&1
    for run in $(seq "$RUNS"); do measure_once "$name" "$mode" "$run" || return 1; done
  done
}

for name in $SERVERS; do
  if ! tls_server_available "$name"; then
    log "$name: skipped: $SKIP_REASON"; NOTE[$name]="skipped: $SKIP_REASON"; continue
  fi
  log "$name: starting on https://127.0.0.1:${TLS_PORT[$name]} (core $SERVER_CPU)"
  NO_RESUME=0
  if ! start_tls_server "$name"; then NOTE[$name]="did not start or answer correctly (see above)"; continue; fi
  TLSINFO[$name]=$(tls_params "${TLS_PORT[$name]}")
  measure "$name" ka hs
  stop_server
  log "$name: restarting with resumption off"
  NO_RESUME=1
  if ! start_tls_server "$name"; then NOTE[$name]="did not start with resumption off (see above)"; continue; fi
  measure "$name" full
  stop_server
done

# ---- report ----
ratio() { # $1 / $2 with two decimals, or "–" when either is missing
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f×", a / b }'
}
thousands() { awk -v a="${1:-}" 'BEGIN { if (a == "") print "–"; else printf "%.1fk", a / 1000 }'; }

# One table row for server $1, mode $2.
row() {
  local name=$1 mode=$2 key=$1,$2 unit
  if [ -z "${PER_CPU[$key]:-}" ]; then
    echo "| ${LABEL[$name]:-$name} | ${NOTE[$name]:-no result} | | | | | | | | | |$([ "$mode" = ka ] || echo " |")"; return
  fi
  if [ "$mode" = ka ]; then
    echo "| ${LABEL[$name]} | $(thousands "${RPS[$key]}") | ${NEWCONNS[$key]} | ${CPU_PCT[$key]}% | ${CLIENT_BUSY[$key]}% | $(thousands "${PER_CPU[$key]}") | ${US_PER[$key]} | $(ratio "${PER_CPU[$key]}" "${PER_CPU[go,ka]:-}") | $(ratio "${PER_CPU[$key]}" "${PER_CPU[nginx,ka]:-}") | ${ERRS[$key]} | ${STEAL[$key]}% |"
  else
    echo "| ${LABEL[$name]} | ${RESUMED[$key]:-?} | ${CONNS_PS[$key]} | ${RPS[$key]} | ${CPU_PCT[$key]}% | ${CLIENT_BUSY[$key]}% | ${PER_CPU[$key]} | ${US_PER[$key]} | $(ratio "${PER_CPU[$key]}" "${PER_CPU[go,$mode]:-}") | $(ratio "${PER_CPU[$key]}" "${PER_CPU[nginx,$mode]:-}") | ${ERRS[$key]} | ${STEAL[$key]}% |"
  fi
}

echo
echo "## HTTPS hello world (13-byte body, TLS 1.3, ECDSA P-256), one server thread"
echo
echo "- command: \`CONNS=$CONNS DURATION=$DURATION WARMUP=$WARMUP RUNS=$RUNS SERVERS=\"$SERVERS\" bench/https/run.sh\`"
echo "  - keep-alive: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s https://127.0.0.1:PORT/\`"
echo "  - handshakes: \`taskset -c $CLIENT_CPU wrk -t1 -c$CONNS -d${DURATION}s -H 'Connection: close' https://127.0.0.1:PORT/\`"
echo "  - full handshakes: the same against servers restarted with resumption off: nginx \`ssl_session_tickets off; ssl_session_cache off;\`, Go \`-tls-no-resume\` (SessionTicketsDisabled), nethttp with \`OPENSSL_CONF\` setting \`NumTickets = 0\`"
echo "  - certificate: \`$CERT_CMD\`"
echo "  - servers on core $SERVER_CPU: \`hello --threads 1 --tls-cert C --tls-key K\`; nginx \`worker_processes 1\`, \`listen ssl\`, \`ssl_protocols TLSv1.3\`; \`GOMAXPROCS=1 hello_go -tls-cert C -tls-key K\` (ListenAndServeTLS, MinVersion TLS 1.3)"
echo "  - $([ "$RUNS" -gt 1 ] && echo "best of $RUNS runs per server and measure by CPU per unit" || echo "one run per server and measure")"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(machine_line)"
echo "- before the run: $BUSY_BEFORE"
echo "- network: $([ "$NH_BENCH_NETNS" = 1 ] && echo "loopback in the script's own network namespace" || echo "the machine's loopback (connection counts include any other process's)")"
echo "- versions: $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), $(go version 2>/dev/null | awk '{print $3}'), $(openssl version | awk '{print $1, $2}'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
for name in $SERVERS; do
  [ -n "${TLSINFO[$name]:-}" ] && echo "- ${LABEL[$name]} negotiates: ${TLSINFO[$name]}"
done
echo
echo "### Keep-alive: $CONNS connections, requests over TLS"
echo
echo "| server | requests/s | new conns | server CPU | client core | requests per CPU-second | µs CPU per request | vs Go | vs nginx | errors | steal |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for name in $SERVERS; do row "$name" ka; done
for mode in hs full; do
echo
if [ "$mode" = hs ]; then
  echo "### New connection per request, session resumed (wrk offers the server's ticket)"
else
  echo "### New connection per request, full handshake (server resumption off)"
fi
echo
echo "| server | resumed | handshakes/s | requests/s | server CPU | client core | handshakes per CPU-second | µs CPU per handshake | vs Go | vs nginx | errors | steal |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for name in $SERVERS; do row "$name" "$mode"; done
done
echo
echo "resumed: whether openssl s_client's second connection resumed its first session;"
echo "new conns / handshakes: TCP connections the server's kernel accepted during the run (PassiveOpens),"
echo "each one a TLS handshake; vs Go / vs nginx: ratios of the per-CPU-second column (higher = cheaper);"
echo "server CPU: utime+stime of the server's process tree over wall time (100% = one core);"
echo "client core: how busy wrk's core was (near 100%: wrk set the rate, compare the per-CPU columns);"
echo "errors: wrk socket errors + non-2xx; steal: hypervisor's share of the server core during the run."
echo "Raw wrk output: build/bench/https-last/."
