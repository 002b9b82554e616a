/* Request bodies on an HTTP/1 connection: bytes already buffered after the
 * head first, then the socket; decoded (Content-Length or chunked) by the
 * parser into the caller's buffer. Expect: 100-continue is answered on the
 * first read, and a body the handler left unread is drained here (Go's
 * rule: up to max_body_drain, else the connection closes). */
#include "http1/h1_server.h"

#include <stdlib.h>
#include <string.h>

/* Room for body bytes after the head, which must stay where it is. */
static int body_room(nh__h1_sconn *hc) {
  if (hc->pos == hc->len)
    hc->pos = hc->len = hc->head_end;
  if (hc->cap - hc->len >= 1024)
    return 1;
  size_t cap = hc->cap + 16384;
  char *b = malloc(cap);
  if (!b)
    return 0;
  memcpy(b, hc->buf, hc->len);
  /* The request's strings point into the first buffer: keep that one until
   * the request ends; an intermediate one can go now. */
  if (!hc->retired) {
    hc->retired = hc->buf;
    hc->retired_cap = hc->cap;
  } else {
    free(hc->buf);
  }
  hc->buf = b;
  hc->cap = cap;
  return 1;
}

/* What decoding body bytes gave: the bytes, or a framing error, which
 * ends the connection. */
static ssize_t body_decoded(nh__h1_sconn *hc, long n) {
  if (n < 0) {
    hc->body_error = NH_EBADREQUEST;
    nh__h1_close_why(hc->link, NH_CLOSE_ERROR_REPLY);
    hc->link->closing = 1;
    NH_LOG(hc->host->log, NH_LOG_DEBUG, "refused a request body",
           NH_LSTR("reason", hc->parser.reason ? hc->parser.reason : "malformed body"),
           NH_LSTR("remote", hc->link->remote));
    return hc->body_error;
  }
  if (hc->parser.phase == NH__H1_DONE)
    hc->base.body_done = 1;
  return n;
}

/* The connection cannot go on after a failed read. */
static ssize_t read_failed(nh__h1_sconn *hc, int e, nh_close_reason why) {
  nh__h1_close_why(hc->link, why);
  hc->link->closing = 1;
  return hc->body_error = e;
}

/* One read of body bytes: from what is buffered, or from the socket.
 * Returns bytes, 0 at the end, or an error. */
static ssize_t body_read(nh__h1_sconn *hc, void *out, size_t cap) {
  nh__h1_link *l = hc->link;
  if (hc->base.body_done)
    return 0;
  if (hc->body_error)
    return hc->body_error;
  if (hc->parser.chunked && !hc->parser.trailer && hc->base.trailer) {
    hc->parser.trailer = hc->base.trailer;
    hc->parser.trailer_arena = hc->base.arena;
  }
  for (;;) {
    if (hc->pos < hc->len) {
      ssize_t n = body_decoded(
          hc, nh__h1_parse_body(&hc->parser, hc->buf, &hc->pos, hc->len, out, cap));
      if (n != 0 || hc->base.body_done)
        return n;
      continue;
    }
    if (!l->io.fd)
      return NH_ECLOSED;
    /* Nothing buffered and a read as large as the buffer: a body framed by
     * Content-Length goes from the socket straight to the caller (Go's
     * bufio does the same), never more than is left of it, so no byte of
     * a next request lands there. */
    uint64_t left = nh__h1_body_left(&hc->parser);
    int direct = left && cap >= hc->pool->size;
    if (!direct && !body_room(hc))
      return NH_ENOMEM;
    size_t want = direct ? (cap < left ? cap : (size_t)left) : hc->cap - hc->len;
    ssize_t n = nh__stream_try_read(&l->io, direct ? out : hc->buf + hc->len, want);
    /* Whether the socket had no more: after the handler, the server goes
     * idle only then, as the bytes of a next request may already wait. */
    hc->short_read = n >= 0 && (size_t)n < want;
    if (n > 0 && direct)
      return body_decoded(hc, nh__h1_parse_body_in_place(&hc->parser, out, (size_t)n));
    if (n > 0) {
      hc->len += (size_t)n;
      continue;
    }
    if (n == 0) /* the client stopped sending mid-body */
      return read_failed(hc, NH_ECONNRESET, NH_CLOSE_CLIENT);
    if (n != NH_EAGAIN)
      return read_failed(hc, (int)n, NH_CLOSE_CLIENT);
    l->client_wait = nh__loop_time(hc->loop);
    int e = nh_fd_wait(l->io.fd, NH_FD_READ, hc->base.read_deadline);
    l->client_wait = 0;
    if (e) {
      if (e == NH_ETIMEDOUT) {
        hc->host->count(hc->host, NH__H1_EV_TIMEOUT_READ);
        nh__h1_close_why(l, NH_CLOSE_TIMEOUT_READ);
      }
      l->closing = 1;
      if (e != NH_ECANCELED)
        hc->body_error = e;
      return e;
    }
  }
}

/* 100 Continue, now. */
static int send_continue(nh__h1_sconn *hc) {
  static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
  if (!hc->link->io.fd)
    return NH_ECLOSED;
  ssize_t r = nh__stream_write(&hc->link->io, msg, sizeof msg - 1, hc->base.write_deadline);
  return r < 0 ? (int)r : NH_OK;
}

ssize_t nh__h1_read_body(nh__proto *p, void *buf, size_t cap) {
  nh__h1_sconn *hc = (nh__h1_sconn *)p;
  /* Expect: 100-continue is answered when the handler first asks for the
   * body, never if it does not (RFC 9110 10.1.1). */
  if (hc->parser.expect_continue && !hc->continue_sent && !hc->committed && !hc->base.body_done) {
    hc->continue_sent = 1;
    int e = send_continue(hc);
    if (e)
      return e;
  }
  return body_read(hc, buf, cap);
}

/* A string of the head (NUL-terminated by then), wherever the head is now. */
static const char *head_at(const nh__h1_sconn *hc, nh__h1_span sp) {
  return (hc->head_copy ? hc->head_copy : hc->retired ? hc->retired : hc->buf) + sp.off;
}

/* Too much to drain: the connection closes instead. */
static int drain_refused(nh__h1_sconn *hc) {
  hc->host->count(hc->host, NH__H1_EV_TOO_LARGE);
  nh__h1_close_why(hc->link, NH_CLOSE_DRAIN_OVERFLOW);
  NH_LOG(hc->host->log, NH_LOG_DEBUG, "unread request body too large to drain: closing",
         NH_LSTR("method", head_at(hc, hc->parser.method)),
         NH_LSTR("target", head_at(hc, hc->parser.target)),
         NH_LINT("content_length", hc->parser.content_length));
  return 0;
}

int nh__h1_drain(nh__h1_sconn *hc, size_t limit) {
  if (hc->base.body_done)
    return 1;
  if (hc->body_error)
    return 0;
  /* The client waits for 100 Continue before sending the body: it was never
   * asked for, so there is nothing to drain, and nothing to trust. */
  if (hc->parser.expect_continue && !hc->continue_sent)
    return 0;
  if (!hc->parser.chunked && hc->parser.content_length > (int64_t)limit)
    return drain_refused(hc);
  char scratch[4096];
  size_t total = 0;
  while (total <= limit) {
    ssize_t n = body_read(hc, scratch, sizeof scratch);
    if (n < 0)
      return 0;
    if (n == 0 && hc->base.body_done) {
      hc->host->count(hc->host, NH__H1_EV_DRAINED);
      NH_LOG(hc->host->log, NH_LOG_DEBUG, "drained an unread request body",
             NH_LSTR("method", head_at(hc, hc->parser.method)),
             NH_LSTR("target", head_at(hc, hc->parser.target)), NH_LINT("bytes", total));
      return 1;
    }
    total += (size_t)n;
  }
  return drain_refused(hc);
}
