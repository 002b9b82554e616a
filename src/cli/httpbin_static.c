/* nethttp httpbin — fixed documents and small generators: /, /json,
 * /html, /robots.txt, /deny, /uuid, /base64/{value}. */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static const char index_html[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>nethttp httpbin</title></head>\n"
    "<body>\n<h1>nethttp httpbin</h1>\n<p>An HTTP request and response service, compatible "
    "with httpbin.org and go-httpbin.</p>\n<ul>\n"
    "<li>/get /post /put /patch /delete /anything[/...]: the request, echoed as JSON</li>\n"
    "<li>/headers /ip /user-agent</li>\n"
    "<li>/status/{codes} /redirect/{n} /relative-redirect/{n} /absolute-redirect/{n} "
    "/redirect-to?url=U&amp;status_code=N</li>\n"
    "<li>/cookies /cookies/set?k=v /cookies/delete?k /basic-auth/{user}/{passwd} /bearer "
    "/digest-auth/{qop}/{user}/{passwd}[/{algorithm}[/{stale_after}]] "
    "/response-headers?k=v</li>\n"
    "<li>/delay/{d} /drip /stream/{n} /sse /bytes/{n} /stream-bytes/{n} /range/{n}</li>\n"
    "<li>/cache /etag/{etag} /gzip /deflate /json /html /robots.txt /uuid /base64/{value}</li>\n"
    "</ul>\n</body></html>\n";

static const char sample_json[] =
    "{\n  \"slideshow\": {\n    \"author\": \"Yours Truly\",\n"
    "    \"date\": \"date of publication\",\n    \"slides\": [\n      {\n"
    "        \"title\": \"Wake up to WonderWidgets!\",\n        \"type\": \"all\"\n      },\n"
    "      {\n        \"items\": [\n          \"Why <em>WonderWidgets</em> are great\",\n"
    "          \"Who <em>buys</em> WonderWidgets\"\n        ],\n"
    "        \"title\": \"Overview\",\n        \"type\": \"all\"\n      }\n    ],\n"
    "    \"title\": \"Sample Slide Show\"\n  }\n}\n";

static const char moby_html[] =
    "<!DOCTYPE html>\n<html>\n  <head>\n  </head>\n  <body>\n      <h1>Herman Melville - "
    "Moby-Dick</h1>\n\n      <div>\n        <p>\n          Call me Ishmael. Some years "
    "ago&mdash;never mind how long precisely&mdash;having little or no money in my purse, and "
    "nothing particular to interest me on shore, I thought I would sail about a little and see "
    "the watery part of the world. It is a way I have of driving off the spleen and regulating "
    "the circulation.\n        </p>\n      </div>\n  </body>\n</html>\n";

void httpbin_index(nh_response_writer *w, nh_request *r) {
  (void)r;
  httpbin_write_body(w, 200, HTTPBIN_HTML_TYPE, index_html, sizeof index_html - 1);
}

void httpbin_json(nh_response_writer *w, nh_request *r) {
  (void)r;
  httpbin_write_body(w, 200, HTTPBIN_JSON_TYPE, sample_json, sizeof sample_json - 1);
}

void httpbin_html(nh_response_writer *w, nh_request *r) {
  (void)r;
  httpbin_write_body(w, 200, HTTPBIN_HTML_TYPE, moby_html, sizeof moby_html - 1);
}

void httpbin_robots(nh_response_writer *w, nh_request *r) {
  (void)r;
  static const char robots[] = "User-agent: *\nDisallow: /deny\n";
  httpbin_write_body(w, 200, HTTPBIN_TEXT_TYPE, robots, sizeof robots - 1);
}

void httpbin_deny(nh_response_writer *w, nh_request *r) {
  (void)r;
  static const char deny[] = "YOU SHOULDN'T BE HERE";
  httpbin_write_body(w, 200, HTTPBIN_TEXT_TYPE, deny, sizeof deny - 1);
}

void httpbin_uuid(nh_response_writer *w, nh_request *r) {
  (void)r;
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
    httpbin_error(w, 500, "no randomness available");
    return;
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
  char s[37];
  snprintf(s, sizeof s,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
  json_t *o = json_object();
  json_object_set_new(o, "uuid", json_string(s));
  httpbin_write_json(w, 200, o);
}

int httpbin_dangerous_type(const char *ct) {
  return strcasestr(ct, "html") || strcasestr(ct, "xml") || strcasestr(ct, "javascript") ||
         strcasestr(ct, "svg");
}

char *httpbin_html_escape(const unsigned char *s, size_t n, size_t *outlen) {
  char *out = malloc(n * 6 + 1);
  size_t k = 0;
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *rep = s[i] == '<'    ? "&lt;"
                      : s[i] == '>'  ? "&gt;"
                      : s[i] == '&'  ? "&amp;"
                      : s[i] == '\'' ? "&#39;"
                      : s[i] == '"'  ? "&#34;"
                                     : NULL;
    if (rep) {
      memcpy(out + k, rep, strlen(rep));
      k += strlen(rep);
    } else {
      out[k++] = (char)s[i];
    }
  }
  *outlen = k;
  return out;
}

/* /base64/{value} decodes (URL alphabet first, then standard, padded or
 * not); /base64/{operation}/{value} with "encode" or "decode". */
void httpbin_base64(nh_response_writer *w, nh_request *r) {
  httpbin *hb = nh_request_handler_data(r);
  const char *op = nh_request_path_value(r, "operation");
  const char *data = nh_request_path_value(r, "value");
  if (!op || !*op)
    op = "decode";
  size_t n = data ? strlen(data) : 0;
  if (n == 0) {
    httpbin_error(w, 400, "no input data");
    return;
  }
  if ((int64_t)n > hb->max_body) {
    httpbin_error(w, 400, "input data exceeds max length of %lld", (long long)hb->max_body);
    return;
  }
  size_t cap = nh_base64_encoded_len(NH_BASE64_URL, n) + nh_base64_decoded_max(n) + 1;
  unsigned char *out = malloc(cap);
  long len = -1;
  if (!out) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  if (!strcmp(op, "encode")) {
    len = nh_base64_encode(NH_BASE64_URL, data, n, (char *)out, cap);
  } else if (!strcmp(op, "decode")) {
    static const nh_base64_kind kinds[] = {NH_BASE64_URL, NH_BASE64_STD, NH_BASE64_RAW_URL,
                                           NH_BASE64_RAW_STD};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && len < 0; i++)
      len = nh_base64_decode(kinds[i], data, n, out, cap);
    if (len < 0) {
      free(out);
      httpbin_error(w, 400, "base64 decode failed: illegal base64 data");
      return;
    }
  } else {
    free(out);
    httpbin_error(w, 400, "invalid operation: %s", op);
    return;
  }
  const char *ct = httpbin_arg(r, "content-type");
  if (!ct || !*ct)
    ct = HTTPBIN_TEXT_TYPE;
  if (nh_header_set(nh_resp_header(w), "Content-Type", ct) != NH_OK) {
    free(out);
    httpbin_error(w, 400, "invalid content-type");
    return;
  }
  if (httpbin_dangerous_type(ct)) {
    size_t elen;
    char *esc = httpbin_html_escape(out, (size_t)len, &elen);
    httpbin_write_body(w, 200, NULL, esc ? esc : "", esc ? elen : 0);
    free(esc);
  } else {
    httpbin_write_body(w, 200, NULL, out, (size_t)len);
  }
  free(out);
}
