#!/usr/bin/env bash
# Runs one of the Python attack tests (tests/http2/test_*.py) with
# Debian's python3, or reports SKIP (77) when it is not installed.
# Usage: run_py.sh SCRIPT NETHTTP CASE
. "$(dirname "$0")/../need.sh"
need /usr/bin/python3 python3
# Run from the source tree: leave no bytecode there.
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$@"
