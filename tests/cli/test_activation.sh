#!/usr/bin/env bash
# systemd socket activation with Debian's systemd-socket-activate: two
# named sockets (a TCP port and a Unix socket), `serve --listen-fd a
# --listen-fd b` serves both; a name that was not passed is refused; a
# handover (SIGUSR2) passes both, named, to the new process; httpbin
# takes them too.
# Usage: test_activation.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
need systemd-socket-activate systemd
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- log (tail):"; tail -20 "$work/log" || true; exit 1; }
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
wait_log() {
  for _ in $(seq 400); do grep -q -- "$1" "$work/log" 2>/dev/null && return 0; sleep 0.05; done
  fail "no log line $1"
}
echo hello >"$work/hello.txt"
sock="$work/b.sock"

# activate FLAGS...: nethttp serve under systemd-socket-activate on a free
# port (named a) and $sock (named b); sets $pid and $port. Like a .socket
# unit, systemd-socket-activate listens first and starts the service (in
# its own pid, by exec) at the first connection, which waits in the queue.
# The port is found free and then bound by systemd-socket-activate: tried
# again if another process took it in between.
activate() {
  for _ in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -f "$sock"
    systemd-socket-activate -l "127.0.0.1:$port" -l "$sock" --fdname=a:b \
      "$bin" ${cmd:-serve "$work"} --log-format json "$@" >"$work/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 400); do
      grep -q "as 4\.\|Failed" "$work/log" 2>/dev/null && break
      gone "$pid" && break
      sleep 0.05
    done
    grep -q "Listening on $sock as 4" "$work/log" && return 0
    grep -q 'Address already in use' "$work/log" || return 1
  done
  return 1
}

get_tcp() { curl -s --max-time 10 "http://127.0.0.1:$port/hello.txt"; }
get_unix() { curl -s --max-time 10 --unix-socket "$sock" http://localhost/hello.txt; }

# --- both named sockets are served, by the process systemd started
activate --listen-fd a --listen-fd b || fail "systemd-socket-activate did not start"
grep -q "Listening on 127.0.0.1:$port as 3" "$work/log" || fail "systemd-socket-activate did not pass the port as fd 3"
[ "$(get_tcp)" = hello ] || fail "socket a (TCP) not served"
[ "$(get_unix)" = hello ] || fail "socket b (Unix) not served"
grep -q "\"msg\":\"serving\",\"addr\":\"127.0.0.1:$port\",\"pid\":$pid," "$work/log" \
  || fail "not served by the process systemd-socket-activate started"
# served on the passed sockets, not on an address of its own
! grep -q '"msg":"cannot listen"' "$work/log" || fail "serve listened on --addr too"

# --- a handover passes both, with their names, to the new process
kill -USR2 "$pid"
wait_log '"msg":"handover: the new process serves'
new=$(sed -n 's/.*"msg":"serving",.*"pid":\([0-9]*\).*/\1/p' "$work/log" | sed -n 2p)
[ -n "$new" ] && [ "$new" != "$pid" ] || fail "no new process"
pids+=("$new")
for _ in $(seq 400); do gone "$pid" && break; sleep 0.05; done
gone "$pid" || fail "the old process did not exit"
grep -q '"msg":"handover: started a new process.*"listeners":2' "$work/log" || fail "not both sockets handed over"
[ "$(get_tcp)" = hello ] || fail "socket a not served after the handover"
[ "$(get_unix)" = hello ] || fail "socket b not served after the handover"
kill -TERM "$new"
for _ in $(seq 400); do gone "$new" && break; sleep 0.05; done

# --- --listen-fd auto takes them all
activate --listen-fd auto || fail "serve --listen-fd auto did not start"
[ "$(get_tcp)" = hello ] && [ "$(get_unix)" = hello ] || fail "--listen-fd auto does not serve both"
kill -TERM "$pid"
for _ in $(seq 400); do gone "$pid" && break; sleep 0.05; done

# --- httpbin takes them too
cmd=httpbin activate --listen-fd b --listen-fd a || fail "httpbin --listen-fd did not start"
[ "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/get")" = 200 ] \
  || fail "httpbin: socket a not served"
[ "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/get)" = 200 ] \
  || fail "httpbin: socket b not served"
kill -TERM "$pid"
for _ in $(seq 400); do gone "$pid" && break; sleep 0.05; done

# --- a name that was not passed: a clear error, exit status 1
activate --listen-fd a --listen-fd c || fail "systemd-socket-activate did not start"
get_tcp >/dev/null || true # starts it
for _ in $(seq 400); do gone "$pid" && break; sleep 0.05; done
st=0
wait "$pid" || st=$?
[ "$st" = 1 ] || fail "serve without socket c: exit status $st, want 1"
grep -q -- '--listen-fd c: no such socket passed' "$work/log" || fail "no clear error for the missing name"
grep -q '"msg":"no passed socket to listen on","name":"c"' "$work/log" || fail "the missing name is not logged"

# --- without systemd: --listen-fd fails, saying no socket was passed
if "$bin" serve "$work" --listen-fd a --log-format json >"$work/log" 2>&1; then fail "serve started with no socket passed"; fi
grep -q -- '--listen-fd a: no socket passed (LISTEN_FDS)' "$work/log" || fail "no clear error without LISTEN_FDS"
echo ok
