#!/usr/bin/env python3
"""nethttp httpbin driven by Python's urllib (the standard library only):
JSON echoes, uploads of every body kind, redirects followed by the client,
cookies through a cookie jar (sent to every path, quoted values kept),
basic and digest auth through urllib's handlers, digest answers computed
here (SHA-256, SHA-512, auth-int, a stale nonce), response headers from
the query, gzip, ranges, server-sent events read as they arrive, and
keep-alive reuse with http.client. Usage: httpbin_check.py BASE_URL  (exit 0 and "ok" on success)
"""
import gzip
import hashlib
import http.client
import http.cookiejar
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip("/")
HOST = urllib.parse.urlsplit(BASE).netloc


def fail(msg):
    print("httpbin_check: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def fetch(path, data=None, headers=None, method=None, opener=None):
    """(status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(BASE + path, data=data, headers=headers or {}, method=method)
    try:
        resp = (opener or urllib.request.build_opener()).open(req, timeout=10)
        return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def fetch_json(path, **kw):
    status, headers, body = fetch(path, **kw)
    check(headers.get("Content-Type") == "application/json; charset=utf-8",
          "%s: content type %s" % (path, headers.get("Content-Type")))
    return status, json.loads(body)


# Echoes.
status, j = fetch_json("/get?x=1&x=2&y=%C3%A9")
check(status == 200 and j["args"] == {"x": ["1", "2"], "y": ["\u00e9"]}, "get args %r" % j)
check(j["headers"]["Host"] == [HOST] and j["origin"] == "127.0.0.1", "get headers/origin %r" % j)
check(j["url"] == BASE + "/get?x=1&x=2&y=%C3%A9", "get url %r" % j["url"])

status, j = fetch_json("/post", data=urllib.parse.urlencode({"a": "1", "b": "x y"}).encode())
check(status == 200 and j["form"] == {"a": ["1"], "b": ["x y"]}, "post form %r" % j)
doc = {"n": 1, "s": "\u2603", "l": [True, None]}
status, j = fetch_json("/put", data=json.dumps(doc).encode(), method="PUT",
                       headers={"Content-Type": "application/json"})
check(status == 200 and j["json"] == doc and j["method"] == "PUT", "put json %r" % j)
boundary = "xYzZY"
multipart = ("--%s\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n"
             "--%s\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\n"
             "Content-Type: text/plain\r\n\r\nhello\r\n--%s--\r\n" % (boundary, boundary, boundary))
status, j = fetch_json("/patch", data=multipart.encode(), method="PATCH",
                       headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
check(status == 200 and j["form"] == {"f": ["v"]} and j["files"] == {"up": ["hello"]},
      "multipart %r" % j)
status, j = fetch_json("/delete", data=b"\x00\xfe", method="DELETE",
                       headers={"Content-Type": "image/x-raw"})
check(status == 200 and j["data"] == "data:image/x-raw;base64,AP4=", "delete data %r" % j)
status, j = fetch_json("/anything/deep/path?k=v", data=b"raw", method="POST",
                       headers={"Content-Type": "text/plain"})
check(j["data"] == "raw" and j["url"].endswith("/anything/deep/path?k=v"), "anything %r" % j)
status, _, _ = fetch("/post", data=b"x" * 150_000, headers={"Content-Type": "text/plain"})
check(status == 413, "oversized body: %d" % status)

# Redirects, followed by urllib.
status, j = fetch_json("/redirect/3")
check(status == 200 and j["url"] == BASE + "/get", "redirect chain ended at %r" % j.get("url"))
status, j = fetch_json("/absolute-redirect/2")
check(status == 200 and j["url"] == BASE + "/get", "absolute chain %r" % j.get("url"))
status, j = fetch_json("/redirect-to?url=" + urllib.parse.quote("/get?via=redirect-to", safe=""))
check(status == 200 and j["args"] == {"via": ["redirect-to"]}, "redirect-to %r" % j)

# Status codes.
for code in (200, 204, 400, 404, 418, 500, 503):
    status, _, _ = fetch("/status/%d" % code)
    check(status == code, "/status/%d gave %d" % (code, status))

# Cookies through a jar: set, read back, delete.
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
status, _, body = fetch("/cookies/set?flavour=oat&size=big", opener=opener)
check(status == 200 and json.loads(body) == {"flavour": "oat", "size": "big"}, "cookies %r" % body)
status, _, body = fetch("/cookies/delete?size", opener=opener)
check(json.loads(body) == {"flavour": "oat"}, "cookie delete %r" % body)

# Cookies are set with Path=/: the jar sends them to other paths too.
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
fetch("/cookies/set?everywhere=yes", opener=opener)
status, j = fetch_json("/anything/deep/under", opener=opener)
check(j["headers"].get("Cookie") == ["everywhere=yes"], "cookie not sent to another path: %r" % j)
# A value in double quotes is set as sent, and the jar keeps it so.
fetch("/cookies/set?foo=" + urllib.parse.quote('"bar:baz"', safe=""), opener=opener)
check({c.name: c.value for c in jar}.get("foo") == '"bar:baz"', "quoted cookie %r" % list(jar))
status, _, body = fetch("/cookies/set?bad=" + urllib.parse.quote("a\\b"), opener=opener)
check(status == 400 and b"bad" in body, "invalid cookie value: %d %r" % (status, body))

# Response headers from the query, as a client sees them.
status, headers, body = fetch("/response-headers?X-One=1&X-Two=a&X-Two=b", method="POST", data=b"")
check(status == 200 and headers.get_all("X-Two") == ["a", "b"] and headers["X-One"] == "1",
      "response-headers %r" % headers.items())
check(json.loads(body)["X-Two"] == ["a", "b"], "response-headers body %r" % body)

# Redirect targets pass through untouched.
conn = http.client.HTTPConnection(HOST, timeout=10)
target = "HTTP://Example.COM/x/../%7e?a=%zz"
conn.request("GET", "/redirect-to?status_code=308&url=" + urllib.parse.quote(target, safe=""))
resp = conn.getresponse()
resp.read()
check(resp.status == 308 and resp.getheader("Location") == target,
      "redirect-to %d %r" % (resp.status, resp.getheader("Location")))
conn.close()

# Digest auth through urllib's handler (MD5, qop auth).
pw = urllib.request.HTTPPasswordMgrWithDefaultRealm()
pw.add_password(None, BASE, "carol", "pa55")
opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(pw))
status, _, body = fetch("/digest-auth/auth/carol/pa55", opener=opener)
check(status == 200 and json.loads(body) == {"authenticated": True, "user": "carol"},
      "digest via urllib: %d %r" % (status, body))


def challenge_of(headers):
    """The parameters of a Digest WWW-Authenticate header."""
    value = headers["WWW-Authenticate"]
    check(value.startswith("Digest "), "challenge %r" % value)
    return urllib.request.parse_keqv_list(urllib.request.parse_http_list(value[7:]))


def digest_answer(path, method, user, passwd, ch, qop, alg, body=b"", nonce=None):
    """An Authorization header answering challenge ch, computed here."""
    h = lambda s: hashlib.new(alg.replace("-", "").lower(), s.encode() if isinstance(s, str) else s).hexdigest()
    nonce = nonce or ch["nonce"]
    ha1 = h("%s:%s:%s" % (user, ch["realm"], passwd))
    ha2 = h("%s:%s" % (method, path)) if qop == "auth" else h("%s:%s:%s" % (method, path, h(body)))
    resp = h(":".join([ha1, nonce, "00000001", "0a4f113b", qop, ha2]))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, qop=%s, '
            'nc=00000001, cnonce="0a4f113b", response="%s", opaque="%s"'
            % (user, ch["realm"], nonce, path, alg, qop, resp, ch["opaque"]))


def digest_round(path, method, qop, alg, body=b"", passwd="pw", cookie=None):
    status, headers, _ = fetch(path, method=method, data=body or None)
    check(status == 401, "%s unchallenged: %d" % (path, status))
    ch = challenge_of(headers)
    check(ch["algorithm"] == alg and qop in ch["qop"].split(", ") and ch["stale"] == "FALSE",
          "challenge %r" % ch)
    auth = {"Authorization": digest_answer(path, method, "user", passwd, ch, qop, alg, body)}
    if cookie:
        auth["Cookie"] = cookie
    return fetch(path, method=method, data=body or None, headers=auth)


for qop, alg in (("auth", "SHA-256"), ("auth", "SHA-512"), ("auth-int", "MD5"),
                 ("auth-int", "SHA-512")):
    path = "/digest-auth/%s/user/pw/%s?q=1" % (qop, alg)
    status, _, body = digest_round(path, "PUT", qop, alg, body=b"the body")
    check(status == 200 and json.loads(body)["authenticated"] is True,
          "digest %s %s: %d %r" % (qop, alg, status, body))
    status, _, _ = digest_round(path, "PUT", qop, alg, body=b"the body", passwd="wrong")
    check(status == 401, "digest %s %s with a wrong password: %d" % (qop, alg, status))
# auth-int covers the body: an answer for another body fails.
path = "/digest-auth/auth-int/user/pw"
_, headers, _ = fetch(path)
ch = challenge_of(headers)
auth = digest_answer(path, "POST", "user", "pw", ch, "auth-int", "MD5", body=b"one")
status, _, _ = fetch(path, method="POST", data=b"two", headers={"Authorization": auth})
check(status == 401, "auth-int with another body: %d" % status)
# stale_after: one good answer counts it down; at 0 the nonce is stale.
path = "/digest-auth/auth/user/pw/MD5/1"
status, headers, _ = fetch(path)
check("stale_after=1; Path=/" in headers.get_all("Set-Cookie"), "stale_after cookie %r"
      % headers.get_all("Set-Cookie"))
ch = challenge_of(headers)
auth = digest_answer(path, "GET", "user", "pw", ch, "auth", "MD5")
status, headers, _ = fetch(path, headers={"Authorization": auth, "Cookie": "stale_after=1"})
check(status == 200 and "stale_after=0; Path=/" in headers.get_all("Set-Cookie"),
      "stale countdown: %d %r" % (status, headers.get_all("Set-Cookie")))
status, headers, _ = fetch(path, headers={"Authorization": auth, "Cookie": "stale_after=0"})
check(status == 401 and challenge_of(headers)["stale"] == "TRUE", "stale nonce: %d" % status)
# require-cookie: the challenge's cookie must come back.
status, _, body = fetch("/digest-auth/auth/user/pw?require-cookie=1",
                        headers={"Authorization": auth, "Cookie": "other=1"})
check(status == 403 and json.loads(body) == {"errors": ["missing cookie set on challenge"]},
      "require-cookie: %d %r" % (status, body))

# Basic auth through urllib's handler (it answers the 401 challenge).
pw = urllib.request.HTTPPasswordMgrWithDefaultRealm()
pw.add_password(None, BASE, "alice", "s3cret")
opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(pw))
status, _, body = fetch("/basic-auth/alice/s3cret", opener=opener)
check(status == 200 and json.loads(body)["authenticated"] is True, "basic auth %r" % body)
status, _, _ = fetch("/basic-auth/alice/other", opener=opener)
check(status == 401, "basic auth with the wrong password: %d" % status)

# Compression, bytes, ranges.
status, headers, body = fetch("/gzip", headers={"Accept-Encoding": "gzip"})
check(headers.get("Content-Encoding") == "gzip" and json.loads(gzip.decompress(body))["gzipped"],
      "gzip")
_, _, a = fetch("/bytes/5000?seed=42")
_, _, b = fetch("/stream-bytes/5000?seed=42&chunk_size=333")
check(len(a) == 5000 and a == b, "bytes and stream-bytes with one seed differ")
status, headers, body = fetch("/range/100", headers={"Range": "bytes=26-28"})
check(status == 206 and body == b"abc" and headers["Content-Range"] == "bytes 26-28/100", "range")

# Server-sent events, read as they arrive: the first comes before the last
# is sent.
start = time.monotonic()
resp = urllib.request.urlopen(BASE + "/sse?count=3&duration=1", timeout=10)
first = resp.readline()
first_at = time.monotonic() - start
rest = resp.read().decode()
total = time.monotonic() - start
check(first == b"event: ping\n", "sse first line %r" % first)
check(first_at < 0.5 and total >= 0.9, "sse timing: first %.2fs, total %.2fs" % (first_at, total))
check(rest.count("event: ping") == 2, "sse events %r" % rest)

# Keep-alive: one http.client connection for several requests, including
# a HEAD and an error.
conn = http.client.HTTPConnection(HOST, timeout=10)
for method, path, want in (("GET", "/uuid", 200), ("HEAD", "/get", 200),
                           ("GET", "/status/404", 404), ("POST", "/post", 200),
                           ("GET", "/json", 200)):
    conn.request(method, path, body=b"x" if method == "POST" else None)
    resp = conn.getresponse()
    body = resp.read()
    check(resp.status == want, "%s %s on one connection: %d" % (method, path, resp.status))
    check(method != "HEAD" or body == b"", "HEAD body %r" % body)
    sock = conn.sock
check(sock is not None and conn.sock is sock, "connection was not kept alive")
conn.close()
print("httpbin_check: ok")
