#!/usr/bin/env bash
# Builds the gorilla/websocket peers offline, GOPATH-style, from Debian's
# golang-github-gorilla-websocket-dev (/usr/share/gocode).
# Usage: build_go.sh OUTDIR   (makes OUTDIR/ws_goserver and OUTDIR/ws_goclient)
# Exits 77 (SKIP) when Go or gorilla is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
. "$here/../../need.sh"
need go golang-go
[ -d /usr/share/gocode/src/github.com/gorilla/websocket ] || {
  echo "SKIP: gorilla/websocket not installed (scripts/install-deps.sh installs golang-github-gorilla-websocket-dev)"
  exit 77
}
mkdir -p "$out"
for p in goserver goclient; do
  if [ ! -x "$out/ws_$p" ] || [ "$here/$p/main.go" -nt "$out/ws_$p" ]; then
    (cd "$here/$p" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/gocache" GOPROXY=off \
       go build -o "$out/ws_$p.$$" . && mv "$out/ws_$p.$$" "$out/ws_$p")
  fi
done
