/* The same handlers over HTTP/1.1, HTTP/1.1+TLS, h2c and h2 (see
 * test_protocols.c for the table): the cases about the order of events
 * between a handler and its client. Each waits for events (semaphores the
 * other side releases), never for a span of time; every wait has a
 * deadline far beyond what a busy machine needs, so a lost event fails
 * the case instead of hanging it.
 *
 *   flush_timing           the client reads part one before the handler
 *                          writes part two: same
 *   panics                 before writing: HTTP/1.1 answers 500, HTTP/2
 *                          resets the stream (the client gets
 *                          NH_ECONNRESET, no status); after a flush: the
 *                          body is cut short (the read fails) on all
 *                          four; the next request works
 *   context_cancelled_when_client_goes   the handler's context ends once
 *                          the client closes the response unread: same
 *   shutdown_with_request_in_flight      the request in flight completes;
 *                          the next one finds no server: same */
#include "protocols.h"

#include <pthread.h>

static nh_sem *sem_a, *sem_b;
static _Atomic int handler_err; /* written by the handler, read by the test */

static nh_time soon(void) { return nh_deadline_after(20 * NH_SEC); }

static void handler(nh_response_writer *w, nh_request *r) {
  pt_check_proto(r);
  const char *path = nh_request_path(r);
  if (!strcmp(path, "/flush")) {
    nh_resp_write_string(w, "part one|");
    CHECK_EQ(nh_resp_flush(w), 0);
    /* The client releases sem_a only once it has read part one. */
    if (nh_sem_acquire(sem_a, soon()) != 0)
      nh_resp_write_string(w, "LATE: the client never saw part one");
    else
      nh_resp_write_string(w, "part two");
  } else if (!strcmp(path, "/panic-early")) {
    nh_panic("handler panics before writing");
  } else if (!strcmp(path, "/panic-late")) {
    nh_resp_write_string(w, "partial");
    CHECK_EQ(nh_resp_flush(w), 0);
    nh_panic("handler panics after a flush");
  } else if (!strcmp(path, "/wait-ctx")) {
    nh_resp_write_string(w, "head");
    CHECK_EQ(nh_resp_flush(w), 0);
    nh_sem_release(sem_a); /* started */
    nh_ctx *ctx = nh_request_ctx(r);
    for (int i = 0; i < 20000 && nh_ctx_err(ctx) == 0; i++)
      nh_sleep(NH_MSEC);
    handler_err = nh_ctx_err(ctx);
    nh_sem_release(sem_b); /* done */
  } else if (!strcmp(path, "/slow")) {
    nh_sem_release(sem_a); /* started */
    if (nh_sem_acquire(sem_b, soon()) != 0)
      nh_resp_write_string(w, "never released");
    else
      nh_resp_write_string(w, "finished during shutdown");
  } else {
    nh_resp_write_string(w, "ok");
  }
}

static void sems_new(void) {
  sem_a = nh_sem_new(0);
  sem_b = nh_sem_new(0);
  handler_err = 0;
}
static void sems_free(void) {
  nh_sem_free(sem_a);
  nh_sem_free(sem_b);
}

NH_TEST(flush_timing) {
  sems_new();
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    nh_client_request *req = pt_request(&e, "GET", "/flush");
    nh_response *resp;
    CHECK_EQ(nh_client_do(e.c, req, &resp), 0);
    CHECK_STR(nh_response_proto(resp), pt_proto(p));
    CHECK_EQ(nh_response_status(resp), 200);
    CHECK_EQ(nh_response_content_length(resp), -1);
    char buf[128];
    size_t len = 0;
    while (len < 9) {
      ssize_t n = nh_response_read(resp, buf + len, sizeof buf - 1 - len);
      CHECK(n > 0);
      len += (size_t)n;
    }
    buf[len] = 0;
    CHECK_STR(buf, "part one|"); /* and nothing of part two yet */
    nh_sem_release(sem_a);
    ssize_t n;
    while ((n = nh_response_read(resp, buf + len, sizeof buf - 1 - len)) > 0)
      len += (size_t)n;
    CHECK_EQ(n, 0);
    buf[len] = 0;
    CHECK_STR(buf, "part one|part two");
    nh_response_close(resp);
    nh_client_request_free(req);
    pt_stop(&e);
  }
  sems_free();
}

NH_TEST(panics) {
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    /* Nothing written yet. HTTP/1.1: the server still owns the head and
     * answers 500. HTTP/2: the stream is reset (INTERNAL_ERROR, as Go's
     * HTTP/2 server does), so the client gets an error and no status. */
    pt_result r = pt_get(&e, "/panic-early");
    if (pt_is_h2(p)) {
      CHECK_EQ(r.err, NH_ECONNRESET);
    } else {
      CHECK_EQ(r.err, 0);
      CHECK_EQ(r.status, 500);
    }
    pt_result_free(&r);
    /* After a flush the head is gone: the body is cut short, and the
     * client must not take what it got for a whole body. */
    nh_client_request *req = pt_request(&e, "GET", "/panic-late");
    nh_response *resp;
    CHECK_EQ(nh_client_do(e.c, req, &resp), 0);
    CHECK_EQ(nh_response_status(resp), 200);
    char buf[64];
    size_t len = 0;
    ssize_t n;
    while ((n = nh_response_read(resp, buf + len, sizeof buf - 1 - len)) > 0)
      len += (size_t)n;
    buf[len] = 0;
    CHECK_STR(buf, "partial");
    /* HTTP/1.1: the chunked body ends without its last chunk; HTTP/2:
     * RST_STREAM. Both read as a reset. */
    CHECK_EQ(n, NH_ECONNRESET);
    nh_response_close(resp);
    nh_client_request_free(req);
    /* The server goes on serving this client. */
    r = pt_get(&e, "/other");
    CHECK_EQ(r.err, 0);
    CHECK_STR(r.body, "ok");
    pt_result_free(&r);
    nh_server_stats st;
    nh_server_stats_get(nh_test_server_server(e.ts), &st);
    CHECK_EQ(st.handler_panics, 2);
    pt_stop(&e);
  }
}

NH_TEST(context_cancelled_when_client_goes) {
  sems_new();
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    nh_client_request *req = pt_request(&e, "GET", "/wait-ctx");
    nh_response *resp;
    CHECK_EQ(nh_client_do(e.c, req, &resp), 0);
    CHECK_EQ(nh_response_status(resp), 200);
    CHECK_EQ(nh_sem_acquire(sem_a, soon()), 0); /* the handler waits on its context */
    CHECK_EQ(handler_err, 0);
    /* The client goes away with the body unread: HTTP/1.1 closes the
     * connection (after a short drain finds no end), HTTP/2 resets the
     * stream. */
    nh_response_close(resp);
    nh_client_request_free(req);
    CHECK_EQ(nh_sem_acquire(sem_b, soon()), 0);
    CHECK_EQ(handler_err, NH_ECANCELED);
    handler_err = 0;
    pt_stop(&e);
  }
  sems_free();
}

typedef struct shutdown_call {
  nh_server *srv;
  int rc;
} shutdown_call;

static void *do_shutdown(void *arg) {
  shutdown_call *sc = arg;
  sc->rc = nh_server_shutdown(sc->srv, soon());
  return NULL;
}

static nh_sem *shutdown_started;
static void on_shutdown(void *arg) {
  (void)arg;
  nh_sem_release(shutdown_started);
}

typedef struct fetch_call {
  pt_env *e;
  pt_result r;
} fetch_call;

static void *do_fetch(void *arg) {
  fetch_call *fc = arg;
  fc->r = pt_get(fc->e, "/slow");
  return NULL;
}

NH_TEST(shutdown_with_request_in_flight) {
  sems_new();
  shutdown_started = nh_sem_new(0);
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, NULL);
    nh_server *srv = nh_test_server_server(e.ts);
    CHECK_EQ(nh_server_on_shutdown(srv, on_shutdown, NULL), 0);
    /* A first exchange, so the request in flight rides a connection that
     * already carried one. */
    pt_result r = pt_get(&e, "/first");
    CHECK_STR(r.body, "ok");
    pt_result_free(&r);
    fetch_call fc = {.e = &e};
    pthread_t ft, st;
    CHECK_EQ(pthread_create(&ft, NULL, do_fetch, &fc), 0);
    CHECK_EQ(nh_sem_acquire(sem_a, soon()), 0); /* in the handler */
    shutdown_call sc = {srv, -1};
    CHECK_EQ(pthread_create(&st, NULL, do_shutdown, &sc), 0);
    CHECK_EQ(nh_sem_acquire(shutdown_started, soon()), 0);
    nh_sem_release(sem_b); /* the handler may finish now */
    CHECK_EQ(pthread_join(ft, NULL), 0);
    CHECK_EQ(pthread_join(st, NULL), 0);
    /* The request in flight completed whole, and shutdown was clean. */
    CHECK_EQ(fc.r.err, 0);
    CHECK_EQ(fc.r.status, 200);
    CHECK_EQ(fc.r.body_err, 0);
    CHECK_STR(fc.r.body, "finished during shutdown");
    CHECK_EQ(sc.rc, 0);
    nh_transport_stats ts;
    nh_transport_stats_get(e.t, &ts);
    CHECK_EQ(ts.dials, 1);
    /* The connection was not pooled again: HTTP/1.1 said so with
     * "Connection: close", HTTP/2 with GOAWAY (a connection field is not
     * allowed there, RFC 9113 8.2.2). */
    CHECK_STR(pt_field(&fc.r, "Connection"), pt_is_h2(p) ? "" : "close");
    for (int i = 0; i < 10000 && (ts.idle_now || ts.open_now); i++) {
      nh_sleep(NH_MSEC);
      nh_transport_stats_get(e.t, &ts);
    }
    CHECK_EQ(ts.idle_now, 0);
    CHECK_EQ(ts.open_now, 0);
    /* The connection did not go back to the pool for another request:
     * the next one dials, and finds no listener. */
    r = pt_get(&e, "/after");
    CHECK_EQ(r.err, NH_ECONNREFUSED);
    pt_result_free(&r);
    pt_result_free(&fc.r);
    pt_stop(&e);
  }
  nh_sem_free(shutdown_started);
  sems_free();
}

NH_TEST_MAIN()
