/* JSON helpers: a body read with a cap and decoded by jansson, and
 * responses encoded by it. */
#include "nethttp/json.h"

#include <stdlib.h>
#include <string.h>

#include "exchange.h"

int nh_request_json(nh_request *r, size_t max_bytes, json_t **out) {
  *out = NULL;
  if (!r || r->magic != NH__REQ_MAGIC)
    return NH_EINVAL;
  if (max_bytes == 0)
    max_bytes = NH_JSON_DEFAULT_MAX;
  if ((uint64_t)max_bytes > (uint64_t)INT64_MAX)
    max_bytes = (size_t)INT64_MAX;
  if (r->body_limit < 0 || r->body_limit > (int64_t)max_bytes)
    nh_request_limit_body(r, (int64_t)max_bytes);
  /* The body limit also turns a read past max_bytes into NH_EBODYTOOLARGE
   * (a 413 from the server if the handler sends nothing else). */
  char *buf;
  size_t len;
  int e = nh__request_read_all(r, (size_t)r->body_limit, &buf, &len);
  if (!e) {
    json_error_t jerr;
    *out = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!*out)
      e = NH_EBADJSON;
  }
  free(buf);
  return e;
}

static void set_type(nh_response_writer *w) {
  nh_header *h = nh_resp_header(w);
  if (!nh_header_get(h, "Content-Type"))
    nh_header_set(h, "Content-Type", "application/json");
}

static int send_text(nh_response_writer *w, int status, const char *s, size_t n, const char *file,
                     int line) {
  set_type(w);
  nh__resp_write_header(w, status, file, line);
  ssize_t k = nh__resp_write(w, s, n, file, line);
  if (k < 0)
    return (int)k;
  k = nh__resp_write(w, "\n", 1, file, line);
  return k < 0 ? (int)k : 0;
}

int nh__resp_json(nh_response_writer *w, int status, const json_t *v, size_t flags,
                  const char *file, int line) {
  if (!v)
    return NH_EINVAL;
  char *s = json_dumps(v, flags | JSON_ENCODE_ANY);
  if (!s)
    return NH_EINVAL;
  int e = send_text(w, status, s, strlen(s), file, line);
  free(s);
  return e;
}

int nh__resp_json_string(nh_response_writer *w, int status, const char *json, const char *file,
                         int line) {
  return json ? send_text(w, status, json, strlen(json), file, line) : NH_EINVAL;
}

int nh__resp_json_error(nh_response_writer *w, int status, const char *message, const char *file,
                        int line) {
  json_t *v = json_pack("{s:s}", "error", message ? message : "");
  if (!v)
    return NH_ENOMEM;
  int e = nh__resp_json(w, status, v, JSON_COMPACT, file, line);
  json_decref(v);
  return e;
}

/* The functions behind the macros, for callers that take their address. */
#undef nh_resp_json
#undef nh_resp_json_flags
#undef nh_resp_json_string
#undef nh_resp_json_error

int nh_resp_json_flags(nh_response_writer *w, int status, const json_t *v, size_t flags) {
  return nh__resp_json(w, status, v, flags, __FILE__, __LINE__);
}

int nh_resp_json(nh_response_writer *w, int status, const json_t *v) {
  return nh__resp_json(w, status, v, JSON_COMPACT, __FILE__, __LINE__);
}

int nh_resp_json_string(nh_response_writer *w, int status, const char *json) {
  return nh__resp_json_string(w, status, json, __FILE__, __LINE__);
}

int nh_resp_json_error(nh_response_writer *w, int status, const char *message) {
  return nh__resp_json_error(w, status, message, __FILE__, __LINE__);
}
