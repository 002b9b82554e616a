/* Go's http.TimeoutHandler.
 *
 * The inner handler runs on a child fiber and writes into a detached
 * writer (memory only). In time: its result is copied to the real writer.
 * At the deadline: the real writer answers 503 and sends it at once, the
 * inner context is cancelled and the detached writer refuses further
 * calls; the wrapper then waits for the inner handler to return, because
 * the request (and its memory) must outlive every handler using it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/status.h"
#include "server/hooks.h"
#include "wrap.h"

#define DEFAULT_TIMEOUT_BODY \
  "<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"

typedef struct timeout_wrap {
  nh__wrap base;
  nh_dur dt;
  char *msg;
} timeout_wrap;

/* The 503, sent now: the client must not wait for the inner handler. Its
 * length is known, so it goes out with a Content-Length. */
static void answer_unavailable(nh_response_writer *w, const char *body) {
  char len[24];
  snprintf(len, sizeof len, "%zu", strlen(body));
  nh_header_set(nh_resp_header(w), "Content-Length", len);
  /* The inner handler may be reading the body right now: the server must
   * not read it too to drain it. Unread, it costs the connection. */
  nh__resp_body_elsewhere(w);
  nh_resp_write_header(w, NH_STATUS_SERVICE_UNAVAILABLE);
  if (*body)
    nh_resp_write(w, body, strlen(body));
  nh_resp_flush(w);
}

static void timeout_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  timeout_wrap *t = (timeout_wrap *)self;
  if (!nh_in_fiber()) {
    nh_handler_serve(t->base.next, w, r);
    return;
  }
  nh_ctx *outer = nh_request_ctx(r), *fiber_ctx = nh_fiber_ctx(), *ctx = NULL;
  nh_response_writer *d = nh__resp_detached(w);
  if (!d || nh_ctx_with_timeout(outer, t->dt, &ctx) != NH_OK) {
    nh_error(w, "Service Unavailable", NH_STATUS_SERVICE_UNAVAILABLE);
    return;
  }
  /* The inner handler sees the limited context as the request's. */
  nh_request_set_ctx(r, ctx);
  nh_fiber_set_ctx(fiber_ctx);
  nh__child *c = nh__child_start(t->base.next, d, r, ctx);
  if (!c) {
    nh_request_set_ctx(r, outer);
    nh_fiber_set_ctx(fiber_ctx);
    nh_ctx_free(ctx);
    nh_error(w, "Service Unavailable", NH_STATUS_SERVICE_UNAVAILABLE);
    return;
  }
  int e = nh__child_wait(c, nh_ctx_deadline(ctx));
  if (e == NH_OK) /* ended just as the deadline passed: late, as Go may see it */
    e = nh_ctx_err(ctx);
  if (e != NH_OK) {
    int err = e == NH_ETIMEDOUT ? NH_ETIMEDOUT : NH_ECANCELED;
    nh__resp_detached_fail(d, err);
    nh_ctx_cancel(ctx);
    answer_unavailable(w, err == NH_ETIMEDOUT ? (t->msg ? t->msg : DEFAULT_TIMEOUT_BODY) : "");
  }
  int returned = nh__child_finish(c, NULL);
  nh_request_set_ctx(r, outer);
  nh_fiber_set_ctx(fiber_ctx);
  nh_ctx_free(ctx);
  if (e == NH_OK && returned)
    nh__resp_detached_copy(d, w);
  nh__resp_detached_end(d); /* a handler that kept it gets an error */
  if (e == NH_OK && !returned)
    nh_panic("panic in a handler under nh_timeout_handler"); /* Go re-panics */
}

static void timeout_release(nh__wrap *self) { free(((timeout_wrap *)self)->msg); }

nh_handler nh_timeout_handler(nh_handler h, nh_dur dt, const char *msg) {
  timeout_wrap *t = nh__wrap_new(sizeof *t, h, timeout_serve, timeout_release);
  if (!t)
    return NH_HANDLER(NULL, NULL);
  t->dt = dt;
  if (msg && !(t->msg = strdup(msg))) {
    free(t);
    return NH_HANDLER(NULL, NULL);
  }
  return nh__wrap_handler(t);
}

nh_handler nh_mw_timeout(nh_handler next, const void *cfg) {
  const nh_timeout_config *c = cfg;
  return nh_timeout_handler(next, c->dt, c->msg);
}
