/* nethttp httpbin — the echo endpoints: /get, /post, /put, /patch,
 * /delete, /anything, /headers, /ip, /user-agent. */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void httpbin_get(nh_response_writer *w, nh_request *r) {
  httpbin_write_json(w, 200, httpbin_get_json(r));
}

/* The media type of the request, without parameters, lower case. */
static const char *media_type(nh_request *r) {
  const char *ct = nh_header_get(nh_request_header(r), "Content-Type");
  if (!ct)
    return "";
  while (*ct == ' ' || *ct == '\t')
    ct++;
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  char *mt = nh_request_alloc(r, n + 1);
  if (!mt)
    return "";
  for (size_t i = 0; i < n; i++)
    mt[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
  mt[n] = 0;
  return mt;
}

/* "data:TYPE;base64,..." for a body of a type we do not parse. */
static json_t *data_url(const char *type, const char *body, size_t n) {
  if (!*type)
    type = HTTPBIN_BINARY_TYPE;
  size_t cap = strlen(type) + 16 + nh_base64_encoded_len(NH_BASE64_URL, n) + 1;
  char *s = malloc(cap);
  if (!s)
    return json_string("");
  int k = snprintf(s, cap, "data:%s;base64,", type);
  long m = nh_base64_encode(NH_BASE64_URL, body, n, s + k, cap - (size_t)k);
  json_t *out = httpbin_json_bytes(s, m < 0 ? (size_t)k : (size_t)k + (size_t)m);
  free(s);
  return out;
}

/* Is s[0..n) valid UTF-8 (httpbin_json_bytes would keep it as it is)? */
static int is_utf8(const char *s, size_t n) {
  json_t *j = json_stringn(s, n); /* jansson refuses invalid UTF-8 */
  json_decref(j);
  return j != NULL;
}

/* A url-encoded body fills "form" (a 400 if it does not parse). */
static int fill_form(nh_response_writer *w, nh_request *r, json_t *resp, const char *body,
                     size_t n) {
  nh_values *form = nh_values_new();
  int e = form ? nh_values_parse_query_n(form, body, n) : NH_ENOMEM;
  if (e == NH_OK)
    json_object_set_new(resp, "form", httpbin_values_shaped(r, form));
  nh_values_free(form);
  if (e != NH_OK) {
    httpbin_error(w, 400, "error parsing request body: %s", nh_strerror(e));
    return -1;
  }
  return 0;
}

/* httpbin.org's shapes: a form body fills form and leaves data empty (the
 * form parser took it); any other body is data, as text when it is UTF-8
 * whatever its type (or none), else a data: URL in standard base64; and
 * json is the body parsed as JSON whenever it parses. */
static int fill_body_org(nh_response_writer *w, nh_request *r, json_t *resp, const char *type,
                         const char *body, size_t n) {
  if (!strcmp(type, "application/x-www-form-urlencoded"))
    return fill_form(w, r, resp, body, n);
  if (is_utf8(body, n)) {
    json_object_set_new(resp, "data", json_stringn(body, n));
  } else {
    static const char prefix[] = "data:application/octet-stream;base64,";
    size_t cap = sizeof prefix + nh_base64_encoded_len(NH_BASE64_STD, n);
    char *s = malloc(cap);
    if (!s) {
      httpbin_error(w, 500, "out of memory");
      return -1;
    }
    memcpy(s, prefix, sizeof prefix - 1);
    long m = nh_base64_encode(NH_BASE64_STD, body, n, s + sizeof prefix - 1,
                              cap - (sizeof prefix - 1));
    json_object_set_new(resp, "data", json_stringn(s, sizeof prefix - 1 + (m > 0 ? (size_t)m : 0)));
    free(s);
  }
  json_t *doc = json_loadb(body, n, JSON_DECODE_ANY, NULL);
  json_object_set_new(resp, "json", doc ? doc : json_null());
  return 0;
}

int httpbin_fill_body(nh_response_writer *w, nh_request *r, json_t *resp) {
  json_object_set_new(resp, "data", json_string(""));
  json_object_set_new(resp, "files", json_object());
  json_object_set_new(resp, "form", json_object());
  json_object_set_new(resp, "json", json_null());
  const char *type = media_type(r);
  if (!strcmp(type, "multipart/form-data"))
    return httpbin_fill_multipart(w, r, resp);
  char *body;
  size_t n;
  if (httpbin_read_body(w, r, &body, &n) != 0)
    return -1;
  if (n == 0)
    return 0;
  const httpbin *hb = nh_request_handler_data(r);
  if (hb->compat == HTTPBIN_COMPAT_ORG)
    return fill_body_org(w, r, resp, type, body, n);
  json_object_set_new(resp, "data", httpbin_json_bytes(body, n));
  if (!strcmp(type, "text/html") || !strcmp(type, "text/plain"))
    return 0;
  if (!strcmp(type, "application/x-www-form-urlencoded"))
    return fill_form(w, r, resp, body, n);
  if (!strcmp(type, "application/json")) {
    json_error_t err;
    json_t *doc = json_loadb(body, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!doc) {
      httpbin_error(w, 400, "error parsing request body: %s", err.text);
      return -1;
    }
    json_object_set_new(resp, "json", doc);
    return 0;
  }
  json_object_set_new(resp, "data", data_url(type, body, n));
  return 0;
}

void httpbin_body_echo(nh_response_writer *w, nh_request *r) {
  json_t *resp = httpbin_get_json(r);
  if (httpbin_fill_body(w, r, resp) != 0) {
    json_decref(resp);
    return;
  }
  httpbin_write_json(w, 200, resp);
}

/* Any method; HEAD is answered as GET (the server drops the body). */
void httpbin_anything(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_method(r), "HEAD"))
    httpbin_get(w, r);
  else
    httpbin_body_echo(w, r);
}

void httpbin_headers(nh_response_writer *w, nh_request *r) {
  json_t *o = json_object();
  json_object_set_new(o, "headers", httpbin_headers_json(r));
  httpbin_write_json(w, 200, o);
}

void httpbin_ip(nh_response_writer *w, nh_request *r) {
  json_t *o = json_object();
  const char *origin = httpbin_origin(r);
  json_object_set_new(o, "origin", httpbin_json_bytes(origin, strlen(origin)));
  httpbin_write_json(w, 200, o);
}

void httpbin_user_agent(nh_response_writer *w, nh_request *r) {
  const char *ua = nh_header_get(nh_request_header(r), "User-Agent");
  json_t *o = json_object();
  json_object_set_new(o, "user-agent", httpbin_json_bytes(ua ? ua : "", ua ? strlen(ua) : 0));
  httpbin_write_json(w, 200, o);
}

/* Header names that would change how the response is framed or the
 * connection kept: not for a query to set. */
static int framing_header(const char *k) {
  return !strcasecmp(k, "Content-Length") || !strcasecmp(k, "Transfer-Encoding") ||
         !strcasecmp(k, "Connection") || !strcasecmp(k, "Trailer");
}

/* Every query value becomes a response header (several values of a key,
 * several headers), and the body lists them: go-httpbin's shape is the
 * query as url.Values with Content-Type added; httpbin.org's is every
 * response header, Content-Length included, one value or a list. In a
 * page-like Content-Type the body's keys and values are HTML-escaped. */
void httpbin_response_headers(nh_response_writer *w, nh_request *r) {
  const httpbin *hb = nh_request_handler_data(r);
  const nh_values *q = nh_request_query_values(r);
  nh_header *h = nh_resp_header(w);
  const char *ct = NULL;
  for (size_t i = 0; i < nh_values_len(q); i++) {
    const char *k, *v;
    nh_values_at(q, i, &k, &v);
    if (framing_header(k)) {
      httpbin_error(w, 400, "%s cannot be set: it frames the response", k);
      return;
    }
    if (!strcasecmp(k, "Content-Type") && !ct)
      ct = v;
  }
  for (size_t i = 0; i < nh_values_len(q); i++) {
    const char *k, *v;
    nh_values_at(q, i, &k, &v);
    if (strcasecmp(k, "Content-Type") && nh_header_add(h, k, v) != NH_OK) {
      nh_header_del(h, k);
      httpbin_error(w, 400, "invalid header %s: %s", k, v);
      return;
    }
  }
  if (!ct)
    ct = hb->compat == HTTPBIN_COMPAT_ORG ? "application/json" : HTTPBIN_JSON_TYPE;
  if (nh_header_set(h, "Content-Type", ct) != NH_OK) {
    httpbin_error(w, 400, "invalid Content-Type: %s", ct);
    return;
  }
  int escape = httpbin_dangerous_type(ct);
  json_t *o = json_object();
  for (size_t i = 0; i < nh_values_len(q); i++) {
    const char *k, *v;
    size_t kl, vl;
    nh_values_at_n(q, i, &k, &kl, &v, &vl);
    if (!strcasecmp(k, "Content-Type"))
      continue;
    char *ek = NULL, *ev = NULL;
    if (escape) {
      ek = httpbin_html_escape((const unsigned char *)k, kl, &kl);
      ev = httpbin_html_escape((const unsigned char *)v, vl, &vl);
      if (!ek || !ev) {
        free(ek);
        free(ev);
        continue;
      }
      ek[kl] = 0; /* httpbin_html_escape leaves room for it */
    }
    httpbin_json_append(o, ek ? ek : k, httpbin_json_bytes(ev ? ev : v, vl));
    free(ek);
    free(ev);
  }
  httpbin_json_append(o, "Content-Type", httpbin_json_bytes(ct, strlen(ct)));
  /* httpbin.org lists Content-Length too: find the length that the body
   * holding it has (a few rounds settle it). */
  int org = hb->compat == HTTPBIN_COMPAT_ORG;
  if (org)
    httpbin_semiflatten(o);
  char *text = NULL;
  size_t len = 0;
  for (int round = 0; round < (org ? 8 : 1); round++) {
    char cl[24];
    snprintf(cl, sizeof cl, "%zu", len);
    if (org)
      json_object_set_new(o, "Content-Length", json_string(cl));
    free(text);
    text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text || strlen(text) + 1 == len)
      break;
    len = strlen(text) + 1;
  }
  json_decref(o);
  if (!text) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  nh_resp_write_header(w, 200);
  nh_resp_write(w, text, strlen(text));
  nh_resp_write(w, "\n", 1);
  free(text);
}
