/* nethttp httpbin — the echo endpoints: /get, /post, /put, /patch,
 * /delete, /anything, /headers, /ip, /user-agent. */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void hb_get(nh_response_writer *w, nh_request *r) { hb_write_json(w, 200, hb_get_json(r)); }

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
    type = HB_BINARY_TYPE;
  size_t cap = strlen(type) + 16 + nh_base64_encoded_len(NH_BASE64_URL, n) + 1;
  char *s = malloc(cap);
  if (!s)
    return json_string("");
  int k = snprintf(s, cap, "data:%s;base64,", type);
  long m = nh_base64_encode(NH_BASE64_URL, body, n, s + k, cap - (size_t)k);
  json_t *out = hb_json_bytes(s, m < 0 ? (size_t)k : (size_t)k + (size_t)m);
  free(s);
  return out;
}

int hb_fill_body(nh_response_writer *w, nh_request *r, json_t *resp) {
  json_object_set_new(resp, "data", json_string(""));
  json_object_set_new(resp, "files", json_object());
  json_object_set_new(resp, "form", json_object());
  json_object_set_new(resp, "json", json_null());
  const char *type = media_type(r);
  if (!strcmp(type, "multipart/form-data"))
    return hb_fill_multipart(w, r, resp);
  char *body;
  size_t n;
  if (hb_read_body(w, r, &body, &n) != 0)
    return -1;
  if (n == 0)
    return 0;
  json_object_set_new(resp, "data", hb_json_bytes(body, n));
  if (!strcmp(type, "text/html") || !strcmp(type, "text/plain"))
    return 0;
  if (!strcmp(type, "application/x-www-form-urlencoded")) {
    nh_values *form = nh_values_new();
    int e = form ? nh_values_parse_query_n(form, body, n) : NH_ENOMEM;
    if (e == NH_OK)
      json_object_set_new(resp, "form", hb_values_json(form));
    nh_values_free(form);
    if (e != NH_OK) {
      hb_error(w, 400, "error parsing request body: %s", nh_strerror(e));
      return -1;
    }
    return 0;
  }
  if (!strcmp(type, "application/json")) {
    json_error_t err;
    json_t *doc = json_loadb(body, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!doc) {
      hb_error(w, 400, "error parsing request body: %s", err.text);
      return -1;
    }
    json_object_set_new(resp, "json", doc);
    return 0;
  }
  json_object_set_new(resp, "data", data_url(type, body, n));
  return 0;
}

void hb_body_echo(nh_response_writer *w, nh_request *r) {
  json_t *resp = hb_get_json(r);
  if (hb_fill_body(w, r, resp) != 0) {
    json_decref(resp);
    return;
  }
  hb_write_json(w, 200, resp);
}

/* Any method; HEAD is answered as GET (the server drops the body). */
void hb_anything(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_method(r), "HEAD"))
    hb_get(w, r);
  else
    hb_body_echo(w, r);
}

void hb_headers(nh_response_writer *w, nh_request *r) {
  json_t *o = json_object();
  json_object_set_new(o, "headers", hb_headers_json(r));
  hb_write_json(w, 200, o);
}

void hb_ip(nh_response_writer *w, nh_request *r) {
  json_t *o = json_object();
  json_object_set_new(o, "origin", hb_json_bytes(hb_origin(r), strlen(hb_origin(r))));
  hb_write_json(w, 200, o);
}

void hb_user_agent(nh_response_writer *w, nh_request *r) {
  const char *ua = nh_header_get(nh_request_header(r), "User-Agent");
  json_t *o = json_object();
  json_object_set_new(o, "user-agent", hb_json_bytes(ua ? ua : "", ua ? strlen(ua) : 0));
  hb_write_json(w, 200, o);
}
