#!/usr/bin/env bash
# nethttp httpbin, driven by independent clients: every endpoint with curl
# (status, headers, JSON fields checked with python3), then Python's urllib
# (httpbin_check.py) and Go's net/http (peers/httpbin_goclient) against the
# same server. The server runs on one event loop, so concurrent delays
# prove that waits park fibers, and with a 1 s write timeout, which drips
# and event streams of 1.5-2 s outlast.
# Usage: test_httpbin.sh NETHTTP_BINARY BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
build=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
cli_test_setup
[ -n "$build" ] || build=$work
mkdir -p "$build" && build=$(cd "$build" && pwd) # go wants absolute paths
LOG_TAIL=20

start_httpbin "$bin" --threads 1 --write-timeout 1s --max-duration 3s \
  --max-body-size 100000 --shutdown-timeout 5s

# --- echo endpoints
st 200 '/get?a=1&a=2&b=x%20y' -H 'X-Test: hi'
hdr "$work/h" 'Content-Type: application/json; charset=utf-8'
hdr "$work/h" 'Access-Control-Allow-Origin: \*'
json "$work/b" "j['args']=={'a':['1','2'],'b':['x y']} and j['headers']['X-Test']==['hi'] \
  and j['method']=='GET' and j['origin']=='127.0.0.1' and j['url']=='$base/get?a=1&a=2&b=x%20y' \
  and j['headers']['Host']==['127.0.0.1:$port']"
[ "$(code -X POST "$base/get")" = 405 ] || fail "POST /get not 405"
st 200 '/get?%FF=%FE%41' # not UTF-8: replaced, as Go's encoder does
json "$work/b" "j['args']=={'\\ufffd':['\\ufffdA']}"
st 200 /post -d 'k=v&k=w' -d 'z=1'
json "$work/b" "j['form']=={'k':['v','w'],'z':['1']} and j['data']=='k=v&k=w&z=1' and j['json'] is None and j['files']=={}"
st 200 /put -X PUT -H 'Content-Type: application/json' -d '{"a":[1,2,{"b":null}]}'
json "$work/b" "j['json']=={'a':[1,2,{'b':None}]} and j['method']=='PUT'"
st 200 /patch -X PATCH -H 'Content-Type: text/plain' --data-binary 'plain text'
json "$work/b" "j['data']=='plain text' and j['method']=='PATCH'"
printf '\x00\x01\xff' > "$work/bin"
st 200 /delete -X DELETE -H 'Content-Type: application/x-thing' --data-binary @"$work/bin"
json "$work/b" "j['data']=='data:application/x-thing;base64,AAH_' and j['method']=='DELETE'"
printf 'file body\n' > "$work/up.txt"
st 200 /post -F 'field=value' -F "upload=@$work/up.txt"
json "$work/b" "j['form']=={'field':['value']} and j['files']=={'upload':['file body\n']}"
st 400 /post -H 'Content-Type: application/json' -d '{bad'
st 200 '/anything/x/y?q=1' -X PROPFIND -d 'body'
json "$work/b" "j['method']=='PROPFIND' and j['url'].endswith('/anything/x/y?q=1') and j['args']=={'q':['1']}"
[ "$(code "$base/anything")" = 200 ] || fail "/anything"
[ "$(code -I "$base/anything")" = 200 ] || fail "HEAD /anything"
st 200 /headers -H 'X-Multi: a' -H 'X-Multi: b'
json "$work/b" "j['headers']['X-Multi']==['a','b'] and 'User-Agent' in j['headers']"
st 200 /ip -H 'X-Forwarded-For: 203.0.113.9, 10.0.0.1'
json "$work/b" "j=={'origin':'203.0.113.9'}"
st 200 /user-agent -A 'agent/1.0'
json "$work/b" "j=={'user-agent':'agent/1.0'}"

# --- body limit (--max-body-size 100000): 413 beyond, fine at the limit
head -c 100000 /dev/zero | tr '\0' a > "$work/ok.txt"
head -c 100001 /dev/zero | tr '\0' a > "$work/big.txt"
st 200 /post -H 'Content-Type: text/plain' --data-binary @"$work/ok.txt"
json "$work/b" "len(j['data'])==100000"
st 413 /post -H 'Content-Type: text/plain' --data-binary @"$work/big.txt"
st 413 /post -H 'Content-Type: text/plain' -H 'Transfer-Encoding: chunked' --data-binary @"$work/big.txt"

# --- status codes and redirects
[ "$(code "$base/status/418")" = 418 ] || fail "/status/418"
[ "$(C "$base/status/418")" = "I'm a teapot!" ] || fail "teapot body"
st 401 /status/401; hdr "$work/h" 'WWW-Authenticate: Basic realm="Fake Realm"'
[ "$(code -X POST "$base/status/201")" = 201 ] || fail "POST /status/201"
[ "$(code "$base/status/600")" = 400 ] || fail "/status/600"
[ "$(code "$base/status/abc")" = 400 ] || fail "/status/abc"
[ "$(code "$base/status/200:0,503:1")" = 503 ] || fail "weighted: only 503 has weight"
seen=$(for _ in $(seq 30); do code "$base/status/200,404"; echo; done | sort -u | tr '\n' ' ')
[ "$seen" = "200 404 " ] || fail "weighted choice: saw $seen"
[ "$(code "$base/status/200:x,404")" = 400 ] || fail "bad weight"
st 302 /redirect/3; hdr "$work/h" 'Location: /relative-redirect/2'
st 302 '/redirect/2?absolute=true'; hdr "$work/h" "Location: $base/absolute-redirect/1"
st 302 /absolute-redirect/1; hdr "$work/h" "Location: $base/get"
st 302 /relative-redirect/1; hdr "$work/h" 'Location: /get'
[ "$(code "$base/redirect/0")" = 400 ] || fail "/redirect/0"
[ "$(C -L -o /dev/null -w '%{num_redirects} %{http_code}' "$base/redirect/4")" = "4 200" ] || fail "follow 4 redirects"
st 307 '/redirect-to?url=http%3A%2F%2Fexample.com%2Fx&status_code=307'; hdr "$work/h" 'Location: http://example.com/x'
st 302 '/redirect-to?url=/get'; hdr "$work/h" 'Location: /get'
# passed through as given: no re-encoding, case folding or dot removal
st 301 '/redirect-to?url=HTTP%3A%2F%2FExample.COM%2Fa%2F.%2F%257E%3Fq%3D%25zz%26r%3D%C3%A9&status_code=301'
[ "$(tr -d '\r' < "$work/h" | sed -n 's/^Location: //p')" = 'HTTP://Example.COM/a/./%7E?q=%zz&r=é' ] \
  || fail "redirect-to rewrote the URL: $(grep -i '^Location' "$work/h")"
st 303 '/redirect-to?url=get%23frag&status_code=303'; hdr "$work/h" 'Location: get#frag'
[ "$(code "$base/redirect-to")" = 400 ] || fail "redirect-to without url"
[ "$(code "$base/redirect-to?url=/x&status_code=200")" = 400 ] || fail "redirect-to status 200"
[ "$(code "$base/redirect-to?url=/x%0d%0aSet-Cookie:%20a=b")" = 400 ] || fail "redirect-to header injection"

# --- cookies and auth
st 200 /cookies -H 'Cookie: a=1; b=two'
json "$work/b" "j=={'a':'1','b':'two'}"
st 302 '/cookies/set?k1=v1&k2=v2'
hdr "$work/h" 'Location: /cookies'
hdr "$work/h" 'Set-Cookie: k1=v1; Path=/; HttpOnly$'
hdr "$work/h" 'Set-Cookie: k2=v2; Path=/; HttpOnly$'
[ "$(C -L -c "$work/jar" -b "$work/jar" "$base/cookies/set?jar=yes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jar"])')" = yes ] \
  || fail "cookie jar round trip"
# Path=/: the jar sends the cookie to every path, not only under /cookies
st 200 /get -b "$work/jar"
json "$work/b" "j['headers']['Cookie']==['jar=yes']"
# a value in double quotes is a cookie-value too (RFC 6265): set as sent
st 302 '/cookies/set?foo=%22bar%3Abaz%22'
hdr "$work/h" 'Set-Cookie: foo="bar:baz"; Path=/; HttpOnly$'
st 302 /cookies/set/pathname/pathvalue; hdr "$work/h" 'Set-Cookie: pathname=pathvalue; Path=/'
# a value a cookie cannot carry is reported, and no cookie is set
st 400 '/cookies/set?ok=1&bad=a%3Bb'
json "$work/b" "'bad=a;b' in j['detail']"
tr -d '\r' < "$work/h" | grep -qi '^Set-Cookie' && fail "cookies set despite an invalid one"
st 400 '/cookies/set?q=%22open'
st 400 '/cookies/set?bad%20name=1'
st 302 '/cookies/delete?k1'
hdr "$work/h" 'Set-Cookie: k1=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly$'
# deleting through the jar removes the cookie the jar holds for /
C -c "$work/jar" -b "$work/jar" "$base/cookies/set?gone=1&kept=2" >/dev/null
[ "$(C -L -c "$work/jar" -b "$work/jar" "$base/cookies/delete?gone" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" = "['jar', 'kept']" ] \
  || fail "cookie delete through the jar: $(cat "$work/jar")"
st 200 /basic-auth/user/pass -u user:pass
json "$work/b" "j=={'authenticated':True,'authorized':True,'user':'user'}"
st 401 /basic-auth/user/pass -u user:wrong
hdr "$work/h" 'WWW-Authenticate: Basic realm="Fake Realm"'
json "$work/b" "j['authenticated'] is False and j['user']=='user'"
st 200 /bearer -H 'Authorization: Bearer tok123'
json "$work/b" "j=={'authenticated':True,'token':'tok123'}"
st 401 /bearer; hdr "$work/h" 'WWW-Authenticate: Bearer'
# digest auth: the challenge, then curl answering it
st 401 /digest-auth/auth/dave/s3cret
hdr "$work/h" 'WWW-Authenticate: Digest realm="go-httpbin", nonce="[0-9a-f]\{32\}", opaque="[0-9a-f]\{32\}", qop="auth", algorithm=MD5, stale=FALSE'
hdr "$work/h" 'Set-Cookie: fake=fake_value; Path=/'
hdr "$work/h" 'Set-Cookie: stale_after=never; Path=/'
st 401 /digest-auth/other/dave/s3cret/SHA-512; hdr "$work/h" 'WWW-Authenticate: Digest .*qop="auth, auth-int", algorithm=SHA-512'
st 401 /digest-auth/auth/dave/s3cret/BOGUS; hdr "$work/h" 'WWW-Authenticate: Digest .*algorithm=MD5'
st 200 /digest-auth/auth/dave/s3cret --digest -u dave:s3cret
json "$work/b" "j=={'authenticated':True,'user':'dave'}"
st 200 /digest-auth/auth/dave/s3cret/SHA-256 --digest -u dave:s3cret
st 200 '/digest-auth/auth/dave/s3cret/MD5?x=1' -X POST -d 'body' --digest -u dave:s3cret
st 401 /digest-auth/auth/dave/s3cret --digest -u dave:wrong
st 401 /digest-auth/auth/dave/s3cret --digest -u eve:s3cret
st 401 /digest-auth/auth/dave/s3cret -H 'Authorization: Digest garbage'
# response headers from the query, GET and POST
st 200 '/response-headers?X-Rh=1&X-Rh=two&Set-Cookie=rh%3Dyes'
tr -d '\r' < "$work/h" | grep -c '^X-Rh: ' | grep -qx 2 || fail "two X-Rh headers: $(cat "$work/h")"
hdr "$work/h" 'X-Rh: 1'; hdr "$work/h" 'X-Rh: two'; hdr "$work/h" 'Set-Cookie: rh=yes'
hdr "$work/h" 'Content-Type: application/json; charset=utf-8'
json "$work/b" "j=={'X-Rh':['1','two'],'Set-Cookie':['rh=yes'],'Content-Type':['application/json; charset=utf-8']}"
st 200 '/response-headers?X-Post=p' -X POST; hdr "$work/h" 'X-Post: p'
st 200 '/response-headers?Content-Type=text/html&X-S=%3Cb%3E'
hdr "$work/h" 'Content-Type: text/html'; hdr "$work/h" 'X-S: <b>'
grep -q '&lt;b&gt;' "$work/b" || fail "response-headers body not escaped for text/html: $(cat "$work/b")"
st 400 '/response-headers?Content-Length=5'
st 400 '/response-headers?X-Bad=a%0d%0aInjected:%201'
[ "$(code -X PUT "$base/response-headers")" = 405 ] || fail "PUT /response-headers"

# --- time: delays park the fiber (one loop serves 20 delays at once)
t0=$(date +%s%N)
st 200 /delay/0.5
hdr "$work/h" 'Server-Timing: initial_delay;dur=500'
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -ge 480 ] || fail "/delay/0.5 took $(( (t1 - t0) / 1000000 )) ms"
t0=$(date +%s%N)
cpids=()
for i in $(seq 20); do
  curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' "$base/delay/1" > "$work/par.$i" &
  cpids+=($!)
done
wait "${cpids[@]}" || true
t1=$(date +%s%N)
[ "$(cat "$work"/par.* | sort -u)" = 200 ] || fail "parallel delays: $(cat "$work"/par.* | sort | uniq -c)"
# One after the other they would take 20 s: well under that, they overlapped
# (the bound holds however busy the machine is).
[ $(( (t1 - t0) / 1000000 )) -lt 10000 ] || fail "20 parallel 1 s delays (20 s one after another) took $(( (t1 - t0) / 1000000 )) ms on one loop"
[ "$(code "$base/delay/4")" = 400 ] || fail "/delay beyond --max-duration"
[ "$(code "$base/delay/abc")" = 400 ] || fail "/delay/abc"
# the client leaving ends the wait: logged as 499 (a wait that ran to its
# end would have answered, and been logged as 200)
curl -s --max-time 0.3 "$base/delay/3?gone=1" >/dev/null || true
for _ in $(seq 200); do grep -q '"path":"/delay/3".*"status":499' "$work/log" && break; sleep 0.05; done
grep -q '"path":"/delay/3".*"status":499' "$work/log" || fail "abandoned /delay not ended with 499"
# drip: 2 s of writes with a 1 s server write timeout, Content-Length, status
t0=$(date +%s%N)
st 201 '/drip?duration=2&numbytes=5&delay=0.2&code=201'
t1=$(date +%s%N)
[ "$(cat "$work/b")" = '*****' ] || fail "/drip body $(cat "$work/b")"
hdr "$work/h" 'Content-Length: 5'
[ $(( (t1 - t0) / 1000000 )) -ge 2100 ] || fail "/drip too fast: $(( (t1 - t0) / 1000000 )) ms"
[ "$(code "$base/drip?duration=2&delay=2")" = 400 ] || fail "/drip over --max-duration"
# a few bytes keep their spacing: the first arrives well before the last
python3 - "$port" <<'EOF' || fail "/drip spacing"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /drip?numbytes=5&duration=2&delay=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
buf, arrivals = b"", []
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
    head, sep, body = buf.partition(b"\r\n\r\n")
    if sep:
        arrivals.append((time.monotonic(), len(body)))
assert b"Content-Length: 5\r\n" in head, head
assert body == b"*****", body
first = next(t for t, n in arrivals if n >= 1)
last = next(t for t, n in arrivals if n >= 5)
assert last - first >= 1.2, (last - first, arrivals)
assert len({n for _, n in arrivals}) >= 3, arrivals  # bytes came in several writes
EOF
[ "$(code "$base/drip?numbytes=0")" = 400 ] || fail "/drip numbytes=0"
# sse: events over 1.5 s (beyond the 1 s write timeout)
st 200 '/sse?count=4&duration=1.5'
hdr "$work/h" 'Content-Type: text/event-stream'
python3 - "$work/b" <<'EOF' || fail "/sse events: $(cat "$work/b")"
import json, sys
events = open(sys.argv[1]).read().split("\n\n")
assert events[-1] == "", events
events = events[:-1]
assert len(events) == 4, events
for i, e in enumerate(events):
    kind, data = e.split("\n")
    assert kind == "event: ping", kind
    d = json.loads(data[len("data: "):])
    assert d["id"] == i and d["timestamp"] > 1.6e12, d
ts = [json.loads(e.split("\n")[1][6:])["timestamp"] for e in events]
assert ts[-1] - ts[0] >= 1400, ts
EOF
[ "$(code "$base/sse?count=0")" = 400 ] || fail "/sse count=0"
# stream: n JSON lines, chunked
st 200 '/stream/3?x=1'
hdr "$work/h" 'Transfer-Encoding: chunked'
python3 -c "
import json,sys
lines=open('$work/b').read().splitlines()
assert [json.loads(l)['id'] for l in lines]==[0,1,2], lines
assert json.loads(lines[0])['args']=={'x':['1']}
" || fail "/stream lines"
[ "$(C "$base/stream/1000" | wc -l)" = 100 ] || fail "/stream caps at 100"

# --- generated bytes
st 200 '/bytes/1000?seed=7'
hdr "$work/h" 'Content-Length: 1000'
hdr "$work/h" 'Content-Type: application/octet-stream'
cp "$work/b" "$work/seed7"
C "$base/bytes/1000?seed=7" | cmp -s - "$work/seed7" || fail "same seed, different bytes"
C "$base/bytes/1000?seed=8" | cmp -s - "$work/seed7" && fail "different seeds, same bytes"
[ "$(code "$base/bytes/100001")" = 400 ] || fail "/bytes over the limit"
[ "$(code "$base/bytes/-1")" = 400 ] || fail "/bytes/-1"
st 200 /bytes/0; hdr "$work/h" 'Content-Length: 0'
st 200 '/stream-bytes/1000?seed=7&chunk_size=100'
hdr "$work/h" 'Transfer-Encoding: chunked'
cmp -s "$work/b" "$work/seed7" || fail "/stream-bytes differs from /bytes with the same seed"
[ "$(code "$base/stream-bytes/10?chunk_size=0")" = 400 ] || fail "chunk_size=0"
st 200 /range/30
[ "$(cat "$work/b")" = abcdefghijklmnopqrstuvwxyzabcd ] || fail "/range body"
hdr "$work/h" 'Accept-Ranges: bytes'
hdr "$work/h" 'ETag: range30'
st 206 /range/30 -H 'Range: bytes=2-5'
[ "$(cat "$work/b")" = cdef ] || fail "range body $(cat "$work/b")"
hdr "$work/h" 'Content-Range: bytes 2-5/30'
st 206 /range/30 -H 'Range: bytes=-3'; [ "$(cat "$work/b")" = bcd ] || fail "suffix range"
st 206 /range/30 -H 'Range: bytes=28-'; [ "$(cat "$work/b")" = cd ] || fail "open range"
st 416 /range/30 -H 'Range: bytes=40-50'
hdr "$work/h" 'Content-Range: bytes \*/30'
st 206 /range/30 -H 'Range: bytes=0-1,4-5'
hdr "$work/h" 'Content-Type: multipart/byteranges; boundary='
python3 - "$work/h" "$work/b" <<'EOF' || fail "multipart/byteranges body"
import email.parser, sys
head = open(sys.argv[1], "rb").read().split(b"\r\n", 1)[1]
msg = email.parser.BytesParser().parsebytes(head + open(sys.argv[2], "rb").read())
parts = [(p["Content-Range"], p.get_payload(decode=True)) for p in msg.get_payload()]
assert parts == [("bytes 0-1/30", b"ab"), ("bytes 4-5/30", b"ef")], parts
EOF
[ "$(code "$base/range/0")" = 400 ] || fail "/range/0"

# --- caching, compression, documents
st 200 /cache; hdr "$work/h" 'Last-Modified: '; hdr "$work/h" 'ETag: '
[ "$(code -H 'If-None-Match: "x"' "$base/cache")" = 304 ] || fail "/cache If-None-Match"
[ "$(code -H 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT' "$base/cache")" = 304 ] || fail "/cache IMS"
st 200 /etag/abc; hdr "$work/h" 'ETag: "abc"'
[ "$(code -H 'If-None-Match: "abc"' "$base/etag/abc")" = 304 ] || fail "etag 304"
[ "$(code -H 'If-None-Match: W/"abc", "zz"' "$base/etag/abc")" = 304 ] || fail "etag weak 304"
[ "$(code -H 'If-None-Match: "zz"' "$base/etag/abc")" = 200 ] || fail "etag other 200"
[ "$(code -H 'If-Match: "zz"' "$base/etag/abc")" = 412 ] || fail "etag If-Match 412"
[ "$(code -H 'If-Match: "abc"' "$base/etag/abc")" = 200 ] || fail "etag If-Match ok"
st 200 /gzip; hdr "$work/h" 'Content-Encoding: gzip'
python3 -c "
import gzip,json
j=json.loads(gzip.decompress(open('$work/b','rb').read()))
assert j['gzipped'] is True and j['method']=='GET', j
" || fail "/gzip body"
[ "$(C --compressed "$base/deflate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["deflated"])')" = True ] || fail "/deflate"
st 200 /json; json "$work/b" "j['slideshow']['author']=='Yours Truly'"
st 200 /html; hdr "$work/h" 'Content-Type: text/html; charset=utf-8'; grep -q 'Moby-Dick' "$work/b" || fail "/html"
[ "$(C "$base/robots.txt")" = "$(printf 'User-agent: *\nDisallow: /deny')" ] || fail "/robots.txt"
st 200 /uuid; json "$work/b" "__import__('re').fullmatch('[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}', j['uuid'])"
[ "$(C "$base/base64/aGVsbG8gd29ybGQ=")" = "hello world" ] || fail "/base64 decode"
[ "$(C "$base/base64/aGVsbG8gd29ybGQ")" = "hello world" ] || fail "/base64 unpadded"
[ "$(C "$base/base64/encode/hi%3F")" = "aGk_" ] || fail "/base64/encode"
[ "$(code "$base/base64/!!!")" = 400 ] || fail "/base64 bad input"
[ "$(C "$base/base64/PGI+eDwvYj4=?content-type=text/html")" = "&lt;b&gt;x&lt;/b&gt;" ] || fail "/base64 html escaped"
[ "$(code "$base/no-such-endpoint")" = 404 ] || fail "404"
st 200 / -X OPTIONS -H 'Origin: http://a.example' -H 'Access-Control-Request-Headers: X-A'
hdr "$work/h" 'Access-Control-Allow-Origin: http://a.example'
hdr "$work/h" 'Access-Control-Allow-Headers: X-A'

# --- independent clients: Python's urllib, Go's net/http
python3 "$here/httpbin_check.py" "$base" || fail "httpbin_check.py"
if have_or_skip go "Go's net/http client (golang-go)"; then
  out="$build/peers"
  mkdir -p "$out"
  ( cd "$here/../peers/httpbin_goclient" && GOCACHE="$out/gocache" GOPATH="$out/gopath" GOPROXY=off \
      GOFLAGS=-mod=mod go build -o "$out/httpbin_goclient" . ) || fail "go build"
  "$out/httpbin_goclient" "$base" || fail "Go client"
fi

# --- every access log line is JSON; flags are checked; clean shutdown
python3 -c "
import json,sys
for line in open('$work/log'): json.loads(line)
" || fail "log lines are not all JSON"
kill -TERM "$pid"
wait "$pid" || fail "server exit status $?"
pid=
grep -q '"msg":"shut down cleanly"' "$work/log" || fail "no clean shutdown"
if grep -q -e 'Sanitizer' -e 'runtime error' "$work/log"; then fail "sanitizer report"; fi

if "$bin" httpbin --compat nope 2>/dev/null; then fail "--compat nope accepted"; fi
if "$bin" httpbin --max-duration 0s 2>/dev/null; then fail "--max-duration 0s accepted"; fi
if "$bin" httpbin --max-body-size -5 2>/dev/null; then fail "--max-body-size -5 accepted"; fi
if "$bin" httpbin --bogus 2>/dev/null; then fail "unknown flag accepted"; fi
"$bin" httpbin --help | grep -q -- '--max-body-size' || fail "--help"
finish_or_skip
echo "1 passed, 0 failed"
