#!/usr/bin/env bash
# nethttp's client over HTTP/2 against nginx as the server, over h2c (prior
# knowledge) and over TLS (ALPN h2): `nethttp get --http2` fetches a page
# and a 1 MiB file byte for byte, and `nethttp load --h2` multiplexes 400
# requests over exactly 2 connections. Uses tests/peers/client/nginx.conf.in.
# Usage: h2_nginx_client.sh h2c|tls NETHTTP_BINARY
# Every process started here is stopped by its pid; only loopback is used.
set -euo pipefail
mode=$1
nethttp=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../need.sh"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
need "$nginx" nginx-light
need /usr/bin/python3 python3
need openssl openssl
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -20 "$prefix/error.log" 2>/dev/null || true; exit 1; }

prefix="$work/nginx"
mkdir -p "$prefix/www" "$prefix/tmp"
printf '<html><body>nethttp peer index</body></html>\n' >"$prefix/www/index.html"
head -c 1048576 /dev/urandom >"$prefix/www/big.bin"

scheme=http
listen_opts=http2
get_opts=()
if [ "$mode" = tls ]; then
  scheme=https
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$prefix/key.pem" -out "$prefix/cert.pem" 2>/dev/null
  listen_opts="ssl http2; ssl_certificate $prefix/cert.pem; ssl_certificate_key $prefix/key.pem"
  get_opts=(--cacert "$prefix/cert.pem")
fi

# A free port: bound by the kernel, released, then taken by nginx; another
# process may grab it in between: try a few.
for attempt in 1 2 3 4 5; do
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port $listen_opts|g" \
    "$here/client/nginx.conf.in" >"$prefix/nginx.conf"
  "$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" >"$work/log" 2>&1 &
  pid=$!
  up=0
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ "$up" = 1 ] && break
  wait "$pid" 2>/dev/null || true
  pid=""
  [ "$attempt" = 5 ] && fail "nginx did not start"
done
base="$scheme://127.0.0.1:$port"

# A page, with the protocol on the wire shown by -v.
"$nethttp" get --http2 -s -v "${get_opts[@]}" -o "$work/index" "$base/index.html" 2>"$work/v" ||
  fail "get index.html"
cmp -s "$work/index" "$prefix/www/index.html" || fail "index.html differs"
grep -q '^> GET /index.html HTTP/2' "$work/v" || fail "request not sent over HTTP/2: $(cat "$work/v")"
grep -q '^< HTTP/2.0 200' "$work/v" || fail "answer not over HTTP/2: $(cat "$work/v")"

# 1 MiB, byte for byte (flow control over several windows' worth).
"$nethttp" get --http2 -s "${get_opts[@]}" -o "$work/big" "$base/big.bin" || fail "get big.bin"
cmp -s "$work/big" "$prefix/www/big.bin" || fail "big.bin differs"

# 400 requests, 8 streams on each of 2 connections.
"$nethttp" load --h2 -c 2 --streams 8 -n 400 --json "${get_opts[@]}" "$base/hello" >"$work/load.json" ||
  fail "load"
/usr/bin/python3 - "$work/load.json" <<'PY' || fail "load results: $(cat "$work/load.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["responses"] == 400 and r["errors"] == 0, r
assert r["status"] == {"200": 400}, r["status"]
assert r["connections_opened"] == 2, r["connections_opened"]
PY

kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
echo "3 passed, 0 failed"
