/* nethttp httpbin — chosen statuses and redirects: /status/{codes},
 * /redirect/{n}, /relative-redirect/{n}, /absolute-redirect/{n},
 * /redirect-to. */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Statuses that come with headers or a body of their own (go-httpbin's
 * special cases, without a path prefix). */
typedef struct status_case {
  int code;
  const char *key, *value; /* one header */
  const char *type;        /* overrides text/plain when set */
  const char *body;
} status_case;

static const status_case special[] = {
    {300, "Location", "/image/jpeg", HTTPBIN_HTML_TYPE,
     "<!doctype html>\n<head>\n<title>Multiple Choices</title>\n</head>\n<body>\n<ul>\n"
     "<li><a href=\"/image/jpeg\">/image/jpeg</a></li>\n"
     "<li><a href=\"/image/png\">/image/png</a></li>\n"
     "<li><a href=\"/image/svg\">/image/svg</a></li>\n</body>\n</html>"},
    {301, "Location", "/redirect/1", NULL, NULL},
    {302, "Location", "/redirect/1", NULL, NULL},
    {303, "Location", "/redirect/1", NULL, NULL},
    {305, "Location", "/redirect/1", NULL, NULL},
    {307, "Location", "/redirect/1", NULL, NULL},
    {308, "Location", "/image/jpeg", HTTPBIN_HTML_TYPE,
     "<!doctype html>\n<head>\n<title>Permanent Redirect</title>\n</head>\n"
     "<body>Permanently redirected to <a href=\"/image/jpeg\">/image/jpeg</a>\n</body>\n</html>"},
    {401, "WWW-Authenticate", "Basic realm=\"Fake Realm\"", NULL, NULL},
    {402, "X-More-Info", "http://vimeo.com/22053820", NULL, "Fuck you, pay me!"},
    {406, NULL, NULL, HTTPBIN_JSON_TYPE,
     "{\n  \"message\": \"Client did not request a supported media type\",\n  \"accept\": [\n"
     "    \"image/webp\",\n    \"image/svg+xml\",\n    \"image/jpeg\",\n    \"image/png\",\n"
     "    \"image/\"\n  ]\n}\n"},
    {407, "Proxy-Authenticate", "Basic realm=\"Fake Realm\"", NULL, NULL},
    {418, "X-More-Info", "http://tools.ietf.org/html/rfc2324", NULL, "I'm a teapot!"},
};

static void do_status(nh_response_writer *w, int code) {
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", HTTPBIN_TEXT_TYPE);
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
    const status_case *c = &special[i];
    if (c->code != code)
      continue;
    if (c->key)
      nh_header_set(h, c->key, c->value);
    if (c->type)
      nh_header_set(h, "Content-Type", c->type);
    nh_resp_write_header(w, code);
    if (c->body)
      nh_resp_write_string(w, c->body);
    return;
  }
  nh_resp_write_header(w, code);
}

static _Thread_local uint64_t rand_state;

static double rand_unit(void) {
  if (!rand_state)
    rand_state = (uint64_t)nh_now() ^ (uint64_t)(uintptr_t)&rand_state;
  return (double)(httpbin_rand_next(&rand_state) >> 11) / (double)(1ULL << 53);
}

/* "200,404:2,500:0.5": codes with optional weights (default 1); one is
 * picked at random in proportion to its weight. */
void httpbin_status(nh_response_writer *w, nh_request *r) {
  const char *raw = nh_request_path_value(r, "codes");
  int64_t code;
  if (!raw || !strchr(raw, ',')) {
    if (httpbin_parse_int(raw, 100, 599, &code) != 0) {
      httpbin_error(w, 400, "invalid status code: %s", raw ? raw : "");
      return;
    }
    do_status(w, (int)code);
    return;
  }
  enum { MAX_CHOICES = 64 };
  int codes[MAX_CHOICES];
  double weights[MAX_CHOICES], total = 0;
  int n = 0;
  for (const char *p = raw;; n++) {
    size_t len = strcspn(p, ",");
    char item[64];
    if (n == MAX_CHOICES || len >= sizeof item) {
      httpbin_error(w, 400, "too many or too long status choices");
      return;
    }
    memcpy(item, p, len);
    item[len] = 0;
    char *colon = strchr(item, ':');
    weights[n] = 1;
    if (colon) {
      *colon = 0;
      char *end;
      weights[n] = strtod(colon + 1, &end);
      if (colon[1] == 0 || *end || !(weights[n] >= 0) || weights[n] > 1e12) {
        httpbin_error(w, 400, "invalid weight value: \"%s\"", colon + 1);
        return;
      }
    }
    if (httpbin_parse_int(item, 100, 599, &code) != 0) {
      httpbin_error(w, 400, "invalid choice value: \"%s\"", item);
      return;
    }
    codes[n] = (int)code;
    total += weights[n];
    p += len;
    if (!*p) {
      n++;
      break;
    }
    p++;
  }
  double pick = rand_unit() * total;
  int chosen = codes[n - 1];
  for (int i = 0; i < n; i++) {
    if (pick < weights[i]) {
      chosen = codes[i];
      break;
    }
    pick -= weights[i];
  }
  do_status(w, chosen);
}

static void redirect_n(nh_response_writer *w, nh_request *r, int relative) {
  const char *raw = nh_request_path_value(r, "n");
  int64_t n;
  if (httpbin_parse_int(raw, INT32_MIN, INT32_MAX, &n) != 0) {
    httpbin_error(w, 400, "invalid redirect count: %s", raw ? raw : "");
    return;
  }
  if (n < 1) {
    httpbin_error(w, 400, "redirect count must be > 0");
    return;
  }
  char path[64];
  if (n == 1)
    snprintf(path, sizeof path, "/get");
  else
    snprintf(path, sizeof path, "/%s-redirect/%lld", relative ? "relative" : "absolute",
             (long long)(n - 1));
  if (relative) {
    httpbin_redirect(w, path, 302);
    return;
  }
  /* The absolute URL of this server, as the client named it. */
  const char *self = httpbin_url(r);
  const char *after_scheme = strstr(self, "://");
  size_t base = after_scheme ? (size_t)(after_scheme - self) + 3 : 0;
  base += strcspn(self + base, "/?");
  char *loc = nh_request_alloc(r, base + sizeof path);
  if (!loc) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  memcpy(loc, self, base);
  strcpy(loc + base, path);
  httpbin_redirect(w, loc, 302);
}

/* Relative unless ?absolute=true. */
void httpbin_redirect_n(nh_response_writer *w, nh_request *r) {
  const char *abs = httpbin_arg(r, "absolute");
  redirect_n(w, r, !(abs && !strcasecmp(abs, "true")));
}

void httpbin_relative_redirect(nh_response_writer *w, nh_request *r) { redirect_n(w, r, 1); }

void httpbin_absolute_redirect(nh_response_writer *w, nh_request *r) { redirect_n(w, r, 0); }

/* The URL goes into Location as the client gave it, as both httpbin.org
 * and go-httpbin pass it through: not re-encoded or normalised, only
 * checked to be a URL and a valid header value. */
void httpbin_redirect_to(nh_response_writer *w, nh_request *r) {
  const char *target = httpbin_arg(r, "url");
  if (!target || !*target) {
    httpbin_error(w, 400, "missing required query parameter: url");
    return;
  }
  nh_url *u;
  if (nh_url_parse(target, &u) != NH_OK) {
    httpbin_error(w, 400, "invalid url: %s", target);
    return;
  }
  nh_url_free(u);
  int64_t status = 302;
  const char *sc = httpbin_arg(r, "status_code");
  if (sc && httpbin_parse_int(sc, 300, 399, &status) != 0) {
    httpbin_error(w, 400, "invalid status code: %s not in range [300, 399]", sc);
    return;
  }
  httpbin_redirect(w, target, (int)status);
}
