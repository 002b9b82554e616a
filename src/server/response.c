/* The response writer (Go's ResponseWriter), for every protocol.
 *
 * Output is buffered in a write buffer. When the handler returns with
 * everything in the buffer, the head goes to the protocol with the body and
 * its length, in one write. When the buffer overflows, or the handler
 * flushes, the head is committed: with the handler's Content-Length if it
 * set one, else with the length unknown (the protocol frames the body its
 * way). What goes in the head, when it commits, which bodies are not
 * allowed and which headers were changed too late are decided here; how
 * they go on the wire is the protocol's (x->proto->ops). */
#include "exchange.h"
#include "nethttp/httpdate.h"
#include "nethttp/sniff.h"
#include "nethttp/status.h"
#include "nethttp/textproto.h"
#include "util/textproto_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int nh__resp_alive(const nh_response_writer *w, const char *what, const char *file, int line) {
  if (w && w->magic == NH__RESP_MAGIC)
    return 1;
  NH_LOG(NULL, NH_LOG_ERROR, "response writer used after its handler returned",
         NH_LSTR("call", what), NH_LLOC("caller", file, line));
  return 0;
}

void nh__resp_init(nh__exchange *s, nh_response_writer *w) {
  NH__ZERO_BUT_HEADER(w, nh_response_writer);
  w->magic = NH__RESP_MAGIC;
  w->s = s;
  nh__header_init(&w->header, &s->arena);
  w->header.trailer_prefix = 1;
  w->declared_length = -1;
  w->head_request = s->req.method[0] == 'H' && !strcmp(s->req.method, "HEAD");
  s->proto->write_deadline = nh__exchange_deadline(s, s->env->write_timeout);
}

nh_header *nh_resp_header(nh_response_writer *w) { return &w->header; }
int nh_resp_status(const nh_response_writer *w) { return w->status; }
int64_t nh_resp_written(const nh_response_writer *w) { return w->written; }
int nh_resp_committed(const nh_response_writer *w) { return w->committed; }
int nh_resp_hijacked(const nh_response_writer *w) { return w->hijacked; }

void nh__resp_abort(nh_response_writer *w) {
  w->failed = 1;
  w->close_after = 1;
  w->s->proto->ops->abort(w->s->proto);
}

void nh__resp_body_elsewhere(nh_response_writer *w) {
  if (!w->s->proto->body_done)
    w->close_after = 1;
}

int nh_resp_set_read_deadline(nh_response_writer *w, nh_time deadline) {
  if (!nh__resp_alive(w, "nh_resp_set_read_deadline", NULL, 0))
    return NH_EINVAL;
  w->s->proto->read_deadline = deadline;
  return NH_OK;
}

int nh_resp_set_write_deadline(nh_response_writer *w, nh_time deadline) {
  if (!nh__resp_alive(w, "nh_resp_set_write_deadline", NULL, 0))
    return NH_EINVAL;
  w->s->proto->write_deadline = deadline;
  return NH_OK;
}

/* ---- handing bytes to the protocol ---- */

/* Body bytes after the head; a failure leaves the writer failed. */
static int send_data(nh_response_writer *w, const struct iovec *iov, int n, int end) {
  nh__proto *p = w->s->proto;
  int e = p->ops->write_data(p, iov, n, end);
  if (e)
    w->failed = 1;
  return e;
}

/* The entry's key is lower, given in lowercase: for every header of every
 * response, cheaper than strcasecmp. */
static int key_is(const nh__hentry *e, const char *lower, size_t len) {
  return nh__token_is(e->key, e->klen, lower, len);
}

/* Whether body bytes follow the head (RFC 9110 section 6.4.1): never for
 * HEAD, 1xx, 204 or 304, whichever way the response is sent. */
static int body_follows(const nh_response_writer *w) {
  return !w->no_body && !w->head_request;
}

/* Decide the head. final: the whole body is buffered (so its length is
 * known). date: room for a Date the head adds. */
static void decide_head(nh_response_writer *w, nh__head *h, int final, char *date) {
  int has_date = 0, has_type = 0;
  for (uint32_t i = 0; i < w->header.len; i++) {
    const nh__hentry *e = &w->header.items[i];
    if (key_is(e, "date", 4))
      has_date = 1;
    else if (key_is(e, "content-type", 12))
      has_type = 1;
  }
  h->status = w->status;
  h->fields = &w->header;
  /* Trailers declared (Go): the "Trailer:" keys stay out of the head, and
   * the protocol frames the body so they can follow it. */
  int prefixed = 0;
  h->trailers = nh__resp_declares_trailers(w, &prefixed) && body_follows(w);
  if (prefixed) {
    const nh_header *f = nh__resp_head_fields(w);
    if (f)
      h->fields = f;
  }
  h->date = NULL;
  if (!has_date) {
    nh_http_date_now(date);
    h->date = date;
  }
  h->content_type = NULL;
  if (!has_type && !w->no_body && w->blen > 0)
    h->content_type =
        nh_detect_content_type(w->body, w->blen < NH_SNIFF_LEN ? w->blen : NH_SNIFF_LEN);
  else if (!has_type && !w->no_body && w->sniffed_type)
    h->content_type = w->sniffed_type;
  /* A bodyless status keeps no Content-Length, but a 304's (the length of
   * what a GET would get). */
  h->drop_length = w->no_body && w->status != 304;
  h->body = body_follows(w);
  h->length = -1;
  h->length_known = w->declared_length >= 0;
  if (final && w->declared_length < 0 && (h->body || (w->head_request && !w->no_body && w->written)))
    /* Known now. For HEAD, the length a GET would have had (Go's rule:
     * only if the handler wrote something); not final, it is unknown and
     * left out: a HEAD response has no body to frame (Go's
     * chunkWriter.writeHeader). */
    h->length = w->written;
  if (h->length >= 0)
    h->length_known = 1;
  h->close = w->close_after;
}

/* Commit the head and send it with the buffered body and more (if given).
 * final: nothing follows. */
static int commit_and_send(nh_response_writer *w, const void *more, size_t nmore, int final) {
  if (w->buffer_max) {
    nh__resp_settle_held(w);
    w->buffer_max = 0; /* from here on it streams */
  }
  char date[32];
  nh__head h;
  decide_head(w, &h, final, date);
  struct iovec body[2];
  int n = 0;
  if (w->blen)
    body[n++] = (struct iovec){w->body, w->blen};
  if (nmore)
    body[n++] = (struct iovec){(void *)more, nmore};
  w->committed = 1;
  nh__proto *p = w->s->proto;
  int e = p->ops->write_head(p, &h, body, n, final || !h.body);
  if (e)
    w->failed = 1;
  w->blen = 0;
  return e;
}

/* After the head: body bytes, as the protocol frames them. */
static int send_body(nh_response_writer *w, const void *data, size_t n) {
  if (n == 0 || !body_follows(w))
    return NH_OK;
  return send_data(w, &(struct iovec){(void *)data, n}, 1, 0);
}

/* ---- the handler's calls ---- */

/* A 1xx head (100, 103 Early Hints: may repeat) with the handler's
 * headers; the protocol leaves out what does not belong in one. */
static void send_informational(nh_response_writer *w, int status) {
  nh__proto *p = w->s->proto;
  if (p->ops->send_1xx(p, status, &w->header) != NH_OK)
    w->failed = 1;
}

void nh__resp_write_header(nh_response_writer *w, int status, const char *file, int line) {
  if (!nh__resp_alive(w, "nh_resp_write_header", file, line))
    return;
  if (w->hijacked)
    return;
  if (status < 100 || status > 999)
    nh_panic("nh_resp_write_header: invalid status code %d (%s:%d)", status, file, line);
  if (nh__resp_filtered(w) && status >= 200 && !w->fail_err) {
    w->in_filter = 1;
    w->filter->write_header(w->filter_st, w, status);
    w->in_filter = 0;
    return;
  }
  if (w->fail_err)
    return;
  if (w->status && w->buffer_max && !w->committed && status >= 200) {
    w->status = status; /* a held response can still change its mind */
    w->wh_file = file;
    w->wh_line = line;
    w->no_body = status == 204 || status == 304;
    return;
  }
  if (w->status) {
    NH_LOG(w->s->env->log, NH_LOG_WARN, "superfluous nh_resp_write_header call ignored",
           NH_LINT("status", status), NH_LINT("sent", w->status), NH_LLOC("caller", file, line),
           NH_LLOC("first_caller", w->wh_file, w->wh_line));
    return;
  }
  if (status >= 100 && status < 200 && status != 101) {
    if (!w->detached)
      send_informational(w, status); /* 100, 103 Early Hints: may repeat */
    return;
  }
  w->status = status;
  w->wh_file = file;
  w->wh_line = line;
  w->header_version = w->header.version;
  w->no_body = w->status == 204 || w->status == 304;
  const char *cl = nh__header_get_lower(&w->header, "content-length", 14);
  if (cl && !w->no_body) {
    char *end;
    long long v = strtoll(cl, &end, 10);
    if (*cl && !*end && v >= 0)
      w->declared_length = v;
    else
      nh_header_del(&w->header, "Content-Length");
  }
  /* Go sends the header as it was at WriteHeader: later changes are
   * noted (and reported at the end) but do not reach the wire. A held
   * response (nh_resp_buffer, TimeoutHandler) decides when it commits. */
  if (!nh__resp_holding(w))
    w->header.frozen = 1;
}

ssize_t nh__resp_write(nh_response_writer *w, const void *data, size_t n, const char *file,
                       int line) {
  if (!nh__resp_alive(w, "nh_resp_write", file, line))
    return NH_EINVAL;
  if (w->hijacked)
    return NH_EHIJACKED;
  if (nh__resp_filtered(w) && !w->fail_err) {
    w->in_filter = 1;
    ssize_t r = w->filter->write(w->filter_st, w, data, n);
    w->in_filter = 0;
    return r;
  }
  if (w->fail_err)
    return w->fail_err;
  if (!w->status)
    nh__resp_write_header(w, 200, file, line);
  if (w->no_body)
    return NH_ENOTSUP; /* Go's ErrBodyNotAllowed */
  if (w->failed)
    return NH_EPIPE;
  if (nh__resp_holding(w)) {
    if (w->detached || w->blen + n <= w->buffer_max) {
      if (nh__resp_hold_room(w, w->blen + n) != NH_OK)
        return NH_ENOMEM;
      memcpy(w->body + w->blen, data, n);
      w->blen += n;
      w->written += (int64_t)n;
      return (ssize_t)n;
    }
    nh__resp_settle_held(w); /* past the limit: decide now, then stream */
    w->buffer_max = 0;
  }
  if (w->declared_length >= 0 && w->written + (int64_t)n > w->declared_length)
    return NH_ERANGE; /* more than the Content-Length it promised */
  if (w->own_body) {
    /* The held bytes are in the writer's own buffer: send them with these. */
    w->written += (int64_t)n;
    int e = w->committed ? send_body(w, data, n) : commit_and_send(w, data, n, 0);
    return e ? e : (ssize_t)n;
  }
  if (!w->s->wbuf) {
    w->s->wbuf = nh__bufpool_get(w->s->env->wbufs);
    w->s->wcap = w->s->wbuf ? NH__WRITE_BUF : 0;
  }
  w->body = w->s->wbuf;
  w->bcap = w->s->wcap;
  w->written += (int64_t)n;
  if (w->head_request && !w->committed) {
    /* Nothing is sent for HEAD, but the first bytes still decide the
     * Content-Type, and the count the Content-Length. */
    size_t keep = w->blen + n <= w->bcap ? n : w->bcap - w->blen;
    memcpy(w->body + w->blen, data, keep);
    w->blen += keep;
    return (ssize_t)n;
  }
  if (!w->committed && w->blen + n <= w->bcap) {
    memcpy(w->body + w->blen, data, n);
    w->blen += n;
    return (ssize_t)n;
  }
  int e = w->committed ? send_body(w, data, n) : commit_and_send(w, data, n, 0);
  return e ? e : (ssize_t)n;
}

ssize_t nh__resp_write_string(nh_response_writer *w, const char *s, const char *file, int line) {
  return nh__resp_write(w, s, strlen(s), file, line);
}

static ssize_t resp_vprintf(nh_response_writer *w, const char *file, int line, const char *fmt,
                            va_list ap) {
  char small[512];
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  if (n < 0 || (size_t)n < sizeof small) {
    va_end(again);
    return n < 0 ? NH_EINVAL : nh__resp_write(w, small, (size_t)n, file, line);
  }
  char *big = malloc((size_t)n + 1);
  if (big)
    vsnprintf(big, (size_t)n + 1, fmt, again);
  va_end(again);
  if (!big)
    return NH_ENOMEM;
  ssize_t r = nh__resp_write(w, big, (size_t)n, file, line);
  free(big);
  return r;
}

ssize_t nh__resp_printf(nh_response_writer *w, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ssize_t r = resp_vprintf(w, file, line, fmt, ap);
  va_end(ap);
  return r;
}

/* A protocol without a sendfile of its own: the file read in chunks and
 * sent as body bytes. */
static int file_as_data(nh_response_writer *w, int fd, off_t offset, size_t len) {
  char chunk[16384];
  while (len) {
    ssize_t n = pread(fd, chunk, len < sizeof chunk ? len : sizeof chunk, offset);
    if (n <= 0)
      return NH_EIO; /* a read error, or the file is shorter than len */
    int e = send_data(w, &(struct iovec){chunk, (size_t)n}, 1, 0);
    if (e)
      return e;
    offset += n;
    len -= (size_t)n;
  }
  return NH_OK;
}

/* A detached writer holds everything in memory: the file is read into it. */
int nh__resp_sendfile(nh_response_writer *w, int fd, off_t offset, size_t len, const char *file,
                      int line) {
  if (!nh__resp_alive(w, "nh_resp_sendfile", file, line))
    return NH_EINVAL;
  if (w->hijacked)
    return NH_EHIJACKED;
  if (nh__resp_filtered(w) && !w->fail_err) {
    w->in_filter = 1;
    int r = w->filter->sendfile(w->filter_st, w, fd, offset, len);
    w->in_filter = 0;
    return r;
  }
  if (w->fail_err)
    return w->fail_err;
  if (w->detached)
    return nh__resp_sendfile_held(w, fd, offset, len);
  if (!w->status) {
    if (!w->written && !nh_header_get(&w->header, "Content-Length")) {
      char n[32];
      snprintf(n, sizeof n, "%zu", len);
      nh_header_set(&w->header, "Content-Length", n);
    }
    nh__resp_write_header(w, 200, file, line);
  }
  if (w->no_body)
    return NH_ENOTSUP;
  if (w->failed)
    return NH_EPIPE;
  if (w->declared_length >= 0 && w->written + (int64_t)len > w->declared_length)
    return NH_ERANGE;
  /* Sniff from the file itself if the handler named no type. */
  if (!w->committed && !nh_header_get(&w->header, "Content-Type") && !w->blen) {
    char head[NH_SNIFF_LEN];
    ssize_t n = pread(fd, head, sizeof head < len ? sizeof head : len, offset);
    if (n > 0) /* the head adds it, as it does for a buffered body */
      w->sniffed_type = nh_detect_content_type(head, (size_t)n);
  }
  /* The head goes out with the file's first bytes, not in a packet of its
   * own. */
  nh__proto *p = w->s->proto;
  int cork = p->ops->cork && !w->head_request && len > 0;
  if (cork)
    p->ops->cork(p, 1);
  int e = w->committed ? send_body(w, w->body, w->blen) : commit_and_send(w, NULL, 0, 0);
  w->blen = 0;
  if (!e)
    w->written += (int64_t)len;
  if (!e && !w->head_request && len > 0)
    e = p->ops->sendfile ? p->ops->sendfile(p, fd, offset, len) : file_as_data(w, fd, offset, len);
  if (cork)
    p->ops->cork(p, 0);
  if (e)
    w->failed = 1;
  return e;
}

int nh__resp_flush(nh_response_writer *w, const char *file, int line) {
  if (!nh__resp_alive(w, "nh_resp_flush", file, line))
    return NH_EINVAL;
  if (w->hijacked)
    return NH_EHIJACKED;
  if (nh__resp_filtered(w) && !w->fail_err) {
    w->in_filter = 1;
    int r = w->filter->flush(w->filter_st, w);
    w->in_filter = 0;
    return r;
  }
  if (w->fail_err)
    return w->fail_err;
  if (w->detached)
    return NH_ENOTSUP; /* its owner sends; Go's timeout writer cannot flush either */
  if (!w->status)
    nh__resp_write_header(w, 200, file, line);
  if (w->failed)
    return NH_EPIPE;
  int e = w->committed ? send_body(w, w->body, w->blen) : commit_and_send(w, NULL, 0, 0);
  w->blen = 0;
  nh__proto *p = w->s->proto;
  return e ? e : p->ops->flush(p);
}

int nh__resp_finish(nh_response_writer *w) {
  nh__resp_end_filter(w); /* a handler that panicked past its filter's wrapper */
  /* The handler met nh_request_limit_body's cap, or a malformed body (bad
   * chunk framing), and sent nothing: the client hears why, in Go's error
   * reply without the handler's headers, and the connection closes. */
  if (!w->status && w->s->req.body_limit_hit && !w->written) {
    nh__header_clear(&w->header);
    nh_error(w, "413 request body too large", 413);
  }
  if (!w->status && w->s->body_error == NH_EBADREQUEST && !w->written) {
    nh__header_clear(&w->header);
    nh_error(w, "400 Bad Request: malformed request body", 400);
  }
  if (!w->status)
    nh__resp_write_header(w, 200, __FILE__, __LINE__);
  if (w->header.version != w->header_version && !nh__resp_holding(w))
    NH_LOG(w->s->env->log, NH_LOG_WARN,
           "response headers changed after nh_resp_write_header were ignored",
           NH_LLOC("changed_at", w->header.changed_file, w->header.changed_line),
           NH_LLOC("write_header_at", w->wh_file, w->wh_line));
  if (w->failed)
    return NH_EPIPE;
  /* Trailers go with the body's end, if it can carry them. */
  nh__proto *p = w->s->proto;
  p->resp_trailer = body_follows(w) ? nh__resp_trailers(w) : NULL;
  int e;
  if (!w->committed) {
    e = commit_and_send(w, NULL, 0, 1);
  } else {
    /* The rest, and the end of the body. */
    int n = w->blen && body_follows(w);
    e = send_data(w, &(struct iovec){w->body, w->blen}, n, 1);
    w->blen = 0;
  }
  if (!e && w->declared_length >= 0 && w->written < w->declared_length && !w->head_request) {
    w->close_after = 1; /* the client waits for bytes that will not come */
    NH_LOG(w->s->env->log, NH_LOG_WARN, "handler wrote less than its Content-Length",
           NH_LINT("declared", w->declared_length), NH_LINT("written", w->written));
  }
  return e ? e : (w->close_after ? NH_EPIPE : NH_OK);
}

/* ---- hijack ---- */

/* Both hijacks: the checks, then the protocol hands the connection over
 * (plain or TLS as the caller expects). */
static int hijack(nh_response_writer *w, const char *fn, int want_tls, int *fd, nh_tls_conn **tls,
                  char **buffered, size_t *nbuffered) {
  if (!nh__resp_alive(w, fn, NULL, 0))
    return NH_EINVAL;
  if (w->committed || w->hijacked || w->detached)
    return NH_ENOTSUP;
  if (nh__resp_filtered(w)) {
    w->in_filter = 1;
    int r = w->filter->hijack(w->filter_st, w);
    w->in_filter = 0;
    if (r)
      return r;
    w->filter = NULL;
  }
  nh__proto *p = w->s->proto;
  int e = p->ops->hijack(p, want_tls, fd, tls, buffered, nbuffered);
  if (!e)
    w->hijacked = 1;
  return e;
}

int nh_resp_hijack(nh_response_writer *w, int *fd, char **buffered, size_t *nbuffered) {
  return hijack(w, "nh_resp_hijack", 0, fd, NULL, buffered, nbuffered);
}

int nh_resp_hijack_tls(nh_response_writer *w, nh_tls_conn **tls, char **buffered,
                       size_t *nbuffered) {
  return hijack(w, "nh_resp_hijack_tls", 1, NULL, tls, buffered, nbuffered);
}

/* The functions behind the macros of server.h, for callers that take their
 * address. */
#undef nh_resp_write_header
#undef nh_resp_write
#undef nh_resp_write_string
#undef nh_resp_printf
#undef nh_resp_sendfile
#undef nh_resp_flush

void nh_resp_write_header(nh_response_writer *w, int status) {
  nh__resp_write_header(w, status, __FILE__, __LINE__);
}

ssize_t nh_resp_write(nh_response_writer *w, const void *buf, size_t n) {
  return nh__resp_write(w, buf, n, __FILE__, __LINE__);
}

ssize_t nh_resp_write_string(nh_response_writer *w, const char *s) {
  return nh__resp_write(w, s, strlen(s), __FILE__, __LINE__);
}

ssize_t nh_resp_printf(nh_response_writer *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ssize_t r = resp_vprintf(w, __FILE__, __LINE__, fmt, ap);
  va_end(ap);
  return r;
}

int nh_resp_sendfile(nh_response_writer *w, int fd, off_t offset, size_t len) {
  return nh__resp_sendfile(w, fd, offset, len, __FILE__, __LINE__);
}

int nh_resp_flush(nh_response_writer *w) { return nh__resp_flush(w, __FILE__, __LINE__); }
