/* The same handlers over HTTP/1.1, HTTP/1.1+TLS, h2c and h2 (see
 * test_protocols.c for the table): the server's timeouts as the handler
 * meets them. The timeouts are short, but the cases wait for the event
 * they cause (the handler's failed read or write), never for a span of
 * time, so a slow machine only makes them take longer.
 *
 *   read_timeout    a body that stops coming: the handler's read fails
 *                   with NH_ETIMEDOUT: same
 *   write_timeout   a client that does not read a large body: the
 *                   handler's write fails with NH_ETIMEDOUT: same
 *
 * nh_server_stats counts each timeout (timeouts_read, timeouts_write) once,
 * over every protocol. */
#include "protocols.h"

#include <pthread.h>

static nh_sem *client_may_go, *handler_done;
static _Atomic int handler_err; /* written by the handler, read by the test */
static _Atomic long long handler_bytes;

static nh_time soon(void) { return nh_deadline_after(20 * NH_SEC); }

static void handler(nh_response_writer *w, nh_request *r) {
  pt_check_proto(r);
  const char *path = nh_request_path(r);
  if (!strcmp(path, "/read")) {
    char buf[4096];
    ssize_t n;
    long long got = 0;
    while ((n = nh_request_read(r, buf, sizeof buf)) > 0)
      got += n;
    handler_bytes = got;
    handler_err = (int)n;
    nh_sem_release(handler_done);
    nh_error(w, "body timed out", 408);
  } else if (!strcmp(path, "/write")) {
    static char chunk[64 * 1024];
    memset(chunk, 'w', sizeof chunk);
    long long sent = 0;
    ssize_t n = 0;
    while (sent < (256LL << 20) && (n = nh_resp_write(w, chunk, sizeof chunk)) > 0)
      sent += n;
    if (n > 0)
      n = nh_resp_flush(w);
    handler_bytes = sent;
    handler_err = (int)n;
    nh_sem_release(handler_done);
  } else {
    nh_resp_write_string(w, "ok");
  }
}

/* The request body: a few bytes, then nothing until the handler has
 * given up on it, then the end. */
static ssize_t stalling_body(void *arg, void *buf, size_t cap) {
  int *calls = arg;
  if ((*calls)++ == 0) {
    memcpy(buf, "abc", cap < 3 ? cap : 3);
    return cap < 3 ? (ssize_t)cap : 3;
  }
  CHECK_EQ(nh_sem_acquire(client_may_go, soon()), 0);
  return 0;
}

typedef struct call {
  pt_env *e;
  nh_client_request *req;
  pt_result r;
} call;

static void *do_call(void *arg) {
  call *c = arg;
  c->r = pt_do(c->e, c->req);
  return NULL;
}

NH_TEST(read_timeout) {
  client_may_go = nh_sem_new(0);
  handler_done = nh_sem_new(0);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.read_timeout = 500 * NH_MSEC;
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, &cfg);
    handler_err = 0;
    nh_client_request *req = pt_request(&e, "POST", "/read");
    int calls = 0;
    CHECK_EQ(nh_client_request_set_body_reader(req, stalling_body, NULL, &calls, -1), 0);
    /* The client sends from its own thread; the handler's verdict comes
     * first, and only then does the body end. */
    pthread_t t;
    call c = {.e = &e, .req = req};
    CHECK_EQ(pthread_create(&t, NULL, do_call, &c), 0);
    CHECK_EQ(nh_sem_acquire(handler_done, soon()), 0);
    CHECK_EQ(handler_err, NH_ETIMEDOUT);
    CHECK(handler_bytes <= 3);
    nh_sem_release(client_may_go);
    CHECK_EQ(pthread_join(t, NULL), 0);
    /* The handler's 408 reaches the client once its body ends. Over
     * HTTP/1.1 the server closes the connection after it, so the
     * client's last chunk may meet a reset before it reads the answer. */
    if (c.r.err == 0) {
      CHECK_EQ(c.r.status, 408);
      CHECK_STR(c.r.body, "body timed out\n");
    } else {
      CHECK(!pt_is_h2(p));
      CHECK(c.r.err == NH_ECONNRESET || c.r.err == NH_EPIPE);
    }
    pt_result_free(&c.r);
    nh_client_request_free(req);
    /* The server still answers (on this connection or a new one). */
    pt_result r = pt_get(&e, "/ok");
    CHECK_STR(r.body, "ok");
    pt_result_free(&r);
    nh_server_stats st;
    nh_server_stats_get(nh_test_server_server(e.ts), &st);
    CHECK_EQ(st.timeouts_read, 1);
    pt_stop(&e);
  }
  nh_sem_free(client_may_go);
  nh_sem_free(handler_done);
}

NH_TEST(write_timeout) {
  handler_done = nh_sem_new(0);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.write_timeout = NH_SEC;
  PT_FOR_EACH_PROTO(p) {
    pt_env e;
    pt_start(&e, p, handler, &cfg);
    handler_err = 0;
    nh_client_request *req = pt_request(&e, "GET", "/write");
    nh_response *resp;
    int err = nh_client_do(e.c, req, &resp);
    /* The client reads nothing of the body: the handler's writes fill
     * the socket buffers (HTTP/1.1) or the flow-control windows (HTTP/2)
     * and then wait until the write deadline. */
    CHECK_EQ(nh_sem_acquire(handler_done, soon()), 0);
    CHECK_EQ(handler_err, NH_ETIMEDOUT);
    CHECK(handler_bytes < (256LL << 20));
    if (err == 0) {
      CHECK_EQ(nh_response_status(resp), 200);
      nh_response_close(resp);
    }
    nh_client_request_free(req);
    pt_result r = pt_get(&e, "/ok");
    CHECK_STR(r.body, "ok");
    pt_result_free(&r);
    nh_server_stats st;
    nh_server_stats_get(nh_test_server_server(e.ts), &st);
    CHECK_EQ(st.timeouts_write, 1);
    pt_stop(&e);
  }
  nh_sem_free(handler_done);
}

NH_TEST_MAIN()
