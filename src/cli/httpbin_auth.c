/* nethttp httpbin — cookies and authentication: /cookies,
 * /cookies/set, /cookies/delete, /basic-auth/{user}/{passwd}, /bearer. */
#include "httpbin.h"

#include <string.h>

/* go-httpbin answers {"name": "value"}; httpbin.org wraps the same
 * object as {"cookies": {...}}. */
void httpbin_cookies(nh_response_writer *w, nh_request *r) {
  const httpbin *hb = nh_request_handler_data(r);
  const nh_cookies *l = nh_request_cookies(r);
  json_t *o = json_object();
  for (size_t i = 0; i < nh_cookies_len(l); i++) {
    const nh_cookie *c = nh_cookies_at(l, i);
    json_object_set_new(o, c->name, httpbin_json_bytes(c->value, strlen(c->value)));
  }
  if (hb->compat == HTTPBIN_COMPAT_ORG) {
    json_t *wrap = json_object();
    json_object_set_new(wrap, "cookies", o);
    o = wrap;
  }
  httpbin_write_json(w, 200, o);
}

/* The cookies to set: /cookies/set/{name}/{value}, else one per distinct
 * query key with its first value. (size_t)-1 when there are more than cap. */
static size_t wanted_cookies(nh_request *r, nh_cookie *out, size_t cap) {
  const char *name = nh_request_path_value(r, "name");
  if (name && *name) {
    out[0] = (nh_cookie){.name = name, .value = nh_request_path_value(r, "value")};
    return 1;
  }
  const nh_values *q = nh_request_query_values(r);
  size_t n = 0;
  for (size_t i = 0; i < nh_values_len(q); i++) {
    const char *key, *value;
    nh_values_at(q, i, &key, &value);
    int seen = 0;
    for (size_t j = 0; j < n && !seen; j++)
      seen = !strcmp(out[j].name, key);
    if (!seen && n == cap)
      return (size_t)-1;
    if (!seen)
      out[n++] = (nh_cookie){.name = key, .value = value};
  }
  return n;
}

/* Set-Cookie for each, with Path=/ so that a client sends them to every
 * path (without it a jar scopes them to /cookies), HttpOnly as go-httpbin,
 * Secure over HTTPS as httpbin.org; then 302 to /cookies. A cookie that
 * cannot be written (a name that is not a token, a value byte a cookie
 * may not hold) is a 400 naming it, and no cookie is set. */
static void set_cookies(nh_response_writer *w, nh_request *r, int delete) {
  const httpbin *hb = nh_request_handler_data(r);
  enum { MAX_COOKIES = 64 };
  nh_cookie cs[MAX_COOKIES];
  size_t n = wanted_cookies(r, cs, MAX_COOKIES);
  if (n == (size_t)-1) {
    httpbin_error(w, 400, "too many cookies: at most %d", MAX_COOKIES);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    cs[i].path = "/";
    cs[i].http_only = 1;
    cs[i].secure = hb->tls;
    if (delete) {
      cs[i].value = "";
      cs[i].max_age = -1;
      cs[i].has_expires = 1;
      cs[i].expires = 0; /* 1970, as httpbin.org */
    }
    int e = nh_cookie_valid(&cs[i]);
    if (e != NH_OK) {
      httpbin_error(w, 400, "invalid cookie %s=%s: %s (a value is RFC 6265 cookie-octets, "
               "optionally in double quotes)", cs[i].name, cs[i].value ? cs[i].value : "",
               nh_strerror(e));
      return;
    }
  }
  for (size_t i = 0; i < n; i++) {
    int e = nh_resp_set_cookie(w, &cs[i]);
    if (e != NH_OK) {
      nh_header_del(nh_resp_header(w), "Set-Cookie");
      httpbin_error(w, 500, "could not set cookie %s: %s", cs[i].name, nh_strerror(e));
      return;
    }
  }
  httpbin_redirect(w, "/cookies", 302);
}

void httpbin_cookies_set(nh_response_writer *w, nh_request *r) { set_cookies(w, r, 0); }

void httpbin_cookies_delete(nh_response_writer *w, nh_request *r) { set_cookies(w, r, 1); }

void httpbin_basic_auth(nh_response_writer *w, nh_request *r) {
  const char *want_user = nh_request_path_value(r, "user");
  const char *want_pass = nh_request_path_value(r, "passwd");
  const char *user = "", *pass = "";
  nh_request_basic_auth(r, &user, &pass);
  int ok = want_user && want_pass && !strcmp(user, want_user) && !strcmp(pass, want_pass);
  if (!ok)
    nh_header_set(nh_resp_header(w), "WWW-Authenticate", "Basic realm=\"Fake Realm\"");
  json_t *o = json_object();
  json_object_set_new(o, "authenticated", json_boolean(ok));
  json_object_set_new(o, "authorized", json_boolean(ok));
  json_object_set_new(o, "user", httpbin_json_bytes(user, strlen(user)));
  httpbin_write_json(w, ok ? 200 : 401, o);
}

/* "Authorization: Bearer TOKEN": exactly two blank-separated fields. */
void httpbin_bearer(nh_response_writer *w, nh_request *r) {
  const char *auth = nh_header_get(nh_request_header(r), "Authorization");
  const char *fields[3] = {0};
  size_t lens[3] = {0};
  int n = 0;
  for (const char *p = auth ? auth : ""; *p && n < 3;) {
    p += strspn(p, " \t");
    if (!*p)
      break;
    fields[n] = p;
    lens[n] = strcspn(p, " \t");
    p += lens[n++];
  }
  if (n != 2 || lens[0] != 6 || strncmp(fields[0], "Bearer", 6) != 0) {
    nh_header_set(nh_resp_header(w), "WWW-Authenticate", "Bearer");
    httpbin_error(w, 401, "missing or malformed bearer token");
    return;
  }
  json_t *o = json_object();
  json_object_set_new(o, "authenticated", json_true());
  json_object_set_new(o, "token", httpbin_json_bytes(fields[1], lens[1]));
  httpbin_write_json(w, 200, o);
}
