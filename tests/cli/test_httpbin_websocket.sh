#!/usr/bin/env bash
# nethttp httpbin's /websocket/echo with an independent client
# (python3-websockets, httpbin_ws_check.py): echoes with and without
# permessage-deflate, the size limits of its query, and a graceful close.
# Usage: test_httpbin_websocket.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need /usr/bin/python3
/usr/bin/python3 -c 'import websockets' 2>/dev/null || {
  echo "SKIP: python3-websockets not installed (scripts/install-deps.sh installs it)"
  exit 77
}
here=$(cd "$(dirname "$0")" && pwd)
cli_test_setup
start_httpbin "$bin" --threads 1 --max-body-size 1000000
timeout 60 /usr/bin/python3 "$here/httpbin_ws_check.py" "$port" || fail "python3-websockets client"
kill -TERM "$pid"
wait "$pid" || fail "httpbin did not exit cleanly"
pid=
echo "PASS"
