/* Connections served as HTTP/2: which ones, and the HTTP/2 host.
 *
 *   conn_serve (new connection, TLS handshake done) -> nh__sconn_wants_h2:
 *   ALPN "h2" on TLS (unless http2.disable), or on a plain listener with
 *   http2.h2c the client preface in the socket (peeked, not read) ->
 *   nh__sconn_serve_h2: the connection's fiber runs nh__h2_serve until the
 *   connection ends; each stream's handler fiber calls back h2_serve,
 *   which runs one exchange as serve_request does for HTTP/1.
 *
 * An HTTP/2 connection keeps its fiber while it lives (its session has
 * state between requests); it stays on the loop's active list, in state
 * IDLE while no handler runs and ACTIVE while one does (Go's states). */
#include "exchange.h"
#include "internal.h"
#include "tls_io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nethttp/status.h"

#define SRV_OF_H2HOST(h) nh__container_of((h), nh_server, h2)

/* ---- the host: what the protocol calls ---- */

static void h2_count(const nh__h2_host *h, int event) {
  nh_server *srv = SRV_OF_H2HOST(h);
  switch (event) {
  case NH__H2_EV_CONN: NH__STAT_INC(srv, st_h2_conns); break;
  case NH__H2_EV_STREAM: NH__STAT_INC(srv, st_h2_streams); break;
  case NH__H2_EV_RESET: NH__STAT_INC(srv, st_h2_resets); break;
  case NH__H2_EV_RAPID_RESET: NH__STAT_INC(srv, st_h2_rapid_reset); break;
  case NH__H2_EV_HEADER_FLOOD: NH__STAT_INC(srv, st_h2_header_floods); break;
  case NH__H2_EV_CONTROL_FLOOD: NH__STAT_INC(srv, st_h2_control_floods); break;
  case NH__H2_EV_EMPTY_FLOOD: NH__STAT_INC(srv, st_h2_empty_floods); break;
  case NH__H2_EV_HEADERS_TOO_LARGE:
    NH__STAT_INC(srv, st_h2_too_large);
    NH__STAT_INC(srv, st_bad);
    break;
  case NH__H2_EV_TIMEOUT_IDLE: NH__STAT_INC(srv, st_to_idle); break;
  case NH__H2_EV_TIMEOUT_PREFACE: NH__STAT_INC(srv, st_to_header); break;
  case NH__H2_EV_TIMEOUT_WRITE: NH__STAT_INC(srv, st_to_write); break;
  case NH__H2_EV_TIMEOUT_READ: NH__STAT_INC(srv, st_to_read); break;
  case NH__H2_EV_BAD: NH__STAT_INC(srv, st_bad); break;
  }
}

static void h2_activity(void *owner, int active) {
  nh__sconn_set_state(owner, active ? NH_CONN_ACTIVE : NH_CONN_IDLE);
}

static void h2_close_why(void *owner, nh_close_reason r) { nh__sconn_close_why(owner, r); }

/* One stream's exchange, on its fiber's stack. */
typedef struct h2turn {
  nh__sconn *c;
  nh__h2_stream *s;
  nh__exchange x;
} h2turn;

/* The handler panicked: its stream is reset, the connection lives on (the
 * other streams do not share its state). Runs on the dying fiber. */
static void h2_panicked(void *arg) {
  h2turn *t = arg;
  NH__STAT_INC(t->c->srv, st_panics);
  nh__h2_stream_panicked(t->s);
  nh__exchange_panicked(&t->x);
  nh__h2_stream_fiber_done(t->s);
}

/* "h2 #ID METHOD /path" for dumps and the watchdog; formatted by hand, as
 * it is set for every request (snprintf cost more than the handler). */
static void set_label(const nh__h2_stream *s, const nh_request *r) {
  char a[40], digits[12];
  size_t n = 0, nd = 0;
  memcpy(a, "h2 #", 4);
  n = 4;
  uint32_t id = (uint32_t)s->id;
  do
    digits[nd++] = (char)('0' + id % 10);
  while ((id /= 10) && nd < sizeof digits);
  while (nd)
    a[n++] = digits[--nd];
  a[n++] = ' ';
  size_t ml = strlen(r->method);
  if (ml > 16)
    ml = 16;
  memcpy(a + n, r->method, ml);
  n += ml;
  nh__fiber_set_label2(a, n, r->path, strlen(r->path));
}

static void h2_serve(const nh__h2_host *h, nh__h2_stream *s) {
  nh_server *srv = SRV_OF_H2HOST(h);
  h2turn t;
  t.c = s->owner;
  t.s = s;
  nh__exchange_init(&t.x, &s->base, &t.c->sl->xenv);
  t.x.remote = s->remote;
  t.x.conn = t.c;
  t.x.conn_ctx = s->ctx; /* reset stream, gone client, shutdown: cancelled */
  t.x.req_ctx_out = NULL;
  NH__STAT_INC(srv, st_requests);
  nh__req_head head;
  int status = nh__h2_stream_head(s, &head) == NH_OK ? nh__exchange_begin(&t.x, &head)
                                                      : NH_STATUS_SERVICE_UNAVAILABLE;
  if (status) {
    NH__STAT_INC(srv, st_bad);
    NH_LOG(srv->log, NH_LOG_DEBUG, "refused an HTTP/2 request", NH_LINT("status", status),
           NH_LINT("stream", s->id), NH_LSTR("remote", s->remote));
    nh__h2_stream_refuse(s, status,
                         status == NH_STATUS_BAD_REQUEST ? "malformed request target\n"
                                                         : "Service Unavailable\n");
    nh__exchange_dispose(&t.x);
    return;
  }
  nh__fiber_on_panic(h2_panicked, &t);
  set_label(s, &t.x.req);
  nh__fiber_handler_enter(); /* watched for long parks (leak_watch.c) */
  srv->cfg.handler(&t.x.resp, &t.x.req);
  nh__fiber_handler_leave();
  nh__exchange_end(&t.x);
  nh__fiber_on_panic(NULL, NULL);
  nh__exchange_dispose(&t.x);
}

void nh__sconn_h2_host_init(nh_server *srv) {
  nh__h2_host *h = &srv->h2;
  h->cfg = srv->cfg.http2;
  h->max_header_bytes = srv->cfg.max_header_bytes;
  h->max_header_count = srv->cfg.max_header_count;
  h->read_timeout = srv->cfg.read_timeout;
  h->write_timeout = srv->cfg.write_timeout;
  h->idle_timeout = srv->cfg.idle_timeout;
  h->log = srv->log;
  h->stopping = &srv->shutting_down;
  h->count = h2_count;
  h->serve = h2_serve;
  h->activity = h2_activity;
  h->close_why = h2_close_why;
}

/* ---- which connections ---- */

/* A first line of three or more words whose last is not an HTTP version:
 * neither an HTTP/1 request line nor the HTTP/2 preface. On a listener
 * that speaks both, such a client is taken for an HTTP/2 client with a
 * broken preface, which RFC 9113 3.4 makes a connection error (nghttp2
 * ends it), rather than answered with an HTTP/1 400 it could not read. */
static int neither_protocol(const char *b, size_t n) {
  const char *eol = memchr(b, '\n', n);
  if (!eol)
    return 0; /* the line is not all here: HTTP/1's reader decides */
  size_t len = (size_t)(eol - b);
  if (len && b[len - 1] == '\r')
    len--;
  int words = 0;
  const char *last = NULL;
  for (size_t i = 0; i < len; i++)
    if (b[i] != ' ' && (i == 0 || b[i - 1] == ' ')) {
      words++;
      last = b + i;
    }
  return words >= 3 && (size_t)(b + len - last) >= 1 && strncmp(last, "HTTP/", 5) != 0;
}

int nh__sconn_wants_h2(nh__sconn *c) {
  nh_server *srv = c->srv;
  if (c->h1.io.tls)
    return !srv->cfg.http2.disable && !strcmp(nh_tls_alpn(c->h1.io.tls), "h2");
  if (!srv->cfg.http2.h2c || c->state != NH_CONN_NEW || !c->h1.io.fd)
    return 0;
  nh_dur rh = srv->cfg.read_header_timeout;
  nh_time dl = rh >= 0 ? nh__loop_deadline(c->sl->loop, rh) : NH_NO_DEADLINE;
  char b[128];
  for (;;) {
    /* Peeked: an HTTP/1 request stays in the socket for its reader. */
    ssize_t n = recv(nh_fd_get(c->h1.io.fd), b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return 0; /* closed: HTTP/1's reader will see it */
    /* Nothing yet, or a part of the preface: wait for more, within the
     * read-header timeout (HTTP/1's reader would wait the same). */
    int r = n > 0 ? nh__h2_is_preface(b, (size_t)n) : -1;
    if (r == 0)
      return neither_protocol(b, (size_t)n);
    if (r > 0)
      return r;
    if (nh_fd_wait(c->h1.io.fd, NH_FD_READ, dl) != NH_OK)
      return 0;
  }
}

static void h2_client_gone(nh_fd *f, void *arg) {
  (void)f;
  nh__sconn *c = arg;
  nh__sconn_close_why(c, NH_CLOSE_CLIENT);
  if (c->ctx)
    nh_ctx_cancel(c->ctx); /* every stream's context descends from it */
}

void nh__sconn_serve_h2(nh__sconn *c) {
  nh_server *srv = c->srv;
  c->is_h2 = 1;
  /* Its own deadlines from now (preface, idle): the wait timer goes. */
  if (nh__timer_armed(&c->timer))
    nh__timer_stop(c->sl->loop, &c->timer);
  nh__sconn_list_move(c, &c->sl->active);
  nh__sconn_set_state(c, NH_CONN_IDLE);
  nh_fiber_set_label("h2 connection");
  if (nh_ctx_with_cancel(c->user_ctx, &c->ctx) != NH_OK) {
    c->ctx = NULL;
    nh__sconn_close_why(c, NH_CLOSE_ERROR);
  } else {
    nh_fd_on_hangup(c->h1.io.fd, h2_client_gone, c);
    if (nh__h2_serve(&srv->h2, &c->h1.io, c->h1.remote, c, c->ctx, &c->h2) != NH_OK)
      nh__sconn_close_why(c, NH_CLOSE_ERROR);
    if (c->h1.io.fd)
      nh_fd_on_hangup(c->h1.io.fd, NULL, NULL);
    /* What the client sent that was not read (after a GOAWAY, a timeout,
     * its own half-close) is read and dropped before the close, or the
     * kernel would answer it with a reset that can destroy our last
     * frames unread. */
    if (c->h1.io.fd && !c->h1.io.tls)
      nh__h1_linger(&c->h1.io);
  }
  c->has_fiber = 0;
  nh__sconn_close_why(c, atomic_load(&srv->shutting_down) ? NH_CLOSE_SHUTDOWN : NH_CLOSE_DONE);
  if (c->h1.io.tls && c->h1.io.fd)
    nh__tls_io_close(c);
  nh__sconn_free(c);
}
