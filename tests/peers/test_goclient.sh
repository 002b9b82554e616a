#!/usr/bin/env bash
# Go's net/http client (Debian's golang-go, an independent implementation)
# against a nethttp server. Usage: test_goclient.sh ECHO_SERVER_BINARY BUILD_DIR
set -euo pipefail
server=$1
build=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../need.sh"
need go golang-go
out="$build/peers"
mkdir -p "$out"
( cd "$here/goclient" && GOCACHE="$out/gocache" GOPATH="$out/gopath" GOPROXY=off GOFLAGS=-mod=mod \
    go build -o "$out/goclient" . )
log=$(mktemp)
"$server" >"$log" 2>&1 &
pid=$!
trap 'kill -KILL $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 400); do grep -q '^port ' "$log" && break; sleep 0.05; done
port=$(sed -n 's/^port //p' "$log")
"$out/goclient" "http://127.0.0.1:$port"
kill -TERM $pid
wait $pid
echo "1 passed, 0 failed"
