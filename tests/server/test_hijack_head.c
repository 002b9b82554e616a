/* A hijacked request stays readable: a request that asks for an upgrade
 * gives its connection's read buffer back at the hijack (a WebSocket may
 * stay for hours), and its method, target, path, query, fields and cookies
 * read the same afterwards, strings read before the hijack included; the
 * buffer, back in the loop's pool, is overwritten to make sure nothing
 * still points into it. A request without Upgrade keeps its buffer until
 * its handler returns, readable as well. Either gives its parser's field
 * array back. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

static nh_server *g_srv;
static atomic_int g_done;

#define PAD "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char upgrade_req[] =
    "GET /chat/room%201?name=al%20ice&n=2 HTTP/1.1\r\n"
    "Host: example.test\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Cookie: sid=abc123; theme=dark\r\n"
    "X-Pad: " PAD PAD "\r\n"
    "\r\n"
    "FRAME";

static const char plain_req[] = "GET /plain?n=7 HTTP/1.1\r\n"
                                "Host: example.test\r\n"
                                "X-Pad: " PAD "\r\n"
                                "\r\n";

/* Read buffers kept by the (only) loop's pool: the handler runs on that
 * loop's thread, the only one that touches the pool. */
static int pooled(void) { return g_srv->loops[0].rbufs.n; }
/* The same for the parsers' field arrays. */
static int pooled_fields(void) { return g_srv->loops[0].fields.n; }

/* Overwrites the buffer last given back to the pool (it is LIFO). */
static void scribble_pool(void) {
  nh__bufpool *p = &g_srv->loops[0].rbufs;
  char *b = nh__bufpool_get(p);
  CHECK(b != NULL);
  memset(b, 'Z', p->size);
  nh__bufpool_put(p, b);
}

typedef struct seen {
  const char *method, *target, *path, *query, *host, *pad, *name; /* pointers, as read */
  char *copies[7];                                              /* their values then */
} seen;

static void see(seen *s, nh_request *r) {
  s->method = nh_request_method(r);
  s->target = nh_request_target(r);
  s->path = nh_request_path(r);
  s->query = nh_request_query(r);
  s->host = nh_request_host(r);
  s->pad = nh_header_get(nh_request_header(r), "X-Pad");
  s->name = nh_request_query_value(r, "name");
  if (!s->name)
    s->name = "(none)";
  const char *all[7] = {s->method, s->target, s->path, s->query, s->host, s->pad, s->name};
  for (int i = 0; i < 7; i++) {
    CHECK(all[i] != NULL);
    s->copies[i] = strdup(all[i] ? all[i] : "");
  }
}

/* The pointers read before and the request read again now both give the
 * values of then. */
static void check_same(seen *s, nh_request *r) {
  seen again;
  see(&again, r);
  const char *before[7] = {s->method, s->target, s->path, s->query, s->host, s->pad, s->name};
  for (int i = 0; i < 7; i++) {
    CHECK_STR(before[i], s->copies[i]);
    CHECK_STR(again.copies[i], s->copies[i]);
    free(again.copies[i]);
    free(s->copies[i]);
  }
}

static void upgrade_handler(nh_response_writer *w, nh_request *r) {
  seen s;
  see(&s, r);
  CHECK_STR(s.path, "/chat/room%201");
  CHECK_STR(s.name, "al ice");
  CHECK_STR(s.pad, PAD PAD);
  int before = pooled(), fields_before = pooled_fields();
  int fd;
  char *rest;
  size_t nrest;
  CHECK_EQ(nh_resp_hijack(w, &fd, &rest, &nrest), NH_OK);
  /* The bytes after the head came along (one send: one read here). */
  CHECK(nrest <= 5 && !memcmp(rest, "FRAME", nrest));
  free(rest);
  CHECK_EQ(pooled(), before + 1); /* the read buffer went back */
  CHECK_EQ(pooled_fields(), fields_before + 1); /* and the field array */
  scribble_pool();
  check_same(&s, r);
  /* Parsed only now, from the head's copy. */
  CHECK_STR(nh_request_cookie(r, "sid"), "abc123");
  CHECK_STR(nh_request_cookie(r, "theme"), "dark");
  CHECK_STR(nh_request_query_value(r, "n"), "2");
  CHECK_STR(nh_header_get(nh_request_header(r), "Upgrade"), "websocket");
  atomic_store(&g_done, 1);
  CHECK_EQ(send(fd, "ok", 2, MSG_NOSIGNAL), 2);
  close(fd);
}

static void plain_handler(nh_response_writer *w, nh_request *r) {
  seen s;
  see(&s, r);
  CHECK_STR(s.path, "/plain");
  int before = pooled(), fields_before = pooled_fields();
  int fd;
  CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_OK);
  CHECK_EQ(pooled(), before); /* held until the handler returns */
  CHECK_EQ(pooled_fields(), fields_before + 1); /* no head is parsed any more */
  check_same(&s, r);
  CHECK_STR(nh_request_query_value(r, "n"), "7");
  atomic_store(&g_done, 1);
  CHECK_EQ(send(fd, "ok", 2, MSG_NOSIGNAL), 2);
  close(fd);
}

static void run(nh_handler_fn h, const char *req) {
  atomic_store(&g_done, 0);
  nh_test_server *ts = nh_test_server_new(h, NULL, 1);
  CHECK(ts != NULL);
  g_srv = nh_test_server_server(ts);
  int fd = raw_connect(nh_test_server_port(ts));
  CHECK(raw_sends(fd, req) == 0);
  static raw_conn c;
  c.fd = fd;
  c.len = 0;
  while (c.len < 2 && raw_fill(&c) == 0)
    ;
  CHECK(c.len == 2 && !memcmp(c.buf, "ok", 2));
  CHECK(atomic_load(&g_done));
  close(fd);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
}

NH_TEST(upgrade_request_readable_after_hijack_gave_buffer_back) { run(upgrade_handler, upgrade_req); }

NH_TEST(plain_request_readable_after_hijack) { run(plain_handler, plain_req); }

NH_TEST_MAIN()
