/* nh_serve_content: Go's serveContent on a file descriptor. The body, whole
 * or in ranges, goes out with sendfile(2); multipart/byteranges parts
 * interleave small written part headers with sendfile'd spans. */
#include "files_internal.h"

#include <nethttp/httpdate.h>
#include <nethttp/sniff.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

void nh__file_error_errno(nh_response_writer *w, int err) {
  switch (err) {
  case ENOENT:
  case ENOTDIR:
  case ENAMETOOLONG:
  case ELOOP:
  case EXDEV:
    nh_error(w, "404 page not found", 404);
    break;
  case EACCES:
  case EPERM:
    nh_error(w, "403 Forbidden", 403);
    break;
  case EMFILE: /* out of descriptors or memory: a moment later may work */
  case ENFILE:
  case ENOMEM:
    nh_header_set(nh_resp_header(w), "Retry-After", "1");
    nh_error(w, "503 Service Unavailable", 503);
    break;
  default:
    nh_error(w, "500 Internal Server Error", 500);
  }
}

void nh__write_not_modified(nh_response_writer *w) {
  nh_header *h = nh_resp_header(w);
  nh_header_del(h, "Content-Type");
  nh_header_del(h, "Content-Length");
  nh_header_del(h, "Content-Encoding");
  if (nh_header_get(h, "Etag"))
    nh_header_del(h, "Last-Modified");
  nh_resp_write_header(w, 304);
}

void nh__local_redirect(nh_response_writer *w, nh_request *r, const char *location) {
  const char *q = nh_request_query(r);
  if (q && *q) {
    size_t n = strlen(location) + strlen(q) + 2;
    char *loc = nh_request_alloc(r, n);
    if (!loc) {
      nh__file_error_errno(w, ENOMEM);
      return;
    }
    snprintf(loc, n, "%s?%s", location, q);
    location = loc;
  }
  nh_header_set(nh_resp_header(w), "Location", location);
  nh_resp_write_header(w, 301);
}

/* 60 hex digits of randomness, as Go's multipart.Writer boundary. */
static void make_boundary(char out[61]) {
  unsigned char b[30];
  if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
    static _Atomic uint64_t counter;
    uint64_t x = (uint64_t)nh_now() ^ ((uint64_t)getpid() << 32) ^ ++counter;
    for (size_t i = 0; i < sizeof b; i++) { /* splitmix64 */
      x += 0x9e3779b97f4a7c15ull;
      uint64_t z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
      b[i] = (unsigned char)((z ^ (z >> 31)) >> 24);
    }
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof b; i++) {
    out[2 * i] = hex[b[i] >> 4];
    out[2 * i + 1] = hex[b[i] & 15];
  }
  out[60] = 0;
}

/* The header of part i as Go's multipart.Writer writes it (keys sorted). */
static int part_header(char *buf, size_t cap, int first, const char *boundary,
                       const nh__byte_range *ra, int64_t size, const char *ctype) {
  return snprintf(buf, cap,
                  "%s--%s\r\nContent-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64
                  "\r\nContent-Type: %s\r\n\r\n",
                  first ? "" : "\r\n", boundary, ra->start, ra->start + ra->length - 1, size,
                  ctype);
}

static void send_multipart(nh_response_writer *w, nh_request *r, int fd, int64_t size,
                           const nh__byte_range *ranges, int n, const char *type) {
  char boundary[61], buf[512], ctype[256];
  /* A copy: the Content-Type entry is replaced below. */
  if (snprintf(ctype, sizeof ctype, "%s", type) >= (int)sizeof ctype) {
    nh_error(w, "500 Internal Server Error", 500);
    return;
  }
  make_boundary(boundary);
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    int len = part_header(buf, sizeof buf, i == 0, boundary, &ranges[i], size, ctype);
    if (len < 0 || (size_t)len >= sizeof buf) {
      nh_error(w, "500 Internal Server Error", 500);
      return;
    }
    total += len + ranges[i].length;
  }
  int closing = snprintf(buf, sizeof buf, "\r\n--%s--\r\n", boundary);
  total += closing;
  nh_header *h = nh_resp_header(w);
  snprintf(buf, sizeof buf, "multipart/byteranges; boundary=%s", boundary);
  nh_header_set(h, "Content-Type", buf);
  nh_header_set(h, "Accept-Ranges", "bytes");
  snprintf(buf, sizeof buf, "%" PRId64, total);
  nh_header_set(h, "Content-Length", buf);
  nh_resp_write_header(w, 206);
  if (!strcmp(nh_request_method(r), "HEAD"))
    return;
  for (int i = 0; i < n; i++) {
    int len = part_header(buf, sizeof buf, i == 0, boundary, &ranges[i], size, ctype);
    if (nh_resp_write(w, buf, (size_t)len) < 0 ||
        nh_resp_sendfile(w, fd, (off_t)ranges[i].start, (size_t)ranges[i].length) != 0)
      return; /* the client is gone; the server closes the connection */
  }
  snprintf(buf, sizeof buf, "\r\n--%s--\r\n", boundary);
  nh_resp_write(w, buf, (size_t)closing);
}

/* coded: the file is the whole coded representation (a precompressed
 * sibling), so its length is the body's even with a Content-Encoding. */
static void serve_content(nh_response_writer *w, nh_request *r, const char *name, time_t modtime,
                          int fd, off_t size, int coded) {
  nh_header *h = nh_resp_header(w);
  if (modtime != 0) {
    char date[NH_HTTP_DATE_LEN + 1];
    nh_http_date_format((int64_t)modtime, date);
    nh_header_set(h, "Last-Modified", date);
  }
  int use_range;
  switch (nh__check_preconditions(r, nh_header_get(h, "Etag"), modtime, &use_range)) {
  case NH__PRECOND_412:
    nh_resp_write_header(w, 412);
    return;
  case NH__PRECOND_304:
    nh__write_not_modified(w);
    return;
  }
  const char *ctype = nh_header_get(h, "Content-Type");
  if (!ctype) {
    ctype = nh_file_content_type(name);
    if (!ctype) {
      char head[NH_SNIFF_LEN];
      ssize_t got = size > 0 ? pread(fd, head, size < NH_SNIFF_LEN ? (size_t)size : sizeof head, 0)
                             : 0;
      ctype = nh_detect_content_type(head, got > 0 ? (size_t)got : 0);
    }
    nh_header_set(h, "Content-Type", ctype);
    ctype = nh_header_get(h, "Content-Type");
  }
  if (size < 0) {
    nh_error(w, "negative content size computed", 500);
    return;
  }
  int64_t send_start = 0, send_size = size;
  int status = 200;
  nh__byte_range ranges[NH_FILE_MAX_RANGES];
  int n = 0;
  if (use_range) {
    const char *spec = nh_header_get(nh_request_header(r), "Range");
    switch (nh__parse_range(spec, size, ranges, NH_FILE_MAX_RANGES, &n)) {
    case NH__RANGE_NO_OVERLAP:
      n = 0;
      if (size == 0) /* some clients send Range on every request: 200 */
        break;
      char cr[48];
      snprintf(cr, sizeof cr, "bytes */%" PRId64, (int64_t)size);
      nh_header_set(h, "Content-Range", cr);
      nh_error(w, "invalid range: failed to overlap", 416);
      return;
    case NH__RANGE_NONE:
      n = 0;
      break;
    }
  }
  int64_t sum = 0;
  for (int i = 0; i < n; i++)
    sum += ranges[i].length;
  if (sum > size) /* overlapping ranges worth more than the file: an attack */
    n = 0;
  if (n > 1 && ctype && strlen(ctype) > 200) /* no room in part headers: whole body */
    n = 0;
  if (n > 1) {
    send_multipart(w, r, fd, size, ranges, n, ctype ? ctype : "");
    return;
  }
  if (n == 1) {
    char cr[96];
    snprintf(cr, sizeof cr, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, ranges[0].start,
             ranges[0].start + ranges[0].length - 1, (int64_t)size);
    nh_header_set(h, "Content-Range", cr);
    send_start = ranges[0].start;
    send_size = ranges[0].length;
    status = 206;
  }
  nh_header_set(h, "Accept-Ranges", "bytes");
  /* As Go: a handler that set Content-Encoding may be transforming the
   * bytes, so only a range response is given a length then. */
  if (n > 0 || coded || !nh_header_get(h, "Content-Encoding")) {
    char cl[32];
    snprintf(cl, sizeof cl, "%" PRId64, send_size);
    nh_header_set(h, "Content-Length", cl);
  }
  nh_resp_write_header(w, status);
  if (strcmp(nh_request_method(r), "HEAD") != 0 && send_size > 0)
    nh_resp_sendfile(w, fd, (off_t)send_start, (size_t)send_size);
}

void nh_serve_content(nh_response_writer *w, nh_request *r, const char *name, time_t modtime,
                      int fd, off_t size) {
  serve_content(w, r, name, modtime, fd, size, 0);
}

void nh__serve_coded_file(nh_response_writer *w, nh_request *r, int fd, const struct stat *st) {
  char etag[48];
  nh__etag_format(st, etag);
  nh_header_set(nh_resp_header(w), "Etag", etag);
  serve_content(w, r, "", st->st_mtime, fd, st->st_size, 1);
}

void nh__serve_open_file(nh_response_writer *w, nh_request *r, const char *name, int fd,
                         const struct stat *st) {
  nh_header *h = nh_resp_header(w);
  if (!nh_header_get(h, "Etag")) {
    char etag[48];
    nh__etag_format(st, etag);
    nh_header_set(h, "Etag", etag);
  }
  nh_serve_content(w, r, name, st->st_mtime, fd, st->st_size);
}
