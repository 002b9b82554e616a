/* nethttp httpbin — HTTP Digest authentication (RFC 7616):
 * /digest-auth/{qop}/{user}/{passwd}[/{algorithm}[/{stale_after}]].
 *
 * As httpbin.org: qop "auth" or "auth-int" (anything else offers both),
 * algorithm MD5, SHA-256 or SHA-512 (anything else is MD5), any nonce
 * accepted, and the cookies it sets alongside the challenge: "fake"
 * (checked with ?require-cookie=1), "stale_after" (the number of good
 * answers before the nonce is called stale) and "last_nonce" (a nonce that
 * failed once is answered stale=TRUE). The response is checked against
 * the request-target as sent, the method and, for auth-int, the body. */
#include "httpbin.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_HEX = 2 * EVP_MAX_MD_SIZE + 1 };

/* The digest named by an algorithm token, "-sess" stripped; MD5 by
 * default. */
static const EVP_MD *digest_of(const char *alg, size_t n) {
  if (n == 7 && !strncasecmp(alg, "SHA-256", 7))
    return EVP_sha256();
  if (n == 7 && !strncasecmp(alg, "SHA-512", 7))
    return EVP_sha512();
  return EVP_md5();
}

/* hex(H(data)) into out (MAX_HEX bytes). 0 or -1. */
static int hex_digest(const EVP_MD *md, const void *data, size_t n, char *out) {
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data, n, sum, &len, md, NULL))
    return -1;
  for (unsigned int i = 0; i < len; i++)
    snprintf(out + 2 * i, 3, "%02x", sum[i]);
  out[2 * len] = 0;
  return 0;
}

/* hex(H(a:b:c...)) of NUL-terminated parts. 0 or -1. */
static int hex_digest_parts(const EVP_MD *md, char *out, int nparts, const char *const *parts) {
  size_t total = 0;
  for (int i = 0; i < nparts; i++)
    total += strlen(parts[i]) + 1;
  char *buf = malloc(total + 1);
  if (!buf)
    return -1;
  size_t k = 0;
  for (int i = 0; i < nparts; i++) {
    size_t n = strlen(parts[i]);
    memcpy(buf + k, parts[i], n);
    k += n;
    if (i + 1 < nparts)
      buf[k++] = ':';
  }
  int e = hex_digest(md, buf, k, out);
  free(buf);
  return e;
}

/* The parameters of "Authorization: Digest k=v, k2="quoted", ...". */
typedef struct digest_creds {
  const char *username, *realm, *nonce, *uri, *response, *algorithm, *qop, *nc, *cnonce;
} digest_creds;

/* Parses the header into request memory; 0, or -1 if it is not a Digest
 * answer with at least a username, a nonce and a response. */
static int parse_creds(nh_request *r, const char *auth, digest_creds *c) {
  memset(c, 0, sizeof *c);
  if (!auth || strncasecmp(auth, "Digest", 6) != 0 || (auth[6] != ' ' && auth[6] != '\t'))
    return -1;
  size_t n = strlen(auth);
  char *buf = nh_request_alloc(r, n + 1); /* values unquoted into here */
  if (!buf)
    return -1;
  const char *p = auth + 7;
  while (*p) {
    p += strspn(p, " \t,");
    if (!*p)
      break;
    size_t klen = strcspn(p, "= \t,");
    const char *key = p;
    p += klen;
    p += strspn(p, " \t");
    if (*p != '=')
      return -1;
    p++;
    p += strspn(p, " \t");
    char *val = buf;
    if (*p == '"') { /* quoted-string, with \-escapes */
      for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
          p++;
        *buf++ = *p;
      }
      if (*p != '"')
        return -1;
      p++;
    } else {
      size_t vlen = strcspn(p, " \t,");
      memcpy(buf, p, vlen);
      buf += vlen;
      p += vlen;
    }
    *buf++ = 0;
    static const struct {
      const char *name;
      size_t off;
    } fields[] = {
        {"username", offsetof(digest_creds, username)},
        {"realm", offsetof(digest_creds, realm)},
        {"nonce", offsetof(digest_creds, nonce)},
        {"uri", offsetof(digest_creds, uri)},
        {"response", offsetof(digest_creds, response)},
        {"algorithm", offsetof(digest_creds, algorithm)},
        {"qop", offsetof(digest_creds, qop)},
        {"nc", offsetof(digest_creds, nc)},
        {"cnonce", offsetof(digest_creds, cnonce)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
      if (strlen(fields[i].name) == klen && !strncasecmp(key, fields[i].name, klen))
        *(const char **)((char *)c + fields[i].off) = val;
  }
  return c->username && c->nonce && c->response ? 0 : -1;
}

/* Is c the right answer for user:passwd to this request? auth-int hashes
 * the body, read here. */
static int digest_ok(nh_response_writer *w, nh_request *r, const digest_creds *c,
                     const char *user, const char *passwd, int *answered) {
  *answered = 0;
  if (strcmp(c->username, user) != 0)
    return 0;
  const char *alg = c->algorithm ? c->algorithm : "MD5";
  size_t alen = strlen(alg);
  int sess = alen > 5 && !strcasecmp(alg + alen - 5, "-sess");
  const EVP_MD *md = digest_of(alg, sess ? alen - 5 : alen);
  const char *realm = c->realm ? c->realm : "";
  char ha1[MAX_HEX], ha2[MAX_HEX], body_hash[MAX_HEX], want[MAX_HEX];
  if (hex_digest_parts(md, ha1, 3, (const char *[]){c->username, realm, passwd}) != 0)
    return 0;
  if (sess && hex_digest_parts(md, ha1, 3, (const char *[]){ha1, c->nonce,
                                                            c->cnonce ? c->cnonce : ""}) != 0)
    return 0;
  const char *method = nh_request_method(r), *target = nh_request_target(r);
  int qop_auth = c->qop && !strcmp(c->qop, "auth");
  int qop_int = c->qop && !strcmp(c->qop, "auth-int");
  if (c->qop && !qop_auth && !qop_int)
    return 0;
  if (qop_int) {
    char *body;
    size_t n;
    if (httpbin_read_body(w, r, &body, &n) != 0) {
      *answered = 1;
      return 0;
    }
    if (hex_digest(md, body, n, body_hash) != 0 ||
        hex_digest_parts(md, ha2, 3, (const char *[]){method, target, body_hash}) != 0)
      return 0;
  } else if (hex_digest_parts(md, ha2, 2, (const char *[]){method, target}) != 0) {
    return 0;
  }
  int e;
  if (c->qop) {
    if (!c->nc || !c->cnonce)
      return 0;
    e = hex_digest_parts(md, want, 6,
                         (const char *[]){ha1, c->nonce, c->nc, c->cnonce, c->qop, ha2});
  } else {
    e = hex_digest_parts(md, want, 3, (const char *[]){ha1, c->nonce, ha2});
  }
  size_t wl = strlen(want);
  return e == 0 && strlen(c->response) == wl && CRYPTO_memcmp(want, c->response, wl) == 0;
}

static void set_cookie(nh_response_writer *w, const char *name, const char *value) {
  nh_cookie c = {.name = name, .value = value, .path = "/"};
  if (nh_resp_set_cookie(w, &c) != NH_OK) /* values here are hex or digits */
    NH_LOG(nh_log_default(), NH_LOG_WARN, "digest-auth cookie not set", NH_LSTR("name", name));
}

/* 401 with a fresh challenge and the cookies that go with it. */
static void challenge(nh_response_writer *w, nh_request *r, const char *qop, const char *alg,
                      int stale, const char *stale_after, const char *last_nonce) {
  const httpbin *hb = nh_request_handler_data(r);
  unsigned char rnd[32];
  char nonce[MAX_HEX], opaque[MAX_HEX], hdr[512];
  const EVP_MD *md = digest_of(alg, strlen(alg));
  if (RAND_bytes(rnd, sizeof rnd) != 1 || hex_digest(md, rnd, 16, nonce) != 0 ||
      hex_digest(md, rnd + 16, 16, opaque) != 0) {
    httpbin_error(w, 500, "no randomness for a nonce");
    return;
  }
  snprintf(hdr, sizeof hdr,
           "Digest realm=\"%s\", nonce=\"%s\", opaque=\"%s\", qop=\"%s\", algorithm=%s, "
           "stale=%s",
           hb->compat == HTTPBIN_COMPAT_ORG ? "me@kennethreitz.com" : "go-httpbin", nonce, opaque,
           qop ? qop : "auth, auth-int", alg, stale ? "TRUE" : "FALSE");
  nh_header_set(nh_resp_header(w), "WWW-Authenticate", hdr);
  set_cookie(w, "stale_after", stale_after);
  if (last_nonce)
    set_cookie(w, "last_nonce", last_nonce);
  set_cookie(w, "fake", "fake_value");
  httpbin_error(w, 401, "digest authentication required");
}

void httpbin_digest_auth(nh_response_writer *w, nh_request *r) {
  const char *qop = nh_request_path_value(r, "qop");
  const char *user = nh_request_path_value(r, "user");
  const char *passwd = nh_request_path_value(r, "passwd");
  const char *alg = nh_request_path_value(r, "algorithm");
  const char *stale_after = nh_request_path_value(r, "stale_after");
  if (!qop || (strcmp(qop, "auth") && strcmp(qop, "auth-int")))
    qop = NULL;
  if (!alg || (strcmp(alg, "MD5") && strcmp(alg, "SHA-256") && strcmp(alg, "SHA-512")))
    alg = "MD5";
  if (!stale_after || !*stale_after)
    stale_after = "never";
  /* Cookie values must be cookie-octets: refuse anything else up front. */
  nh_cookie probe = {.name = "stale_after", .value = stale_after};
  if (nh_cookie_valid(&probe) != NH_OK) {
    httpbin_error(w, 400, "invalid stale_after: %s", stale_after);
    return;
  }
  const char *rc = httpbin_arg(r, "require-cookie");
  int require_cookie = rc && (!strcasecmp(rc, "1") || !strcasecmp(rc, "t") ||
                              !strcasecmp(rc, "true"));
  nh_header *rh = nh_request_header(r);
  digest_creds c;
  if (parse_creds(r, nh_header_get(rh, "Authorization"), &c) != 0 ||
      (require_cookie && !nh_header_get(rh, "Cookie"))) {
    challenge(w, r, qop, alg, 0, stale_after, NULL);
    return;
  }
  const char *fake = nh_request_cookie(r, "fake");
  if (require_cookie && (!fake || strcmp(fake, "fake_value"))) {
    set_cookie(w, "fake", "fake_value");
    json_t *o = json_object();
    json_object_set_new(o, "errors", json_pack("[s]", "missing cookie set on challenge"));
    httpbin_write_json(w, 403, o);
    return;
  }
  /* The nonce must be a cookie value to be remembered as last_nonce. */
  nh_cookie nc = {.name = "last_nonce", .value = c.nonce};
  const char *last_nonce = nh_cookie_valid(&nc) == NH_OK ? c.nonce : NULL;
  const char *cookie_stale = nh_request_cookie(r, "stale_after");
  const char *cookie_last = nh_request_cookie(r, "last_nonce");
  if ((cookie_last && !strcmp(cookie_last, c.nonce)) ||
      (cookie_stale && !strcmp(cookie_stale, "0"))) {
    challenge(w, r, qop, alg, 1, stale_after, last_nonce);
    return;
  }
  int answered;
  if (!digest_ok(w, r, &c, user, passwd, &answered)) {
    if (!answered)
      challenge(w, r, qop, alg, 0, stale_after, last_nonce);
    return;
  }
  set_cookie(w, "fake", "fake_value");
  if (cookie_stale && *cookie_stale) { /* one fewer good answer before stale */
    char next[24];
    char *end;
    long long left = strtoll(cookie_stale, &end, 10);
    if (*end || end == cookie_stale)
      snprintf(next, sizeof next, "never");
    else
      snprintf(next, sizeof next, "%lld", left - 1);
    set_cookie(w, "stale_after", next);
  }
  json_t *o = json_object();
  json_object_set_new(o, "authenticated", json_true());
  json_object_set_new(o, "user", httpbin_json_bytes(user, strlen(user)));
  httpbin_write_json(w, 200, o);
}
