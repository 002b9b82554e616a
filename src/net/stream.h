/* A connection's byte stream: the plain socket or TLS over it.
 *
 * Every read and write of a server connection goes through these inline
 * functions. A plain stream (tls NULL) costs one predictable branch over
 * calling nh_fd_* directly: no extra system call, allocation or indirect
 * call.
 *
 * With TLS, fd stays the socket under the TLS stream (for waiting, hang-up
 * callbacks, socket options) and tls owns it. Waiting for input is the same
 * for both: a try-read that says NH_EAGAIN has drained what the socket and
 * the TLS layer held, so the next arrival is a readiness edge. */
#ifndef NH_NET_STREAM_H
#define NH_NET_STREAM_H

#include <sys/types.h>
#include <sys/uio.h>

#include "nethttp/netpoll.h"
#include "nethttp/tls.h"

#define NH__UNLIKELY(x) __builtin_expect(!!(x), 0)

typedef struct nh__stream {
  nh_fd *fd;        /* NULL once closed or handed over */
  nh_tls_conn *tls; /* HTTPS: the stream over fd (owns it); NULL for plain */
} nh__stream;

/* stream_tls.c: the TLS halves. */
ssize_t nh__stream_tls_try_read(nh__stream *s, void *buf, size_t n);
ssize_t nh__stream_tls_sendfile(nh__stream *s, int in_fd, off_t *offset, size_t count,
                                nh_time deadline);

/* Non-parking read: a count, 0 at end of stream, NH_EAGAIN or an error. */
static inline ssize_t nh__stream_try_read(nh__stream *s, void *buf, size_t n) {
  if (NH__UNLIKELY(s->tls))
    return nh__stream_tls_try_read(s, buf, n);
  return nh_fd_try_read(s->fd, buf, n);
}

static inline ssize_t nh__stream_write(nh__stream *s, const void *buf, size_t n, nh_time deadline) {
  if (NH__UNLIKELY(s->tls))
    return nh_tls_write(s->tls, buf, n, deadline);
  return nh_fd_write(s->fd, buf, n, deadline);
}

static inline ssize_t nh__stream_writev(nh__stream *s, const struct iovec *iov, int iovcnt,
                                        nh_time deadline) {
  if (NH__UNLIKELY(s->tls))
    return nh_tls_writev(s->tls, iov, iovcnt, deadline);
  return nh_fd_writev(s->fd, iov, iovcnt, deadline);
}

static inline ssize_t nh__stream_sendfile(nh__stream *s, int in_fd, off_t *offset, size_t count,
                                          nh_time deadline) {
  if (NH__UNLIKELY(s->tls))
    return nh__stream_tls_sendfile(s, in_fd, offset, count, deadline);
  return nh_fd_sendfile(s->fd, in_fd, offset, count, deadline);
}

/* After a response with nothing buffered: 1 if a read would only say
 * NH_EAGAIN, so the connection may go idle without trying. Plain: the last
 * read was short and no readiness edge came since. TLS: nothing is held in
 * the TLS layer either (decrypted bytes there are never reported by epoll). */
static inline int nh__stream_drained(const nh__stream *s, int short_read) {
  if (NH__UNLIKELY(s->tls))
    return !nh_tls_read_pending(s->tls);
  return short_read && !nh_fd_read_pending(s->fd);
}

/* The socket is being closed under a fiber that may be parked on it: the
 * TLS state must not keep a pointer to it. */
static inline void nh__stream_forget_fd(nh__stream *s) {
  if (NH__UNLIKELY(s->tls))
    nh_tls_set_fd(s->tls, NULL);
}

#endif
