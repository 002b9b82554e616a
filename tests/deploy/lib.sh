# shellcheck shell=bash
# Shared by the deployment tests (sourced, not run): nethttp instances
# behind a real reverse proxy, restarted under load.
#
# Addresses, all on loopback: the load generator connects from 127.0.0.1,
# a second client (curl) from 127.0.0.3, and the proxy connects to the
# instances from 127.0.0.2. The instances trust PROXY headers from
# 127.0.0.2 only, so an access log line showing 127.0.0.1 or 127.0.0.3 can
# only come from the header, never from the socket.
. "$(dirname "${BASH_SOURCE[0]}")/../need.sh"

deploy_dir=$(dirname "${BASH_SOURCE[0]}")
PROXY_SRC=127.0.0.2 # the proxy's own source address, the one trusted network
PROBE_SRC=127.0.0.3 # the second client's source address
DRAIN=3s            # readiness 503 this long before the listeners close

# instance_flags: the flags every instance runs with (docs/deploy.md shows
# the same line; tests/deploy/check_docs.sh compares them).
instance_flags() {
  echo "--proxy-protocol $PROXY_SRC/32 --ready-path /ready --live-path /live --drain-delay $DRAIN"
}

# deploy_setup: a scratch directory $work; every process registered with
# track PID is killed (with the children it has then, which is where a
# handover's new process lives) and the directory removed at exit.
deploy_setup() {
  work=$(mktemp -d)
  tracked=()
  trap deploy_cleanup EXIT
}
track() { tracked+=("$@"); }
deploy_cleanup() {
  local p kids=()
  for p in "${tracked[@]}"; do
    kids+=($(ps -o pid= --ppid "$p" 2>/dev/null || true))
  done
  for p in "${kids[@]}" "${tracked[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${tracked[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "scratch kept in $work"; else rm -rf "$work"; fi
}

# fail MESSAGE: the message, the tails of the logs in $work (access log
# lines left out), exit 1.
fail() {
  echo "FAIL: $*"
  local f
  for f in "$work"/*.log; do
    [ -f "$f" ] || continue
    echo "--- $(basename "$f") (tail):"
    grep -v '"msg":"access"' "$f" | tail -"${LOG_TAIL:-8}" | cut -c1-300
  done
  exit 1
}

# free_port: a loopback port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s; nonzero when it never held.
wait_for() {
  local n=$(($1 * 10))
  shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! alive "$1"; }

# render TEMPLATE OUT NAME=VALUE...: the template with each @NAME@ replaced.
render() {
  local in=$1 out=$2 kv args=()
  shift 2
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$in" >"$out"
  ! grep -n '@[A-Z_]*@' "$out" || fail "$out: placeholder left unreplaced"
}

# start_instance NAME ADDR: `$bin httpbin` on ADDR with instance_flags and
# JSON access logs in $work/NAME.log; sets $inst_pid and $inst_port. Fails
# loudly (never skips) when nethttp refuses a flag: these tests exist to
# show the flags working.
start_instance() {
  local name=$1 addr=$2 log=$work/$1.log
  # shellcheck disable=SC2046 # the flags are words
  "$bin" httpbin --addr "$addr" --log-format json --threads 1 --shutdown-timeout 20s \
    $(instance_flags) >"$log" 2>&1 &
  inst_pid=$!
  track "$inst_pid"
  started() { grep -q '"msg":"serving"' "$log" || dead "$inst_pid"; }
  wait_for 30 started && alive "$inst_pid" || {
    alive "$inst_pid" || fail "instance $name exited at start (a flag refused?): $(head -3 "$log")"
    fail "instance $name did not start"
  }
  inst_port=$(sed -n 's/.*"msg":"serving","addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$log" | head -1)
  [ -n "$inst_port" ] || fail "instance $name: no port in $(grep serving "$log")"
}

# Requests straight to an instance, not through the proxy: as the proxy
# (from $PROXY_SRC, with a PROXY v1 header, as curl's --haproxy-protocol
# sends it) or as a stranger (from 127.0.0.1, no header). Print the status
# (000 when no response came).
as_proxy() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' --interface "$PROXY_SRC" --haproxy-protocol "$@" || true; }
as_stranger() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@" || true; }

# check_instance_gate PORT: the trusted source gets answers (/ready and
# /live 200), a connection from elsewhere without a header gets none.
check_instance_gate() {
  local p=$1 s
  s=$(as_proxy "http://127.0.0.1:$p/ready"); [ "$s" = 200 ] || fail "port $p: /ready via PROXY: $s, want 200"
  s=$(as_proxy "http://127.0.0.1:$p/live"); [ "$s" = 200 ] || fail "port $p: /live via PROXY: $s, want 200"
  s=$(as_stranger "http://127.0.0.1:$p/get"); [ "$s" = 000 ] || fail "port $p: untrusted direct request answered $s"
}

# start_load URL: `nethttp load` from 127.0.0.1, paced at $RATE requests/s
# over $CALLERS keep-alive callers, for at most 120 s (stop_load ends it);
# its JSON report goes to $work/load.json.
RATE=${NH_DEPLOY_RATE:-3000}
CALLERS=32
start_load() {
  "$bin" load --threads 1 --json -z 120s -c "$CALLERS" -q "$RATE" -t 10s "$1" >"$work/load.json" 2>"$work/load.err" &
  load_pid=$!
  track "$load_pid"
  load_t0=$(date +%s)
}
# stop_load MIN_SECONDS: waits until the load has run that long, then
# interrupts it (exit 130: it reports what it has); cut requests count as
# neither responses nor errors.
stop_load() {
  local left=$(($1 - ($(date +%s) - load_t0)))
  [ "$left" -le 0 ] || sleep "$left"
  alive "$load_pid" || fail "the load generator ended early: $(cat "$work/load.err")"
  kill -INT "$load_pid"
  local rc=0
  wait "$load_pid" || rc=$?
  [ "$rc" = 130 ] || fail "load generator exit $rc: $(cat "$work/load.err")"
}

# start_probes URL: a curl from $PROBE_SRC every 0.1 s, each on a new
# connection; one status a line in $work/probes.txt. stop_probes ends it.
start_probes() {
  (
    trap 'exit 0' TERM
    while :; do
      curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' --interface "$PROBE_SRC" "$1" >>"$work/probes.txt" || true
      sleep 0.1
    done
  ) &
  probe_pid=$!
  track "$probe_pid"
}
stop_probes() { kill -TERM "$probe_pid"; wait "$probe_pid" || true; }

# served LOG [PATH]: how many requests for PATH (default /get, the load's)
# the access log holds; serving_more LOG N [PATH]: more than N.
served() { grep -c "\"path\":\"${2:-/get}\"" "$1" || true; }
serving_more() { [ "$(served "$1" "${3:-/get}")" -gt "$2" ]; }

# handover_child PID: sets $new_pid to the process PID started (the new
# copy a SIGUSR2 starts); nonzero while there is none.
handover_child() { new_pid=$(ps -o pid= --ppid "$1" | head -1 | tr -d ' '); [ -n "$new_pid" ]; }

# check_results LOG...: no failed request, and the access logs name the
# clients: every load request (/get) from 127.0.0.1, every probe
# (/headers) from $PROBE_SRC, none from the proxy's address; the logs hold
# every answered load request (and at most one cut request per caller more).
check_results() {
  python3 - "$work/load.json" <<'PY' || fail "the load generator saw failures"
import json, sys
j = json.load(open(sys.argv[1]))
if not (j["errors"] == 0 and j["responses"] > 0 and set(j["status"]) == {"200"}):
    sys.exit(f"requests {j['requests']}, responses {j['responses']}, statuses {j['status']}, "
             f"errors {j['errors']} {j['errors_by_kind']}")
PY
  local probes bad
  probes=$(wc -l <"$work/probes.txt")
  bad=$(grep -vc '^200$' "$work/probes.txt" || true)
  [ "$probes" -gt 0 ] && [ "$bad" = 0 ] || fail "probes: $bad of $probes not 200: $(sort "$work/probes.txt" | uniq -c)"
  python3 - "$work/load.json" "$probes" "$CALLERS" "$PROBE_SRC" "$@" <<'PY' || fail "access logs"
import json, sys
load = json.load(open(sys.argv[1]))
probes, callers, probe_src, logs = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
gets = heads = 0
for name in logs:
    for line in open(name):
        if '"msg":"access"' not in line:
            continue
        a = json.loads(line)
        host = a["remote"].rsplit(":", 1)[0]
        if a["path"] == "/get":
            gets += 1
            assert host == "127.0.0.1", f"{name}: load request from {a['remote']}: {line}"
        elif a["path"] == "/headers":
            heads += 1
            assert host == probe_src, f"{name}: probe from {a['remote']}: {line}"
n = load["responses"]
# A request sent again (a pooled connection closed under it) may have been
# served the first time too, behind a proxy that lost the answer.
retried = load.get("retries", 0)
assert n <= gets <= n + callers + retried, \
    f"logged {gets} load requests, the client got {n} responses ({retried} retried)"
assert heads == probes, f"logged {heads} probes, curl made {probes}"
print(f"{n} load requests ({load['requests_per_second']:.0f}/s) and {probes} probes, "
      f"no error, each logged with the client's own address")
PY
  ! grep -l -e 'Sanitizer' -e 'runtime error' "$@" || fail "sanitizer report in an instance"
}

# Instances a and b on free ports (a_pid, a_port, b_pid, b_port), each
# checked to refuse a connection from an untrusted source.
start_both_instances() {
  start_instance a 127.0.0.1:0
  a_pid=$inst_pid a_port=$inst_port
  start_instance b 127.0.0.1:0
  b_pid=$inst_pid b_port=$inst_port
  check_instance_gate "$a_port"
  check_instance_gate "$b_port"
}
