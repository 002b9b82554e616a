#!/usr/bin/env bash
# Every page of the debug listener, black-box, from `nethttp httpbin
# --debug-addr`: the links of the live page /debug/ (and the live page
# itself) each answer 200 with the Content-Type of its kind and a body that
# is what it says (HTML, JSON, the pprof format gzip'd, Prometheus text
# that python3-prometheus-client parses, with a request histogram that
# counted the requests sent to the public port).
# Usage: test_debug_pages.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
cli_test_setup

# The pages a linked path must be one of, with the Content-Type each sends.
# A page linked from /debug/ but missing here fails the test: give it a
# line. Profiles and traces are taken for one second, not the link's N.
declare -A want_type=(
  [/debug/]="text/html; charset=utf-8"
  [/debug/live.json]="application/json"
  [/debug/fibers]="text/plain; charset=utf-8"
  [/debug/vars]="application/json"
  [/metrics]="text/plain; version=0.0.4; charset=utf-8"
  [/debug/pprof/profile]="application/octet-stream"
  [/debug/pprof/mutex]="application/octet-stream"
  [/debug/pprof/block]="application/octet-stream"
  [/debug/trace]="application/json"
  [/debug/heap]="text/plain; charset=utf-8"
)

debug_port() {
  for _ in $(seq 400); do grep -q '"msg":"debug pages"' "$1" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*"msg":"debug pages","addr":"[^"]*:\([0-9]*\)".*/\1/p' "$1" | head -1
}

start_httpbin "$bin" --debug-addr 127.0.0.1:0
dport=$(debug_port "$work/log")
[ -n "$dport" ] || fail "debug listener did not start"
dbase="http://127.0.0.1:$dport"

# Requests to the public port, for the request histogram of /metrics.
nreq=7
for _ in $(seq "$nreq"); do st 200 /get; done

# fetch PATH_AND_QUERY: the page into $work/b, its headers into $work/h;
# fails unless 200 with a non-empty body and the Content-Type of its path.
fetch() {
  local url=$1 path=${1%%\?*} got ctype
  got=$(curl -s --max-time 20 -D "$work/h" -o "$work/b" -w '%{http_code}' "$dbase$url") || true
  [ "$got" = 200 ] || fail "$url: status $got"
  [ -s "$work/b" ] || fail "$url: empty body"
  ctype=$(tr -d '\r' < "$work/h" | sed -n 's/^[Cc]ontent-[Tt]ype: //p' | head -1)
  [ "$ctype" = "${want_type[$path]}" ] || fail "$url: Content-Type '$ctype', want '${want_type[$path]}'"
}

fetch /debug/
grep -q '^<!DOCTYPE html>' "$work/b" || fail "/debug/ is not an HTML document"
# The links of the page, as absolute paths (they are relative to /debug/).
links=$(grep -o 'href="[^"]*"' "$work/b" | sed 's/^href="//; s/"$//' | grep -v '^data:' |
  sed 's|^\.\./|/|; t; s|^|/debug/|' | sort -u)
[ -n "$links" ] || fail "/debug/ links no page"
seen=" /debug/ "
for link in $links; do
  path=${link%%\?*}
  [ -n "${want_type[$path]+x}" ] || fail "/debug/ links $link, a page this test does not know"
  seen+="$path "
  case $link in *seconds=*) link="$path?seconds=1" ;; esac
  fetch "$link"
  case $path in
    /debug/pprof/*)
      # The pprof format is a gzip'd protocol buffer: the gzip magic first.
      [ "$(head -c 2 "$work/b" | od -An -tx1 | tr -d ' \n')" = 1f8b ] \
        || fail "$link: not gzip (starts $(head -c 8 "$work/b" | od -An -tx1))" ;;
    /debug/live.json) json "$work/b" 'j["servers"] == 1 and j["latency"]["count"] >= '"$nreq" ;;
    /debug/vars) json "$work/b" 'j["cmdline"][1] == "httpbin"' ;;
    /debug/trace) json "$work/b" 'len(j["traceEvents"]) > 0' ;;
    /debug/fibers)
      if [ "$link" = /debug/fibers ]; then
        [[ $(head -1 "$work/b") == "fiber profile: total "[0-9]* ]] || fail "$link: $(head -3 "$work/b")"
      fi ;;
    /debug/heap) grep -q . "$work/b" || fail "$link: no text" ;;
    /metrics) cp "$work/b" "$work/metrics" ;;
  esac
done
# Every known page was linked (and so fetched).
for path in "${!want_type[@]}"; do
  case $seen in *" $path "*) ;; *) fail "/debug/ does not link $path" ;; esac
done

# /metrics is Prometheus text that the reference parser reads, and its
# request histogram counted the requests sent to the public port.
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
  /usr/bin/python3 - "$work/metrics" "$nreq" <<'EOF' || fail "/metrics: $(head -c 1500 "$work/metrics")"
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
h = families["http_server_request_duration_seconds"]
count = sum(s.value for s in h.samples
            if s.name.endswith("_count") and s.labels.get("http_request_method") == "GET")
if count != int(sys.argv[2]):
    sys.exit("GET requests counted: %s, want %s" % (count, sys.argv[2]))
EOF
else
  skipped_parts+=("/metrics through prometheus_client (python3-prometheus-client not installed)")
fi

kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=
finish_or_skip
echo PASS
