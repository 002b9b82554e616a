# Shared by the command-line tests (sourced, not run).
. "$(dirname "${BASH_SOURCE[0]}")/../need.sh"

# serving_port LOG: waits up to 20 s (a sanitized build on a busy machine
# starts slowly) for the server's JSON "serving" log line and prints the
# port it chose; prints nothing if it never comes.
serving_port() {
  local log=$1
  for _ in $(seq 400); do grep -q '"msg":"serving"' "$log" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*"msg":"serving","addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$log" | head -1
}

# cli_test_setup: a scratch directory in $work (removed at exit), $pid for
# the server a test starts (killed at exit), and fail MESSAGE, which
# prints the server log's tail ($LOG_TAIL lines, 20 by default) and exits.
cli_test_setup() {
  work=$(mktemp -d)
  pid=
  trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
}
fail() { echo "FAIL: $*"; echo "--- server log (tail):"; tail -"${LOG_TAIL:-20}" "$work/log" || true; exit 1; }

# start_httpbin BIN [FLAGS...]: `BIN httpbin` on a free loopback port with
# JSON logs in $work/log, its pid in $pid; sets $port and $base.
start_httpbin() {
  local bin=$1
  shift
  "$bin" httpbin --addr 127.0.0.1:0 --log-format json "$@" >"$work/log" 2>&1 &
  pid=$!
  port=$(serving_port "$work/log")
  [ -n "$port" ] || fail "server did not start"
  base="http://127.0.0.1:$port"
}

# json FILE EXPR: a python expression over the parsed JSON body j; fails
# the test, showing the body, when it is false.
json() {
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" \
    || fail "json check ($2) on $(head -c 1500 "$1")"
}

# Request helpers against $base, keeping the last answer in $work:
# C URL... is curl quietly; code URL... prints the status; get PATH
# [curl args...] leaves the body in $work/b and the headers in $work/h and
# prints the status; st STATUS PATH [curl args...] fails unless the status
# is STATUS; hdr FILE REGEX fails unless a header line starts with REGEX.
C() { curl -s --max-time 10 "$@"; }
code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
hdr() { tr -d '\r' < "$1" | grep -qi "^$2" || fail "header $2 missing in $(cat "$1")"; }
get() { # get PATH [curl args...]: body in $work/b, headers in $work/h, status echoed
  local p=$1; shift
  curl -s --max-time 10 -D "$work/h" -o "$work/b" -w '%{http_code}' "$@" "$base$p"
}
st() { # st STATUS PATH [curl args...]: get, and fail unless the status is STATUS
  local want=$1 got; shift
  got=$(get "$@") || true
  [ "$got" = "$want" ] || fail "$1: status $got, want $want"
}

