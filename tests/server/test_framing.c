/* Strict framing (RFC 9112): each malformed request gets its status and a
 * closed connection, its handler never runs, and a valid request sent right
 * behind it on the same connection is never served (no byte of a rejected
 * request is taken as the next request). */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <errno.h>
#include <stdatomic.h>

static atomic_int served;
static void count(nh_response_writer *w, nh_request *r) {
  atomic_fetch_add(&served, 1);
  char buf[256];
  while (nh_request_read(r, buf, sizeof buf) > 0)
    ;
  nh_resp_write_string(w, "served");
}

typedef struct bad_case {
  const char *name;
  const char *request;
  int status;
} bad_case;

static const bad_case cases[] = {
    {"cl_and_te", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"conflicting_cl", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
    {"malformed_cl", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello", 400},
    {"negative_cl", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
    {"space_in_name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400},
    {"ctl_in_value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n", 400},
    {"obs_fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n", 400},
    {"bare_lf_header", "GET / HTTP/1.1\nHost: x\n\n", 400},
    {"bare_cr", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400},
    {"missing_host_11", "GET / HTTP/1.1\r\n\r\n", 400},
    {"duplicate_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"unknown_te", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
    {"te_list", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
    {"http2_line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
    {"garbage_version", "GET / HTTP/x.y\r\nHost: x\r\n\r\n", 400},
    {"bad_target", "GET nothing HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"star_not_options", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
    {"chunk_size_overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400},
    {"chunk_bare_lf", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n", 400},
    {"unknown_expect", "POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx", 417},
};

/* The handler reads bodies, so body framing errors surface while it runs:
 * those requests reach it (their head was fine) but must still end in a
 * closed connection and nothing after them served. */
static int body_error_case(const char *name) {
  return !strcmp(name, "chunk_size_overflow") || !strcmp(name, "chunk_bare_lf");
}

NH_TEST(malformed_requests_are_refused) {
  nh_test_server *ts = nh_test_server_new(count, NULL, 1);
  int port = nh_test_server_port(ts);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const bad_case *bc = &cases[i];
    atomic_store(&served, 0);
    raw_conn *c = calloc(1, sizeof *c);
    c->fd = raw_connect(port);
    char req[1024];
    snprintf(req, sizeof req, "%sGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", bc->request);
    CHECK(raw_sends(c->fd, req) == 0);
    raw_resp r;
    int got = raw_read(c, &r, 0);
    if (body_error_case(bc->name)) {
      /* The handler saw a broken body: the connection dies, no 2nd answer. */
      if (got == 0)
        raw_resp_free(&r);
      CHECK(raw_closed(c, 2000));
      CHECK(atomic_load(&served) <= 1);
    } else {
      if (got != 0)
        NH_FAIL("%s: no response", bc->name);
      if (r.status != bc->status)
        NH_FAIL("%s: status %d, want %d", bc->name, r.status, bc->status);
      CHECK_STR(raw_header(&r, "Connection"), "close");
      raw_resp_free(&r);
      CHECK(raw_closed(c, 2000));
      if (atomic_load(&served) != 0)
        NH_FAIL("%s: the handler ran", bc->name);
    }
    close(c->fd);
    free(c);
  }
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK(st.bad_requests >= (int64_t)(sizeof cases / sizeof cases[0]) - 2);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Heads over the byte limit or the field-count limit get 431. */
NH_TEST(header_limits_431) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.max_header_bytes = 4096;
  cfg.max_header_count = 10;
  nh_test_server *ts = nh_test_server_new(count, &cfg, 1);
  int port = nh_test_server_port(ts);
  char *big = malloc(10000);
  int n = sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(big + n, 'a', 5000);
  strcpy(big + n + 5000, "\r\n\r\n");
  raw_resp r = raw_roundtrip(port, big);
  CHECK_EQ(r.status, 431);
  raw_resp_free(&r);
  char many[2048];
  n = sprintf(many, "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 12; i++)
    n += sprintf(many + n, "X-H%d: v\r\n", i);
  strcpy(many + n, "\r\n");
  r = raw_roundtrip(port, many);
  CHECK_EQ(r.status, 431);
  raw_resp_free(&r);
  /* Just under both limits is fine. */
  n = sprintf(many, "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 9; i++)
    n += sprintf(many + n, "X-H%d: v\r\n", i);
  strcpy(many + n, "\r\n");
  r = raw_roundtrip(port, many);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  free(big);
  CHECK_EQ(atomic_load(&served), 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The same request split at every byte offset parses the same. */
NH_TEST(request_split_at_every_offset) {
  nh_test_server *ts = nh_test_server_new(count, NULL, 1);
  int port = nh_test_server_port(ts);
  const char *req = "POST /split?x=1 HTTP/1.1\r\nHost: example\r\nX-Long-Header-Name: some value\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  size_t len = strlen(req);
  atomic_store(&served, 0);
  for (size_t cut = 1; cut < len; cut++) {
    raw_conn *c = calloc(1, sizeof *c);
    c->fd = raw_connect(port);
    raw_send(c->fd, req, cut);
    usleep(2000);
    raw_send(c->fd, req + cut, len - cut);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    if (r.status != 200)
      NH_FAIL("cut at %zu: status %d", cut, r.status);
    raw_resp_free(&r);
    close(c->fd);
    free(c);
  }
  CHECK_EQ(atomic_load(&served), (int)len - 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* A request that closes the connection (Connection: close), with many
 * requests pipelined behind it that will not be answered: its answer
 * arrives whole and the connection ends with a FIN, not a reset (closing
 * on unread bytes sends one, and a reset can destroy the answer before the
 * client reads it). Then the same with the client's FIN right behind. */
NH_TEST(close_with_pipelined_requests_ends_with_fin) {
  nh_test_server *ts = nh_test_server_new(count, NULL, 1);
  const char *first = "GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const char *next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int half_close = 0; half_close < 2; half_close++) {
    raw_conn *c = calloc(1, sizeof *c);
    c->fd = raw_connect(nh_test_server_port(ts));
    size_t n = strlen(first), each = strlen(next), total = n + 2000 * each;
    char *all = malloc(total);
    memcpy(all, first, n);
    for (int i = 0; i < 2000; i++)
      memcpy(all + n + (size_t)i * each, next, each);
    CHECK_EQ(raw_send(c->fd, all, total), 0);
    if (half_close)
      shutdown(c->fd, SHUT_WR);
    free(all);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "served");
    raw_resp_free(&r);
    char b;
    ssize_t got;
    while ((got = recv(c->fd, &b, 1, 0)) < 0 && errno == EINTR)
      ;
    CHECK_EQ(got, 0); /* a FIN: -1 with ECONNRESET would be a reset */
    CHECK_EQ(c->len, 0); /* and nothing answered after the closing request */
    close(c->fd);
    free(c);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
