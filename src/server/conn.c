/* Connections, from accept to close.
 *
 * A connection holds a fiber only while it has request bytes to deal with.
 *
 *   accept -> fiber: read what is there
 *     no byte yet / keep-alive with nothing buffered -> give the fiber and
 *       the read buffer back; wait with nh_fd_on_readable and a timer
 *       (read-header timeout for a new connection, idle timeout after a
 *       response). Bytes arriving take a fiber again.
 *     head bytes -> read until the head is complete (read-header deadline)
 *       -> run the handler -> finish the response -> drain the body
 *       -> keep-alive: next request (pipelined bytes first) or idle; else
 *          close.
 *
 * Each loop keeps its connections in three lists, oldest first: idle,
 * reading (new, or a head not yet complete) and active. When connections or
 * descriptors run out (admit.c), the server's oldest idle connection is
 * closed first, then the one stuck longest reading its head: slow clients
 * cannot lock out the others. Only this loop's thread touches its lists;
 * idle_since tells the other loops' acceptors how old its oldest idle one
 * is. */
#include "exchange.h"
#include "tls_io.h"
#include "runtime/netpoll_internal.h"
#include "nethttp/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- lists ---- */

/* The idle list's head changed: tell the acceptors (see idle_since). */
static void idle_publish(nh__srv_loop *sl) {
  nh__conn *h = sl->idle.head;
  atomic_store_explicit(&sl->idle_since, h ? h->since + 1 : 0, memory_order_relaxed);
}

static void list_remove(nh__conn *c) {
  nh__conn_list *l = c->list;
  if (!l)
    return;
  int idle_head = l == &c->sl->idle && !c->prev;
  if (c->prev)
    c->prev->next = c->next;
  else
    l->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    l->tail = c->prev;
  c->prev = c->next = NULL;
  c->list = NULL;
  if (idle_head)
    idle_publish(c->sl);
}

static void list_move(nh__conn *c, nh__conn_list *l) {
  list_remove(c);
  c->prev = l->tail;
  c->next = NULL;
  if (l->tail)
    l->tail->next = c;
  else
    l->head = c;
  l->tail = c;
  c->list = l;
  c->since = nh__loop_time(c->sl->loop);
  if (l->head == c && l == &c->sl->idle)
    idle_publish(c->sl);
}

/* ---- read and write buffers, pooled per loop ---- */

/* Write buffers are pooled too: at 16 KiB they are past malloc's per-thread
 * cache, and a fresh one per request cost more than a hello-world handler.
 * Fewer are kept: a small response touches one page of one. */
enum { MAX_FREE_BUFS = 64, MAX_FREE_WBUFS = 16 };

/* Keep buf in a pool of at most max; 0 if it is full (or out of memory). */
static int pool_put(char ***pool, int *n, int max, char *buf) {
  if (*n >= max)
    return 0;
  if (!*pool && !(*pool = malloc((size_t)max * sizeof(char *))))
    return 0;
  (*pool)[(*n)++] = buf;
  return 1;
}

char *nh__buf_get(nh__srv_loop *sl, size_t *cap) {
  *cap = NH__READ_BUF;
  if (sl->nfree_bufs)
    return sl->free_bufs[--sl->nfree_bufs];
  return malloc(NH__READ_BUF);
}

void nh__buf_put(nh__srv_loop *sl, char *buf, size_t cap) {
  if (cap != NH__READ_BUF || !pool_put(&sl->free_bufs, &sl->nfree_bufs, MAX_FREE_BUFS, buf))
    free(buf);
}

char *nh__wbuf_get(nh__srv_loop *sl) {
  if (sl->nfree_wbufs)
    return sl->free_wbufs[--sl->nfree_wbufs];
  return malloc(NH__WRITE_BUF);
}

void nh__wbuf_put(nh__srv_loop *sl, char *buf) {
  if (buf && !pool_put(&sl->free_wbufs, &sl->nfree_wbufs, MAX_FREE_WBUFS, buf))
    free(buf);
}

void nh__serve_release_retired(nh__serve *s) {
  if (s->retired)
    nh__buf_put(s->sl, s->retired, s->retired_cap);
  s->retired = NULL;
}

/* ---- state and hooks ---- */

/* The loop's count of connections in state s (none for CLOSED) moves by
 * d: a plain add, this loop's thread being the only writer. */
static void gauge_add(nh__srv_loop *sl, nh_conn_state s, int64_t d) {
  if (s >= NH_CONN_NEW && s <= NH_CONN_HIJACKED)
    nh__loop_count(&sl->gauges[s - NH_CONN_NEW], d);
}

/* The user's hook, apart from the gauges: kept out of line so that the
 * common case (no hook) saves no registers, twice per keep-alive request. */
static __attribute__((noinline)) void conn_state_hook(nh__conn *c, nh_conn_state s) {
  nh_server *srv = c->srv;
  nh_conn_info info = {c->id, c->remote, "", c->sl->index};
  nh_time t0 = nh_now();
  srv->cfg.conn_state(&info, s, srv->cfg.conn_state_user);
  nh_dur took = nh_now() - t0;
  if (took > srv->cfg.slow_hook_threshold) {
    NH__STAT_INC(srv, st_slow_hooks);
    NH_LOG(srv->log, NH_LOG_WARN, "slow connection-state hook", NH_LDUR("took", took),
           NH_LINT("conn", (int64_t)c->id), NH_LSTR("state", nh_conn_state_name(s)),
           NH_LSTR("hint", "the hook runs synchronously on the loop; keep it short"));
  }
}

void nh__conn_set_state(nh__conn *c, nh_conn_state s) {
  nh_server *srv = c->srv;
  if (c->state == s)
    return;
  gauge_add(c->sl, c->state, -1);
  gauge_add(c->sl, s, 1);
  c->state = s;
  if (srv->cfg.conn_state)
    conn_state_hook(c, s);
}

/* ---- closing ---- */

static void conn_ctx_free(nh__conn *c) {
  nh_ctx_free(c->ctx);
  if (c->user_ctx && c->user_ctx != c->srv->base)
    nh_ctx_free(c->user_ctx);
  c->ctx = c->user_ctx = NULL;
}

/* Count the connection under its close reason (a local failure if none was
 * noted) and say so at DEBUG. */
static void conn_count_close(nh__conn *c) {
  nh_server *srv = c->srv;
  nh_close_reason why = c->close_why ? (nh_close_reason)(c->close_why - 1) : NH_CLOSE_ERROR;
  NH__STAT_INC(srv, st_closes[why]);
  if (nh_log_enabled(srv->log, NH_LOG_DEBUG))
    NH_LOG(srv->log, NH_LOG_DEBUG, "connection closed", NH_LINT("conn", (int64_t)c->id),
           NH_LSTR("remote", c->remote), NH_LSTR("state", nh_conn_state_name(c->state)),
           NH_LSTR("reason", nh_close_reason_name(why)));
}

static void conn_free(nh__conn *c) {
  nh_server *srv = c->srv;
  list_remove(c);
  if (nh__timer_armed(&c->timer))
    nh__timer_stop(c->sl->loop, &c->timer);
  if (c->tls)
    nh__tls_io_abort(c);
  else if (c->fd)
    nh_fd_close(c->fd);
  c->fd = NULL;
  if (c->state != NH_CONN_HIJACKED) {
    conn_count_close(c);
    nh__conn_set_state(c, NH_CONN_CLOSED); /* the hook first: then the slot */
    atomic_fetch_sub(&srv->conns, 1);
    if (!c->closed_early)
      nh__conn_slot_release(srv);
  }
  NH__STAT_INC(srv, st_closed);
  conn_ctx_free(c);
  free(c);
}

/* Close a connection that may have a fiber working on it: the descriptor goes
 * at once (that is the point when shedding), the fiber sees NH_ECLOSED and
 * frees the rest. */
static void conn_close_now(nh__conn *c) {
  if (!c->has_fiber) {
    conn_free(c);
    return;
  }
  list_remove(c);
  if (c->ctx)
    nh_ctx_cancel(c->ctx); /* the request's context descends from it */
  nh__conn_forget_fd(c);
  if (c->fd)
    nh_fd_close(c->fd);
  c->fd = NULL;
  if (!c->closed_early) { /* no longer takes room, though not yet freed */
    c->closed_early = 1;
    nh__conn_slot_release(c->srv);
  }
}

int nh__conn_evict_idle(nh__srv_loop *sl) {
  for (nh__conn *c = sl->idle.head; c; c = c->next) {
    /* A fiber is on its way to it, or its next request is in the socket:
     * not idle any more, and closing on unread bytes would send a reset. */
    char b;
    if (c->has_fiber || !c->fd || recv(nh_fd_get(c->fd), &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
      continue;
    NH__STAT_INC(sl->srv, st_shed_idle);
    nh__conn_close_why(c, NH_CLOSE_SHED);
    conn_free(c); /* nothing unread, nothing unsent: the client sees a FIN */
    return 1;
  }
  return 0;
}

int nh__conn_shed_one(nh__srv_loop *sl, int desperate) {
  nh_server *srv = sl->srv;
  if (nh__conn_evict_idle(sl))
    return 1;
  /* Then whichever has kept the server waiting longest: a connection still
   * reading its head (new, or a slowloris), or a request whose handler waits
   * on its client (a body that trickles in, a response nobody reads). Age
   * counts from when that began, so a trickle of bytes does not make it
   * young again. Anything younger than a quarter second is spared, unless
   * the server is out of room altogether (desperate): a client that just
   * connected is most likely a normal one. */
  nh_time now = nh_now();
  nh_dur min_age = desperate ? 0 : 250 * NH_MSEC;
  nh__conn *worst = sl->reading.head; /* the list is oldest first */
  for (nh__conn *c = sl->active.head; c; c = c->next)
    if (c->client_wait && (!worst || c->since < worst->since))
      worst = c;
  if (!worst || now - worst->since < min_age)
    return 0;
  NH__STAT_INC(srv, st_shed_reading);
  nh__conn_close_why(worst, NH_CLOSE_SHED);
  NH_LOG(srv->log, NH_LOG_DEBUG, "shedding the connection that kept the server waiting longest",
         NH_LSTR("remote", worst->remote), NH_LDUR("age", now - worst->since),
         NH_LINT("reading_head", worst->list == &sl->reading));
  /* Reset, not a graceful close: unsent response bytes would otherwise stay
   * in the kernel for as long as the slow client takes to read them. */
  if (worst->fd) {
    struct linger lg = {1, 0};
    setsockopt(nh_fd_get(worst->fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  conn_close_now(worst);
  return 1;
}

void nh__conns_close_idle(nh__srv_loop *sl) {
  while (sl->idle.head) {
    nh__conn_close_why(sl->idle.head, NH_CLOSE_SHUTDOWN);
    conn_free(sl->idle.head);
  }
  /* New connections that have not sent a byte are idle too (no fiber),
   * and so are those still in the TLS handshake: no request is lost. */
  nh__conn *c = sl->reading.head;
  while (c) {
    nh__conn *next = c->next;
    if (!c->has_fiber || c->handshaking)
      nh__conn_close_why(c, NH_CLOSE_SHUTDOWN);
    if (!c->has_fiber)
      conn_free(c);
    else if (c->handshaking)
      conn_close_now(c);
    c = next;
  }
}

void nh__conns_close_all(nh__srv_loop *sl) {
  nh__conns_close_idle(sl);
  nh__conn_list *lists[] = {&sl->reading, &sl->active};
  for (int i = 0; i < 2; i++)
    while (lists[i]->head) {
      nh__conn_close_why(lists[i]->head, NH_CLOSE_SHUTDOWN);
      conn_close_now(lists[i]->head);
    }
}

/* ---- waiting without a fiber ---- */

static void conn_serve(void *arg);

static void conn_timer_fired(nh__timer *t) {
  nh__conn *c = (nh__conn *)((char *)t - offsetof(nh__conn, timer));
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
  nh__conn_close_why(c, c->state == NH_CONN_IDLE ? NH_CLOSE_TIMEOUT_IDLE : NH_CLOSE_TIMEOUT_HEADER);
  conn_free(c);
}

static void conn_readable(nh_fd *f, void *arg) {
  nh__conn *c = arg;
  /* The wait's timer stays armed: it does nothing while a fiber serves,
   * and the next wait moves its deadline only later, where the timer,
   * firing, re-arms itself (conn_timer_fired). Keep-alive requests then
   * cost no timer heap operation. */
  c->has_fiber = 1;
  if (nh__fiber_spawn(c->sl->loop, conn_serve, c) != NH_OK) {
    c->has_fiber = 0;
    conn_free(c);
  }
}

/* The connection's serving context, for its next activation: one taken
 * from the loop's pool when its parent is the server's base (see
 * nh__srv_loop), else a new one. */
static int conn_ctx_get(nh__conn *c) {
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
static void conn_ctx_put(nh__conn *c) {
  nh__srv_loop *sl = c->sl;
  if (c->ctx && c->user_ctx == c->srv->base && sl->nfree_ctxs < NH__MAX_FREE_CTXS &&
      nh__ctx_reusable(c->ctx))
    sl->free_ctxs[sl->nfree_ctxs++] = c->ctx;
  else
    nh_ctx_free(c->ctx);
  c->ctx = NULL;
}

/* No fiber, no buffer, no context: a timer and a readiness callback. */
static void conn_wait(nh__conn *c) {
  nh_server *srv = c->srv;
  conn_ctx_put(c);
  nh_dur limit;
  if (c->state == NH_CONN_NEW) {
    list_move(c, &c->sl->reading);
    limit = srv->cfg.read_header_timeout;
  } else {
    nh__conn_set_state(c, NH_CONN_IDLE);
    list_move(c, &c->sl->idle);
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
  if (nh_fd_on_readable(c->fd, conn_readable, c) != NH_OK)
    conn_free(c);
}

/* ---- reading a request head ---- */

enum { HEAD_OK = 1, GO_IDLE = 2, CONN_GONE = 3 };

static void begin_head(nh__serve *s) {
  nh__conn *c = s->c;
  nh_server *srv = s->srv;
  s->header_deadline = nh__loop_deadline(s->sl->loop, srv->cfg.read_header_timeout);
  s->read_deadline = nh__loop_deadline(s->sl->loop, srv->cfg.read_timeout);
  nh__conn_set_state(c, NH_CONN_ACTIVE);
  if (c->list)
    list_move(c, &c->sl->reading);
}

static int grow_buf(nh__serve *s, size_t limit) {
  if (s->cap >= limit)
    return 0;
  size_t cap = s->cap * 2 < limit ? s->cap * 2 : limit;
  char *b;
  if (s->cap == NH__READ_BUF) { /* pooled buffer: copy out of it */
    b = malloc(cap);
    if (b) {
      memcpy(b, s->buf, s->len);
      nh__buf_put(s->sl, s->buf, s->cap);
    }
  } else {
    b = realloc(s->buf, cap);
  }
  if (!b)
    return 0;
  s->buf = b;
  s->cap = cap;
  return 1;
}

/* Returns HEAD_OK, GO_IDLE (nothing to read: release the fiber), CONN_GONE,
 * or minus the HTTP status to answer with. */
static int read_head(nh__serve *s) {
  nh__conn *c = s->c;
  nh_server *srv = s->srv;
  size_t limit = srv->cfg.max_header_bytes;
  int started = s->len > 0;
  if (started)
    begin_head(s);
  for (;;) {
    if (s->pos < s->len) {
      int r = nh__h1_parse_head(&s->parser, s->buf, &s->pos, s->len);
      if (r == 1) {
        s->head_end = s->pos;
        /* A head that arrived whole in one read still has to be within
         * the limit: the head starts at offset 0 of the buffer. */
        return s->head_end > limit ? -NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE : HEAD_OK;
      }
      if (r < 0)
        return -s->parser.status;
    }
    if (s->len > limit)
      return -NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE;
    if (s->len == s->cap && !grow_buf(s, limit + 1))
      return -NH_STATUS_REQUEST_HEADER_FIELDS_TOO_LARGE;
    if (!c->fd)
      return CONN_GONE;
    ssize_t n = nh__conn_try_read(c, s->buf + s->len, s->cap - s->len);
    s->short_read = n >= 0 && (size_t)n < s->cap - s->len;
    if (n > 0) {
      if (!started) {
        started = 1;
        begin_head(s);
      }
      s->len += (size_t)n;
      continue;
    }
    if (n != NH_EAGAIN) {
      nh__conn_close_why(c, NH_CLOSE_CLIENT);
      return CONN_GONE; /* end of stream or reset */
    }
    if (!started)
      return GO_IDLE;
    /* Parked on a partial head: say whose, for dumps and leak reports. */
    nh__fiber_set_label2("conn", 4, c->remote, strlen(c->remote));
    nh_time dl = s->header_deadline < s->read_deadline ? s->header_deadline : s->read_deadline;
    int e = nh_fd_wait(c->fd, NH_FD_READ, dl);
    if (e == NH_ETIMEDOUT) {
      NH__STAT_INC(srv, st_to_header);
      nh__conn_close_why(c, NH_CLOSE_TIMEOUT_HEADER);
      return -NH_STATUS_REQUEST_TIMEOUT;
    }
    if (e) {
      nh__conn_close_why(c, NH_CLOSE_CLIENT);
      return CONN_GONE;
    }
  }
}

/* ---- serving one request ---- */

static void client_gone(nh_fd *f, void *arg) {
  nh__conn *c = arg;
  nh__conn_close_why(c, NH_CLOSE_CLIENT);
  if (c->ctx)
    nh_ctx_cancel(c->ctx); /* the handler's blocking calls end at once */
}

/* "METHOD /path" for dumps and the watchdog, written straight into the
 * fiber's label (the method's length is the parser's). */
static void set_label(const nh__serve *s) {
  size_t m = s->parser.method.len;
  nh__fiber_set_label2(s->req.method, m > 16 ? 16 : m, s->req.path, strlen(s->req.path));
}

enum { SERVE_CLOSE = 10, SERVE_KEEP = 11, SERVE_HIJACKED = 12 };

static int serve_request(nh__serve *s) {
  nh__conn *c = s->c;
  nh_server *srv = s->srv;
  NH__STAT_INC(srv, st_requests);
  int status = nh__request_build(s);
  if (status) {
    NH__STAT_INC(srv, st_bad);
    nh__resp_send_error(s, status, "malformed request target");
    return SERVE_CLOSE;
  }
  list_move(c, &c->sl->active);
  nh__resp_init(s, &s->resp);
  nh_request *r = &s->req;
  /* The handler's blocking calls run under the connection's context (a
   * client that leaves, or a shutdown deadline, cancels it); the request's
   * own context is made only if the handler asks for it. */
  if (!c->ctx && conn_ctx_get(c) != NH_OK) {
    nh__conn_close_why(c, NH_CLOSE_ERROR);
    nh__resp_send_error(s, NH_STATUS_SERVICE_UNAVAILABLE, "out of memory");
    return SERVE_CLOSE;
  }
  nh_fiber_set_ctx(c->ctx);
  if (c->fd)
    nh_fd_on_hangup(c->fd, client_gone, c);
  set_label(s);

  srv->cfg.handler(&s->resp, r);

  if (c->fd && !s->resp.hijacked)
    nh_fd_on_hangup(c->fd, NULL, NULL);
  int keep = SERVE_CLOSE;
  if (s->resp.hijacked) {
    keep = SERVE_HIJACKED;
  } else if (nh__resp_finish(&s->resp) == NH_OK && c->fd) {
    keep = s->parser.keep_alive && !s->resp.close_after && !c->closing &&
                   !atomic_load(&srv->shutting_down)
               ? SERVE_KEEP
               : SERVE_CLOSE;
    /* A body the handler left unread was drained (or refused) when the
     * response head was written; make sure nothing of it is left. */
    if (keep && !s->body_done)
      keep = nh__request_drain(s, srv->cfg.max_body_drain) ? SERVE_KEEP : SERVE_CLOSE;
  }
  nh__request_end(r);
  r->magic = NH__DEAD_MAGIC;
  s->resp.magic = NH__DEAD_MAGIC;
  nh_fiber_set_ctx(NULL);
  c->req_ctx = NULL;
  if (r->ctx) /* Go: the request's context ends with its handler */
    nh_ctx_free(r->ctx);
  r->ctx = NULL;
  nh__arena_reset(&s->arena);
  nh__serve_release_retired(s);
  return keep;
}

/* A handler called nh_panic: answer 500 if nothing was sent, then drop the
 * connection (its state is unknown). Runs on the dying fiber. */
static void serve_panicked(void *arg) {
  nh__serve *s = arg;
  nh__conn *c = s->c;
  NH__STAT_INC(s->srv, st_panics);
  nh__conn_close_why(c, NH_CLOSE_PANIC);
  if (s->resp.magic == NH__RESP_MAGIC && !s->resp.committed && c->fd) {
    static const char msg[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; "
                              "charset=utf-8\r\nContent-Length: 22\r\nConnection: close\r\n\r\n"
                              "Internal Server Error\n";
    size_t n = sizeof msg - 1 - (s->resp.head_request ? 22 : 0); /* HEAD: no body */
    nh__conn_write(c, msg, n, nh_deadline_after(NH_SEC));
  }
  if (s->req.magic == NH__REQ_MAGIC)
    nh__request_end(&s->req);
  if (s->req.magic == NH__REQ_MAGIC && s->req.ctx) {
    c->req_ctx = NULL;
    nh_ctx_free(s->req.ctx);
  }
  nh__arena_dispose(&s->arena);
  nh__serve_release_retired(s);
  nh__buf_put(s->sl, s->buf, s->cap);
  nh__wbuf_put(s->sl, s->wbuf);
  c->has_fiber = 0;
  if (c->state == NH_CONN_HIJACKED) {
    if (nh__timer_armed(&c->timer))
      nh__timer_stop(c->sl->loop, &c->timer);
    return; /* its owners' now: see hijack_owner_panicked, which runs next */
  }
  conn_free(c);
}

static void conn_serve(void *arg) {
  nh__conn *c = arg;
  nh_server *srv = c->srv;
  if (NH__UNLIKELY(srv->cfg.tls) && !c->tls && nh__tls_io_handshake(c) != NH_OK) {
    c->has_fiber = 0;
    conn_free(c);
    return;
  }
  nh__serve s;
  NH__SERVE_ZERO(&s);
  s.c = c;
  s.sl = c->sl;
  s.srv = srv;
  s.buf = nh__buf_get(c->sl, &s.cap);
  nh__h1_field fields[srv->cfg.max_header_count > 0 ? srv->cfg.max_header_count : 1];
  s.fields = fields;
  nh__h1_req_init(&s.parser, fields, srv->cfg.max_header_count);
  nh__arena_init(&s.arena, s.arena_first, sizeof s.arena_first);
  if (!s.buf) {
    c->has_fiber = 0;
    conn_free(c);
    return;
  }
  nh__fiber_on_panic(serve_panicked, &s);

  int outcome = SERVE_CLOSE;
  for (;;) {
    int r = read_head(&s);
    if (r == GO_IDLE) {
      outcome = GO_IDLE;
      break;
    }
    if (r == CONN_GONE)
      break;
    if (r < 0) {
      NH__STAT_INC(srv, st_bad);
      NH_LOG(srv->log, NH_LOG_DEBUG, "refused a request", NH_LINT("status", -r),
             NH_LSTR("reason", s.parser.reason ? s.parser.reason : nh_status_text(-r)),
             NH_LSTR("remote", c->remote));
      nh__resp_send_error(&s, -r, s.parser.reason);
      break;
    }
    outcome = serve_request(&s);
    /* Nothing buffered, the socket was drained by a short read and no
     * readiness edge came since: a read now would only say EAGAIN. Go idle
     * straight away (edge-triggered epoll reports the next bytes). The
     * fiber ends without waiting on anything, so its label (cleared by the
     * next spawn) and parser need no reset: the common keep-alive path. */
    if (outcome == SERVE_KEEP && c->fd && s.pos == s.len && nh__conn_drained(c, s.short_read)) {
      outcome = GO_IDLE;
      break;
    }
    nh_fiber_set_label("");
    /* The client may still be sending the body, or pipelined requests
     * this connection will not answer: closing on unread bytes sends a
     * reset, which can destroy the answer before the client reads it. */
    if (outcome == SERVE_CLOSE && c->fd &&
        (!s.body_done || s.pos < s.len || nh_fd_read_pending(c->fd)))
      nh__conn_linger(c);
    if (outcome != SERVE_KEEP || !c->fd)
      break;
    /* Pipelined bytes move to the front; the next head starts there. */
    memmove(s.buf, s.buf + s.pos, s.len - s.pos);
    s.len -= s.pos;
    s.pos = s.head_end = 0;
    s.body_done = s.continue_sent = s.body_error = 0;
    nh__h1_req_next(&s.parser);
  }
  nh__fiber_on_panic(NULL, NULL);
  nh__buf_put(c->sl, s.buf, s.cap);
  nh__wbuf_put(c->sl, s.wbuf);
  nh__arena_dispose(&s.arena);
  c->has_fiber = 0;
  if (outcome == GO_IDLE && c->fd && !atomic_load(&srv->shutting_down)) {
    conn_wait(c);
    return;
  }
  /* No more waits: an earlier wait's timer, still armed, must not fire. */
  if (nh__timer_armed(&c->timer))
    nh__timer_stop(c->sl->loop, &c->timer);
  if (outcome == SERVE_HIJACKED)
    return; /* the handler owns it now; the record stays for close */
  nh__conn_close_why(c, atomic_load(&srv->shutting_down) ? NH_CLOSE_SHUTDOWN : NH_CLOSE_DONE);
  if (c->tls && c->fd)
    nh__tls_io_close(c); /* close_notify, from the fiber: it may wait */
  conn_free(c);
}

/* ---- accepting ---- */

void nh__conn_accepted(nh__srv_loop *sl, int fd, const struct sockaddr_storage *peer,
                       socklen_t peer_len) {
  nh_server *srv = sl->srv;
  nh__conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    nh__conn_slot_release(srv);
    return;
  }
  if (nh__fd_adopt(fd, &c->fd) != NH_OK) { /* accept4 made it non-blocking */
    free(c);
    nh__conn_slot_release(srv);
    return;
  }
  c->srv = srv;
  c->sl = sl;
  c->id = atomic_fetch_add(&srv->next_conn_id, 1) + 1;
  c->timer.slot = NH__TIMER_IDLE;
  c->state = NH_CONN_CLOSED; /* so the first set_state counts NEW */
  nh__format_addr((const struct sockaddr *)peer, peer_len, c->remote, sizeof c->remote);
  atomic_fetch_add(&srv->conns, 1);
  NH__STAT_INC(srv, st_accepted);
  /* The user's ConnContext lives as long as the connection; the
   * connection's own cancellable context exists only while it serves (see
   * serve_request), so idle connections do not pay for one. */
  c->user_ctx = srv->base;
  if (srv->cfg.conn_context) {
    nh_conn_info info = {c->id, c->remote, "", sl->index};
    nh_ctx *ctx = srv->cfg.conn_context(srv->base, &info, srv->cfg.conn_context_user);
    if (ctx)
      c->user_ctx = ctx;
  }
  nh__conn_set_state(c, NH_CONN_NEW);
  list_move(c, &sl->reading);
  /* Most clients send their request with the handshake's last packet: read
   * at once rather than waiting a loop turn for epoll to say so. */
  c->has_fiber = 1;
  if (nh__fiber_spawn(sl->loop, conn_serve, c) != NH_OK) {
    c->has_fiber = 0;
    conn_free(c);
  }
}

/* ---- hijacked connections ----
 *
 * After a hijack the server keeps a record of the socket (on the loop's
 * hijacked list) to wait for it at shutdown and shut it down at close. The
 * socket belongs to the handler's fiber and to the fibers it starts with
 * nh_go afterwards (nh__owned). When one of them panics, the connection is
 * in an unknown state: it is shut down for everyone, and closed if no other
 * owner is left, so no socket is left open that nobody holds. */

/* Is the hijacked descriptor still the socket it was (not closed by its
 * owner, its number not reused)? */
static int hijacked_still_open(const nh__conn *c) {
  struct stat st;
  return c->hijack_ino && fstat(c->hijack_fd, &st) == 0 && st.st_ino == c->hijack_ino;
}

/* Off the loop's list and out of the gauge. */
static void hijacked_unlist(nh__conn *c) {
  if (c->forgotten)
    return;
  list_remove(c);
  gauge_add(c->sl, NH_CONN_HIJACKED, -1);
  conn_ctx_free(c);
  c->forgotten = 1;
}

/* The server is done with the record: it goes now, or when its last owner
 * ends (hijack_released). */
static void hijacked_forget(nh__conn *c) {
  hijacked_unlist(c);
  if (!c->own.owners)
    free(c);
}

static void hijack_owner_panicked(nh__owned *o, int last) {
  nh__conn *c = (nh__conn *)((char *)o - offsetof(nh__conn, own));
  if (!hijacked_still_open(c)) {
    c->hijack_ino = 0;
    if (last)
      hijacked_unlist(c); /* hijack_released frees it next */
    return;
  }
  if (!c->forgotten)
    NH_LOG(c->srv->log, NH_LOG_WARN,
           last ? "closing a hijacked connection: its owner panicked"
                : "shutting down a hijacked connection: one of its owners panicked",
           NH_LSTR("remote", c->remote), NH_LINT("conn", (int64_t)c->id));
  shutdown(c->hijack_fd, SHUT_RDWR); /* the other owners read the end */
  if (!last)
    return;
  if (c->hijack_tls)
    nh_tls_abort(c->hijack_tls);
  else
    close(c->hijack_fd);
  c->hijack_ino = 0;
  c->hijack_tls = NULL;
  hijacked_unlist(c); /* hijack_released frees it next */
}

static void hijack_released(nh__owned *o) {
  nh__conn *c = (nh__conn *)((char *)o - offsetof(nh__conn, own));
  if (c->forgotten)
    free(c);
}

void nh__conn_hijacked(nh__conn *c, int fd, nh_tls_conn *tls) {
  nh_server *srv = c->srv;
  struct stat st;
  c->hijack_fd = fd;
  c->hijack_ino = fstat(fd, &st) == 0 ? st.st_ino : 0;
  c->hijack_tls = tls;
  nh__conn_set_state(c, NH_CONN_HIJACKED);
  atomic_fetch_sub(&srv->conns, 1);
  nh__conn_slot_release(srv); /* its owner's now, out of max_conns */
  NH__STAT_INC(srv, st_hijacked);
  NH__STAT_INC(srv, st_closes[NH_CLOSE_HIJACKED]);
  list_move(c, &c->sl->hijacked);
  c->own.panicked = hijack_owner_panicked;
  c->own.released = hijack_released;
  nh__fiber_own(&c->own); /* if the fiber owns too much, shutdown still waits */
}

void nh__conns_end_hijacked(nh__srv_loop *sl, int shut) {
  while (sl->hijacked.head) {
    nh__conn *c = sl->hijacked.head;
    if (shut && hijacked_still_open(c))
      shutdown(c->hijack_fd, SHUT_RDWR);
    hijacked_forget(c);
  }
}

void nh__conns_reap_hijacked(nh__srv_loop *sl) {
  int64_t open = 0;
  for (nh__conn *c = sl->hijacked.head, *next; c; c = next) {
    next = c->next;
    if (hijacked_still_open(c))
      open++;
    else
      hijacked_forget(c);
  }
  atomic_fetch_add(&sl->srv->hijacked_open, open);
}
