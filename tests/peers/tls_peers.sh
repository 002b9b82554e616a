#!/usr/bin/env bash
# HTTPS against Go's net/http and crypto/tls (Debian's golang-go, built
# offline) on either side; certificates are made here and deleted.
# Usage: tls_peers.sh go_client|go_server TLS_PEER_BINARY BUILD_DIR
#   go_client: Go's client (tests/peers/tls/goside) against nethttp's server
#   go_server: nethttp's client (tests/peers/tls/tls_peer.c) against Go's server
# Every process started here is stopped by its pid; only loopback is used.
set -euo pipefail
direction=$1
peer=$2
build=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../need.sh"
need go golang-go
work=$(mktemp -d)
# Certificates made by nh_tls_testcert_new land under TMPDIR: in $work.
export TMPDIR="$work"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

out="$build/peers"
mkdir -p "$out"
( cd "$here/tls/goside" && GOCACHE="$out/gocache" GOPATH="$out/gopath" GOPROXY=off GOFLAGS=-mod=mod \
    go build -o "$out/goside_$direction" . )

# Waits for "KEY VALUE" in the server's log and prints VALUE.
wait_for() {
  for _ in $(seq 400); do
    grep -q "^$2 " "$1" && { sed -n "s/^$2 //p" "$1"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "server did not start:" >&2
  cat "$1" >&2
  return 1
}

# Stops the server by its pid and fails unless it exits 0 (a clean
# shutdown; for nethttp also no leak).
stop_server() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=""
  if [ "$rc" != 0 ]; then
    echo "server exited $rc:" >&2
    cat "$1" >&2
    exit 1
  fi
}

case "$direction" in
go_client)
  "$peer" serve >"$work/log" 2>&1 &
  pid=$!
  port=$(wait_for "$work/log" port)
  ca=$(wait_for "$work/log" ca)
  wrong_ca=$(wait_for "$work/log" wrong_ca)
  "$out/goside_$direction" client -url "https://127.0.0.1:$port" -ca "$ca" -wrong-ca "$wrong_ca"
  stop_server "$work/log"
  # The server deleted its certificates on the way out.
  [ ! -e "$ca" ] || { echo "certificates left behind: $ca" >&2; exit 1; }
  ;;
go_server)
  certs="$work/certs"
  mkdir "$certs"
  "$peer" certs "$certs"
  "$out/goside_$direction" serve -cert "$certs/server.pem" -key "$certs/server-key.pem" \
      -client-ca "$certs/ca.pem" >"$work/log" 2>&1 &
  pid=$!
  port=$(wait_for "$work/log" port)
  mport=$(wait_for "$work/log" mtls_port)
  m12port=$(wait_for "$work/log" mtls12_port)
  iport=$(wait_for "$work/log" idle_port)
  "$peer" client "https://127.0.0.1:$port" "https://127.0.0.1:$mport" \
      "https://127.0.0.1:$m12port" "https://127.0.0.1:$iport" "$certs/ca.pem" \
      "$certs/wrong-ca.pem" "$certs/client.pem" "$certs/client-key.pem"
  stop_server "$work/log"
  ;;
*)
  echo "unknown direction $direction" >&2
  exit 2
  ;;
esac
echo "1 passed, 0 failed"
