/* An HTTP/2 server connection's output: frames from nghttp2 gathered in one
 * buffer and written without parking.
 *
 * The connection's fiber must keep reading while the client does not read
 * our frames: a client that floods PINGs or SETTINGS and never reads their
 * acknowledgements would otherwise stall the fiber in a write, and nghttp2,
 * which counts acknowledgements queued but not yet taken by mem_send, would
 * never see the flood. So frames are taken from nghttp2 only while the
 * buffer holds less than OUT_HIGH bytes; past that they stay queued in
 * nghttp2, where its cap (nghttp2_option_set_max_outbound_ack) applies.
 *
 * TLS: a write that said NH_EAGAIN must be offered again with the same
 * bytes and length (OpenSSL's rule; the buffer may move, the context allows
 * it), so its length is kept in wretry. */
#include "http2/h2_server_internal.h"

#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"

#define OUT_HIGH 65536 /* take no more frames while this much waits */
#define TLS_CHUNK 16384 /* one TLS record's worth per write */

int nh__h2_out_put(nh__h2_conn *c, const void *data, size_t n) {
  if (c->woff == c->wlen)
    c->woff = c->wlen = 0;
  if (c->wlen + n > c->wcap && c->woff && !c->wretry) { /* room at the front */
    memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
    c->wlen -= c->woff;
    c->woff = 0;
  }
  if (c->wlen + n > c->wcap) {
    size_t cap = c->wcap * 2 > c->wlen + n ? c->wcap * 2 : c->wlen + n;
    char *b = realloc(c->wbuf, cap);
    if (!b)
      return NH_ENOMEM;
    c->wbuf = b;
    c->wcap = cap;
  }
  memcpy(c->wbuf + c->wlen, data, n);
  c->wlen += n;
  return NH_OK;
}

/* Frames from nghttp2 into the buffer, up to OUT_HIGH waiting. */
static int take_frames(nh__h2_conn *c) {
  while (c->wlen - c->woff < OUT_HIGH) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(c->ng, &data);
    if (n < 0) {
      if (n == NGHTTP2_ERR_FLOODED)
        nh__h2_abuse(c, NH__H2_EV_CONTROL_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM, NULL);
      c->dead = 1;
      return NH_OK; /* what is queued still goes */
    }
    if (n == 0)
      return NH_OK;
    if (nh__h2_out_put(c, data, (size_t)n) != NH_OK)
      return NH_ENOMEM;
  }
  return NH_OK;
}

/* Write what the socket takes now: NH_OK (all out), NH_EAGAIN, or an error. */
static int write_some(nh__h2_conn *c) {
  while (c->woff < c->wlen) {
    if (!c->io->fd)
      return NH_ECLOSED;
    size_t n = c->wlen - c->woff;
    ssize_t w;
    if (c->io->tls) {
      if (c->wretry)
        n = c->wretry;
      else if (n > TLS_CHUNK)
        n = TLS_CHUNK;
      w = nh_tls_try_write(c->io->tls, c->wbuf + c->woff, n);
      c->wretry = w == NH_EAGAIN ? n : 0;
    } else {
      w = nh_fd_try_write(c->io->fd, c->wbuf + c->woff, n);
    }
    if (w == NH_EAGAIN) {
      if (!c->wstall_at)
        c->wstall_at = nh__loop_time(c->loop);
      return NH_EAGAIN;
    }
    if (w < 0) {
      c->host->close_why(c->owner, NH_CLOSE_CLIENT);
      return (int)w;
    }
    c->woff += (size_t)w;
    c->wstall_at = 0; /* it moved: the write timeout counts from now on */
  }
  c->woff = c->wlen = 0;
  return NH_OK;
}

int nh__h2_out_send(nh__h2_conn *c) {
  for (;;) {
    int e = take_frames(c);
    if (e)
      return e;
    if (c->woff == c->wlen)
      return NH_OK; /* nghttp2 had nothing more */
    e = write_some(c);
    if (e)
      return e;
  }
}

nh_time nh__h2_out_deadline(const nh__h2_conn *c) {
  if (!c->wstall_at || c->host->write_timeout < 0)
    return NH_NO_DEADLINE;
  return c->wstall_at + c->host->write_timeout;
}

void nh__h2_out_last(nh__h2_conn *c) {
  nh_time give_up = nh__loop_deadline(c->loop, NH_SEC);
  for (;;) {
    int e = nh__h2_out_send(c);
    if (e != NH_EAGAIN)
      return;
    if (nh_fd_wait(c->io->fd, NH_FD_WRITE, give_up) != NH_OK)
      return;
  }
}
