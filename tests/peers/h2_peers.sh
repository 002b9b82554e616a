#!/usr/bin/env bash
# HTTP/2 peers against nethttp's server. Usage:
#   h2_peers.sh go_client TLS_PEER_BINARY BUILD_DIR
#       Go's net/http client (tests/peers/h2goclient, Debian's golang-go,
#       built offline) speaks HTTP/2 by ALPN to `tls_peer serve-h2` and
#       checks every answer came over HTTP/2.0 on one connection.
#   h2_peers.sh nghttp NETHTTP_BINARY
#       nghttp fetches files over h2c from `nethttp serve --h2c`.
#   h2_peers.sh h2load NETHTTP_BINARY
#       h2load -n 2000 -c 4 -m 10 against `nethttp serve --h2c` (HTTP/2
#       with prior knowledge): all 2000 requests must succeed with 200.
# Every process started here is stopped by its pid; only loopback is used.
set -euo pipefail
mode=$1
peer=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../need.sh"
work=$(mktemp -d)
export TMPDIR="$work" # nh_tls_testcert_new's files land in $work
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log:"; tail -30 "$work/log" || true; exit 1; }

# Stops the server by its pid; fails unless it exits 0 (a clean shutdown).
stop_server() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" = 0 ] || fail "server exited $rc"
}

case "$mode" in
go_client)
  need go golang-go
  build=$3
  out="$build/peers"
  mkdir -p "$out"
  ( cd "$here/h2goclient" && GOCACHE="$out/gocache" GOPATH="$out/gopath" GOPROXY=off \
      GOFLAGS=-mod=mod go build -o "$out/h2goclient" . )
  "$peer" serve-h2 >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 400); do grep -q '^ca ' "$work/log" && break; kill -0 "$pid" || break; sleep 0.05; done
  port=$(sed -n 's/^port //p' "$work/log")
  ca=$(sed -n 's/^ca //p' "$work/log")
  [ -n "$port" ] && [ -n "$ca" ] || fail "tls_peer serve-h2 did not start"
  timeout 120 "$out/h2goclient" -url "https://127.0.0.1:$port" -ca "$ca" || fail "Go's client"
  stop_server
  ;;
h2load)
  need h2load nghttp2-client
  mkdir "$work/www"
  printf 'hello over h2c\n' >"$work/www/hello.txt"
  "$peer" serve "$work/www" --addr 127.0.0.1:0 --h2c --log-format json --threads 2 \
      >"$work/log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 400); do grep -q '"msg":"serving"' "$work/log" && break; kill -0 "$pid" || break; sleep 0.05; done
  port=$(sed -n 's/.*"msg":"serving","addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/log" | head -1)
  [ -n "$port" ] || fail "nethttp serve did not start"
  timeout 120 h2load -n 2000 -c 4 -m 10 "http://127.0.0.1:$port/hello.txt" >"$work/h2load" 2>&1 \
    || { cat "$work/h2load"; fail "h2load exited $?"; }
  grep -q '^requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout' \
    "$work/h2load" || { cat "$work/h2load"; fail "not every request succeeded"; }
  grep -q '^status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx' "$work/h2load" \
    || { cat "$work/h2load"; fail "status codes"; }
  # h2load spoke HTTP/2 (h2c), not HTTP/1.1.
  grep -q 'Application protocol: h2c' "$work/h2load" || { cat "$work/h2load"; fail "not h2c"; }
  stop_server
  ;;
nghttp)
  # nghttp (nghttp2's client) fetches a 1 MiB file and a page at once over
  # h2c from `nethttp serve --h2c`, byte for byte, and reports HTTP/2 frames.
  need nghttp nghttp2-client
  mkdir "$work/www"
  head -c 1048576 /dev/urandom >"$work/www/big.bin"
  printf 'hello over h2c\n' >"$work/www/hello.txt"
  "$peer" serve "$work/www" --addr 127.0.0.1:0 --h2c --log-format json >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 400); do grep -q '"msg":"serving"' "$work/log" && break; kill -0 "$pid" || break; sleep 0.05; done
  port=$(sed -n 's/.*"msg":"serving","addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/log" | head -1)
  [ -n "$port" ] || fail "nethttp serve did not start"
  timeout 60 nghttp "http://127.0.0.1:$port/big.bin" >"$work/big" || fail "nghttp big.bin"
  cmp -s "$work/big" "$work/www/big.bin" || fail "big.bin differs"
  timeout 60 nghttp -v -n "http://127.0.0.1:$port/hello.txt" "http://127.0.0.1:$port/big.bin" \
    >"$work/v" 2>&1 || { cat "$work/v"; fail "nghttp -v"; }
  # Both answers came on one connection, as streams 13 and 15, status 200.
  [ "$(grep -c 'recv HEADERS frame <.*stream_id=1[35]>' "$work/v")" = 2 ] || { cat "$work/v"; fail "two streams"; }
  [ "$(grep -c ':status: 200' "$work/v")" = 2 ] || { cat "$work/v"; fail "status"; }
  stop_server
  ;;
*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac
echo "1 passed, 0 failed"
