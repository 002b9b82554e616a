#!/usr/bin/env bash
# nethttp serve --tls-cert/--tls-key, driven by curl: HTTPS with a
# certificate made here by openssl (never stored), a file byte for byte,
# keep-alive reuse, plain HTTP refused, SIGHUP reloading the certificate
# for new connections, graceful shutdown. Usage: test_serve_tls.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log:"; cat "$work/log" || true; exit 1; }
need openssl
need curl

# A CA and a leaf for localhost and 127.0.0.1 signed by it, in $work/$1.
make_cert() {
  local d="$work/$1"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=nethttp test CA $1" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/leaf.key" -out "$d/leaf.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
  openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/leaf.pem" 2>/dev/null
}
make_cert one
make_cert two
mkdir -p "$work/www" "$work/live"
cp "$work/one/leaf.pem" "$work/live/cert.pem"
cp "$work/one/leaf.key" "$work/live/key.pem"
head -c 2500000 /dev/urandom >"$work/www/big.bin"
printf 'hello tls\n' >"$work/www/a.txt"

# Bad flag combinations are refused before serving.
if "$bin" serve "$work/www" --addr 127.0.0.1:0 --tls-cert "$work/live/cert.pem" 2>/dev/null; then
  fail "--tls-cert without --tls-key accepted"
fi
if "$bin" serve "$work/www" --addr 127.0.0.1:0 --tls-cert "$work/www/a.txt" \
  --tls-key "$work/live/key.pem" 2>/dev/null; then
  fail "a file that is not a certificate accepted"
fi

"$bin" serve "$work/www" --addr 127.0.0.1:0 --log-format json --log-level debug \
  --tls-cert "$work/live/cert.pem" --tls-key "$work/live/key.pem" --shutdown-timeout 5s \
  >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "server did not start"
base="https://127.0.0.1:$port"
ca1=(--cacert "$work/one/ca.pem")
ca2=(--cacert "$work/two/ca.pem")

[ "$(curl -sS "${ca1[@]}" "$base/a.txt")" = "hello tls" ] || fail "file over https"
[ "$(curl -sS "${ca1[@]}" "https://localhost:$port/a.txt")" = "hello tls" ] || fail "by name"
curl -sS "${ca1[@]}" "$base/big.bin" -o "$work/got.bin" || fail "big file"
cmp -s "$work/www/big.bin" "$work/got.bin" || fail "big file differs"
# Keep-alive: two URLs on one curl, one TLS connection.
curl -sS -v "${ca1[@]}" "$base/a.txt" "$base/big.bin" -o /dev/null -o /dev/null 2>"$work/curl.v" ||
  fail "two requests"
grep -q 'Re-using existing connection' "$work/curl.v" || fail "connection not reused"
[ "$(grep -c 'SSL connection using' "$work/curl.v")" = 1 ] || fail "more than one handshake"
# Without the CA, curl refuses; plain HTTP gets no answer; both are
# handshake failures logged at debug with the peer's address.
if curl -s "$base/a.txt" -o /dev/null; then fail "untrusted certificate accepted"; fi
if curl -s -m 3 "http://127.0.0.1:$port/a.txt" -o /dev/null; then fail "plain http answered"; fi
for _ in $(seq 400); do grep -q '"msg":"TLS handshake failed"' "$work/log" && break; sleep 0.05; done
grep '"msg":"TLS handshake failed"' "$work/log" | grep -q '"remote":"127.0.0.1:' ||
  fail "handshake failure not logged with the peer"
grep '"msg":"TLS handshake failed"' "$work/log" | grep -q '"level":"DEBUG"' ||
  fail "handshake failure not at debug"

# SIGHUP: a new certificate for new connections.
cp "$work/two/leaf.pem" "$work/live/cert.pem.new" && mv "$work/live/cert.pem.new" "$work/live/cert.pem"
cp "$work/two/leaf.key" "$work/live/key.pem.new" && mv "$work/live/key.pem.new" "$work/live/key.pem"
kill -HUP "$pid"
for _ in $(seq 400); do grep -q 'TLS certificates reloaded' "$work/log" && break; sleep 0.05; done
grep -q 'TLS certificates reloaded' "$work/log" || fail "no reload on SIGHUP"
kill -0 "$pid" || fail "SIGHUP killed the server"
[ "$(curl -sS "${ca2[@]}" "$base/a.txt")" = "hello tls" ] || fail "new certificate not served"
if curl -s "${ca1[@]}" "$base/a.txt" -o /dev/null; then fail "old certificate still served"; fi
# A broken file: the reload fails, the server keeps the last good one.
echo garbage >"$work/live/cert.pem"
kill -HUP "$pid"
for _ in $(seq 400); do grep -q 'TLS reload failed' "$work/log" && break; sleep 0.05; done
grep -q 'TLS reload failed' "$work/log" || fail "failed reload not logged"
[ "$(curl -sS "${ca2[@]}" "$base/a.txt")" = "hello tls" ] || fail "lost the certificate on a bad reload"

kill -TERM "$pid"
for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then fail "did not stop on SIGTERM"; fi
wait "$pid" || fail "exit status $?"
pid=
grep -q '"msg":"shut down cleanly"' "$work/log" || fail "no clean shutdown"
echo ok
