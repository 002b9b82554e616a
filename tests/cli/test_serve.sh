#!/usr/bin/env bash
# nethttp serve, driven by curl (an independent client): files, HEAD, index,
# directory redirect, listings, ranges (curl's own multipart check too),
# conditional requests, traversal and symlink escapes refused, dotfiles
# hidden, keep-alive reuse, flags, JSON access logs, graceful shutdown on
# SIGTERM with a request in flight. Usage: test_serve.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need python3
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log:"; cat "$work/log" || true; exit 1; }

mkdir -p "$work/www/dir" "$work/outside"
printf '<!doctype html><p>home</p>\n' > "$work/www/index.html"
printf 'hello file\n' > "$work/www/dir/a.txt"
head -c 3000000 /dev/urandom > "$work/www/big.bin"
printf 'secret\n' > "$work/outside/secret.txt"
ln -s "$work/outside/secret.txt" "$work/www/escape"
ln -s ../outside "$work/www/escapedir"
ln -s dir/a.txt "$work/www/inside"
mkdir -p "$work/www/list"
printf 'x' > "$work/www/list/<b>&.txt"
printf 'y' > "$work/www/list/plain.txt"
printf 'SECRET=1\n' > "$work/www/.env"

"$bin" serve "$work/www" --addr 127.0.0.1:0 --log-format json --read-header-timeout 2s \
  --idle-timeout 5s --shutdown-timeout 5s >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "server did not start"
base="http://127.0.0.1:$port"

code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@"; }
[ "$(curl -s "$base/")" = "<!doctype html><p>home</p>" ] || fail "index"
[ "$(code "$base/dir")" = 301 ] || fail "directory redirect"
[ "$(curl -s -o /dev/null -w '%{redirect_url}' "$base/dir")" = "$base/dir/" ] || fail "redirect target"
[ "$(curl -s "$base/dir/a.txt")" = "hello file" ] || fail "file body"
curl -sI "$base/dir/a.txt" | tr -d '\r' | grep -qx 'Content-Length: 11' || fail "HEAD length"
curl -sI "$base/dir/a.txt" | tr -d '\r' | grep -qx 'Content-Type: text/plain; charset=utf-8' || fail "HEAD type"
[ "$(code "$base/missing")" = 404 ] || fail "404"
[ "$(code "$base/escape")" = 404 ] || fail "symlink out of the root served"
[ "$(code "$base/../outside/secret.txt")" = 400 ] || fail "dot-dot"
[ "$(code "$base/%2e%2e/outside/secret.txt")" = 400 ] || fail "encoded dot-dot"
[ "$(code -X POST "$base/")" = 405 ] || fail "POST not refused"
[ "$(code "$base/escapedir/secret.txt")" = 404 ] || fail "symlinked directory out of the root served"
[ "$(curl -s "$base/inside")" = "hello file" ] || fail "symlink inside the root"
[ "$(code "$base/a/..%2f..%2foutside/secret.txt")" = 400 ] || fail "encoded slash"
[ "$(code "$base/.env")" = 404 ] || fail "dotfile served"
[ "$(code "$base/dir/a.txt%00")" = 400 ] || fail "NUL byte"
[ "$(curl -s -o /dev/null -w '%{redirect_url}' "$base/dir/index.html")" = "$base/dir/" ] || fail "index.html redirect"
# Listing: escaped, sorted
listing=$(curl -s "$base/list/")
grep -qF '<a href="%3Cb%3E%26.txt">&lt;b&gt;&amp;.txt</a>' <<<"$listing" || fail "listing escapes: $listing"
grep -qF '<a href="plain.txt">plain.txt</a>' <<<"$listing" || fail "listing"
[ "$(curl -s "$base/list/%3Cb%3E%26.txt")" = x ] || fail "listed link"
# Ranges: one, suffix, several (curl checks nothing of multipart: we do),
# unsatisfiable, and ignored when not bytes
[ "$(curl -s -r 0-4 "$base/dir/a.txt")" = hello ] || fail "range"
[ "$(code -r 0-4 "$base/dir/a.txt")" = 206 ] || fail "range status"
[ "$(curl -s -H 'Range: bytes=-5' "$base/dir/a.txt")" = "file" ] || fail "suffix range"
curl -s -D "$work/h" -r 0-1,6-9 "$base/dir/a.txt" -o "$work/mp"
tr -d '\r' < "$work/h" | grep -q '^Content-Type: multipart/byteranges; boundary=' || fail "multipart type"
tr -d '\r' < "$work/mp" | grep -qx 'Content-Range: bytes 6-9/11' || fail "multipart part"
[ "$(stat -c %s "$work/mp")" = "$(tr -d '\r' < "$work/h" | sed -n 's/^Content-Length: //p')" ] || fail "multipart length"
[ "$(code -r 100-200 "$base/dir/a.txt")" = 416 ] || fail "416"
curl -s -D - -o /dev/null -r 100-200 "$base/dir/a.txt" | tr -d '\r' | grep -qx 'Content-Range: bytes \*/11' || fail "416 Content-Range"
[ "$(code -H 'Range: lines=1-2' "$base/dir/a.txt")" = 200 ] || fail "unknown range unit"
# Ranges of the 3 MB file through sendfile
curl -s -r 1000000-1999999 "$base/big.bin" -o "$work/part.bin"
cmp -s "$work/part.bin" <(tail -c +1000001 "$work/www/big.bin" | head -c 1000000) || fail "big range differs"
# Conditional requests with the validators the server sent
etag=$(curl -sI "$base/dir/a.txt" | tr -d '\r' | sed -n 's/^Etag: //p')
lm=$(curl -sI "$base/dir/a.txt" | tr -d '\r' | sed -n 's/^Last-Modified: //p')
[ -n "$etag" ] && [ -n "$lm" ] || fail "no ETag or Last-Modified"
[ "$(code -H "If-None-Match: $etag" "$base/dir/a.txt")" = 304 ] || fail "If-None-Match"
[ "$(code -H "If-Modified-Since: $lm" "$base/dir/a.txt")" = 304 ] || fail "If-Modified-Since"
[ "$(code -H 'If-Match: "other"' "$base/dir/a.txt")" = 412 ] || fail "If-Match"
[ "$(code -r 0-1 -H "If-Range: $etag" "$base/dir/a.txt")" = 206 ] || fail "If-Range match"
[ "$(code -r 0-1 -H 'If-Range: "old"' "$base/dir/a.txt")" = 200 ] || fail "If-Range mismatch"
# sendfile: a 3 MB body arrives intact
curl -s "$base/big.bin" -o "$work/got.bin"
cmp -s "$work/got.bin" "$work/www/big.bin" || fail "big file differs"
# keep-alive: curl reuses one connection for several URLs
reuse=$(curl -sv "$base/" "$base/dir/a.txt" "$base/" 2>&1 | grep -c 'Re-using existing connection' || true)
[ "$reuse" -ge 2 ] || fail "keep-alive not reused ($reuse)"
# JSON access log lines
grep -q '"msg":"request","method":"GET","path":"/dir/a.txt","status":200' "$work/log" || fail "access log"
python3 -c "
import json,sys
for line in open('$work/log'):
    json.loads(line)
" || fail "log lines are not all JSON"

# Graceful shutdown: a slow download in flight completes after SIGTERM, and
# the server exits 0.
curl -s --limit-rate 1M "$base/big.bin" -o "$work/slow.bin" &
cpid=$!
# SIGTERM once the download is under way (its first bytes arrived), not
# after a guess at how long that takes.
for _ in $(seq 400); do [ -s "$work/slow.bin" ] && break; sleep 0.05; done
[ -s "$work/slow.bin" ] || fail "the download did not start"
kill -TERM "$pid"
wait "$cpid" || fail "in-flight download failed during shutdown"
cmp -s "$work/slow.bin" "$work/www/big.bin" || fail "in-flight download truncated"
wait "$pid" || fail "server exit status $?"
pid=
grep -q '"msg":"shut down cleanly"' "$work/log" || fail "no clean shutdown"
# Flags are checked
if "$bin" serve --read-timeout 5 2>/dev/null; then fail "bad duration accepted"; fi
echo "1 passed, 0 failed"
