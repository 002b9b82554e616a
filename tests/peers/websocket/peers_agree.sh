#!/usr/bin/env bash
# The peers checked against each other before they judge nethttp: each
# peer client (python3-websockets, Node's ws, gorilla) against each peer
# server with run.sh's scenarios, the raw unmasked-frame client against
# each peer server, and each client's shutdown check against
# python3-websockets' own shutdown (close 1001). A failure here is in the
# peers or the environment, not in nethttp.
# Usage: peers_agree.sh BUILD_DIR. SKIP (77) when a peer is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
failed=() skipped=()
one() {
  local out rc
  out=$("$here/run.sh" "$@" "$build" 2>&1); rc=$?
  case $rc in
  0) echo "$out" | tail -n 1 ;;
  77) skipped+=("$1/$2"); echo "SKIP $1 server, $2 client: $(echo "$out" | tail -n 1)" ;;
  *) failed+=("$1/$2"); echo "$out" ;;
  esac
}
for s in python node go; do
  for c in python node go raw; do one "$s" "$c"; done
done
for c in python node go; do one python "shutdown-$c"; done
[ ${#failed[@]} -eq 0 ] || { echo "FAIL: ${failed[*]}"; exit 1; }
[ ${#skipped[@]} -eq 0 ] || { echo "SKIP: everything else passed, but not run: ${skipped[*]}"; exit 77; }
echo "PASS: the peers agree"
