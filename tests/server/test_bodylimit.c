/* nh_request_limit_body (Go's MaxBytesReader) over real sockets, seed bug
 * 14: a body over the cap gives the handler NH_EBODYTOOLARGE, and the
 * server answers 413 and closes; a declared length over the cap fails at
 * once (no 100 Continue); a body exactly at the cap is fine and keeps the
 * connection; chunked bodies are cut at the cap. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

static atomic_int calls;
static atomic_long got_bytes; /* body bytes the handler read */
static atomic_int got_err;    /* the read that ended the loop */
static atomic_int got_hit;    /* nh_request_body_limit_hit after it */

/* The cap is the number after "/cap/"; "own" answers the error itself,
 * "ignore" writes 200 anyway, else the handler sends nothing on error. */
static void capped(nh_response_writer *w, nh_request *r) {
  atomic_fetch_add(&calls, 1);
  const char *p = nh_request_path(r);
  long cap = strtol(p + 5, NULL, 10);
  nh_request_limit_body(r, cap);
  char buf[1000];
  long total = 0;
  ssize_t n;
  while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
    total += n;
  atomic_store(&got_bytes, total);
  atomic_store(&got_err, (int)n);
  atomic_store(&got_hit, nh_request_body_limit_hit(r));
  if (n == 0) {
    nh_resp_printf(w, "read %ld", total);
  } else if (strstr(p, "own")) {
    nh_resp_write_header(w, 400);
    nh_resp_write_string(w, "my own answer");
  } else if (strstr(p, "ignore")) {
    nh_resp_write_string(w, "carried on");
  }
}

static void reset(void) {
  atomic_store(&calls, 0);
  atomic_store(&got_bytes, -1);
  atomic_store(&got_err, 1);
  atomic_store(&got_hit, -1);
}

static raw_conn *open_conn(nh_test_server *ts) {
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  CHECK(c->fd >= 0);
  return c;
}

static void close_conn(raw_conn *c) {
  close(c->fd);
  free(c);
}

/* Everything the server sends until it closes. */
static char *read_to_close(raw_conn *c) {
  size_t cap = 1 << 16, len = c->len;
  char *all = malloc(cap + 1);
  memcpy(all, c->buf, c->len);
  c->len = 0;
  for (;;) {
    if (len == cap)
      all = realloc(all, (cap *= 2) + 1);
    ssize_t n = recv(c->fd, all + len, cap - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  all[len] = 0;
  return all;
}

NH_TEST(content_length_over_cap_413_and_close) {
  nh_test_server *ts = nh_test_server_new(capped, NULL, 1);
  reset();
  raw_conn *c = open_conn(ts);
  /* A pipelined request after the refused body must never be served. */
  CHECK_EQ(raw_sends(c->fd, "POST /cap/10 HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n"
                            "0123456789abcdefghij"
                            "GET /cap/0 HTTP/1.1\r\nHost: x\r\n\r\n"),
           0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 413);
  CHECK_STR(r.body, "413 request body too large\n");
  CHECK_STR(raw_header(&r, "Connection"), "close");
  raw_resp_free(&r);
  CHECK(raw_closed(c, 2000));
  CHECK_EQ(atomic_load(&got_err), NH_EBODYTOOLARGE);
  CHECK_EQ(atomic_load(&got_bytes), 0); /* refused before reading */
  CHECK_EQ(atomic_load(&got_hit), 1);
  CHECK_EQ(atomic_load(&calls), 1);
  close_conn(c);
  nh_server_stats st;
  nh_server_stats_get(nh_test_server_server(ts), &st);
  CHECK_EQ(st.requests, 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(expect_continue_over_cap_gets_413_without_100) {
  nh_test_server *ts = nh_test_server_new(capped, NULL, 1);
  reset();
  raw_conn *c = open_conn(ts);
  CHECK_EQ(raw_sends(c->fd, "PUT /cap/100 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Length: 5000000\r\n\r\n"),
           0);
  char *wire = read_to_close(c);
  CHECK(!strncmp(wire, "HTTP/1.1 413 ", 13));
  CHECK(!strstr(wire, "100 Continue"));
  CHECK(!strstr(wire, "HTTP/1.1 100"));
  CHECK_CONTAINS(wire, "Connection: close\r\n");
  CHECK_EQ(atomic_load(&got_err), NH_EBODYTOOLARGE);
  CHECK_EQ(atomic_load(&got_bytes), 0);
  free(wire);
  close_conn(c);
  /* Within the cap, the same request gets its 100 Continue, then 200. */
  reset();
  c = open_conn(ts);
  CHECK_EQ(raw_sends(c->fd, "PUT /cap/100 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Length: 100\r\n\r\n"),
           0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 100);
  raw_resp_free(&r);
  char body[100];
  memset(body, 'b', sizeof body);
  CHECK_EQ(raw_send(c->fd, body, sizeof body), 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "read 100");
  raw_resp_free(&r);
  close_conn(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(exactly_at_cap_succeeds_and_keeps_connection) {
  nh_test_server *ts = nh_test_server_new(capped, NULL, 1);
  raw_conn *c = open_conn(ts);
  raw_resp r;
  for (int round = 0; round < 2; round++) {
    reset();
    CHECK_EQ(raw_sends(c->fd, "POST /cap/10 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
                              "0123456789"),
             0);
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "read 10");
    CHECK(raw_header(&r, "Connection") == NULL);
    raw_resp_free(&r);
    CHECK_EQ(atomic_load(&got_hit), 0);
    /* Chunked, exactly at the cap, in pieces. */
    reset();
    CHECK_EQ(raw_sends(c->fd,
                       "POST /cap/10 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n"),
             0);
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "read 10");
    raw_resp_free(&r);
    CHECK_EQ(atomic_load(&got_hit), 0);
  }
  /* An empty body under a cap of 0. */
  CHECK_EQ(raw_sends(c->fd, "POST /cap/0 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_STR(r.body, "read 0");
  raw_resp_free(&r);
  CHECK(!raw_closed(c, 50));
  close_conn(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(chunked_over_cap_cut_at_cap) {
  nh_test_server *ts = nh_test_server_new(capped, NULL, 1);
  reset();
  raw_conn *c = open_conn(ts);
  CHECK_EQ(raw_sends(c->fd, "POST /cap/10 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n"
                            "GET /cap/0 HTTP/1.1\r\nHost: x\r\n\r\n"),
           0);
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 413);
  CHECK_STR(raw_header(&r, "Connection"), "close");
  raw_resp_free(&r);
  CHECK(raw_closed(c, 2000));
  CHECK_EQ(atomic_load(&got_err), NH_EBODYTOOLARGE);
  CHECK_EQ(atomic_load(&got_bytes), 10); /* up to the cap, not a byte more */
  CHECK_EQ(atomic_load(&calls), 1);
  close_conn(c);
  /* A large chunked upload over a small cap: the 413 still arrives. */
  reset();
  c = open_conn(ts);
  CHECK_EQ(
      raw_sends(c->fd, "POST /cap/1000 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
      0);
  char chunk[4096 + 16];
  int hl = sprintf(chunk, "1000\r\n");
  memset(chunk + hl, 'z', 4096);
  memcpy(chunk + hl + 4096, "\r\n", 2);
  for (int i = 0; i < 16; i++)
    if (raw_send(c->fd, chunk, (size_t)hl + 4096 + 2) != 0)
      break;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 413);
  raw_resp_free(&r);
  CHECK_EQ(atomic_load(&got_bytes), 1000);
  close_conn(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* The handler may answer the error itself; the connection closes anyway
 * (the rest of the body was never read). */
NH_TEST(handler_answer_wins_but_connection_closes) {
  nh_test_server *ts = nh_test_server_new(capped, NULL, 1);
  const char *paths[] = {"/cap/5/own", "/cap/5/ignore"};
  const int want_status[] = {400, 200};
  const char *want_body[] = {"my own answer", "carried on"};
  for (int i = 0; i < 2; i++) {
    reset();
    raw_conn *c = open_conn(ts);
    char req[256];
    snprintf(req, sizeof req,
             "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
             paths[i]);
    CHECK_EQ(raw_sends(c->fd, req), 0);
    raw_resp r;
    CHECK_EQ(raw_read(c, &r, 0), 0);
    CHECK_EQ(r.status, want_status[i]);
    CHECK_STR(r.body, want_body[i]);
    CHECK_STR(raw_header(&r, "Connection"), "close");
    raw_resp_free(&r);
    CHECK(raw_closed(c, 2000));
    CHECK_EQ(atomic_load(&got_bytes), 5);
    CHECK_EQ(atomic_load(&got_err), NH_EBODYTOOLARGE);
    close_conn(c);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

/* Reads return the bytes up to the cap, however the reads split the body;
 * past it every read fails (Go's sticky error), even after the body's end
 * was read. */
static void reads_past(nh_response_writer *w, nh_request *r) {
  nh_request_limit_body(r, 3);
  char got[16];
  size_t total = 0;
  ssize_t n;
  while ((n = nh_request_read(r, got + total, 2)) > 0)
    total += (size_t)n;
  ssize_t again = nh_request_read(r, got, sizeof got);
  nh_resp_printf(w, "%.*s %s %s", (int)total, got, nh_err_name((int)n), nh_err_name((int)again));
}

NH_TEST(limit_error_is_sticky_and_bytes_up_to_cap_are_kept) {
  nh_test_server *ts = nh_test_server_new(reads_past, NULL, 1);
  const char *reqs[] = {
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n1\r\ne\r\n0\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
    raw_resp r = raw_roundtrip(nh_test_server_port(ts), reqs[i]);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "abc NH_EBODYTOOLARGE NH_EBODYTOOLARGE");
    CHECK_STR(raw_header(&r, "Connection"), "close");
    raw_resp_free(&r);
  }
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST_MAIN()
