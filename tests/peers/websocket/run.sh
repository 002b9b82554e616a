#!/usr/bin/env bash
# WebSocket against independent implementations: one server and one client,
# each nethttp or a peer (python3-websockets, Node's ws, gorilla/websocket).
#
#   run.sh SERVER CLIENT BUILD_DIR [NH_SERVER NH_CLIENT]
#     SERVER, CLIENT: nethttp | python | node | go; CLIENT may also be
#     "raw" (tests/peers/websocket/raw_client.py: unmasked frames) or
#     "shutdown-PEER" (PEER's clients hold 5 WebSockets while nethttp's
#     server shuts down: each must get close 1001 and then its connection
#     closed, and the shutdown must return 0).
#     NH_SERVER, NH_CLIENT: tests/websocket/peer_server.c and peer_client.c.
#
# The scenarios (py_client.py, node_client.js, goclient, and nethttp's
# peer_client.c run the same ones) against a server speaking the protocol
# of py_server.py: echo of text, binary, empty and 300 KB messages;
# fragments sent and received; pings both ways; permessage-deflate
# negotiated (checked on both sides) and compressed echoes; close codes
# 1000 1001 1003 1007 1008 1009 1011 3000 4999 with their reasons from each
# side; invalid UTF-8 (1007) and oversize messages (1009) each way. Each
# close the client expects the server to have seen ("expect PATH CODE REASON")
# is checked against the server's "closed PATH CODE REASON" lines (each
# connection that expects one has a path of its own).
# A missing peer reports SKIP (77). Loopback only; every process started
# here is stopped by its pid.
set -euo pipefail
server=$1 client=$2 build=$3 nh_server=${4:-} nh_client=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../need.sh"
export NODE_PATH=/usr/share/nodejs
work=$(mktemp -d)
spid="" cpid=""
stop() { # stop PID: TERM, then KILL, by pid
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() { stop "$cpid"; stop "$spid"; rm -rf "$work"; }
trap cleanup EXIT

need_peer() {
  case "$1" in
  python) need /usr/bin/python3 python3
          /usr/bin/python3 -c 'import websockets' 2>/dev/null \
            || { echo "SKIP: python3-websockets not installed (scripts/install-deps.sh)"; exit 77; } ;;
  node)   need node nodejs
          [ -f /usr/share/nodejs/ws/package.json ] \
            || { echo "SKIP: node-ws not installed (scripts/install-deps.sh)"; exit 77; } ;;
  go)     "$here/build_go.sh" "$build/peers/websocket" ;;   # exits 77 when Go or gorilla is missing
  raw)    need /usr/bin/python3 python3 ;;
  esac
}

# The command of a server or a client, into CMD.
server_cmd() {
  case "$1" in
  nethttp) CMD=("$nh_server") ;;
  python)  CMD=(/usr/bin/python3 "$here/py_server.py") ;;
  node)    CMD=(node "$here/node_server.js") ;;
  go)      CMD=("$build/peers/websocket/ws_goserver") ;;
  esac
}

client_cmd() {
  case "$1" in
  nethttp) CMD=("$nh_client") ;;
  python)  CMD=(/usr/bin/python3 "$here/py_client.py") ;;
  node)    CMD=(node "$here/node_client.js") ;;
  go)      CMD=("$build/peers/websocket/ws_goclient") ;;
  raw)     CMD=(/usr/bin/python3 "$here/raw_client.py") ;;
  esac
}

mode=all peer=$client
case "$client" in shutdown-*) mode=shutdown peer=${client#shutdown-} ;; esac
# (python's server shuts down the same way, to check the clients on it)
case "$mode/$server" in shutdown/nethttp | shutdown/python) ;; shutdown/*) echo "no shutdown in $server"; exit 2 ;; esac
for p in "$server" "$peer"; do need_peer "$p"; done

# ---- the server ----
# (the files exist before the background processes open them)
: >"$work/server.log"; : >"$work/client.out"
server_cmd "$server"
"${CMD[@]}" >"$work/server.log" 2>"$work/server.err" &
spid=$!
port=""
for _ in $(seq 600); do
  port=$(sed -n 's/^port //p' "$work/server.log")
  [ -n "$port" ] && break
  kill -0 "$spid" 2>/dev/null || break
  sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: the $server server did not start"; cat "$work/server.err"; exit 1; }
echo "$server server on 127.0.0.1:$port"

# Waits up to $2 s for the pid $1 to end; its exit status in $rc.
wait_pid() {
  for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then rc=124; return 0; fi
  rc=0; wait "$1" || rc=$?
}

# A sanitizer's report from the server (it need not end the server) fails the test.
sanitizer_check() {
  if grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$work/server.err"; then
    echo "FAIL: the $server server's sanitizer report:"; head -n 40 "$work/server.err"; exit 1
  fi
}

case "$mode" in
all)
  client_cmd "$peer"
  case "$peer" in
  raw)     args=("$port") ;;
  nethttp) args=("ws://127.0.0.1:$port") ;;
  *)       args=("ws://127.0.0.1:$port" all) ;;
  esac
  "${CMD[@]}" "${args[@]}" >"$work/client.out" 2>&1 &
  cpid=$!
  wait_pid "$cpid" 240; cpid_done=$cpid; cpid=""
  [ "$rc" = 124 ] && stop "$cpid_done"
  sed 's/^/  client: /' "$work/client.out"
  [ "$rc" = 0 ] || { echo "FAIL: the $peer client against the $server server: exit $rc"
                     sed 's/^/  server: /' "$work/server.log" "$work/server.err" | tail -n 30; exit 1; }
  # Every close the client expects ("expect PATH CODE REASON", "*": any
  # reason), among the server's "closed" lines. They may come a moment
  # after the client ends.
  grep '^expect ' "$work/client.out" | cut -d' ' -f2- >"$work/expect" || true
  missing=""
  for _ in $(seq 100); do
    missing=$(/usr/bin/python3 - "$work/expect" "$work/server.log" <<'PY'
import sys
def fields(line):  # "PATH CODE REASON", the reason possibly empty
    f = line.rstrip("\n").split(" ", 2)
    return tuple(f + [""] * (3 - len(f)))
want = [fields(l) for l in open(sys.argv[1])]
seen = [fields(l[len("closed "):]) for l in open(sys.argv[2]) if l.startswith("closed ")]
for path, code, reason in want:
    hit = next((s for s in seen if s[:2] == (path, code) and reason in ("*", s[2])), None)
    if hit is None:
        print("%s %s %s" % (path, code, reason))
    else:
        seen.remove(hit)
PY
)
    [ -z "$missing" ] && break
    sleep 0.1
  done
  if [ -n "$missing" ]; then
    echo "FAIL: the $server server did not see these closes from the $peer client:"
    echo "$missing" | sed 's/^/  /'
    sed 's/^/  server: /' "$work/server.log"
    exit 1
  fi
  sanitizer_check
  echo "PASS: $peer client against $server server ($(grep -c '^ok ' "$work/client.out") steps, $(wc -l <"$work/expect") closes seen by the server)"
  ;;
shutdown)
  client_cmd "$peer"
  "${CMD[@]}" "ws://127.0.0.1:$port" hold 5 >"$work/client.out" 2>&1 &
  cpid=$!
  for _ in $(seq 600); do
    grep -q '^ready' "$work/client.out" && break
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^ready' "$work/client.out" || { echo "FAIL: the $peer client did not open its WebSockets"; cat "$work/client.out"; exit 1; }
  kill -TERM "$spid"
  # Node's ws ends the connection itself 30 s after the close handshake
  # if the server does not: wait less, so that only the server's close counts.
  wait_pid "$cpid" 25; cpid_done=$cpid; cpid=""
  [ "$rc" = 124 ] && stop "$cpid_done"
  sed 's/^/  client: /' "$work/client.out"
  [ "$rc" = 0 ] || { echo "FAIL: the $peer client did not see close 1001 and then the connection closed on every WebSocket (exit $rc)"
                     sed 's/^/  server: /' "$work/server.log" "$work/server.err" | tail -n 30; exit 1; }
  for _ in $(seq 300); do grep -q '^shutdown returned' "$work/server.log" && break; sleep 0.1; done
  sed 's/^/  server: /' "$work/server.log" | grep -v '^  server: closed' || true
  grep -q '^shutdown returned 0$' "$work/server.log" || { echo "FAIL: the server's shutdown did not return 0"; exit 1; }
  sanitizer_check
  echo "PASS: 5 $peer WebSockets closed 1001 by the shutdown, which returned 0"
  ;;
esac
