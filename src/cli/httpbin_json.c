/* nethttp httpbin — the JSON shapes echoed back (args, headers, origin,
 * url, method) and the writers every endpoint answers with. */
#include "httpbin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  if (s[0] < 0x80)
    return 1;
  size_t len;
  uint32_t cp;
  if ((s[0] & 0xe0) == 0xc0)
    len = 2, cp = s[0] & 0x1f;
  else if ((s[0] & 0xf0) == 0xe0)
    len = 3, cp = s[0] & 0x0f;
  else if ((s[0] & 0xf8) == 0xf0)
    len = 4, cp = s[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

json_t *httpbin_json_bytes(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, len;
  while (i < n && (len = utf8_seq(u + i, n - i)) > 0)
    i += len;
  if (i == n)
    return json_stringn(s, n);
  /* Replace each invalid byte with U+FFFD (3 bytes). */
  char *fixed = malloc(n * 3 + 1);
  if (!fixed)
    return json_string("");
  size_t k = 0;
  for (i = 0; i < n;) {
    len = utf8_seq(u + i, n - i);
    if (len) {
      memcpy(fixed + k, s + i, len);
      k += len;
      i += len;
    } else {
      memcpy(fixed + k, "\xef\xbf\xbd", 3);
      k += 3;
      i++;
    }
  }
  json_t *out = json_stringn(fixed, k);
  free(fixed);
  return out;
}

void httpbin_json_append(json_t *obj, const char *key, json_t *value) {
  json_t *k = httpbin_json_bytes(key, strlen(key)); /* keys must be UTF-8 too */
  const char *name = k ? json_string_value(k) : NULL;
  json_t *arr = name ? json_object_get(obj, name) : NULL;
  if (name && !arr && json_object_set_new(obj, name, arr = json_array()) != 0)
    arr = NULL;
  if (arr)
    json_array_append_new(arr, value);
  else
    json_decref(value);
  json_decref(k);
}

json_t *httpbin_headers_json(nh_request *r) {
  nh_header *h = nh_request_header(r);
  json_t *obj = json_object();
  for (size_t i = 0; i < nh_header_len(h); i++) {
    const char *key, *value;
    if (nh_header_at(h, i, &key, &value) == 0)
      httpbin_json_append(obj, key, httpbin_json_bytes(value, strlen(value)));
  }
  if (!json_object_get(obj, "Host"))
    httpbin_json_append(obj, "Host",
                        httpbin_json_bytes(nh_request_host(r), strlen(nh_request_host(r))));
  const httpbin *hb = nh_request_handler_data(r);
  if (hb->compat != HTTPBIN_COMPAT_ORG)
    return obj;
  const char *key;
  json_t *values;
  json_object_foreach(obj, key, values) {
    size_t total = 0, i;
    json_t *v;
    json_array_foreach(values, i, v) total += json_string_length(v) + 1;
    char *joined = malloc(total + 1), *p = joined;
    if (!joined)
      continue;
    json_array_foreach(values, i, v) {
      if (i)
        *p++ = ',';
      memcpy(p, json_string_value(v), json_string_length(v));
      p += json_string_length(v);
    }
    json_object_set_new(obj, key, json_stringn(joined, (size_t)(p - joined)));
    free(joined);
  }
  return obj;
}

const char *httpbin_origin(nh_request *r) {
  nh_header *h = nh_request_header(r);
  static const char *direct[] = {"Fly-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
                                 "True-Client-IP"};
  for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++) {
    const char *v = nh_header_get(h, direct[i]);
    if (v && *v)
      return v;
  }
  const char *xff = nh_header_get(h, "X-Forwarded-For");
  if (xff && *xff) { /* the first hop, trimmed */
    while (*xff == ' ' || *xff == '\t')
      xff++;
    size_t n = strcspn(xff, ",");
    while (n > 0 && (xff[n - 1] == ' ' || xff[n - 1] == '\t'))
      n--;
    char *ip = nh_request_alloc(r, n + 1);
    if (ip) {
      memcpy(ip, xff, n);
      ip[n] = 0;
      return ip;
    }
  }
  const char *addr = nh_request_remote_addr(r);
  if (addr[0] == '[') { /* "[::1]:5555" */
    const char *close = strchr(addr, ']');
    if (close) {
      char *ip = nh_request_alloc(r, (size_t)(close - addr));
      if (ip) {
        memcpy(ip, addr + 1, (size_t)(close - addr - 1));
        ip[close - addr - 1] = 0;
        return ip;
      }
    }
    return addr;
  }
  const char *colon = strrchr(addr, ':');
  if (colon && colon > addr) {
    char *ip = nh_request_alloc(r, (size_t)(colon - addr) + 1);
    if (ip) {
      memcpy(ip, addr, (size_t)(colon - addr));
      ip[colon - addr] = 0;
      return ip;
    }
  }
  return addr;
}

static const char *scheme_of(nh_request *r) {
  nh_header *h = nh_request_header(r);
  const char *s = nh_header_get(h, "X-Forwarded-Proto");
  if (!s || !*s)
    s = nh_header_get(h, "X-Forwarded-Protocol");
  if ((!s || !*s) && (s = nh_header_get(h, "X-Forwarded-Ssl")) && !strcmp(s, "on"))
    return "https";
  if (s && *s)
    return s;
  const httpbin *hb = nh_request_handler_data(r);
  return hb->tls ? "https" : "http";
}

const char *httpbin_url(nh_request *r) {
  const char *path = nh_request_path(r), *query = nh_request_query(r);
  const char *target = nh_request_target(r);
  size_t n = strlen(scheme_of(r)) + strlen(nh_request_host(r)) + strlen(target) + strlen(path) +
             strlen(query) + 8;
  char *url = nh_request_alloc(r, n);
  if (!url)
    return "";
  if (target[0] == '/') /* origin-form: the path as the client wrote it */
    snprintf(url, n, "%s://%s%s", scheme_of(r), nh_request_host(r), target);
  else
    snprintf(url, n, "%s://%s%s%s%s", scheme_of(r), nh_request_host(r), path, *query ? "?" : "",
             query);
  return url;
}

json_t *httpbin_get_json(nh_request *r) {
  json_t *o = json_object();
  json_object_set_new(o, "args", httpbin_values_shaped(r, nh_request_query_values(r)));
  json_object_set_new(o, "headers", httpbin_headers_json(r));
  json_object_set_new(o, "method", json_string(nh_request_method(r)));
  const char *origin = httpbin_origin(r);
  json_object_set_new(o, "origin", httpbin_json_bytes(origin, strlen(origin)));
  json_object_set_new(o, "url", httpbin_json_bytes(httpbin_url(r), strlen(httpbin_url(r))));
  return o;
}

void httpbin_write_body(nh_response_writer *w, int status, const char *type, const void *body,
                   size_t n) {
  if (type)
    nh_header_set(nh_resp_header(w), "Content-Type", type);
  nh_resp_write_header(w, status);
  if (n)
    nh_resp_write(w, body, n);
}

void httpbin_write_json(nh_response_writer *w, int status, json_t *val) {
  char *text = val ? json_dumps(val, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
  json_decref(val);
  if (!text) {
    httpbin_write_body(w, 500, HTTPBIN_TEXT_TYPE, "500 internal server error\n", 26);
    return;
  }
  size_t n = strlen(text);
  nh_header_set(nh_resp_header(w), "Content-Type", HTTPBIN_JSON_TYPE);
  nh_resp_write_header(w, status);
  nh_resp_write(w, text, n);
  nh_resp_write(w, "\n", 1);
  free(text);
}

void httpbin_error(nh_response_writer *w, int status, const char *fmt, ...) {
  json_t *o = json_object();
  json_object_set_new(o, "status_code", json_integer(status));
  json_object_set_new(o, "error", json_string(nh_status_text(status)));
  if (fmt) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (n > 0)
      json_object_set_new(o, "detail", httpbin_json_bytes(detail, strlen(detail)));
  }
  httpbin_write_json(w, status, o);
}

void httpbin_redirect(nh_response_writer *w, const char *location, int status) {
  if (nh_header_set(nh_resp_header(w), "Location", location) != NH_OK) {
    httpbin_error(w, 400, "invalid redirect location");
    return;
  }
  nh_resp_write_header(w, status);
}
