/* nethttp httpbin — parsers shared by the endpoints: query values as JSON,
 * durations, numbers, seeds, and the request body under the service's
 * size limit. */
#include "httpbin.h"
#include "util/dynbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

json_t *httpbin_values_json(const nh_values *v) {
  json_t *obj = json_object();
  for (size_t i = 0; i < nh_values_len(v); i++) {
    const char *key, *value;
    size_t vlen;
    if (nh_values_at_n(v, i, &key, NULL, &value, &vlen) == 0)
      httpbin_json_append(obj, key, httpbin_json_bytes(value, vlen));
  }
  return obj;
}

void httpbin_semiflatten(json_t *obj) {
  const char *key;
  json_t *value;
  json_object_foreach(obj, key, value) {
    if (json_is_array(value) && json_array_size(value) == 1)
      json_object_set(obj, key, json_array_get(value, 0));
  }
}

json_t *httpbin_values_shaped(nh_request *r, const nh_values *v) {
  const httpbin *hb = nh_request_handler_data(r);
  json_t *obj = httpbin_values_json(v);
  if (hb->compat == HTTPBIN_COMPAT_ORG)
    httpbin_semiflatten(obj);
  return obj;
}

int httpbin_parse_duration(const char *s, nh_dur *out) {
  if (!s || !*s)
    return -1;
  if (nh_dur_parse(s, out) == NH_OK)
    return 0;
  char *end;
  double secs = strtod(s, &end);
  if (*end || !isfinite(secs) || fabs(secs) > 1e9)
    return -1;
  *out = (nh_dur)(secs * 1000) * NH_MSEC; /* millisecond precision, as go-httpbin */
  return 0;
}

int httpbin_bounded_duration(nh_response_writer *w, const char *what, const char *s, nh_dur min,
                        nh_dur max, nh_dur *out) {
  char a[32], b[32];
  if (httpbin_parse_duration(s, out) != 0) {
    httpbin_error(w, 400, "%s: %s", what, s);
    return -1;
  }
  if (*out > max) {
    httpbin_error(w, 400, "%s: duration %s longer than %s", what, nh_dur_format(*out, a, sizeof a),
             nh_dur_format(max, b, sizeof b));
    return -1;
  }
  if (*out < min) {
    httpbin_error(w, 400, "%s: duration %s shorter than %s", what, nh_dur_format(*out, a, sizeof a),
             nh_dur_format(min, b, sizeof b));
    return -1;
  }
  return 0;
}

int httpbin_parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
  if (!s || !*s)
    return -1;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

uint64_t httpbin_rand_next(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int httpbin_parse_seed(nh_response_writer *w, nh_request *r, uint64_t *seed) {
  const char *s = httpbin_arg(r, "seed");
  if (s) {
    int64_t v;
    if (httpbin_parse_int(s, INT64_MIN, INT64_MAX, &v) != 0) {
      httpbin_error(w, 400, "invalid seed: %s", s);
      return -1;
    }
    *seed = (uint64_t)v;
    return 0;
  }
  if (getrandom(seed, sizeof *seed, 0) != (ssize_t)sizeof *seed)
    *seed = (uint64_t)nh_now();
  return 0;
}

int httpbin_sleep(nh_response_writer *w, nh_dur d) {
  if (d <= 0)
    return 0;
  if (nh_sleep(d) != NH_OK) {
    nh_resp_write_header(w, 499); /* "client closed request", as go-httpbin */
    return -1;
  }
  return 0;
}

void httpbin_extend_write_deadline(nh_response_writer *w, const httpbin *hb, nh_dur d) {
  if (hb->write_timeout == NH_NO_TIMEOUT)
    nh_resp_set_write_deadline(w, NH_NO_DEADLINE);
  else
    nh_resp_set_write_deadline(w, nh_now() + d + hb->write_timeout);
}

int httpbin_read_body(nh_response_writer *w, nh_request *r, char **body, size_t *n) {
  httpbin *hb = nh_request_handler_data(r);
  /* The server stops the body at max_body (nh_request_limit_body): the
   * buffer's cap is the same limit, so a longer one cannot grow it. */
  nh__dynbuf b;
  nh__dynbuf_init(&b, (size_t)hb->max_body);
  int64_t declared = nh_request_content_length(r);
  int berr = declared > 0 && declared <= hb->max_body ? nh__dynbuf_reserve(&b, (size_t)declared) : 0;
  char chunk[4096];
  ssize_t got = 0;
  while (!berr && (got = nh_request_read(r, chunk, sizeof chunk)) > 0)
    berr = nh__dynbuf_add(&b, chunk, (size_t)got);
  int rerr = got < 0 ? (int)got : 0;
  size_t len = nh__dynbuf_len(&b);
  char *copy = berr || rerr ? NULL : nh_request_alloc(r, len + 1);
  if (copy)
    memcpy(copy, nh__dynbuf_ptr(&b), len + 1);
  nh__dynbuf_free(&b);
  if (rerr == NH_EBODYTOOLARGE || berr == NH_ERANGE)
    httpbin_error(w, 413, "request body too large: more than %lld bytes", (long long)hb->max_body);
  else if (rerr)
    httpbin_error(w, 400, "error reading request body: %s", nh_strerror(rerr));
  else if (!copy)
    httpbin_error(w, 500, "out of memory");
  if (!copy)
    return -1;
  *body = copy;
  *n = len;
  return 0;
}
