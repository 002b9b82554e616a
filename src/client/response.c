/* Responses: the head as a header map, the body read in blocking style
 * (gunzipped when the transport asked for gzip on the caller's behalf), and
 * the connection handed back to the pool the moment the body ends. Every
 * open response is listed on its transport with the file:line that made
 * the request, for the leak report. */
#include "internal.h"
#include "nethttp/textproto.h"
#include "runtime/internal.h"

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
  pthread_mutex_lock(&t->mu);
  r->next_open = t->open_responses;
  if (t->open_responses)
    t->open_responses->prev_open = r;
  t->open_responses = r;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_add(&t->st_unclosed, 1);
}

static void open_list_remove(nh_response *r) {
  nh_transport *t = r->t;
  pthread_mutex_lock(&t->mu);
  if (r->prev_open)
    r->prev_open->next_open = r->next_open;
  else
    t->open_responses = r->next_open;
  if (r->next_open)
    r->next_open->prev_open = r->prev_open;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_sub(&t->st_unclosed, 1);
}

/* The body ended: the connection goes back to the pool (or closes). */
static void body_finished(nh_response *r) {
  r->body_done = 1;
  nh__cconn *c = r->conn;
  r->conn = NULL;
  if (!c)
    return;
  if (r->keep_alive)
    nh__pool_put(c);
  else
    nh__conn_discard(c);
}

static void body_failed(nh_response *r, int e) {
  r->body_error = e;
  if (r->conn) {
    nh__conn_discard(r->conn);
    r->conn = NULL;
  }
}

nh_response *nh__response_new(nh_transport *t, nh__cconn *c, nh_client_request *req,
                              int gzip_added, const char *file, int line) {
  nh_response *r = malloc(sizeof *r);
  if (!r)
    return NULL;
  memset(r, 0, offsetof(nh_response, header_map)); /* the rest is set up below */
  nh__arena_init(&r->header_arena, r->header_first, sizeof r->header_first);
  nh__header_init(&r->header_map, &r->header_arena);
  r->header = &r->header_map;
  nh__h1_req *p = &c->parser;
  r->t = t;
  r->conn = c;
  r->req = req;
  r->file = file;
  r->line = line;
  r->status = p->status_code;
  if (p->major >= 0 && p->major <= 9 && p->minor >= 0 && p->minor <= 9) { /* always: no printf */
    memcpy(r->proto, "HTTP/x.y", 9);
    r->proto[5] = (char)('0' + p->major);
    r->proto[7] = (char)('0' + p->minor);
  } else {
    snprintf(r->proto, sizeof r->proto, "HTTP/%d.%d", p->major, p->minor);
  }
  for (int i = 0; i < p->nfields; i++) {
    nh__h1_field *f = &p->fields[i];
    const char *value = nh__h1_at(p, f->value);
    if (!nh_valid_header_value(value, f->value.len))
      continue; /* invalid values are dropped */
    /* The parser checked the name is a token: copies (the buffer is
     * reused), the name made canonical, as nh_header_add would. */
    if (nh__header_add_checked(r->header, nh__h1_at(p, f->name), f->name.len, value,
                               f->value.len) != NH_OK)
      break;
  }
  r->content_length = p->chunked || p->until_close ? -1 : p->content_length;
  if (req && !strcmp(req->method, "HEAD"))
    r->content_length = p->content_length; /* what a GET would have had */
  r->keep_alive = p->keep_alive && !t->cfg.disable_keepalives;
  const char *ce = nh_header_get(r->header, "Content-Encoding");
  if (gzip_added && ce && !strcasecmp(ce, "gzip") && nh__h1_has_body(p)) {
    r->gzip = 1;
    nh_header_del(r->header, "Content-Encoding");
    nh_header_del(r->header, "Content-Length");
    r->content_length = -1;
  }
  if (p->chunked) {
    r->trailer = nh_header_new();
    p->trailer = r->trailer;
    p->trailer_arena = &c->arena;
  }
  open_list_add(r);
  if (!nh__h1_has_body(p))
    body_finished(r);
  return r;
}

void nh__response_adopt_request(nh_response *r, nh_client_request *req) { r->adopted_req = req; }

int nh_response_status(const nh_response *r) { return r->status; }
const char *nh_response_proto(const nh_response *r) { return r->proto; }
nh_header *nh_response_header(nh_response *r) { return r->header; }
nh_header *nh_response_trailer(nh_response *r) { return r->body_done ? r->trailer : NULL; }
int64_t nh_response_content_length(const nh_response *r) { return r->content_length; }
int nh_response_uncompressed(const nh_response *r) { return r->gzip; }
const char *nh_response_url(const nh_response *r) { return r->url ? r->url : ""; }

/* One raw read of the (possibly compressed) body, under the request's
 * context and the stall and total deadlines. */
static ssize_t raw_read(nh_response *r, void *buf, size_t cap) {
  if (r->body_done)
    return 0;
  if (r->body_error)
    return r->body_error;
  if (!r->conn)
    return NH_ECLOSED;
  nh_dur stall = r->t->cfg.body_stall_timeout;
  nh_time d = stall == NH_NO_TIMEOUT ? NH_NO_DEADLINE : nh_deadline_after(stall);
  if (r->total_deadline < d)
    d = r->total_deadline;
  nh_ctx *ctx = r->req ? r->req->ctx : NULL;
  nh_ctx *saved = nh_fiber_ctx();
  if (ctx)
    nh_fiber_set_ctx(ctx);
  ssize_t n = nh__conn_read_body(r->conn, buf, cap, nh__client_deadline(ctx, d));
  if (ctx)
    nh_fiber_set_ctx(saved);
  if (n == 0)
    body_finished(r);
  else if (n < 0)
    body_failed(r, (int)n);
  return n;
}

static ssize_t gunzip_read(nh_response *r, void *buf, size_t cap) {
  if (!r->z_init) {
    if (!(r->zin = malloc(NH__CLIENT_BUF)))
      return NH_ENOMEM;
    if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
      return NH_ENOMEM;
    r->z_init = 1;
  }
  for (;;) {
    if (r->z_end)
      return 0;
    if (r->zin_pos == r->zin_len) {
      ssize_t n = raw_read(r, r->zin, NH__CLIENT_BUF);
      if (n < 0)
        return n;
      if (n == 0)
        return NH_EBADRESPONSE; /* the gzip stream was cut short */
      r->zin_len = (size_t)n;
      r->zin_pos = 0;
    }
    r->z.next_in = (Bytef *)r->zin + r->zin_pos;
    r->z.avail_in = (uInt)(r->zin_len - r->zin_pos);
    r->z.next_out = buf;
    r->z.avail_out = (uInt)(cap > 1 << 30 ? 1 << 30 : cap);
    int zr = inflate(&r->z, Z_NO_FLUSH);
    r->zin_pos = r->zin_len - r->z.avail_in;
    size_t produced = (size_t)((char *)r->z.next_out - (char *)buf);
    if (zr == Z_STREAM_END) {
      r->z_end = 1;
      /* Let the connection go back now: finish reading the raw body. */
      char scratch[512];
      while (!r->body_done && !r->body_error && raw_read(r, scratch, sizeof scratch) > 0)
        ;
    } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
      body_failed(r, NH_EBADRESPONSE);
      return NH_EBADRESPONSE;
    }
    if (produced)
      return (ssize_t)produced;
  }
}

ssize_t nh_response_read(nh_response *r, void *buf, size_t cap) {
  if (cap == 0)
    return 0;
  return r->gzip ? gunzip_read(r, buf, cap) : raw_read(r, buf, cap);
}

int nh_response_read_all(nh_response *r, size_t max, char **out, size_t *len) {
  size_t cap = 4096, n = 0;
  *out = NULL; /* on any error: free(*out) stays safe */
  if (len)
    *len = 0;
  char *b = malloc(cap + 1);
  if (!b)
    return NH_ENOMEM;
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        free(b);
        return NH_EBODYTOOLARGE;
      }
      cap *= 2;
      char *nb = realloc(b, cap + 1);
      if (!nb) {
        free(b);
        return NH_ENOMEM;
      }
      b = nb;
    }
    ssize_t got = nh_response_read(r, b + n, cap - n);
    if (got < 0) {
      free(b);
      return (int)got;
    }
    if (got == 0)
      break;
    n += (size_t)got;
    if (n > max) {
      free(b);
      return NH_EBODYTOOLARGE;
    }
  }
  b[n] = 0;
  *out = b;
  if (len)
    *len = n;
  return NH_OK;
}

/* Closing with body left: drain a little to keep the connection, as Go's
 * Transport does, bounded in bytes and time; otherwise close it. */
static void drain_or_close(nh_response *r) {
  if (!r->conn)
    return;
  if (r->keep_alive) {
    nh_time until = nh_deadline_after(NH__DRAIN_TIME);
    if (until < r->total_deadline)
      r->total_deadline = until;
    char scratch[4096];
    size_t drained = 0;
    while (r->conn && drained <= NH__DRAIN_MAX) {
      ssize_t n = raw_read(r, scratch, sizeof scratch);
      if (n <= 0)
        break;
      drained += (size_t)n;
    }
  }
  if (r->conn) {
    atomic_fetch_add(&r->t->st_closed_unread, 1);
    body_failed(r, NH_ECLOSED);
  }
}

void nh_response_close(nh_response *r) {
  if (!r)
    return;
  drain_or_close(r);
  open_list_remove(r);
  if (r->z_init)
    inflateEnd(&r->z);
  free(r->zin);
  nh__arena_dispose(&r->header_arena);
  nh_header_free(r->trailer);
  nh_client_request_free(r->owned_req); /* before the request it borrows from */
  nh_client_request_free(r->adopted_req);
  free(r->url);
  free(r);
}
