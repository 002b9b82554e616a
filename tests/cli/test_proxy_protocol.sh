#!/usr/bin/env bash
# --proxy-protocol on nethttp httpbin and serve, driven by curl
# (--haproxy-protocol: a v1 header before HTTP/1.1, h2c and TLS with h2)
# and by python3 raw sockets (a header naming another client): the
# header's client is the request's origin and the access log's remote; a
# connection without a header, or from an untrusted source, gets no answer;
# a malformed trusted list stops the server at startup.
# Usage: test_proxy_protocol.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
need openssl
cli_test_setup

"$bin" httpbin --help 2>&1 | grep -q -- "--proxy-protocol CIDR" || fail "--help does not mention --proxy-protocol"
"$bin" serve --help 2>&1 | grep -q -- "--proxy-protocol CIDR" || fail "serve --help does not mention --proxy-protocol"

# A raw client: a v1 header for 198.51.100.9:4242, then GET PATH; prints
# the response.
raw_get() {
  python3 - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"PROXY TCP4 198.51.100.9 127.0.0.1 4242 80\r\n")
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % sys.argv[2]).encode())
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1"))
PY
}

# httpbin, plain, h2c on.
start_httpbin "$bin" --proxy-protocol 127.0.0.1/32,::1 --h2c --log-level debug
raw_get /ip > "$work/ip"
grep -q '"origin": *"198.51.100.9"' "$work/ip" || fail "origin is not the header's: $(cat "$work/ip")"
[ "$(code --haproxy-protocol "$base/get")" = 200 ] || fail "curl --haproxy-protocol (HTTP/1.1)"
v=$(curl -s --max-time 10 -o /dev/null -w '%{http_version} %{http_code}' --haproxy-protocol \
  --http2-prior-knowledge "$base/get") || true
[ "$v" = "2 200" ] || fail "curl --haproxy-protocol over h2c: $v"
# No header from a trusted source: closed without an answer.
if curl -s --max-time 10 -o /dev/null "$base/get"; then fail "served without a PROXY header"; fi
for _ in $(seq 100); do grep -q '"msg":"PROXY header refused"' "$work/log" && break; sleep 0.05; done
grep -q '"msg":"PROXY header refused".*"reason":"no PROXY header"' "$work/log" || fail "refusal not logged"
kill -TERM "$pid"; wait "$pid" || true; pid=

# httpbin over TLS: the header before the handshake, then HTTP/2 by ALPN.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
"$bin" httpbin --addr 127.0.0.1:0 --log-format json --proxy-protocol 127.0.0.0/8 \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "TLS server did not start"
v=$(curl -s --max-time 10 -k -o /dev/null -w '%{http_version} %{http_code}' --haproxy-protocol --http2 \
  "https://127.0.0.1:$port/get") || true
[ "$v" = "2 200" ] || fail "curl --haproxy-protocol over TLS with h2: $v"
if curl -s --max-time 10 -k -o /dev/null "https://127.0.0.1:$port/get"; then fail "TLS served without a header"; fi
kill -TERM "$pid"; wait "$pid" || true; pid=

# serve: the access log's remote is the header's client; an untrusted
# source is refused even with a header.
mkdir -p "$work/www" && echo hi > "$work/www/a.txt"
"$bin" serve "$work/www" --addr 127.0.0.1:0 --log-format json --proxy-protocol 127.0.0.1 >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "serve did not start"
raw_get /a.txt | grep -q '^hi' || fail "serve with a header"
for _ in $(seq 100); do grep -q '"remote":"198.51.100.9:4242"' "$work/log" && break; sleep 0.05; done
grep -q '"remote":"198.51.100.9:4242"' "$work/log" || fail "access log remote is not the header's"
kill -TERM "$pid"; wait "$pid" || true; pid=
"$bin" serve "$work/www" --addr 127.0.0.1:0 --log-format json --proxy-protocol 10.0.0.0/8 >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "serve (untrusted) did not start"
if curl -s --max-time 10 -o /dev/null --haproxy-protocol "http://127.0.0.1:$port/a.txt"; then
  fail "an untrusted source was served"
fi
kill -TERM "$pid"; wait "$pid" || true; pid=

# A malformed list: the server does not start, and says why.
if "$bin" serve "$work/www" --addr 127.0.0.1:0 --log-format json --proxy-protocol 10.0.0.0/33 >"$work/log" 2>&1; then
  fail "a malformed --proxy-protocol list was accepted"
fi
grep -q 'malformed PROXY trusted source' "$work/log" || fail "no reason given for the malformed list"
echo ok
