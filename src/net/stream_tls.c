/* The TLS halves of a connection's byte stream (see stream.h). */
#include "net/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "nethttp/errors.h"

/* Bytes of a file read and encrypted at a time: a few full TLS records. */
#define SENDFILE_CHUNK (64 * 1024)

ssize_t nh__stream_tls_try_read(nh__stream *s, void *buf, size_t n) {
  /* Everything consumed and no edge since: the socket has nothing new, so
   * skip the read (epoll reports the next bytes). */
  if (!nh_tls_read_pending(s->tls))
    return NH_EAGAIN;
  /* A deadline already past turns "would park" into NH_ETIMEDOUT after
   * the socket said EAGAIN: a non-parking read. */
  ssize_t r = nh_tls_read(s->tls, buf, n, 1);
  return r == NH_ETIMEDOUT ? NH_EAGAIN : r;
}

/* No sendfile(2) through TLS: the kernel would send the file unencrypted.
 * Read the file in chunks and write each through the TLS stream. */
ssize_t nh__stream_tls_sendfile(nh__stream *s, int in_fd, off_t *offset, size_t count,
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
    ssize_t w = s->fd ? nh_tls_write(s->tls, buf, (size_t)n, deadline) : NH_ECLOSED;
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
