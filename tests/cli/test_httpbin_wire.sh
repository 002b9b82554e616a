#!/usr/bin/env bash
# nethttp httpbin on the wire, byte by byte (httpbin_wire.py): no body
# after a HEAD's head on a pipelined connection, and one connection limit
# across four event loops where a new client is always answered.
# Usage: test_httpbin_wire.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
cli_test_setup
limit=16
start_httpbin "$bin" --threads 4 --max-conns $limit
/usr/bin/python3 "$here/httpbin_wire.py" "$port" $limit || fail "httpbin_wire.py"
kill -TERM "$pid"
wait "$pid" || true
pid=
! grep -q -e Sanitizer -e 'runtime error' "$work/log" || fail "sanitizer report"
echo ok
