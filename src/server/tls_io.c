/* HTTPS: the server handshake and closing (see tls_io.h). */
#include "tls_io.h"

#include "nethttp/errors.h"

int nh__tls_io_handshake(nh__sconn *c) {
  nh_server *srv = c->srv;
  /* As Go: the handshake counts against the read-header timeout, so a
   * client that connects and says nothing is dropped as a plain one is. */
  nh_time deadline = nh__loop_deadline(c->sl->loop, srv->cfg.read_header_timeout);
  nh_tls_conn *t = NULL;
  c->handshaking = 1;
  int e = nh_tls_server(srv->cfg.tls, c->h1.io.fd, deadline, &t);
  c->handshaking = 0;
  if (e == NH_OK) {
    c->h1.io.tls = t;
    return NH_OK;
  }
  NH__STAT_INC(srv, st_tls_handshake_errors);
  if (e == NH_ETIMEDOUT)
    NH__STAT_INC(srv, st_to_header);
  nh__sconn_close_why(c, e == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_HEADER : NH_CLOSE_TLS_HANDSHAKE);
  /* Scanners and probes fail handshakes all day: not worth more than DEBUG. */
  NH_LOG(srv->log, NH_LOG_DEBUG, "TLS handshake failed", NH_LSTR("remote", c->h1.remote),
         NH_LSTR("error", nh_strerror(e)), NH_LSTR("reason", nh_tls_last_error(NULL)));
  return e;
}

void nh__tls_io_close(nh__sconn *c) {
  nh_tls_close(c->h1.io.tls); /* sends close_notify, closes c->h1.io.fd */
  c->h1.io.tls = NULL;
  c->h1.io.fd = NULL;
}

void nh__tls_io_abort(nh__sconn *c) {
  nh_tls_abort(c->h1.io.tls); /* closes c->h1.io.fd unless it was forgotten */
  c->h1.io.tls = NULL;
  c->h1.io.fd = NULL;
}
