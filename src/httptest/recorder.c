/* The response recorder: a handler called directly, on a request built from
 * text, answered into memory. It is a third implementation of the
 * exchange's protocol operations (util/proto_ops.h), beside HTTP/1 and
 * HTTP/2: the request and the writer are the server's own (WriteHeader
 * rules, sniffing, Date, Content-Length decisions...), and what the writer
 * hands over (status, fields, length, body) is kept as it is. For
 * nh_recorder_wire, the same head and body are also written as an
 * HTTP/1.1 server would send them, by the HTTP/1 writer. */
#include "http1/h1_server.h"
#include "nethttp/httptest.h"
#include "server/exchange.h"
#include "util/dynbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nh_recorder {
  nh__proto base; /* first: the exchange's protocol state */
  nh__exchange_env env;
  nh__bufpool wbufs; /* keeps none: a recorder serves once */
  const char *in;    /* the request body */
  size_t in_len, in_pos;
  int committed, head_only, chunked;
  int status;
  nh_header *header;
  nh_header *trailer; /* the response's trailers, once the body ended */
  nh__dynbuf body, wire;
};

#define REC(p) ((nh_recorder *)(p))

/* ---- the operations ---- */

static ssize_t rec_read_body(nh__proto *p, void *buf, size_t cap) {
  nh_recorder *rec = REC(p);
  size_t n = rec->in_len - rec->in_pos < cap ? rec->in_len - rec->in_pos : cap;
  memcpy(buf, rec->in + rec->in_pos, n);
  rec->in_pos += n;
  p->body_done = rec->in_pos == rec->in_len;
  return (ssize_t)n;
}

/* The trailers the writer gave with the body's end: kept whatever the
 * framing (as Go's ResponseRecorder keeps them), and on the wire after
 * the last chunk when the body is chunked. */
static int rec_trailer(nh_recorder *rec) {
  const nh_header *t = rec->base.resp_trailer;
  if (!t || !t->len) {
    if (rec->chunked)
      nh__dynbuf_addstr(&rec->wire, NH__H1_LAST_CHUNK);
    return NH_OK;
  }
  for (uint32_t i = 0; i < t->len; i++)
    if (nh_header_add(rec->trailer, t->items[i].key, t->items[i].value) != NH_OK)
      return NH_ENOMEM;
  if (!rec->chunked)
    return NH_OK;
  nh__h1_buf b = {0};
  b.cap = nh__h1_fields_size(t, 8);
  if (!(b.p = nh__arena_alloc(rec->base.arena, b.cap)))
    return NH_ENOMEM;
  nh__h1_put_last_chunk(&b, t);
  return nh__dynbuf_add(&rec->wire, b.p, b.len);
}

/* Body bytes into the body, and onto the wire framed as the head said. */
static int rec_body(nh_recorder *rec, const struct iovec *iov, int n, int end) {
  for (int i = 0; i < n && !rec->head_only; i++) {
    if (!iov[i].iov_len)
      continue;
    nh__dynbuf_add(&rec->body, iov[i].iov_base, iov[i].iov_len);
    char line[NH__H1_CHUNK_LINE_MAX];
    if (rec->chunked)
      nh__dynbuf_add(&rec->wire, line, nh__h1_chunk_line(line, iov[i].iov_len));
    nh__dynbuf_add(&rec->wire, iov[i].iov_base, iov[i].iov_len);
    if (rec->chunked)
      nh__dynbuf_addstr(&rec->wire, NH__H1_CHUNK_END);
  }
  if (end && !rec->head_only) {
    int e = rec_trailer(rec);
    if (e)
      return e;
  }
  return rec->body.err ? rec->body.err : rec->wire.err;
}

/* The response's fields as a client would get them: the handler's, those
 * the writer added, and the framing an HTTP/1.1 server would choose. */
static void rec_fields(nh_recorder *rec, const nh__head *h) {
  const nh_header *f = h->fields;
  for (uint32_t i = 0; f && i < f->len; i++) {
    const char *k = f->items[i].key;
    if (!strcasecmp(k, "Transfer-Encoding") || (h->drop_length && !strcasecmp(k, "Content-Length")))
      continue;
    nh_header_add(rec->header, k, f->items[i].value);
  }
  if (h->date)
    nh_header_add(rec->header, "Date", h->date);
  if (h->content_type)
    nh_header_add(rec->header, "Content-Type", h->content_type);
  if (h->length >= 0 && !rec->chunked) {
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)h->length);
    nh_header_add(rec->header, "Content-Length", n);
  } else if (rec->chunked) {
    nh_header_add(rec->header, "Transfer-Encoding", "chunked");
  }
  if (h->close)
    nh_header_add(rec->header, "Connection", "close");
}

static int rec_write_head(nh__proto *p, const nh__head *h, const struct iovec *body, int n,
                          int end) {
  nh_recorder *rec = REC(p);
  nh__h1_buf b;
  int close_after = 0;
  int e = nh__h1_build_response_head(NULL, h, p->arena, 0, &b, &rec->chunked, &close_after);
  if (e)
    return e;
  rec->committed = 1;
  rec->head_only = !h->body;
  rec->status = h->status;
  rec_fields(rec, h);
  nh__dynbuf_add(&rec->wire, b.p, b.len);
  return rec_body(rec, body, n, end);
}

static int rec_write_data(nh__proto *p, const struct iovec *iov, int n, int end) {
  return rec_body(REC(p), iov, n, end);
}

/* Interim responses go on the wire only: the recorded status is the final
 * one. */
static int rec_send_1xx(nh__proto *p, int status, const nh_header *fields) {
  nh_recorder *rec = REC(p);
  nh__h1_buf b = {0};
  b.cap = nh__h1_fields_size(fields, 64);
  if (!(b.p = nh__arena_alloc(p->arena, b.cap)))
    return NH_ENOMEM;
  nh__h1_put_status_line(&b, status);
  for (uint32_t i = 0; i < fields->len; i++) {
    const nh__hentry *f = &fields->items[i];
    if (strcasecmp(f->key, "Content-Length") && strcasecmp(f->key, "Transfer-Encoding"))
      nh__h1_put_field(&b, f->key, f->klen, f->value, f->vlen);
  }
  nh__h1_put_end(&b);
  return nh__dynbuf_add(&rec->wire, b.p, b.len);
}

static void rec_nothing(nh__proto *p) { (void)p; }
static int rec_flush(nh__proto *p) { return NH_OK; }
static int rec_finish(nh__proto *p, int ok) { return 0; /* no connection goes on */ }

static int rec_hijack(nh__proto *p, int want_tls, int *fd, nh_tls_conn **tls, char **buffered,
                      size_t *nbuffered) {
  return NH_ENOTSUP; /* there is no connection to take */
}

static const nh__proto_ops rec_ops = {
    .read_body = rec_read_body,
    .write_head = rec_write_head,
    .write_data = rec_write_data,
    .send_1xx = rec_send_1xx,
    .refuse_body = rec_nothing,
    .flush = rec_flush,
    .finish = rec_finish,
    .abort = rec_nothing,
    .hijack = rec_hijack,
};

/* ---- the request ---- */

/* Trim spaces and tabs around [*s, *e). */
static void trim(char **s, char **e) {
  while (*s < *e && (**s == ' ' || **s == '\t'))
    (*s)++;
  while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
    (*e)--;
}

/* The header lines ("Name: value\r\n...") into the request's map, in the
 * exchange's memory. Returns 0, or -1 for a malformed line. */
static int parse_fields(nh__arena *a, const char *text, nh_header *out) {
  char *copy = nh__arena_strdup(a, text ? text : "");
  for (char *line = copy; copy && *line;) {
    char *eol = line + strcspn(line, "\r\n");
    char *next = eol + strspn(eol, "\r\n");
    if (eol > line) {
      char *colon = memchr(line, ':', (size_t)(eol - line));
      if (!colon || colon == line)
        return -1;
      char *ns = line, *ne = colon, *vs = colon + 1, *ve = eol;
      trim(&ns, &ne);
      trim(&vs, &ve);
      *ne = 0;
      *ve = 0;
      if (nh__header_append_raw(out, ns, (uint32_t)(ne - ns), vs, (uint32_t)(ve - vs)) != NH_OK)
        return -1;
    }
    line = next;
  }
  return copy ? 0 : -1;
}

static const char *field(const nh_header *h, const char *name) {
  for (uint32_t i = 0; i < h->len; i++)
    if (!strcasecmp(h->items[i].key, name))
      return h->items[i].value;
  return NULL;
}

/* The request head of method, target, header lines and body. */
static int make_head(nh__exchange *x, nh_recorder *rec, const char *method, const char *target,
                     const char *headers, nh__req_head *h) {
  nh_header *fields = rec->base.req_fields;
  nh__header_init(fields, &x->arena);
  if (parse_fields(&x->arena, headers, fields) < 0)
    return -1;
  if (!field(fields, "Host")) {
    char *host = nh__arena_strdup(&x->arena, "Host");
    if (!host || nh__header_append_raw(fields, host, 4, "example.com", 11) != NH_OK)
      return -1;
  }
  const char *te = field(fields, "Transfer-Encoding");
  const char *cl = field(fields, "Content-Length");
  *h = (nh__req_head){.method = nh__arena_strdup(&x->arena, method),
                      .target = nh__arena_strdup(&x->arena, target),
                      .proto = "HTTP/1.1",
                      .major = 1,
                      .minor = 1,
                      .fields = fields};
  int chunked = te && !strcasecmp(te, "chunked");
  h->transfer_encoding = chunked ? "chunked" : NULL;
  h->content_length = chunked ? -1 : cl ? strtoll(cl, NULL, 10) : (int64_t)rec->in_len;
  h->has_body = chunked || h->content_length > 0;
  if (h->content_length >= 0 && (size_t)h->content_length < rec->in_len)
    rec->in_len = (size_t)h->content_length;
  return h->method && h->target ? 0 : -1;
}

nh_recorder *nh_recorder_serve(nh_handler_fn handler, void *handler_data, const char *method,
                               const char *target, const char *headers, const char *body) {
  nh_recorder *rec = calloc(1, sizeof *rec);
  nh__exchange *x = malloc(sizeof *x);
  if (!rec || !x || !(rec->header = nh_header_new()) || !(rec->trailer = nh_header_new())) {
    if (rec)
      nh_header_free(rec->header);
    free(rec);
    free(x);
    return NULL;
  }
  rec->base.ops = &rec_ops;
  rec->base.read_deadline = NH_NO_DEADLINE;
  nh__bufpool_init(&rec->wbufs, NH__WRITE_BUF, 0);
  nh__dynbuf_init(&rec->body, NH__DYNBUF_NOCAP);
  nh__dynbuf_init(&rec->wire, NH__DYNBUF_NOCAP);
  nh_server_config defaults = NH_SERVER_CONFIG_DEFAULT;
  rec->env = (nh__exchange_env){.log = nh_log_default(),
                                .handler_data = handler_data,
                                .wbufs = &rec->wbufs,
                                .write_timeout = defaults.write_timeout};
  rec->in = body ? body : "";
  rec->in_len = strlen(rec->in);
  nh__exchange_init(x, &rec->base, &rec->env);
  x->remote = "192.0.2.1:1234";
  nh__req_head head;
  int ok = make_head(x, rec, method, target, headers, &head) == 0 &&
           nh__exchange_begin(x, &head) == 0;
  if (ok) {
    handler(&x->resp, &x->req);
    nh__exchange_end(x);
  }
  nh__exchange_dispose(x);
  free(x);
  if (!ok) {
    nh_recorder_free(rec);
    return NULL;
  }
  return rec;
}

int nh_recorder_status(const nh_recorder *rec) { return rec->status; }
nh_header *nh_recorder_header(nh_recorder *rec) { return rec->header; }
nh_header *nh_recorder_trailer(nh_recorder *rec) { return rec->trailer; }

const char *nh_recorder_body(const nh_recorder *rec, size_t *len) {
  if (len)
    *len = rec->body.len;
  return nh__dynbuf_ptr(&rec->body);
}

const char *nh_recorder_wire(const nh_recorder *rec, size_t *len) {
  if (len)
    *len = rec->wire.len;
  return nh__dynbuf_ptr(&rec->wire);
}

void nh_recorder_free(nh_recorder *rec) {
  if (!rec)
    return;
  nh__dynbuf_free(&rec->wire);
  nh__dynbuf_free(&rec->body);
  nh_header_free(rec->header);
  nh_header_free(rec->trailer);
  free(rec);
}
