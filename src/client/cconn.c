/* A client connection's transport: the TCP dial, the TLS handshake, the
 * reads and writes through TLS when there is one, and the choice of the
 * protocol that then speaks on it (ALPN's answer picks the operations). */
#include "internal.h"
#include "nethttp/dial.h"

#include <stdlib.h>
#include <string.h>

int nh__cconn_dial(nh_transport *t, nh__host *h, const char *host, int port, nh_time deadline,
                   const nh_client_trace *tr, nh__cconn **out) {
  nh__cconn *c = calloc(1, sizeof *c);
  if (!c)
    return NH_ENOMEM;
  nh_dial_options opt = {.keep_alive = t->cfg.tcp_keepalive};
  if (tr && tr->dns_done) {
    opt.resolved = nh__trace_dns_done;
    opt.resolved_arg = (void *)tr;
  }
  nh_time dl = t->cfg.dial_timeout == NH_NO_TIMEOUT ? deadline
                                                     : nh_deadline_after(t->cfg.dial_timeout);
  if (deadline < dl)
    dl = deadline;
  int e = nh_dial_tcp(host, port, dl, &opt, &c->fd);
  nh__trace_connect_done(tr, c->fd, host, port, e);
  if (e) {
    free(c);
    return e;
  }
  c->t = t;
  c->host = h;
  pthread_mutex_lock(&t->mu);
  h->open++;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_add(&t->st_open, 1);
  atomic_fetch_add(&t->st_dials, 1);
  *out = c;
  return NH_OK;
}

int nh__cconn_tls(nh__cconn *c, nh_tls_ctx *ctx, const char *host, nh_time deadline,
                  const nh_client_trace *tr) {
  nh_transport *t = c->t;
  if (t->cfg.tls_handshake_timeout != NH_NO_TIMEOUT) {
    nh_time hs = nh_deadline_after(t->cfg.tls_handshake_timeout);
    if (hs < deadline)
      deadline = hs;
  }
  int e = nh_tls_client(ctx, c->fd, host, deadline, &c->tls);
  nh__trace_tls_done(tr, c->tls, e);
  return e;
}

/* The protocols this client speaks, by ALPN id. */
static const nh__cconn_ops *const protocols[] = {&nh__h1_cconn_ops, &nh__h2_cconn_ops};

const nh__cconn_ops *nh__cconn_ops_for(const char *alpn) {
  if (!*alpn)
    return &nh__h1_cconn_ops; /* no ALPN (plain TCP, or the server chose none) */
  for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
    if (!strcmp(protocols[i]->alpn, alpn))
      return protocols[i];
  return NULL;
}

int nh__cconn_attach(nh__cconn *c) {
  /* Plain TCP speaks HTTP/2 only when told to (h2c with prior knowledge,
   * RFC 9113 3.3); over TLS, a transport told to speak only HTTP/2 refuses
   * a server that did not choose it. */
  int want_h2 = c->t->cfg.http_version == NH_HTTP_2;
  const char *alpn = c->tls ? nh_tls_alpn(c->tls) : want_h2 && !c->proxied ? "h2" : "";
  if (want_h2 && strcmp(alpn, "h2") != 0) {
    NH_LOG(NULL, NH_LOG_WARN, "server did not choose HTTP/2, which the transport requires",
           NH_LSTR("alpn", alpn));
    return NH_ENOTSUP;
  }
  const nh__cconn_ops *ops = nh__cconn_ops_for(alpn);
  if (!ops) {
    /* A server may only choose what was offered (RFC 7301 3.2), and the
     * offer is configurable: one this client has no code for is refused. */
    NH_LOG(NULL, NH_LOG_WARN, "server chose a protocol this client does not speak",
           NH_LSTR("alpn", alpn));
    return NH_ENOTSUP;
  }
  int e = ops->attach(c);
  if (!e)
    c->ops = ops;
  return e;
}

ssize_t nh__cconn_io_read(nh__cconn *c, void *buf, size_t n, nh_time deadline) {
  return c->tls ? nh_tls_read(c->tls, buf, n, deadline) : nh_fd_read(c->fd, buf, n, deadline);
}

ssize_t nh__cconn_io_write(nh__cconn *c, const void *buf, size_t n, nh_time deadline) {
  return c->tls ? nh_tls_write(c->tls, buf, n, deadline) : nh_fd_write(c->fd, buf, n, deadline);
}

ssize_t nh__cconn_io_try_read(nh__cconn *c, void *buf, size_t n) {
  return c->tls ? nh_tls_try_read(c->tls, buf, n) : nh_fd_try_read(c->fd, buf, n);
}

ssize_t nh__cconn_try_write(nh__cconn *c, const void *buf, size_t n) {
  return c->tls ? nh_tls_try_write(c->tls, buf, n) : nh_fd_try_write(c->fd, buf, n);
}

void nh__cstream_close(nh__cstream *s, int complete) {
  nh__cconn *c = s->conn;
  c->ops->close_stream(s, complete);
  nh__pool_release(c);
}
