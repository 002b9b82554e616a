/* A connection's turns: while it has request bytes, on a fiber; between
 * them, with no fiber, no buffer and no context.
 *
 *   accept or readable -> fiber: TLS handshake (new HTTPS connection) ->
 *   the protocol's turn (nh__h1_serve): it reads heads and calls back
 *   serve_request for each one, which runs the exchange (exchange.c) under
 *   the connection's context -> the turn ends idle (wait with
 *   nh_fd_on_readable and a timer: read-header timeout for a new
 *   connection, idle timeout after a response), closed or hijacked.
 *
 * The protocol reaches the server only through the nh__h1_host set up
 * here; this file is where the two meet. A new connection that speaks
 * HTTP/2 goes to conn_h2.c instead. */
#include "exchange.h"
#include "internal.h"
#include "tls_io.h"

#include <stdlib.h>
#include <string.h>

#include "nethttp/status.h"

/* What one turn of a connection keeps on its fiber's stack. */
typedef struct turn {
  nh__sconn *c;
  nh__h1_sconn hc;
  nh__exchange x;
} turn;

#define CONN_OF_LINK(l) nh__container_of((l), nh__sconn, h1)
#define SRV_OF_HOST(h) nh__container_of((h), nh_server, h1)

/* ---- waiting without a fiber ---- */

static void conn_serve(void *arg);

void nh__sconn_spawn(nh__sconn *c) {
  c->has_fiber = 1;
  if (nh__fiber_spawn(c->sl->loop, conn_serve, c) != NH_OK) {
    c->has_fiber = 0;
    nh__sconn_free(c);
  }
}

static void conn_timer_fired(nh__timer *t) {
  nh__sconn *c = nh__container_of(t, nh__sconn, timer);
  if (c->has_fiber)
    return; /* serving again: its fiber's deadlines apply; conn_wait re-arms */
  if (c->deadline > t->when) { /* armed for an earlier wait: wait on */
    nh__timer_start(c->sl->loop, t, c->deadline);
    return;
  }
  if (c->state == NH_CONN_IDLE)
    NH__STAT_INC(c->srv, st_to_idle);
  else
    NH__STAT_INC(c->srv, st_to_header);
  nh__sconn_close_why(c, c->state == NH_CONN_IDLE ? NH_CLOSE_TIMEOUT_IDLE
                                                  : NH_CLOSE_TIMEOUT_HEADER);
  nh__sconn_free(c);
}

/* The wait's timer stays armed: it does nothing while a fiber serves, and
 * the next wait moves its deadline only later, where the timer, firing,
 * re-arms itself (conn_timer_fired). Keep-alive requests then cost no
 * timer heap operation. */
static void conn_readable(nh_fd *f, void *arg) { nh__sconn_spawn(arg); }

/* The connection's serving context, for its next turn: one taken from the
 * loop's pool when its parent is the server's base (see nh__srv_loop),
 * else a new one. */
static int conn_ctx_get(nh__sconn *c) {
  nh__srv_loop *sl = c->sl;
  if (c->user_ctx == c->srv->base && sl->nfree_ctxs) {
    c->ctx = sl->free_ctxs[--sl->nfree_ctxs];
    return NH_OK;
  }
  if (nh_ctx_with_cancel(c->user_ctx, &c->ctx) != NH_OK) {
    c->ctx = NULL;
    return NH_ENOMEM;
  }
  return NH_OK;
}

/* Back to the pool if nothing else holds it and nothing cancelled it (a
 * hangup or a shutdown did: then it is freed). */
static void conn_ctx_put(nh__sconn *c) {
  nh__srv_loop *sl = c->sl;
  if (c->ctx && c->user_ctx == c->srv->base && sl->nfree_ctxs < NH__MAX_FREE_CTXS &&
      nh__ctx_reusable(c->ctx))
    sl->free_ctxs[sl->nfree_ctxs++] = c->ctx;
  else
    nh_ctx_free(c->ctx);
  c->ctx = NULL;
}

/* No fiber, no buffer, no context: a timer and a readiness callback. */
static void conn_wait(nh__sconn *c) {
  nh_server *srv = c->srv;
  conn_ctx_put(c);
  nh_dur limit;
  if (c->state == NH_CONN_NEW) {
    nh__sconn_list_move(c, &c->sl->reading);
    limit = srv->cfg.read_header_timeout;
  } else {
    nh__sconn_set_state(c, NH_CONN_IDLE);
    nh__sconn_list_move(c, &c->sl->idle);
    limit = srv->cfg.idle_timeout;
  }
  if (limit >= 0) {
    c->deadline = nh__loop_deadline(c->sl->loop, limit);
    c->timer.cb = conn_timer_fired;
    if (!nh__timer_armed(&c->timer) || c->timer.when > c->deadline)
      nh__timer_start(c->sl->loop, &c->timer, c->deadline);
  } else if (nh__timer_armed(&c->timer)) {
    nh__timer_stop(c->sl->loop, &c->timer);
  }
  if (nh_fd_on_readable(c->h1.io.fd, conn_readable, c) != NH_OK)
    nh__sconn_free(c);
}

/* ---- the HTTP/1 host: what the protocol calls ---- */

static void host_count(const nh__h1_host *h, int event) {
  nh_server *srv = SRV_OF_HOST(h);
  switch (event) {
  case NH__H1_EV_BAD: NH__STAT_INC(srv, st_bad); break;
  case NH__H1_EV_TIMEOUT_HEADER: NH__STAT_INC(srv, st_to_header); break;
  case NH__H1_EV_TIMEOUT_READ: NH__STAT_INC(srv, st_to_read); break;
  case NH__H1_EV_TIMEOUT_WRITE: NH__STAT_INC(srv, st_to_write); break;
  case NH__H1_EV_DRAINED: NH__STAT_INC(srv, st_drained); break;
  case NH__H1_EV_TOO_LARGE: NH__STAT_INC(srv, st_too_large_closed); break;
  }
}

static void host_head_started(nh__h1_link *l) {
  nh__sconn *c = CONN_OF_LINK(l);
  nh__sconn_set_state(c, NH_CONN_ACTIVE);
  if (c->list)
    nh__sconn_list_move(c, &c->sl->reading);
}

static void host_hijacked(nh__h1_link *l, int fd, nh_tls_conn *tls) {
  nh__sconn_hijacked(CONN_OF_LINK(l), fd, tls);
}

static void client_gone(nh_fd *f, void *arg) {
  nh__sconn *c = arg;
  nh__sconn_close_why(c, NH_CLOSE_CLIENT);
  if (c->ctx)
    nh_ctx_cancel(c->ctx); /* the handler's blocking calls end at once */
}

/* "METHOD /path" for dumps and the watchdog, written straight into the
 * fiber's label (the method's length is the protocol's). */
static void set_label(const nh_request *r, uint32_t mlen) {
  nh__fiber_set_label2(r->method, mlen > 16 ? 16 : mlen, r->path, strlen(r->path));
}

static int serve_request(nh__h1_sconn *hc, const nh__req_head *head) {
  turn *t = hc->owner;
  nh__sconn *c = t->c;
  nh_server *srv = c->srv;
  NH__STAT_INC(srv, st_requests);
  int status = nh__exchange_begin(&t->x, head);
  if (status) {
    NH__STAT_INC(srv, st_bad);
    nh__h1_send_error(hc, status, "malformed request target");
    return NH__H1_CLOSE;
  }
  nh__sconn_list_move(c, &c->sl->active);
  /* The handler's blocking calls run under the connection's context (a
   * client that leaves, or a shutdown deadline, cancels it); the request's
   * own context is made only if the handler asks for it. */
  if (!c->ctx && conn_ctx_get(c) != NH_OK) {
    nh__sconn_close_why(c, NH_CLOSE_ERROR);
    nh__exchange_meter_end(&t->x, NH_STATUS_SERVICE_UNAVAILABLE);
    t->x.req.magic = t->x.resp.magic = NH__DEAD_MAGIC;
    nh__h1_send_error(hc, NH_STATUS_SERVICE_UNAVAILABLE, "out of memory");
    return NH__H1_CLOSE;
  }
  t->x.conn_ctx = c->ctx;
  nh_fiber_set_ctx(c->ctx);
  if (c->h1.io.fd)
    nh_fd_on_hangup(c->h1.io.fd, client_gone, c);
  set_label(&t->x.req, head->method_len);

  nh__fiber_handler_enter(); /* watched for long parks (leak_watch.c) */
  srv->cfg.handler(&t->x.resp, &t->x.req);
  nh__fiber_handler_leave();

  if (c->h1.io.fd && !t->x.resp.hijacked)
    nh_fd_on_hangup(c->h1.io.fd, NULL, NULL);
  int r = nh__exchange_end(&t->x);
  return r == NH__X_HIJACKED ? NH__H1_HIJACKED : r == NH__X_KEEP ? NH__H1_KEEP : NH__H1_CLOSE;
}

void nh__sconn_h1_host_init(nh_server *srv) {
  nh__h1_host *h = &srv->h1;
  h->max_header_bytes = srv->cfg.max_header_bytes;
  h->max_body_drain = srv->cfg.max_body_drain;
  h->read_header_timeout = srv->cfg.read_header_timeout;
  h->read_timeout = srv->cfg.read_timeout;
  h->log = srv->log;
  h->stopping = &srv->shutting_down;
  h->count = host_count;
  h->head_started = host_head_started;
  h->serve = serve_request;
  h->hijacked = host_hijacked;
}

/* ---- a turn ---- */

/* A handler called nh_panic: answer 500 if nothing was sent, then drop the
 * connection (its state is unknown). Runs on the dying fiber. */
static void turn_panicked(void *arg) {
  turn *t = arg;
  nh__sconn *c = t->c;
  NH__STAT_INC(c->srv, st_panics);
  nh__sconn_close_why(c, NH_CLOSE_PANIC);
  nh__exchange_panicked(&t->x);
  nh__h1_sconn_dispose(&t->hc);
  c->has_fiber = 0;
  if (c->state == NH_CONN_HIJACKED) {
    if (nh__timer_armed(&c->timer))
      nh__timer_stop(c->sl->loop, &c->timer);
    return; /* its owners' now: see conn_hijack.c, whose panic hook runs next */
  }
  nh__sconn_free(c);
}

/* What a connection does before its first HTTP/1 turn, and HTTP/2, in
 * frames of their own (noinline: link-time optimization would otherwise
 * merge them into conn_serve). conn_serve's frame stays under every
 * handler for as long as it runs, a WebSocket's for hours: it should hold
 * the turn and nothing else. */
__attribute__((noinline)) static int conn_open(nh__sconn *c) {
  nh_server *srv = c->srv;
  /* A PROXY header comes before anything else, TLS included. */
  if (NH__UNLIKELY(c->proxy_pending) &&
      (nh__sconn_proxy_read(c) != NH_OK || nh__sconn_address_final(c) != NH_OK))
    return -1;
  if (NH__UNLIKELY(srv->cfg.tls) && !c->h1.io.tls && nh__tls_io_handshake(c) != NH_OK)
    return -1;
  return 0;
}

__attribute__((noinline)) static void serve_h2(nh__sconn *c) { nh__sconn_serve_h2(c); }

__attribute__((noinline)) static void tls_close(nh__sconn *c) { nh__tls_io_close(c); }

static void conn_serve(void *arg) {
  nh__sconn *c = arg;
  nh_server *srv = c->srv;
  nh__srv_loop *sl = c->sl;
  if (NH__UNLIKELY(c->proxy_pending || srv->cfg.tls) && conn_open(c) != 0) {
    c->has_fiber = 0;
    nh__sconn_free(c);
    return;
  }
  /* HTTP/2: ALPN "h2", or the preface on a plain listener with h2c on. */
  if (NH__UNLIKELY(c->h1.io.tls || srv->cfg.http2.h2c) && nh__sconn_wants_h2(c)) {
    serve_h2(c);
    return;
  }
  turn t;
  t.c = c;
  if (nh__h1_sconn_init(&t.hc, &srv->h1, &c->h1, sl->loop, &sl->rbufs, &sl->fields) != NH_OK) {
    c->has_fiber = 0;
    nh__sconn_free(c);
    return;
  }
  t.hc.owner = &t;
  nh__exchange_init(&t.x, &t.hc.base, &sl->xenv);
  t.x.remote = c->h1.remote;
  t.x.conn = c;
  t.x.req_ctx_out = &c->req_ctx;
  nh__fiber_on_panic(turn_panicked, &t);
  int outcome = nh__h1_serve(&t.hc);
  nh__fiber_on_panic(NULL, NULL);
  nh__h1_sconn_dispose(&t.hc);
  nh__exchange_dispose(&t.x);
  c->has_fiber = 0;
  /* During a shutdown a connection that has not sent its first request
   * yet waits too: shutdown closes it once it is a moment old (conn.c). */
  if (outcome == NH__H1_IDLE && c->h1.io.fd &&
      (!atomic_load(&srv->shutting_down) || (c->state == NH_CONN_NEW && !atomic_load(&srv->closed)))) {
    conn_wait(c);
    return;
  }
  /* No more waits: an earlier wait's timer, still armed, must not fire. */
  if (nh__timer_armed(&c->timer))
    nh__timer_stop(c->sl->loop, &c->timer);
  if (outcome == NH__H1_HIJACKED)
    return; /* the handler owns it now; the record stays for close */
  nh__sconn_close_why(c, atomic_load(&srv->shutting_down) ? NH_CLOSE_SHUTDOWN : NH_CLOSE_DONE);
  if (c->h1.io.tls && c->h1.io.fd)
    tls_close(c); /* close_notify, from the fiber: it may wait */
  nh__sconn_free(c);
}
