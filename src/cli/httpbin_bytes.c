/* nethttp httpbin — generated bodies: /bytes/{n} and /stream-bytes/{n}
 * (pseudo-random, reproducible with ?seed=N) and /range/{n} (the
 * alphabet, with Range requests served as Go's ServeContent does). */
#include "httpbin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One draw per byte, so the stream is the same whatever the chunking. */
static void fill_random(uint64_t *state, unsigned char *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (unsigned char)(httpbin_rand_next(state) >> 56);
}

static void random_bytes(nh_response_writer *w, nh_request *r, int streaming) {
  httpbin *hb = nh_request_handler_data(r);
  const char *raw = nh_request_path_value(r, "n");
  int64_t n, chunk = 10 * 1024;
  uint64_t seed;
  if (httpbin_parse_int(raw, INT64_MIN, INT64_MAX, &n) != 0) {
    httpbin_error(w, 400, "invalid byte count: %s", raw ? raw : "");
    return;
  }
  if (httpbin_parse_seed(w, r, &seed) != 0)
    return;
  if (n < 0) {
    httpbin_error(w, 400, "invalid byte count: %lld must be greater than 0", (long long)n);
    return;
  }
  if (n == 0) {
    nh_header_set(nh_resp_header(w), "Content-Length", "0");
    nh_resp_write_header(w, 200);
    return;
  }
  if (n > hb->max_body) {
    httpbin_error(w, 400, "invalid byte count: %lld not in range [1, %lld]", (long long)n,
             (long long)hb->max_body);
    return;
  }
  const char *cs = httpbin_arg(r, "chunk_size");
  if (streaming && cs && httpbin_parse_int(cs, 1, hb->max_body, &chunk) != 0) {
    httpbin_error(w, 400, "invalid chunk_size: %s", cs);
    return;
  }
  if (!streaming)
    chunk = n;
  unsigned char *buf = malloc((size_t)chunk);
  if (!buf) {
    httpbin_error(w, 500, "out of memory");
    return;
  }
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", HTTPBIN_BINARY_TYPE);
  if (!streaming) {
    char len[24];
    snprintf(len, sizeof len, "%lld", (long long)n);
    nh_header_set(h, "Content-Length", len);
  }
  nh_resp_write_header(w, 200);
  for (int64_t done = 0; done < n;) {
    size_t k = (size_t)(n - done < chunk ? n - done : chunk);
    fill_random(&seed, buf, k);
    if (nh_resp_write(w, buf, k) < 0 || (streaming && nh_resp_flush(w) != NH_OK))
      break;
    done += (int64_t)k;
  }
  free(buf);
}

void httpbin_bytes(nh_response_writer *w, nh_request *r) { random_bytes(w, r, 0); }

void httpbin_stream_bytes(nh_response_writer *w, nh_request *r) { random_bytes(w, r, 1); }

/* ---- /range/{n} ---- */

typedef struct byte_range {
  int64_t start, length;
} byte_range;

enum { MAX_RANGES = 32 };

/* Go's parseRange: 0 with the ranges (none for no header), -1 malformed,
 * -2 no range overlaps the content. */
static int parse_ranges(const char *s, int64_t size, byte_range *out, int *n) {
  *n = 0;
  if (!s || !*s)
    return 0;
  if (strncmp(s, "bytes=", 6) != 0)
    return -1;
  int no_overlap = 0;
  for (const char *p = s + 6; *p;) {
    size_t len = strcspn(p, ",");
    char spec[64];
    if (len >= sizeof spec)
      return -1;
    memcpy(spec, p, len);
    spec[len] = 0;
    p += len + (p[len] == ',');
    char *a = spec + strspn(spec, " \t");
    size_t alen = strlen(a);
    while (alen && (a[alen - 1] == ' ' || a[alen - 1] == '\t'))
      a[--alen] = 0;
    if (alen == 0)
      continue;
    char *dash = strchr(a, '-');
    if (!dash)
      return -1;
    *dash = 0;
    const char *first = a, *last = dash + 1;
    byte_range br;
    int64_t i, j;
    if (!*first) { /* "-N": the last N bytes */
      if (!*last || httpbin_parse_int(last, 0, INT64_MAX, &i) != 0)
        return -1;
      if (i > size)
        i = size;
      br.start = size - i;
      br.length = size - br.start;
    } else {
      if (httpbin_parse_int(first, 0, INT64_MAX, &i) != 0)
        return -1;
      if (i >= size) { /* starts past the end: does not overlap */
        no_overlap = 1;
        continue;
      }
      br.start = i;
      if (!*last) {
        br.length = size - i;
      } else {
        if (httpbin_parse_int(last, 0, INT64_MAX, &j) != 0 || i > j)
          return -1;
        if (j >= size)
          j = size - 1;
        br.length = j - i + 1;
      }
    }
    if (*n == MAX_RANGES)
      return -1;
    out[(*n)++] = br;
  }
  if (*n == 0 && no_overlap)
    return -2;
  return 0;
}

static void alphabet(unsigned char *buf, int64_t offset, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    buf[i] = (unsigned char)('a' + (offset + i) % 26);
}

/* Writes n bytes from offset, sleeping pause_per_byte for each (the
 * ?duration of /range), in pieces so the pauses spread over the body. */
static int write_slowly(nh_response_writer *w, int64_t offset, int64_t n, nh_dur pause_per_byte) {
  unsigned char buf[4096];
  while (n > 0) {
    int64_t k = n < (int64_t)sizeof buf ? n : (int64_t)sizeof buf;
    alphabet(buf, offset, k);
    if (pause_per_byte > 0 && nh_sleep(pause_per_byte * k) != NH_OK)
      return -1;
    if (nh_resp_write(w, buf, (size_t)k) < 0)
      return -1;
    offset += k;
    n -= k;
  }
  return 0;
}

void httpbin_range(nh_response_writer *w, nh_request *r) {
  httpbin *hb = nh_request_handler_data(r);
  const char *raw = nh_request_path_value(r, "n");
  int64_t size;
  nh_dur duration = 0;
  if (httpbin_parse_int(raw, INT64_MIN, INT64_MAX, &size) != 0) {
    httpbin_error(w, 400, "invalid count: %s", raw ? raw : "");
    return;
  }
  const char *d = httpbin_arg(r, "duration");
  if (d && httpbin_bounded_duration(w, "invalid duration", d, 0, hb->max_duration, &duration) != 0)
    return;
  nh_header *h = nh_resp_header(w);
  char etag[32];
  snprintf(etag, sizeof etag, "range%lld", (long long)size);
  nh_header_set(h, "ETag", etag);
  nh_header_set(h, "Accept-Ranges", "bytes");
  if (size <= 0 || size > hb->max_body) {
    httpbin_error(w, 400, "invalid count: %lld not in range [1, %lld]", (long long)size,
             (long long)hb->max_body);
    return;
  }
  nh_dur pause = duration / size;
  httpbin_extend_write_deadline(w, hb, duration);
  byte_range ranges[MAX_RANGES];
  int n;
  int e = parse_ranges(nh_header_get(nh_request_header(r), "Range"),
                       size, ranges, &n);
  char cr[96];
  if (e != 0) {
    snprintf(cr, sizeof cr, "bytes */%lld", (long long)size);
    if (e == -2)
      nh_header_set(h, "Content-Range", cr);
    httpbin_write_body(w, 416, HTTPBIN_TEXT_TYPE, e == -2 ? "invalid range: failed to overlap\n"
                                                : "invalid range\n",
                  e == -2 ? 33 : 14);
    return;
  }
  int64_t sum = 0;
  for (int i = 0; i < n; i++)
    sum += ranges[i].length;
  if (sum > size) /* more than the content: as Go, send it whole */
    n = 0;
  char len[24];
  if (n == 0) {
    nh_header_set(h, "Content-Type", HTTPBIN_TEXT_TYPE);
    snprintf(len, sizeof len, "%lld", (long long)size);
    nh_header_set(h, "Content-Length", len);
    nh_resp_write_header(w, 200);
    write_slowly(w, 0, size, pause);
    return;
  }
  if (n == 1) {
    snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)ranges[0].start,
             (long long)(ranges[0].start + ranges[0].length - 1), (long long)size);
    nh_header_set(h, "Content-Range", cr);
    nh_header_set(h, "Content-Type", HTTPBIN_TEXT_TYPE);
    snprintf(len, sizeof len, "%lld", (long long)ranges[0].length);
    nh_header_set(h, "Content-Length", len);
    nh_resp_write_header(w, 206);
    write_slowly(w, ranges[0].start, ranges[0].length, pause);
    return;
  }
  /* multipart/byteranges, laid out as Go's multipart writer does. */
  char boundary[40], type[80], part[256];
  uint64_t seed = (uint64_t)nh_now();
  snprintf(boundary, sizeof boundary, "%016llx%016llx",
           (unsigned long long)httpbin_rand_next(&seed), (unsigned long long)httpbin_rand_next(&seed));
  snprintf(type, sizeof type, "multipart/byteranges; boundary=%s", boundary);
  int64_t total = 0;
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      nh_header_set(h, "Content-Type", type);
      snprintf(len, sizeof len, "%lld", (long long)total);
      nh_header_set(h, "Content-Length", len);
      nh_resp_write_header(w, 206);
    }
    for (int i = 0; i < n; i++) {
      int k = snprintf(part, sizeof part,
                       "%s--%s\r\nContent-Range: bytes %lld-%lld/%lld\r\nContent-Type: %s\r\n\r\n",
                       i ? "\r\n" : "", boundary, (long long)ranges[i].start,
                       (long long)(ranges[i].start + ranges[i].length - 1), (long long)size,
                       HTTPBIN_TEXT_TYPE);
      if (pass == 0) {
        total += k + ranges[i].length;
      } else if (nh_resp_write(w, part, (size_t)k) < 0 ||
                 write_slowly(w, ranges[i].start, ranges[i].length, pause) != 0) {
        return;
      }
    }
    int k = snprintf(part, sizeof part, "\r\n--%s--\r\n", boundary);
    if (pass == 0)
      total += k;
    else
      nh_resp_write(w, part, (size_t)k);
  }
}
