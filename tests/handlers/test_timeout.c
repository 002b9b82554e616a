/* nh_timeout_handler over real sockets: a fast handler's own answer, a
 * slow one's 503 at the deadline with its context cancelled and its late
 * writes refused, the connection still usable, and a panic raised again. */
#include <stdatomic.h>

#include "support.h"

static int64_t ms_since(struct timespec t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

static atomic_int slow_sleep_result = 1, slow_write_result = 1, slow_flush_result = 1,
                  slow_done, saw_deadline;

static void inner(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  saw_deadline = nh_ctx_deadline(nh_request_ctx(r)) != NH_NO_DEADLINE;
  if (!strcmp(p, "/fast")) {
    nh_header_set(nh_resp_header(w), "X-Inner", "yes");
    nh_resp_write_header(w, 201);
    nh_resp_write_string(w, "fast");
    nh_header_set(nh_resp_header(w), "X-After", "copied too"); /* Go copies the map at the end */
    slow_flush_result = nh_resp_flush(w);
  } else if (!strcmp(p, "/slow")) {
    nh_resp_write_string(w, "never seen");
    slow_sleep_result = nh_sleep(5 * NH_SEC); /* ends when its context does */
    slow_write_result = (int)nh_resp_write_string(w, "too late");
    atomic_store(&slow_done, 1);
  } else if (!strcmp(p, "/stubborn")) {
    /* Ignores its context: the client must not wait for it anyway. */
    nh_ctx *ctx = nh_fiber_ctx();
    nh_fiber_set_ctx(NULL);
    nh_sleep(3 * NH_SEC);
    nh_fiber_set_ctx(ctx);
    slow_write_result = (int)nh_resp_write_string(w, "too late");
    atomic_store(&slow_done, 2);
  } else if (!strcmp(p, "/panic")) {
    nh_panic("deliberate panic under a timeout handler");
  }
}

NH_TEST(timeout_fast_and_slow) {
  nh_handler th = nh_timeout_handler(NH_HANDLER(inner, NULL), 300 * NH_MSEC, "too slow, sorry");
  CHECK(th.fn);
  nh_test_server *ts = serve_handler(th, 1);
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(nh_test_server_port(ts));
  raw_resp r;

  CHECK(raw_sends(c->fd, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 201);
  CHECK_STR(r.body, "fast");
  CHECK_STR(raw_header(&r, "X-Inner"), "yes");
  CHECK_STR(raw_header(&r, "X-After"), "copied too");
  CHECK_STR(raw_header(&r, "Content-Length"), "4");
  CHECK_EQ(slow_flush_result, NH_ENOTSUP);
  CHECK(saw_deadline);
  raw_resp_free(&r);

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(raw_sends(c->fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  int64_t took = ms_since(t0);
  CHECK_EQ(r.status, 503);
  CHECK_STR(r.body, "too slow, sorry");
  CHECK(took >= 290 && took < 4000); /* the deadline, not the inner's 5 s sleep */
  raw_resp_free(&r);
  /* The inner handler saw its context end at once, and its write failed. */
  CHECK_SOON(atomic_load(&slow_done));
  CHECK(slow_sleep_result == NH_ECANCELED || slow_sleep_result == NH_ETIMEDOUT);
  CHECK_EQ(slow_write_result, NH_ETIMEDOUT);

  /* A handler that ignores its context: the 503 still goes at the
   * deadline, and the connection serves the next request after it ends. */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(raw_sends(c->fd, "GET /stubborn HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  took = ms_since(t0);
  CHECK_EQ(r.status, 503);
  /* At the deadline: before the handler's 3 s are over. */
  CHECK(took >= 290);
  CHECK(atomic_load(&slow_done) != 2);
  raw_resp_free(&r);

  /* Same connection, next request. */
  CHECK(raw_sends(c->fd, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 201);
  CHECK_EQ(atomic_load(&slow_done), 2);
  CHECK_EQ(slow_write_result, NH_ETIMEDOUT);
  raw_resp_free(&r);
  CHECK(!raw_closed(c, 50));
  close(c->fd);
  free(c);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(th);
}

NH_TEST(timeout_default_body) {
  nh_handler th = nh_timeout_handler(NH_HANDLER(inner, NULL), 50 * NH_MSEC, NULL);
  nh_test_server *ts = serve_handler(th, 1);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 503);
  CHECK_CONTAINS(r.body, "<title>Timeout</title>");
  CHECK_CONTAINS(raw_header(&r, "Content-Type"), "text/html");
  raw_resp_free(&r);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_handler_free(th);
}

/* A panic inside is raised again outside (Go does the same): a recoverer
 * around it answers 500, and the server goes on. */
NH_TEST(timeout_panic_reaches_recoverer) {
  capture_log *log = capture_new();
  nh_chain *ch = nh_chain_new();
  nh_timeout_config tc = {30 * NH_SEC, "slow"}; /* the panic comes first, however slow its backtrace */
  CHECK_EQ(nh_chain_use(ch, nh_mw_recover, log), NH_OK);
  CHECK_EQ(nh_chain_use(ch, nh_mw_timeout, &tc), NH_OK);
  nh_handler h = nh_chain_then(ch, NH_HANDLER(inner, NULL));
  CHECK(h.fn);
  nh_test_server *ts = serve_handler(h, 1);
  raw_resp r = raw_roundtrip(nh_test_server_port(ts), "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 500);
  raw_resp_free(&r);
  r = raw_roundtrip(nh_test_server_port(ts), "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 201);
  raw_resp_free(&r);
  CHECK_EQ(nh_recover_panics(h), 1);
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_chain_free(ch);
  capture_free(log);
}

NH_TEST_MAIN()
