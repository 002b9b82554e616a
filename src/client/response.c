/* Responses: the protocol-neutral head (nh__chead, filled by the
 * connection's read_head), the body read in blocking style from the stream
 * (decoded when the transport asked for gzip, br and zstd on the caller's
 * behalf and the server used one of them),
 * and the stream closed, its connection back in the pool, the moment the
 * body ends. Every
 * open response is listed on its transport with the file:line that made
 * the request, for the leak report. */
#include "internal.h"
#include "nethttp/textproto.h"
#include "runtime/internal.h"
#include "runtime/sanitizer.h"
#include "util/dynbuf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

nh_time nh__client_deadline(nh_ctx *ctx, nh_time d) {
  nh_time c = ctx ? nh_ctx_deadline(ctx) : NH_NO_DEADLINE;
  return c < d ? c : d;
}

static void open_list_add(nh_response *r) {
  nh_transport *t = r->t;
  nh__open_lock(t);
  r->next_open = t->open_responses;
  if (t->open_responses)
    t->open_responses->prev_open = r;
  t->open_responses = r;
  nh__open_unlock(t);
  atomic_fetch_add(&t->st_unclosed, 1);
}

static void open_list_remove(nh_response *r) {
  nh_transport *t = r->t;
  nh__open_lock(t);
  if (r->prev_open)
    r->prev_open->next_open = r->next_open;
  else
    t->open_responses = r->next_open;
  if (r->next_open)
    r->next_open->prev_open = r->prev_open;
  nh__open_unlock(t);
  atomic_fetch_sub(&t->st_unclosed, 1);
}

/* The body ended: the stream closes, its connection back to the pool. */
static void body_finished(nh_response *r) {
  r->body_done = 1;
  nh__cstream *st = r->stream;
  r->stream = NULL;
  if (st)
    nh__cstream_close(st, 1);
}

static void body_failed(nh_response *r, int e) {
  r->body_error = e;
  if (r->stream) {
    nh__cstream_close(r->stream, 0);
    r->stream = NULL;
  }
}

/* A response is some 2 KiB, past malloc's per-thread cache, and a busy
 * caller (a loop's fibers) makes and frees hundreds at a time: each thread
 * keeps up to KEEP for its next requests, freed when it ends. */
#ifdef NH_ASAN
#define KEEP 0 /* each response freed, so that a use after close is caught */
#else
#define KEEP 64
#endif
static __thread nh_response *spare;
static __thread int nspare;
static __thread int spare_keyed; /* the thread's end frees its spares */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_drop(void *unused) {
  (void)unused;
  while (spare) {
    nh_response *r = spare;
    spare = r->next_open;
    free(r);
  }
  nspare = 0;
  spare_keyed = 0;
}
static void spare_key_make(void) { pthread_key_create(&spare_key, spare_drop); }

static nh_response *response_get(void) {
  nh_response *r = spare;
  if (!r)
    return malloc(sizeof *r);
  spare = r->next_open;
  nspare--;
  return r;
}

static void response_put(nh_response *r) {
  if (nspare >= KEEP) {
    free(r);
    return;
  }
  if (!spare_keyed) { /* the thread's first: its end must free them */
    pthread_once(&spare_once, spare_key_make);
    pthread_setspecific(spare_key, (void *)1);
    spare_keyed = 1;
  }
  r->next_open = spare;
  spare = r;
  nspare++;
}

nh_response *nh__response_alloc(nh_transport *t, nh_client_request *req, const char *file,
                                int line) {
  nh_response *r = response_get();
  if (!r)
    return NULL;
  memset(r, 0, offsetof(nh_response, header_map)); /* the rest is set up below */
  nh__arena_init(&r->header_arena, r->header_first, sizeof r->header_first);
  nh__header_init(&r->header_map, &r->header_arena);
  r->head.header = &r->header_map;
  r->t = t;
  r->req = req;
  r->file = file;
  r->line = line;
  return r;
}

void nh__response_drop(nh_response *r) {
  if (!r)
    return;
  nh__arena_dispose(&r->header_arena);
  nh_header_free(r->head.trailer);
  response_put(r);
}

void nh__response_start(nh_response *r, nh__cstream *s, int codings_added) {
  r->stream = s;
  const char *ce = nh_header_get(r->head.header, "Content-Encoding");
  /* One coding we asked for; a list of several ("gzip, br") is left as
   * sent, as Go leaves anything but "gzip". */
  int c = ce ? nh__coding_parse(ce, strlen(ce)) : -1;
  if (codings_added && c > NH__CODING_IDENTITY && !r->head.no_body) {
    r->coding = c;
    nh_header_del(r->head.header, "Content-Encoding");
    nh_header_del(r->head.header, "Content-Length");
    r->head.content_length = -1;
  }
  open_list_add(r);
  if (r->head.no_body)
    body_finished(r);
}

void nh__response_adopt_request(nh_response *r, nh_client_request *req) { r->adopted_req = req; }

int nh_response_status(const nh_response *r) { return r->head.status; }
const char *nh_response_proto(const nh_response *r) { return r->head.proto; }
nh_header *nh_response_header(nh_response *r) { return r->head.header; }
nh_header *nh_response_trailer(nh_response *r) { return r->body_done ? r->head.trailer : NULL; }
int64_t nh_response_content_length(const nh_response *r) { return r->head.content_length; }
int nh_response_uncompressed(const nh_response *r) { return r->coding != 0; }
const char *nh_response_url(const nh_response *r) { return r->url ? r->url : ""; }

/* One raw read of the (possibly compressed) body, under the request's
 * context and the stall and total deadlines. */
static ssize_t raw_read(nh_response *r, void *buf, size_t cap) {
  if (r->body_done)
    return 0;
  if (r->body_error)
    return r->body_error;
  if (!r->stream)
    return NH_ECLOSED;
  nh_dur stall = r->t->cfg.body_stall_timeout;
  nh_time d = stall == NH_NO_TIMEOUT ? NH_NO_DEADLINE : nh_deadline_after(stall);
  if (r->total_deadline < d)
    d = r->total_deadline;
  nh_ctx *ctx = r->req ? r->req->ctx : NULL;
  nh_ctx *saved = nh_fiber_ctx();
  if (ctx)
    nh_fiber_set_ctx(ctx);
  nh__cstream *st = r->stream;
  ssize_t n = st->conn->ops->read_body(st, buf, cap, nh__client_deadline(ctx, d));
  if (ctx)
    nh_fiber_set_ctx(saved);
  if (n == 0)
    body_finished(r);
  else if (n < 0)
    body_failed(r, (int)n);
  return n;
}

/* The decoded body: the decoder hands out at most cap bytes per call, so
 * a small body that inflates to gigabytes costs only what the caller
 * reads (and the coding's window: 32 KiB for gzip, at most 16 MiB for br,
 * 8 MiB for zstd). Concatenated gzip members and zstd frames are read as
 * one body, as Go's gzip.Reader does; a body cut short, corrupt, or with
 * bytes after its end that start no member fails with NH_EBADRESPONSE. */
static ssize_t decoded_read(nh_response *r, void *buf, size_t cap) {
  if (r->dec_end)
    return 0;
  if (!r->dec) {
    if (!r->zin && !(r->zin = malloc(NH__CLIENT_BUF)))
      return NH_ENOMEM;
    if (!(r->dec = nh__decoder_new((nh__coding)r->coding)))
      return NH_ENOMEM;
  }
  for (;;) {
    ssize_t n = nh__decoder_pull(r->dec, buf, cap);
    if (n > 0)
      return n;
    if (n < 0 || nh__decoder_input_left(r->dec)) {
      int e = n == NH_ENOMEM ? NH_ENOMEM : NH_EBADRESPONSE;
      if (!r->body_error)
        body_failed(r, e);
      return e;
    }
    n = raw_read(r, r->zin, NH__CLIENT_BUF);
    if (n < 0)
      return n;
    if (n == 0) {
      if (!nh__decoder_done(r->dec))
        return NH_EBADRESPONSE; /* the stream was cut short */
      r->dec_end = 1;
      return 0;
    }
    nh__decoder_push(r->dec, r->zin, (size_t)n);
  }
}

ssize_t nh_response_read(nh_response *r, void *buf, size_t cap) {
  if (cap == 0)
    return 0;
  return r->coding ? decoded_read(r, buf, cap) : raw_read(r, buf, cap);
}

/* The body lands in the buffer's spare room (no copy), which doubles up
 * to max; a body that fills max is probed for one byte more. */
int nh_response_read_all(nh_response *r, size_t max, char **out, size_t *len) {
  *out = NULL; /* on any error: free(*out) stays safe */
  if (len)
    *len = 0;
  nh__dynbuf b;
  nh__dynbuf_init(&b, max);
  int e = NH_OK;
  for (;;) {
    size_t room = b.cap > b.len + 1 ? b.cap - b.len - 1 : 0;
    if (room == 0) {
      size_t grow = b.cap ? b.cap : 4096;
      if (grow > max - b.len)
        grow = max - b.len;
      if (grow == 0) { /* max bytes held: is there more? */
        char probe;
        ssize_t got = nh_response_read(r, &probe, 1);
        e = got < 0 ? (int)got : got > 0 ? NH_EBODYTOOLARGE : NH_OK;
        break;
      }
      if ((e = nh__dynbuf_reserve(&b, grow)) != NH_OK)
        break;
      b.p[b.len] = 0; /* a body that ends now is still a C string */
      room = b.cap - b.len - 1;
    }
    ssize_t got = nh_response_read(r, b.p + b.len, room);
    if (got <= 0) {
      e = (int)got;
      break;
    }
    b.len += (size_t)got;
    b.p[b.len] = 0;
  }
  if (e) {
    nh__dynbuf_free(&b);
    return e;
  }
  *out = nh__dynbuf_take(&b, len);
  return *out ? NH_OK : NH_ENOMEM;
}

/* Closing with body left: drain a little to keep the connection, as Go's
 * Transport does, bounded in bytes and time; otherwise close it. */
static void drain_or_close(nh_response *r) {
  if (!r->stream)
    return;
  if (!r->head.close && !r->head.no_drain) {
    nh_time until = nh_deadline_after(NH__DRAIN_TIME);
    if (until < r->total_deadline)
      r->total_deadline = until;
    char scratch[4096];
    size_t drained = 0;
    while (r->stream && drained <= NH__DRAIN_MAX) {
      ssize_t n = raw_read(r, scratch, sizeof scratch);
      if (n <= 0)
        break;
      drained += (size_t)n;
    }
  }
  if (r->stream) {
    atomic_fetch_add(&r->t->st_closed_unread, 1);
    body_failed(r, NH_ECLOSED);
  }
}

void nh_response_close(nh_response *r) {
  if (!r)
    return;
  drain_or_close(r);
  open_list_remove(r);
  nh__decoder_free(r->dec);
  free(r->zin);
  nh__arena_dispose(&r->header_arena);
  nh_header_free(r->head.trailer);
  nh_client_request_free(r->owned_req); /* before the request it borrows from */
  nh_client_request_free(r->adopted_req);
  response_put(r);
}
