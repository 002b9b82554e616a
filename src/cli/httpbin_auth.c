/* nethttp httpbin — cookies and authentication: /cookies,
 * /cookies/set, /cookies/delete, /basic-auth/{user}/{passwd}, /bearer. */
#include "httpbin.h"

#include <string.h>
#include <time.h>

void hb_cookies(nh_response_writer *w, nh_request *r) {
  const nh_cookies *l = nh_request_cookies(r);
  json_t *o = json_object();
  for (size_t i = 0; i < nh_cookies_len(l); i++) {
    const nh_cookie *c = nh_cookies_at(l, i);
    json_object_set_new(o, c->name, hb_json_bytes(c->value, strlen(c->value)));
  }
  hb_write_json(w, 200, o);
}

/* One Set-Cookie per distinct query key (its first value); cookies a
 * client could not store (a name that is not a token...) are skipped, as
 * Go's SetCookie does. Then back to /cookies. */
static void set_cookies(nh_response_writer *w, nh_request *r, int delete) {
  const nh_values *q = nh_request_query_values(r);
  for (size_t i = 0; i < nh_values_len(q); i++) {
    const char *key, *value, *prev, *pv;
    nh_values_at(q, i, &key, &value);
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++)
      seen = nh_values_at(q, j, &prev, &pv) == 0 && !strcmp(prev, key);
    if (seen)
      continue;
    nh_cookie c = {.name = key, .value = value, .http_only = 1};
    if (delete) {
      c.max_age = -1;
      c.has_expires = 1;
      c.expires = (int64_t)time(NULL) - 365 * 24 * 3600;
    }
    nh_resp_set_cookie(w, &c);
  }
  hb_redirect(w, "/cookies", 302);
}

void hb_cookies_set(nh_response_writer *w, nh_request *r) { set_cookies(w, r, 0); }

void hb_cookies_delete(nh_response_writer *w, nh_request *r) { set_cookies(w, r, 1); }

void hb_basic_auth(nh_response_writer *w, nh_request *r) {
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
  json_object_set_new(o, "user", hb_json_bytes(user, strlen(user)));
  hb_write_json(w, ok ? 200 : 401, o);
}

/* "Authorization: Bearer TOKEN": exactly two blank-separated fields. */
void hb_bearer(nh_response_writer *w, nh_request *r) {
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
    hb_error(w, 401, "missing or malformed bearer token");
    return;
  }
  json_t *o = json_object();
  json_object_set_new(o, "authenticated", json_true());
  json_object_set_new(o, "token", hb_json_bytes(fields[1], lens[1]));
  hb_write_json(w, 200, o);
}
