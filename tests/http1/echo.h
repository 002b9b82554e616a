/* The handler the request vectors are served by (tests/http1/vectors.txt;
 * tests/http1/goecho/main.go is the same for Go's server):
 *   /status/N  answers N and tries to write a body (the server must drop
 *              it for 204 and 304, and for HEAD)
 *   /early     sends 103 Early Hints first, then the echo
 *   /noread    answers 200 "unread" without reading the body
 *   otherwise  reads the whole body and answers 200 with its echo line
 *              (vectors.h), or 400 if reading the body failed. */
#ifndef NH_TESTS_HTTP1_ECHO_H
#define NH_TESTS_HTTP1_ECHO_H

#include "vectors.h"

#include <nethttp.h>
#include <stdlib.h>
#include <string.h>

static inline void hv_handler(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  if (!strncmp(path, "/status/", 8)) {
    nh_resp_write_header(w, atoi(path + 8));
    nh_resp_write_string(w, "must not be sent");
    return;
  }
  if (!strcmp(path, "/noread")) {
    nh_resp_write_string(w, "unread");
    return;
  }
  if (!strcmp(path, "/early")) {
    nh_header_set(nh_resp_header(w), "Link", "</a.css>; rel=preload");
    nh_resp_write_header(w, 103);
    nh_header_del(nh_resp_header(w), "Link");
  }
  size_t cap = 1 << 16, len = 0;
  char *body = malloc(cap);
  for (;;) {
    if (len == cap)
      body = realloc(body, cap *= 2);
    ssize_t n = nh_request_read(r, body + len, cap - len);
    if (n == 0)
      break;
    if (n < 0) {
      free(body);
      nh_resp_write_header(w, 400);
      nh_resp_write_string(w, "bad body\n");
      return;
    }
    len += (size_t)n;
  }
  nh_header *h = nh_request_header(r);
  const char *host = nh_request_host(r), *x = nh_header_get(h, "X-Echo");
  nh_header *tr = nh_request_trailer(r);
  const char *t = tr ? nh_header_get(tr, "X-T") : NULL;
  char line[1024];
  hv_echo_line(line, sizeof line, nh_request_method(r), nh_request_target(r),
               nh_request_proto_at_least(r, 1, 1) ? "1.1" : "1.0", host ? host : "",
               host ? strlen(host) : 0, x, x ? strlen(x) : 0, body, len, t, t ? strlen(t) : 0);
  free(body);
  nh_resp_write_string(w, line);
}

#endif
