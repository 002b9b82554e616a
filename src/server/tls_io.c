/* HTTPS: the server handshake and the TLS halves of a connection's I/O
 * (see tls_io.h). */
#include "tls_io.h"

#include <stdlib.h>
#include <unistd.h>

#include "nethttp/errors.h"

/* Bytes of a file read and encrypted at a time: a few full TLS records. */
#define SENDFILE_CHUNK (64 * 1024)

ssize_t nh__tls_io_try_read(nh__conn *c, void *buf, size_t n) {
  /* Everything consumed and no edge since: the socket has nothing new, so
   * skip the read (epoll reports the next bytes). */
  if (!nh_tls_read_pending(c->tls))
    return NH_EAGAIN;
  /* A deadline already past turns "would park" into NH_ETIMEDOUT after
   * the socket said EAGAIN: a non-parking read. */
  ssize_t r = nh_tls_read(c->tls, buf, n, 1);
  return r == NH_ETIMEDOUT ? NH_EAGAIN : r;
}

/* No sendfile(2) through TLS: the kernel would send the file unencrypted.
 * Read the file in chunks and write each through the TLS stream. */
ssize_t nh__tls_io_sendfile(nh__conn *c, int in_fd, off_t *offset, size_t count,
                            nh_time deadline) {
  size_t cap = count < SENDFILE_CHUNK ? count : SENDFILE_CHUNK;
  char *buf = malloc(cap ? cap : 1);
  if (!buf)
    return NH_ENOMEM;
  size_t done = 0;
  ssize_t err = 0;
  while (done < count) {
    size_t want = count - done < cap ? count - done : cap;
    ssize_t n = pread(in_fd, buf, want, *offset);
    if (n < 0) {
      err = -errno;
      break;
    }
    if (n == 0)
      break; /* the file shrank: the caller sees a short count */
    ssize_t w = c->fd ? nh_tls_write(c->tls, buf, (size_t)n, deadline) : NH_ECLOSED;
    if (w < 0) {
      err = w;
      break;
    }
    *offset += n;
    done += (size_t)n;
  }
  free(buf);
  return err ? err : (ssize_t)done;
}

int nh__tls_io_handshake(nh__conn *c) {
  nh_server *srv = c->srv;
  /* As Go: the handshake counts against the read-header timeout, so a
   * client that connects and says nothing is dropped as a plain one is. */
  nh_time deadline = nh__loop_deadline(c->sl->loop, srv->cfg.read_header_timeout);
  nh_tls_conn *t = NULL;
  c->handshaking = 1;
  int e = nh_tls_server(srv->cfg.tls, c->fd, deadline, &t);
  c->handshaking = 0;
  if (e == NH_OK) {
    c->tls = t;
    return NH_OK;
  }
  NH__STAT_INC(srv, st_tls_handshake_errors);
  if (e == NH_ETIMEDOUT)
    NH__STAT_INC(srv, st_to_header);
  nh__conn_close_why(c, e == NH_ETIMEDOUT ? NH_CLOSE_TIMEOUT_HEADER : NH_CLOSE_TLS_HANDSHAKE);
  /* Scanners and probes fail handshakes all day: not worth more than DEBUG. */
  NH_LOG(srv->log, NH_LOG_DEBUG, "TLS handshake failed", NH_LSTR("remote", c->remote),
         NH_LSTR("error", nh_strerror(e)), NH_LSTR("reason", nh_tls_last_error(NULL)));
  return e;
}

void nh__tls_io_close(nh__conn *c) {
  nh_tls_close(c->tls); /* sends close_notify, closes c->fd */
  c->tls = NULL;
  c->fd = NULL;
}

void nh__tls_io_abort(nh__conn *c) {
  nh_tls_abort(c->tls); /* closes c->fd unless it was forgotten */
  c->tls = NULL;
  c->fd = NULL;
}
