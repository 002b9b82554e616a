#!/usr/bin/env bash
# The request vectors against an independent implementation, compared with
# nethttp (tests/http1/differential.py): h11 (Debian's python3-h11) or Go's
# net/http server (tests/http1/goecho, built offline with Debian's golang-go).
# Usage: differential.sh h11|go VECTOR_SERVER_BINARY BUILD_DIR
# A missing peer is a skip (exit 77). Every process started here is stopped
# by its pid; only loopback is used.
set -euo pipefail
peer=$1
server=$2
build=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts "$@" with its output in $work/$name and sets started_port to the
# port it reports. Not in a $(...) subshell: its pid must reach pids.
start() {
  local name=$1
  shift
  "$@" >"$work/$name" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 200); do
    grep -q '^port ' "$work/$name" && { started_port=$(sed -n 's/^port //p' "$work/$name"); return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "$name did not start:" >&2
  cat "$work/$name" >&2
  return 1
}

[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 missing"; exit 77; }
case "$peer" in
h11)
  /usr/bin/python3 -c 'import h11' 2>/dev/null ||
    { echo "SKIP: python3-h11 not installed (scripts/install-deps.sh installs it)"; exit 77; }
  start nethttp "$server"
  port=$started_port
  exec_args=(h11)
  ;;
go)
  command -v go >/dev/null || { echo "SKIP: go not installed (scripts/install-deps.sh installs golang-go)"; exit 77; }
  out="$build/http1"
  mkdir -p "$out"
  ( cd "$here/goecho" && GOCACHE="$out/gocache" GOPATH="$out/gopath" GOPROXY=off GOFLAGS=-mod=mod \
      go build -o "$out/goecho" . )
  start nethttp "$server"
  port=$started_port
  start goecho "$out/goecho"
  go_port=$started_port
  exec_args=(go "$go_port")
  ;;
*)
  echo "unknown peer $peer" >&2
  exit 2
  ;;
esac

set +e
/usr/bin/python3 "$here/differential.py" "$here/vectors.txt" "$port" "${exec_args[@]}"
status=$?
set -e
exit $status
