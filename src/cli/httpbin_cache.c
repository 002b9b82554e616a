/* nethttp httpbin — caching and compression: /cache, /etag/{etag},
 * /gzip, /deflate. */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 304 when the client sends a validator; else the /get answer with fresh
 * Last-Modified and ETag. */
void httpbin_cache(nh_response_writer *w, nh_request *r) {
  nh_header *rh = nh_request_header(r);
  if (nh_header_get(rh, "If-Modified-Since") || nh_header_get(rh, "If-None-Match")) {
    nh_resp_write_header(w, 304);
    return;
  }
  char date[30], etag[24];
  nh_http_date_now(date);
  uint64_t hash = 14695981039346656037ULL; /* FNV-1a of the date */
  for (const char *p = date; *p; p++)
    hash = (hash ^ (unsigned char)*p) * 1099511628211ULL;
  snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)hash);
  nh_header_set(nh_resp_header(w), "Last-Modified", date);
  nh_header_set(nh_resp_header(w), "ETag", etag);
  httpbin_get(w, r);
}

/* Does the If-Match / If-None-Match list hold etag ("\"x\"")? Weak
 * comparison ignores a W/ prefix on either side; strong refuses weak
 * tags. */
static int etag_listed(const char *list, const char *etag, int weak) {
  for (const char *p = list; *p;) {
    p += strspn(p, " \t,");
    if (!*p)
      break;
    size_t n = strcspn(p, ",");
    size_t m = n;
    while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
      m--;
    const char *tag = p;
    if (m == 1 && tag[0] == '*')
      return 1;
    int is_weak = m > 2 && !strncmp(tag, "W/", 2);
    if (is_weak) {
      tag += 2;
      m -= 2;
    }
    if ((weak || !is_weak) && m == strlen(etag) && !strncmp(tag, etag, m))
      return 1;
    p += n;
  }
  return 0;
}

/* The resource has ETag "{etag}": If-Match and If-None-Match answered as
 * Go's ServeContent does (412, 304). */
void httpbin_etag(nh_response_writer *w, nh_request *r) {
  const char *raw = nh_request_path_value(r, "etag");
  size_t cap = strlen(raw ? raw : "") + 3;
  char *etag = nh_request_alloc(r, cap);
  if (!etag) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  snprintf(etag, cap, "\"%s\"", raw ? raw : "");
  nh_header *h = nh_resp_header(w);
  if (nh_header_set(h, "ETag", etag) != NH_OK) {
    httpbin_error(w, 400, "invalid etag");
    return;
  }
  const char *method = nh_request_method(r);
  int get_or_head = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  const char *im = nh_header_get(nh_request_header(r), "If-Match");
  const char *inm = nh_header_get(nh_request_header(r), "If-None-Match");
  if (im && !etag_listed(im, etag, 0)) {
    nh_resp_write_header(w, 412);
    return;
  }
  if (inm && etag_listed(inm, etag, 1)) {
    nh_resp_write_header(w, get_or_head ? 304 : 412);
    return;
  }
  json_t *body = httpbin_get_json(r);
  char *text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(body);
  if (!text) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  char date[30];
  nh_http_date_now(date);
  nh_header_set(h, "Last-Modified", date);
  nh_header_set(h, "Content-Type", HTTPBIN_TEXT_TYPE);
  nh_resp_write_header(w, 200);
  nh_resp_write(w, text, strlen(text));
  nh_resp_write(w, "\n", 1);
  free(text);
}

/* The /get answer with flag set to true, compressed with zlib: gzip
 * framing (windowBits 16+15) or zlib framing ("deflate" in HTTP). */
static void compressed(nh_response_writer *w, nh_request *r, const char *flag, int window_bits,
                       const char *encoding) {
  json_t *body = httpbin_get_json(r);
  json_object_set_new(body, flag, json_true());
  char *text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(body);
  if (!text) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  size_t n = strlen(text);
  text[n++] = '\n'; /* replaces the NUL: the body is n bytes, not a string */
  z_stream z = {0};
  uLong cap = deflateBound(&z, (uLong)n) + 64;
  unsigned char *out = malloc(cap);
  int ok = out && deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8,
                               Z_DEFAULT_STRATEGY) == Z_OK;
  if (ok) {
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
    deflateEnd(&z);
  }
  free(text);
  if (!ok) {
    free(out);
    httpbin_error(w, 500, "compression failed");
    return;
  }
  char len[24];
  snprintf(len, sizeof len, "%lu", (unsigned long)z.total_out);
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Encoding", encoding);
  nh_header_set(h, "Content-Type", HTTPBIN_JSON_TYPE);
  nh_header_set(h, "Content-Length", len);
  nh_resp_write_header(w, 200);
  nh_resp_write(w, out, z.total_out);
  free(out);
}

void httpbin_gzip(nh_response_writer *w, nh_request *r) {
  compressed(w, r, "gzipped", 16 + 15, "gzip");
}

void httpbin_deflate(nh_response_writer *w, nh_request *r) {
  compressed(w, r, "deflated", 15, "deflate");
}
