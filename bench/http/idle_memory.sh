#!/usr/bin/env bash
# bench/http/idle_memory.sh — server memory per idle keep-alive connection.
#
#   bench/http/idle_memory.sh                  10,000 connections per server
#   IDLE_CONNS=5000 SERVERS="limit go" bench/http/idle_memory.sh
#
# For each server (same builds, configs and core pinning as run.sh): start it,
# read its RSS, open IDLE_CONNS connections with bench/http/idle_client.c (each
# sends one GET and reads the whole response, then stays open and idle), read
# the RSS again while they are held, and print
#   KiB per connection = (RSS with - RSS before) / connections held.
# RSS is VmRSS from /proc/PID/status summed over the server's process tree
# (nginx master + worker). It is user-space memory only: the kernel's socket
# buffers are the same for every server and are not counted.
#
# Note what "before" includes: memory a server reserves up front for its
# maximum connection count (nginx touches its whole connection array for
# worker_connections at start) is in the baseline, not in the per-connection
# figure; what grows with each accepted connection is.
#
# Env: IDLE_CONNS (10000), SERVERS, SERVER_CPU (1), CLIENT_CPU (0),
#      NETHTTP_HELLO (build/release/hello).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

IDLE_CONNS=${IDLE_CONNS:-10000}
SETTLE=${SETTLE:-1}   # seconds to let the server finish with the last connections

build_peers
BUSY_BEFORE=$(machine_busy_line)   # other work on the machine skews the figures
# Every server holds IDLE_CONNS sockets, and inherits this limit: raise it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((IDLE_CONNS + 100)) ]; then
  die "open-file limit $(ulimit -n) (hard $(ulimit -Hn)) is too low for $IDLE_CONNS connections"
fi

declare -A BEFORE WITH PER HELD NOTE

# Measures one server that is already running (SERVER_PID).
measure() {
  local name=$1 port=${PORT[$1]} pids out client i line ok failed held closed
  sleep 0.5
  pids=$(tree_pids "$SERVER_PID")
  BEFORE[$name]=$(rss_kib $pids)
  out=$SERVER_TMP/idle_client.out
  # The client exits by itself after 300 s at the latest; we stop it sooner.
  spawn taskset -c "$CLIENT_CPU" "$OUT/idle_client" 127.0.0.1 "$port" "$IDLE_CONNS" 300 >"$out" 2>"$out.err"
  client=$BG_PID
  for i in $(seq 1200); do   # up to 120 s to open them all
    grep -q '^ready' "$out" 2>/dev/null && break
    alive "$client" || break
    sleep 0.1
  done
  read -r line ok failed closed < <(grep '^ready' "$out")
  if [ "${line:-}" != ready ]; then
    NOTE[$name]="idle_client did not finish: $(tail -n 2 "$out.err" | tr '\n' ' ')"
    kill_tree "$client"; return 1
  fi
  sleep "$SETTLE"
  pids=$(tree_pids "$SERVER_PID")
  WITH[$name]=$(rss_kib $pids)
  alive "$SERVER_PID" || NOTE[$name]="server died while holding the connections"
  kill_tree "$client"   # SIGTERM: the client prints how many it still held
  # The connections open when RSS was read are those open when the client
  # said ready, minus any the server closed before the client was stopped.
  read -r _ held _ closed < <(grep '^held' "$out")
  HELD[$name]=${held:-$ok}
  [ "${failed:-0}" -gt 0 ] && NOTE[$name]="$failed of $IDLE_CONNS connections failed to open or to get a response"
  [ "${closed:-0}" -gt 0 ] && NOTE[$name]="${NOTE[$name]:+${NOTE[$name]}; }server closed $closed connections after answering"
  PER[$name]=$(awk -v a="${BEFORE[$name]}" -v b="${WITH[$name]}" -v n="${HELD[$name]}" \
    'BEGIN { if (n > 0) printf "%.2f", (b - a) / n; else print "–" }')
  log "$name: RSS ${BEFORE[$name]} KiB -> ${WITH[$name]} KiB with ${HELD[$name]} idle connections: ${PER[$name]} KiB each"
}

for name in $SERVERS; do
  if ! server_available "$name"; then
    log "$name: skipped: $SKIP_REASON"; NOTE[$name]="skipped: $SKIP_REASON"; continue
  fi
  log "$name: starting on 127.0.0.1:${PORT[$name]} (core $SERVER_CPU)"
  if ! start_server "$name"; then NOTE[$name]="did not start or answer correctly (see above)"; continue; fi
  measure "$name"
  stop_server
done

ratio() { # $1 / $2 with three decimals, or "–" when either is missing
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || a == "–" || b == "" || b == "–" || b == 0) print "–"; else printf "%.3f×", a / b }'
}

echo
echo "## Memory per idle keep-alive connection ($IDLE_CONNS connections)"
echo
echo "- command: \`IDLE_CONNS=$IDLE_CONNS SERVERS=\"$SERVERS\" bench/http/idle_memory.sh\`"
echo "  (client: bench/http/idle_client.c on core $CLIENT_CPU, one GET per connection then idle; servers on core $SERVER_CPU, one thread each)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(machine_line)"
echo "- before the run: $BUSY_BEFORE"
echo
echo "| server | RSS before, KiB | RSS with connections, KiB | connections held | KiB per connection | vs Go | note |"
echo "|---|---:|---:|---:|---:|---:|---|"
for name in $SERVERS; do
  if [ -z "${PER[$name]:-}" ]; then
    echo "| ${LABEL[$name]:-$name} | | | | | | ${NOTE[$name]:-no result} |"
    continue
  fi
  echo "| ${LABEL[$name]} | ${BEFORE[$name]} | ${WITH[$name]} | ${HELD[$name]} | ${PER[$name]} | $(ratio "${PER[$name]}" "${PER[go]:-}") | ${NOTE[$name]:-} |"
done
echo
echo "KiB per connection = (RSS with - RSS before) / connections held; RSS = VmRSS summed over the server's processes."
