#!/usr/bin/env bash
# Runs every built fuzz target for a bounded time on its seed corpus.
#   fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin" | sed 's/^fuzz_//')
  corpus="$here/corpus/$name"
  work=$(mktemp -d)
  # The connection target needs inputs past the server's 8 KiB read buffer
  # to reach the body read that goes straight into the handler's buffer.
  max_len=4096
  [ "$name" = h1_conn ] && max_len=16384
  echo "== fuzz $name for ${secs}s"
  "$bin" -max_total_time="$secs" -max_len="$max_len" "$work" ${corpus:+$corpus} 2>&1 | tail -3 || status=1
  rm -rf "$work"
done
exit $status
