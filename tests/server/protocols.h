/* One handler, four protocols: what tests/server/test_protocols*.c share.
 *
 * Each case of those files runs the same handler on nethttp's own server
 * and asks it the same things with nethttp's own client over HTTP/1.1,
 * HTTP/1.1 over TLS, h2c (prior knowledge) and h2 (TLS, ALPN), then
 * compares what the client saw across the four. Where a protocol rightly
 * answers differently the case says so beside its check.
 *
 * pt_env is one server and one client speaking one protocol; pt_fetch
 * makes one request and keeps what came back (pt_result). A case's
 * handler checks in every request that the protocol it runs under is the
 * one the driver meant (the X-Want-Proto request field), so a client that
 * quietly fell back to HTTP/1.1 fails the case. */
#ifndef NH_TESTS_SERVER_PROTOCOLS_H
#define NH_TESTS_SERVER_PROTOCOLS_H

#include "harness.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <nethttp/sync.h>
#include <nethttp/tls.h>

enum { PT_H1, PT_H1_TLS, PT_H2C, PT_H2, PT_NPROTO };

static const char *const pt_names[PT_NPROTO] = {"http/1.1", "http/1.1+tls", "h2c", "h2"};

static inline int pt_is_h2(int p) { return p == PT_H2C || p == PT_H2; }
static inline const char *pt_proto(int p) { return pt_is_h2(p) ? "HTTP/2.0" : "HTTP/1.1"; }

typedef struct pt_env {
  int proto;
  nh_test_server *ts;
  nh_transport *t;
  nh_client *c;
} pt_env;

/* The protocol a handler runs under must be the one asked for: checked
 * by every handler of these files through pt_check_proto. */
static inline void pt_check_proto(nh_request *r) {
  const char *want = nh_header_get(nh_request_header(r), "X-Want-Proto");
  CHECK(want);
  CHECK_STR(nh_request_proto(r), want);
}

/* A server for handler speaking proto (cfg may be NULL), and a client
 * that speaks only that protocol to it (trusting the test CA over TLS). */
static inline void pt_start(pt_env *e, int proto, nh_handler_fn handler,
                            const nh_server_config *cfg) {
  memset(e, 0, sizeof *e);
  e->proto = proto;
  nh_server_config c = NH_SERVER_CONFIG_DEFAULT;
  if (cfg)
    c = *cfg;
  if (proto == PT_H2C)
    c.http2.h2c = 1;
  if (proto == PT_H1_TLS || proto == PT_H2)
    e->ts = nh_test_server_new_tls(handler, &c, 1);
  else
    e->ts = nh_test_server_new(handler, &c, 1);
  CHECK(e->ts);
  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.http_version = pt_is_h2(proto) ? NH_HTTP_2 : NH_HTTP_1;
  nh_tls_config tls = {0};
  if (proto == PT_H1_TLS || proto == PT_H2) {
    tls.ca_file = nh_test_server_ca_file(e->ts);
    tc.tls = &tls;
  }
  e->t = nh_transport_new(&tc);
  CHECK(e->t);
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = e->t;
  e->c = nh_client_new(&cc);
  CHECK(e->c);
}

static inline void pt_stop(pt_env *e) {
  nh_client_free(e->c);
  nh_transport_free(e->t);
  CHECK_EQ(nh_test_server_close(e->ts, NULL), NH_OK);
}

/* "https://127.0.0.1:PORT/path" (static per thread: one at a time). */
static inline const char *pt_url(const pt_env *e, const char *path) {
  static __thread char buf[256];
  snprintf(buf, sizeof buf, "%s%s", nh_test_server_url(e->ts), path);
  return buf;
}

/* A request to path with X-Want-Proto set; the caller adds fields and a
 * body, and frees it. */
static inline nh_client_request *pt_request(const pt_env *e, const char *method, const char *path) {
  nh_client_request *req = nh_client_request_new(method, pt_url(e, path));
  CHECK(req);
  nh_header_set(nh_client_request_header(req), "X-Want-Proto", pt_proto(e->proto));
  return req;
}

/* What the client saw of one exchange. */
typedef struct pt_result {
  int err;            /* nh_client_do's */
  int status;
  char proto[16];
  int64_t content_length;
  nh_header *header;  /* a copy of the response's fields */
  nh_header *trailer; /* a copy of its trailers, read after the body */
  char *body;         /* NUL-terminated; NULL if err */
  size_t body_len;
  int body_err;       /* nh_response_read_all's */
} pt_result;

/* Sends req and reads the whole answer (up to 64 MiB). */
static inline pt_result pt_do(pt_env *e, nh_client_request *req) {
  pt_result r;
  memset(&r, 0, sizeof r);
  r.header = nh_header_new();
  r.trailer = nh_header_new();
  nh_response *resp;
  r.err = nh_client_do(e->c, req, &resp);
  if (r.err != 0)
    return r;
  r.status = nh_response_status(resp);
  snprintf(r.proto, sizeof r.proto, "%s", nh_response_proto(resp));
  r.content_length = nh_response_content_length(resp);
  nh_header *h = nh_response_header(resp);
  for (size_t i = 0; i < nh_header_len(h); i++) {
    const char *k, *v;
    nh_header_at(h, i, &k, &v);
    nh_header_add(r.header, k, v);
  }
  r.body_err = nh_response_read_all(resp, 64 << 20, &r.body, &r.body_len);
  nh_header *t = nh_response_trailer(resp);
  for (size_t i = 0; t && i < nh_header_len(t); i++) {
    const char *k, *v;
    nh_header_at(t, i, &k, &v);
    nh_header_add(r.trailer, k, v);
  }
  nh_response_close(resp);
  /* Every answer is in the protocol asked for. */
  CHECK_STR(r.proto, pt_proto(e->proto));
  return r;
}

static inline pt_result pt_get(pt_env *e, const char *path) {
  nh_client_request *req = pt_request(e, "GET", path);
  pt_result r = pt_do(e, req);
  nh_client_request_free(req);
  return r;
}

static inline void pt_result_free(pt_result *r) {
  nh_header_free(r->header);
  nh_header_free(r->trailer);
  free(r->body);
  memset(r, 0, sizeof *r);
}

/* All values of a response field joined with ",", or "" (static: four
 * calls may be used at once). */
static inline const char *pt_field(const pt_result *r, const char *key) {
  static __thread char bufs[4][512];
  static __thread unsigned next;
  char *buf = bufs[next++ % 4];
  const char *vals[16];
  size_t n = nh_header_values(r->header, key, vals, 16);
  buf[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(buf);
    snprintf(buf + len, sizeof bufs[0] - len, "%s%s", i ? "," : "", vals[i]);
  }
  return buf;
}

/* FNV-1a 64: a body's fingerprint, the same on both sides. */
static inline uint64_t pt_hash(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ULL;
  }
  return h;
}
#define PT_HASH_INIT 14695981039346656037ULL

/* Runs one case body over each protocol in turn, naming the protocol on
 * stderr so a failure says which. */
#define PT_FOR_EACH_PROTO(p)                                                                  \
  for (int p = 0; p < PT_NPROTO && (fprintf(stderr, "-- over %s\n", pt_names[p]), 1); p++)

#endif
