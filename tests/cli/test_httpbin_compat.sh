#!/usr/bin/env bash
# nethttp httpbin with --compat httpbin.org and over HTTPS, driven by curl
# and Python: httpbin.org's JSON shapes (single values, {"cookies": ...},
# text data for a body without a type, Content-Length in
# /response-headers), a 50 MB /drip paced in batches over one second, then
# --tls-cert/--tls-key serving HTTPS with a certificate made here by
# openssl. Without openssl the TLS part reports SKIP (exit 77).
# Usage: test_httpbin_compat.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
cli_test_setup
LOG_TAIL=20
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
printf '\x00\x01\xff' > "$work/bin"
printf 'file body\n' > "$work/up.txt"
start_httpbin "$bin" --threads 1 --compat httpbin.org --max-duration 5s \
  --max-body-size 60000000 --shutdown-timeout 5s
st 200 '/get?a=1&a=2&b=x' -H 'X-Multi: a' -H 'X-Multi: b'
json "$work/b" "j['args']=={'a':['1','2'],'b':'x'} and j['headers']['X-Multi']=='a,b' \
  and j['headers']['Host']=='127.0.0.1:$port'"
st 200 /post -d 'k=v&k=w' -d 'z=1'
json "$work/b" "j['form']=={'k':['v','w'],'z':'1'} and j['data']=='' and j['json'] is None"
st 200 /post -H 'Content-Type:' --data-binary '{"n": 1}'
json "$work/b" "j['data']=='{\"n\": 1}' and j['json']=={'n':1} and 'Content-Type' not in j['headers']"
st 200 /put -X PUT -H 'Content-Type:' --data-binary 'plain words'
json "$work/b" "j['data']=='plain words' and j['json'] is None"
st 200 /delete -X DELETE -H 'Content-Type: application/x-thing' --data-binary @"$work/bin"
json "$work/b" "j['data']=='data:application/octet-stream;base64,AAH/'"
st 200 /post -F 'field=value' -F "upload=@$work/up.txt" -F 'two=1' -F 'two=2'
json "$work/b" "j['form']=={'field':'value','two':['1','2']} and j['files']=={'upload':'file body\n'}"
st 200 /cookies -H 'Cookie: a=1; b=two'
json "$work/b" "j=={'cookies':{'a':'1','b':'two'}}"
st 200 '/response-headers?X-Rh=1&X-Rh=2&Y=z'
json "$work/b" "j['X-Rh']==['1','2'] and j['Y']=='z' and j['Content-Type']=='application/json' \
  and j['Content-Length']==str($(wc -c < "$work/b"))"
hdr "$work/h" "Content-Length: $(wc -c < "$work/b")"
st 401 /digest-auth/auth-int/u/p; hdr "$work/h" 'WWW-Authenticate: Digest realm="me@kennethreitz.com", .*qop="auth-int"'
st 200 '/drip?numbytes=3&duration=0.2'; hdr "$work/h" 'Content-Type: application/octet-stream'
# 50 MB over one second: paced in batches, not a write per byte; the
# exact byte count, in a few seconds, without stalling the loop
t0=$(date +%s%N)
out=$(curl -s --max-time 60 -o "$work/drip" -D "$work/h" -w '%{http_code} %{size_download}' \
  "$base/drip?numbytes=50000000&duration=1&delay=0")
t1=$(date +%s%N)
[ "$out" = "200 50000000" ] || fail "50 MB drip: $out"
hdr "$work/h" 'Content-Length: 50000000'
[ "$(tr -d '*' < "$work/drip" | wc -c)" = 0 ] || fail "50 MB drip: not all '*'"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -ge 900 ] || fail "50 MB drip over 1 s took only $ms ms"
[ "$ms" -lt 20000 ] || fail "50 MB drip over 1 s took $ms ms"
out=$(curl -s --max-time 60 -o /dev/null -w '%{http_code} %{size_download}' \
  "$base/drip?numbytes=50000000&duration=0&delay=0")
[ "$out" = "200 50000000" ] || fail "50 MB drip, duration 0: $out"
grep -q 'loop stalled: a fiber ran without parking' "$work/log" && fail "a drip stalled the loop"
kill -TERM "$pid"
wait "$pid" || fail "server exit status $?"
pid=
if grep -q -e 'Sanitizer' -e 'runtime error' "$work/log"; then fail "sanitizer report"; fi


# --- HTTPS: --tls-cert and --tls-key
command -v openssl >/dev/null || { echo "SKIP: openssl not installed (HTTPS checks)"; exit 77; }
if "$bin" httpbin --addr 127.0.0.1:0 --tls-cert "$work/up.txt" 2>/dev/null; then
  fail "--tls-cert without --tls-key accepted"
fi
if "$bin" httpbin --addr 127.0.0.1:0 --tls-cert "$work/up.txt" --tls-key "$work/up.txt" 2>/dev/null; then
  fail "a file that is not a certificate accepted"
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=nethttp httpbin test CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/ext" -out "$work/leaf.pem" 2>/dev/null
start_httpbin "$bin" --threads 1 --tls-cert "$work/leaf.pem" --tls-key "$work/leaf.key" \
  --shutdown-timeout 5s
grep -q '"msg":"nethttp httpbin".*"scheme":"https"' "$work/log" || fail "no https in the start log"
plain=$base
base="https://127.0.0.1:$port"
ca=(--cacert "$work/ca.pem")
st 200 '/get?x=1' "${ca[@]}"
json "$work/b" "j['url']=='$base/get?x=1' and j['args']=={'x':['1']}"
[ "$(C "${ca[@]}" "https://localhost:$port/uuid" -o /dev/null -w '%{http_code}')" = 200 ] || fail "by name"
# no plain HTTP on the HTTPS port, and no HTTPS without trusting the CA
[ "$(code "$plain/get")" != 200 ] || fail "plain HTTP answered on the TLS port"
[ "$(code "$base/get")" = 000 ] || fail "an untrusted certificate was accepted"
st 302 '/cookies/set?s=1' "${ca[@]}"; hdr "$work/h" 'Set-Cookie: s=1; Path=/; HttpOnly; Secure$'
st 200 /digest-auth/auth/u/pw/SHA-256 "${ca[@]}" --digest -u u:pw
st 200 '/stream-bytes/300000?seed=5&chunk_size=7000' "${ca[@]}"
cp "$work/b" "$work/tls.bin"
st 200 '/bytes/300000?seed=5' "${ca[@]}"
cmp -s "$work/b" "$work/tls.bin" || fail "bytes over TLS differ"
st 200 '/drip?numbytes=4&duration=0.3&delay=0' "${ca[@]}"; [ "$(cat "$work/b")" = '****' ] || fail "drip over TLS"
# Python's ssl and urllib, trusting the CA, on one kept-alive connection
python3 - "$port" "$work/ca.pem" <<'PY' || fail "Python over HTTPS"
import http.client, json, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=10)
for path in ("/get?p=1", "/headers"):
    conn.request("GET", path)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 200, resp.status
sock = conn.sock
conn.request("POST", "/post", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
resp = conn.getresponse()
j = json.loads(resp.read())
assert j["json"] == {"a": 1} and j["url"].startswith("https://"), j
assert conn.sock is sock, "connection not kept alive"
PY
kill -TERM "$pid"
wait "$pid" || fail "server exit status $?"
pid=
grep -q '"msg":"shut down cleanly"' "$work/log" || fail "no clean shutdown"
if grep -q -e 'Sanitizer' -e 'runtime error' "$work/log"; then fail "sanitizer report"; fi
echo "1 passed, 0 failed"
