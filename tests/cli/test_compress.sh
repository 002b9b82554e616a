#!/usr/bin/env bash
# Response compression end to end, with independent clients: `nethttp serve
# --compress --precompressed --h2c`, fetched by curl --compressed (HTTP/1.1
# and HTTP/2) and by Python (zlib, brotli, zstandard modules) for each of
# gzip, br and zstd; every body must decode to the exact original bytes.
# Precompressed siblings (made by the gzip, brotli and zstd tools): chosen
# by Accept-Encoding, their own length and ETag, Range and If-None-Match on
# them, and the siblings that must not be served (a directory, a symlink out
# of the root, one older than its original, one without an original).
# Usage: test_compress.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need curl
need /usr/bin/python3 "python3"
need gzip
need brotli brotli
need zstd zstd
/usr/bin/python3 -c 'import brotli, zstandard' 2>/dev/null \
  || { echo "SKIP: python3-brotli or python3-zstandard not installed (scripts/install-deps.sh)"; exit 77; }
for f in brotli zstd; do
  curl -V | grep -qi "features:.*\b$f\b" || curl -V | grep -qi "\b$f/" \
    || { echo "SKIP: this curl cannot decode $f"; exit 77; }
done
cli_test_setup

www=$work/www
mkdir -p "$www" "$work/outside"
# A JSON document for the middleware (compressed on the fly) ...
/usr/bin/python3 - "$www/data.json" <<'PY'
import json, sys
items = [{"id": i, "name": "item %d" % i, "tags": ["a", "b", str(i % 7)], "price": i * 1.25}
         for i in range(600)]
open(sys.argv[1], "w").write(json.dumps({"items": items}))
PY
# ... and a script with siblings made ahead of time.
for i in $(seq 400); do echo "function f$i(x) { return x * $i + \"$i\"; }"; done > "$www/app.js"
gzip -9 -k "$www/app.js"
brotli -q 11 -k "$www/app.js"
zstd -q -19 -k "$www/app.js"
touch -d '1 minute ago' "$www/app.js" # the siblings are newer
head -c 2000 /dev/urandom > "$www/photo.png"
cp "$www/app.js" "$www/dir.js"; mkdir "$www/dir.js.gz"
cp "$www/app.js" "$www/link.js"; printf 'outside the root\n' | gzip > "$work/outside/secret.gz"
ln -s "$work/outside/secret.gz" "$www/link.js.gz"
cp "$www/app.js" "$www/old.js"; printf 'stale\n' | gzip > "$www/old.js.gz"
touch -d '1 hour ago' "$www/old.js.gz"
cp "$www/app.js.br" "$www/only.js.br"

"$bin" serve "$www" --addr 127.0.0.1:0 --log-format json --h2c --compress --precompressed \
  >"$work/log" 2>&1 &
pid=$!
port=$(serving_port "$work/log")
[ -n "$port" ] || fail "server did not start"
base="http://127.0.0.1:$port"

# curl decodes each coding, over HTTP/1.1 and HTTP/2 (h2c).
for proto in --http1.1 --http2-prior-knowledge; do
  for ce in gzip br zstd; do
    for f in data.json app.js; do
      [ "$(get "/$f" $proto --compressed -H "Accept-Encoding: $ce")" = 200 ] || fail "$f $ce $proto"
      hdr "$work/h" "content-encoding: $ce"
      hdr "$work/h" "vary: .*accept-encoding"
      cmp -s "$work/b" "$www/$f" || fail "$f over $ce $proto does not decode to the original"
    done
  done
done
# Not accepted, or not worth it: the original bytes, still with Vary.
[ "$(get /data.json)" = 200 ] && cmp -s "$work/b" "$www/data.json" || fail "identity"
! tr -d '\r' < "$work/h" | grep -qi '^content-encoding' || fail "identity was encoded"
hdr "$work/h" "vary: .*accept-encoding"
[ "$(get /photo.png --compressed)" = 200 ] && cmp -s "$work/b" "$www/photo.png" || fail "png"
! tr -d '\r' < "$work/h" | grep -qi '^content-encoding' || fail "a png was compressed"

# Python as a second client: raw bytes, decoded by its own modules.
/usr/bin/python3 - "$base" "$www" <<'PY' || fail "python clients"
import sys, urllib.request, zlib, brotli, zstandard
base, www = sys.argv[1], sys.argv[2]
def dec(ce, b):
    if ce == "gzip": return zlib.decompress(b, 16 + zlib.MAX_WBITS)
    if ce == "br": return brotli.decompress(b)
    if ce == "zstd": return zstandard.ZstdDecompressor().stream_reader(b).read()
    return b
for f in ("data.json", "app.js"):
    want = open(www + "/" + f, "rb").read()
    for ae, ce_want in (("gzip", "gzip"), ("br", "br"), ("zstd", "zstd"),
                        ("gzip;q=0.5, br;q=0.9", "br"), ("br;q=0, *", None), ("identity", None)):
        req = urllib.request.Request(base + "/" + f, headers={"Accept-Encoding": ae})
        with urllib.request.urlopen(req, timeout=10) as r:
            ce = r.headers.get("Content-Encoding")
            body = r.read()
        if ce_want and ce != ce_want:
            sys.exit("%s %s: Content-Encoding %s, want %s" % (f, ae, ce, ce_want))
        if not ce_want and ce == "br":
            sys.exit("%s %s: br was refused" % (f, ae))
        if dec(ce, body) != want:
            sys.exit("%s %s (%s): decoded body differs" % (f, ae, ce))
PY

# Precompressed: the sibling's own bytes, length and validator.
for ce in gzip br zstd; do
  sfx=$( [ $ce = gzip ] && echo gz || { [ $ce = br ] && echo br || echo zst; } )
  [ "$(get /app.js -H "Accept-Encoding: $ce")" = 200 ] || fail "app.js $ce"
  cmp -s "$work/b" "$www/app.js.$sfx" || fail "app.js $ce: not the sibling's bytes"
  hdr "$work/h" "content-encoding: $ce"
  hdr "$work/h" "content-length: $(stat -c %s "$www/app.js.$sfx")"
  hdr "$work/h" "content-type: text/javascript"
  etag=$(tr -d '\r' < "$work/h" | sed -n 's/^etag: //Ip')
  [ -n "$etag" ] || fail "no ETag on the $ce sibling"
  # Range on the coded representation.
  [ "$(get /app.js -H "Accept-Encoding: $ce" -H "Range: bytes=0-9")" = 206 ] || fail "range $ce"
  hdr "$work/h" "content-range: bytes 0-9/$(stat -c %s "$www/app.js.$sfx")"
  cmp -s "$work/b" <(head -c 10 "$www/app.js.$sfx") || fail "range $ce bytes"
  # Its ETag matches it, and only it.
  [ "$(get /app.js -H "Accept-Encoding: $ce" -H "If-None-Match: $etag")" = 304 ] || fail "INM $ce"
  [ "$(get /app.js -H "If-None-Match: $etag")" = 200 ] || fail "the $ce ETag matched the original"
done
[ "$(get /app.js -H 'Accept-Encoding: gzip, br, zstd')" = 200 ] && hdr "$work/h" "content-encoding: br"
# Skipped siblings: the original (still compressed on the fly by the middleware).
for f in dir.js link.js old.js; do
  [ "$(get /$f --compressed -H 'Accept-Encoding: gzip')" = 200 ] || fail "$f"
  cmp -s "$work/b" "$www/$f" || fail "$f: a sibling that must be skipped was served"
done
[ "$(get /only.js -H 'Accept-Encoding: br')" = 404 ] || fail "a sibling without its original"
echo "ok"
