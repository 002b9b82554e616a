#!/usr/bin/env bash
# The nethttp client (tests/peers/client/peer_client.c) against an
# independent server: Go's net/http, python3's http.server, or nginx.
# Usage: client_peers.sh go|python|nginx PEER_CLIENT_BINARY BUILD_DIR
# Every process started here is stopped by its pid; only loopback is used.
set -euo pipefail
peer=$1
client=$2
build=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../need.sh"
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Waits for "port N" in the server's log and prints N.
wait_port() {
  for _ in $(seq 400); do
    grep -q '^port ' "$1" && { sed -n 's/^port //p' "$1"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "server did not start:" >&2
  cat "$1" >&2
  return 1
}

# Waits until something accepts on 127.0.0.1:$1.
wait_listening() {
  for _ in $(seq 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "nginx did not start:" >&2
  cat "$work/nginx/error.log" >&2 || true
  return 1
}

case "$peer" in
go)
  need go golang-go
  out="$build/peers"
  mkdir -p "$out"
  ( cd "$here/goserver" && GOCACHE="$out/gocache" GOPATH="$out/gopath" GOPROXY=off GOFLAGS=-mod=mod \
      go build -o "$out/goserver" . )
  "$out/goserver" >"$work/log" 2>&1 &
  pid=$!
  port=$(wait_port "$work/log")
  ;;
python)
  need /usr/bin/python3 python3
  /usr/bin/python3 "$here/client/pyserver.py" >"$work/log" 2>&1 &
  pid=$!
  port=$(wait_port "$work/log")
  ;;
nginx)
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  need "$nginx" nginx-light
  need /usr/bin/python3 python3
  prefix="$work/nginx"
  mkdir -p "$prefix/www" "$prefix/tmp"
  printf '<html><body>nethttp peer index</body></html>\n' >"$prefix/www/index.html"
  /usr/bin/python3 - "$prefix/www" <<'PY'
import sys
d = sys.argv[1]
open(d + "/big.bin", "wb").write(bytes(ord("a") + i % 26 for i in range(1 << 20)))
open(d + "/text.txt", "wb").write(b"compressible text " * 1000)
PY
  # A free port: bound by the kernel, released, then taken by nginx.
  # Another process may grab it in between: try a few.
  for attempt in 1 2 3 4 5; do
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" "$here/client/nginx.conf.in" >"$prefix/nginx.conf"
    "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" >"$work/log" 2>&1 &
    pid=$!
    wait_listening "$port" && break
    wait "$pid" 2>/dev/null || true
    pid=""
    [ "$attempt" = 5 ] && exit 1
  done
  ;;
*)
  echo "unknown peer $peer" >&2
  exit 2
  ;;
esac

"$client" "$peer" "http://127.0.0.1:$port"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
echo "1 passed, 0 failed"
