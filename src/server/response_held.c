/* Holding a response back: nh_resp_buffer (status, headers and body stay
 * changeable until the handler returns, the buffer fills, or it flushes)
 * and the detached writers TimeoutHandler runs its handler on, whose result
 * is copied to the real writer or dropped. */
#include "exchange.h"
#include "util/dynbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Status, headers and body stay changeable: nothing has gone out. */
int nh__resp_holding(const nh_response_writer *w) {
  return (w->buffer_max || w->detached) && !w->committed;
}

/* The Content-Length a handler set, as a number (-1: none or invalid, and
 * an invalid one is dropped: framing is ours to decide then). */
static int64_t header_length(nh_response_writer *w) {
  const char *cl = nh_header_get(&w->header, "Content-Length");
  if (!cl)
    return -1;
  char *end;
  long long v = strtoll(cl, &end, 10);
  if (*cl && !*end && v >= 0)
    return v;
  nh_header_del(&w->header, "Content-Length");
  return -1;
}

/* A held response is decided when it commits: the status and headers as
 * they are then. A Content-Length that does not fit the bytes already
 * accepted is dropped (the body's framing then comes from its real size). */
void nh__resp_settle_held(nh_response_writer *w) {
  w->no_body = w->status == 204 || w->status == 304;
  w->declared_length = w->no_body ? -1 : header_length(w);
  if (w->declared_length >= 0 && w->declared_length < w->written) {
    NH_LOG(w->s->env->log, NH_LOG_WARN, "buffered response longer than its Content-Length: dropped it",
           NH_LINT("declared", w->declared_length), NH_LINT("written", w->written));
    nh_header_del(&w->header, "Content-Length");
    w->declared_length = -1;
  }
  w->header_version = w->header.version;
}

static void free_own_body(void *arg) {
  nh_response_writer *w = arg;
  if (w->own_body)
    nh__dynbuf_free(w->held);
  w->own_body = 0;
  w->body = NULL;
  w->blen = w->bcap = 0;
}

/* Room for need body bytes in a held response: the exchange's write
 * buffer while it fits (never for a detached writer, which shares the
 * exchange with the real one), then a buffer of the writer's own. */
int nh__resp_hold_room(nh_response_writer *w, size_t need) {
  nh__exchange *s = w->s;
  if (!w->own_body && !w->detached) {
    if (!s->wbuf) {
      s->wbuf = nh__bufpool_get(s->env->wbufs);
      s->wcap = s->wbuf ? NH__WRITE_BUF : 0;
    }
    w->body = s->wbuf;
    w->bcap = s->wcap;
  }
  if (w->body && need <= w->bcap)
    return NH_OK;
  if (!w->own_body) {
    if (!w->held && !(w->held = nh__arena_alloc(&s->arena, sizeof *w->held)))
      return NH_ENOMEM;
    nh__dynbuf_init(w->held, NH__DYNBUF_NOCAP);
    if (nh__dynbuf_add(w->held, w->body, w->blen) != NH_OK ||
        nh_request_on_end(&s->req, free_own_body, w) != NH_OK) {
      nh__dynbuf_free(w->held);
      return NH_ENOMEM;
    }
    w->own_body = 1;
  }
  /* The buffer holds the blen bytes written so far; make room for the
   * rest, then write in place (the writer keeps the count). */
  w->held->len = w->blen;
  if (nh__dynbuf_reserve(w->held, need - w->blen) != NH_OK)
    return NH_ENOMEM;
  w->body = w->held->p;
  w->bcap = w->held->cap - 1; /* the last byte is the buffer's NUL */
  return NH_OK;
}

int nh_resp_buffer(nh_response_writer *w, size_t max_bytes) {
  if (!nh__resp_alive(w, "nh_resp_buffer", NULL, 0))
    return NH_EINVAL;
  if (w->committed || w->hijacked)
    return NH_ENOTSUP;
  if (max_bytes == 0)
    return NH_EINVAL;
  if (!w->detached)
    w->buffer_max = max_bytes;
  return NH_OK;
}

int nh_resp_reset(nh_response_writer *w) {
  if (!nh__resp_alive(w, "nh_resp_reset", NULL, 0))
    return NH_EINVAL;
  if (w->fail_err)
    return w->fail_err;
  if (w->committed || w->hijacked)
    return NH_ENOTSUP;
  if (w->filter && !w->in_filter) {
    w->in_filter = 1;
    w->filter->reset(w->filter_st, w);
    w->in_filter = 0;
    w->filter = NULL;
  }
  w->status = 0;
  w->no_body = 0;
  w->declared_length = -1;
  w->written = 0;
  w->blen = 0;
  w->wh_file = NULL;
  w->wh_line = 0;
  w->header.frozen = 0;
  nh__header_clear(&w->header);
  w->header_version = w->header.version;
  return NH_OK;
}

nh_response_writer *nh__resp_detached(nh_response_writer *w) {
  nh__exchange *s = w->s;
  nh_response_writer *d = nh__arena_alloc(&s->arena, sizeof *d);
  if (!d)
    return NULL;
  memset(d, 0, sizeof *d);
  d->magic = NH__RESP_MAGIC;
  d->s = s;
  nh__header_init(&d->header, &s->arena);
  d->header.trailer_prefix = 1; /* "Trailer:" keys, copied to w at the end */
  d->declared_length = -1;
  d->head_request = w->head_request;
  d->detached = 1;
  return d;
}

void nh__resp_detached_fail(nh_response_writer *d, int err) { d->fail_err = err; }

void nh__resp_detached_end(nh_response_writer *d) { d->magic = NH__DEAD_MAGIC; }

void nh__resp_detached_copy(nh_response_writer *d, nh_response_writer *w) {
  nh_header *src = &d->header, *dst = &w->header;
  for (uint32_t i = 0; i < src->len; i++) {
    int first = 1; /* Go: dst[k] = vv, so the first value of a key replaces */
    for (uint32_t j = 0; j < i && first; j++)
      first = strcasecmp(src->items[j].key, src->items[i].key) != 0;
    if (first)
      nh_header_del(dst, src->items[i].key);
    nh_header_add(dst, src->items[i].key, src->items[i].value);
  }
  nh__resp_write_header(w, d->status ? d->status : 200, d->wh_file ? d->wh_file : __FILE__,
                        d->wh_file ? d->wh_line : __LINE__);
  if (d->blen && !w->no_body)
    nh__resp_write(w, d->body, d->blen, __FILE__, __LINE__);
}

/* A file response while holding: its bytes join the held body. */
int nh__resp_sendfile_held(nh_response_writer *w, int fd, off_t offset, size_t len) {
  char chunk[16384];
  while (len) {
    ssize_t n = pread(fd, chunk, len < sizeof chunk ? len : sizeof chunk, offset);
    if (n <= 0)
      return NH_EIO; /* a read error, or the file is shorter than len */
    ssize_t r = nh__resp_write(w, chunk, (size_t)n, __FILE__, __LINE__);
    if (r < 0)
      return (int)r;
    offset += n;
    len -= (size_t)n;
  }
  return NH_OK;
}
