/* Request-level accessors of the util layer: the query and the cookies of
 * a request, each parsed on first use and kept in the request's ext slot
 * until the request ends; and Set-Cookie on a response. */
#include "exchange.h"
#include "nethttp/server_cookie.h"
#include "nethttp/url.h"
#include "util/url_internal.h"

#include <stdlib.h>
#include <string.h>

static void free_values(void *v) { nh_values_free(v); }
static void free_cookies(void *l) { nh_cookies_free(l); }

const nh_values *nh_request_query_values(nh_request *r) {
  if (r->ext[NH__EXT_QUERY])
    return r->ext[NH__EXT_QUERY];
  nh_values *v = nh_values_new();
  if (!v)
    return nh__values_empty();
  /* Like Go's r.URL.Query(): malformed pairs are dropped silently. */
  if (nh_values_parse_query(v, r->query ? r->query : "") == NH_ENOMEM ||
      nh_request_on_end(r, free_values, v) != 0) {
    nh_values_free(v);
    return nh__values_empty();
  }
  r->ext[NH__EXT_QUERY] = v;
  return v;
}

const char *nh_request_query_value(nh_request *r, const char *key) {
  return nh_values_get(nh_request_query_values(r), key);
}

const nh_cookies *nh_request_cookies(nh_request *r) {
  if (r->ext[NH__EXT_COOKIES])
    return r->ext[NH__EXT_COOKIES];
  nh_cookies *l = nh_cookies_new();
  if (!l)
    return nh__cookies_empty();
  nh_header *h = nh_request_header(r);
  size_t n = nh_header_len(h);
  for (size_t i = 0; i < n; i++) {
    const char *k, *v;
    if (nh_header_at(h, i, &k, &v) == 0 && !strcmp(k, "Cookie") &&
        nh_cookies_parse_header(l, v, NULL) != 0) {
      nh_cookies_free(l);
      return nh__cookies_empty();
    }
  }
  if (nh_request_on_end(r, free_cookies, l) != 0) {
    nh_cookies_free(l);
    return nh__cookies_empty();
  }
  r->ext[NH__EXT_COOKIES] = l;
  return l;
}

const char *nh_request_cookie(nh_request *r, const char *name) {
  const nh_cookie *c = nh_cookies_get(nh_request_cookies(r), name);
  return c ? c->value : NULL;
}

int nh_resp_set_cookie(nh_response_writer *w, const nh_cookie *c) {
  char *s;
  int err = nh_cookie_format(c, &s);
  if (err)
    return err;
  err = nh_header_add(nh_resp_header(w), "Set-Cookie", s);
  free(s);
  return err;
}
