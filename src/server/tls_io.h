/* A connection's byte stream: the plain socket or TLS over it.
 *
 * Every read and write of src/server/ goes through these inline functions.
 * A plain connection (c->tls NULL) costs one predictable branch over calling
 * nh_fd_* directly: no extra system call, allocation or indirect call.
 *
 * With TLS, c->fd stays the socket under the TLS stream (for waiting,
 * hang-up callbacks, socket options) and c->tls owns it. Waiting for input
 * is the same for both: a try-read that says NH_EAGAIN has drained what the
 * socket and the TLS layer held, so the next arrival is a readiness edge. */
#ifndef NH_SERVER_TLS_IO_H
#define NH_SERVER_TLS_IO_H

#include "internal.h"
#include "nethttp/tls.h"

#define NH__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* tls_io.c: the TLS halves. */
ssize_t nh__tls_io_try_read(nh__conn *c, void *buf, size_t n);
ssize_t nh__tls_io_sendfile(nh__conn *c, int in_fd, off_t *offset, size_t count,
                            nh_time deadline);
/* The server handshake on a new connection, bounded by the read-header
 * timeout. Returns 0 (c->tls set) or an error (logged, counted). */
int nh__tls_io_handshake(nh__conn *c);
/* Close with close_notify (on the connection's fiber only). */
void nh__tls_io_close(nh__conn *c);
/* Free the TLS state and close the socket without sending anything. */
void nh__tls_io_abort(nh__conn *c);

/* Non-parking read: a count, 0 at end of stream, NH_EAGAIN or an error. */
static inline ssize_t nh__conn_try_read(nh__conn *c, void *buf, size_t n) {
  if (NH__UNLIKELY(c->tls))
    return nh__tls_io_try_read(c, buf, n);
  return nh_fd_try_read(c->fd, buf, n);
}

static inline ssize_t nh__conn_write(nh__conn *c, const void *buf, size_t n, nh_time deadline) {
  if (NH__UNLIKELY(c->tls))
    return nh_tls_write(c->tls, buf, n, deadline);
  return nh_fd_write(c->fd, buf, n, deadline);
}

static inline ssize_t nh__conn_writev(nh__conn *c, const struct iovec *iov, int iovcnt,
                                      nh_time deadline) {
  if (NH__UNLIKELY(c->tls))
    return nh_tls_writev(c->tls, iov, iovcnt, deadline);
  return nh_fd_writev(c->fd, iov, iovcnt, deadline);
}

static inline ssize_t nh__conn_sendfile(nh__conn *c, int in_fd, off_t *offset, size_t count,
                                        nh_time deadline) {
  if (NH__UNLIKELY(c->tls))
    return nh__tls_io_sendfile(c, in_fd, offset, count, deadline);
  return nh_fd_sendfile(c->fd, in_fd, offset, count, deadline);
}

/* After a response with nothing buffered: 1 if a read would only say
 * NH_EAGAIN, so the connection may go idle without trying. Plain: the last
 * read was short and no readiness edge came since. TLS: nothing is held in
 * the TLS layer either (decrypted bytes there are never reported by epoll). */
static inline int nh__conn_drained(const nh__conn *c, int short_read) {
  if (NH__UNLIKELY(c->tls))
    return !nh_tls_read_pending(c->tls);
  return short_read && !nh_fd_read_pending(c->fd);
}

/* The socket is being closed under a fiber that may be parked on it: the
 * TLS state must not keep a pointer to it. */
static inline void nh__conn_forget_fd(nh__conn *c) {
  if (NH__UNLIKELY(c->tls))
    nh_tls_set_fd(c->tls, NULL);
}

#endif
