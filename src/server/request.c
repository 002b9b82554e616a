/* Requests: turning a parsed head into an nh_request without copying (the
 * strings are NUL-terminated in place in the read buffer), reading the body
 * in blocking style, and draining what a handler left unread.
 *
 * RFC 9112 section 3.2: the request target is origin-form ("/path?q"),
 * absolute-form ("http://host/path"), authority-form ("host:port", CONNECT
 * only) or asterisk-form ("*", OPTIONS only). */
#include "exchange.h"
#include "tls_io.h"
#include "nethttp/status.h"
#include "nethttp/textproto.h"
#include "util/textproto_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int request_alive(const nh_request *r, const char *what) {
  if (r && r->magic == NH__REQ_MAGIC)
    return 1;
  NH_LOG(NULL, NH_LOG_ERROR, "request used after its handler returned", NH_LSTR("call", what));
  return 0;
}

/* Split target into path and query; find the host of absolute-form. */
static int parse_target(nh__serve *s, nh_request *r, char *target) {
  const char *method = r->method;
  /* First bytes before strcmp: nearly every target is "/..." of a GET. */
  if (method[0] == 'C' && !strcmp(method, "CONNECT")) {
    if (target[0] == '/' || !strchr(target, ':'))
      return NH_STATUS_BAD_REQUEST;
    r->host = target;
    r->path = "";
    r->query = "";
    return 0;
  }
  if (target[0] == '*' && !target[1]) {
    if (strcmp(method, "OPTIONS") != 0)
      return NH_STATUS_BAD_REQUEST;
    r->path = "*";
    r->query = "";
    return 0;
  }
  const char *p = target;
  if (target[0] != '/') {
    size_t scheme = strncasecmp(target, "http://", 7) == 0    ? 7
                    : strncasecmp(target, "https://", 8) == 0 ? 8
                                                               : 0;
    if (!scheme)
      return NH_STATUS_BAD_REQUEST;
    const char *auth = target + scheme;
    size_t alen = strcspn(auth, "/?");
    if (alen == 0)
      return NH_STATUS_BAD_REQUEST;
    r->host = nh__arena_strndup(&s->arena, auth, alen);
    p = auth + alen;
  }
  const char *q = strchr(p, '?');
  size_t plen = q ? (size_t)(q - p) : strlen(p);
  if (plen == 0)
    r->path = "/";
  else if (!q && p == target)
    r->path = target;
  else
    r->path = nh__arena_strndup(&s->arena, p, plen);
  r->query = q ? q + 1 : "";
  return r->path && r->host ? 0 : NH_STATUS_SERVICE_UNAVAILABLE;
}

int nh__request_build(nh__serve *s) {
  nh__h1_req *p = &s->parser;
  nh_request *r = &s->req;
  char *b = s->buf;
  NH__ZERO_BUT_HEADER(r, nh_request);
  r->magic = NH__REQ_MAGIC;
  r->s = s;
  /* Each span is followed by a delimiter llhttp has already consumed (' '
   * after method and target, ':' after a name, whitespace or CR/LF after a
   * value), so writing a NUL there costs nothing. */
  b[p->method.off + p->method.len] = 0;
  b[p->target.off + p->target.len] = 0;
  r->method = b + p->method.off;
  r->target = b + p->target.off;
  /* As sent: Go keeps "HTTP/1.2" and serves it as 1.1 (the parser took
   * one digit each). */
  static const char *const protos[10] = {"HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/1.3",
                                         "HTTP/1.4", "HTTP/1.5", "HTTP/1.6", "HTTP/1.7",
                                         "HTTP/1.8", "HTTP/1.9"};
  r->proto = protos[p->minor >= 0 && p->minor <= 9 ? p->minor : 1];
  nh__header_init(&r->header, &s->arena);
  const char *host = NULL;
  for (int i = 0; i < p->nfields; i++) {
    nh__h1_field *f = &p->fields[i];
    char *name = b + f->name.off;
    name[f->name.len] = 0;
    nh__token_canonical_copy(name, name, f->name.len);
    const char *value = "";
    if (f->value.len) {
      b[f->value.off + f->value.len] = 0;
      value = b + f->value.off;
    }
    if (nh__header_append_raw(&r->header, name, f->name.len, value, f->value.len) != NH_OK)
      return NH_STATUS_SERVICE_UNAVAILABLE;
    /* The Host header, found on the way rather than by a lookup after
     * (the key is canonical now; the parser refused a second one). */
    if (f->name.len == 4 && !memcmp(name, "Host", 4) && !host)
      host = value;
  }
  r->host = host ? host : "";
  int st = parse_target(s, r, (char *)r->target);
  if (st)
    return st;
  r->body_limit = -1;
  r->content_length = p->chunked ? -1 : (p->content_length > 0 ? p->content_length : 0);
  r->transfer_encoding = p->chunked ? "chunked" : NULL;
  s->body_done = !nh__h1_has_body(p);
  return 0;
}

/* ---- accessors ---- */

const char *nh_request_method(const nh_request *r) { return r->method; }
const char *nh_request_target(const nh_request *r) { return r->target; }
const char *nh_request_path(const nh_request *r) { return r->path; }
const char *nh_request_query(const nh_request *r) { return r->query; }
const char *nh_request_host(const nh_request *r) { return r->host; }
const char *nh_request_proto(const nh_request *r) { return r->proto; }
nh_header *nh_request_header(nh_request *r) { return &r->header; }
int64_t nh_request_content_length(const nh_request *r) { return r->content_length; }
const char *nh_request_transfer_encoding(const nh_request *r) { return r->transfer_encoding; }
const char *nh_request_remote_addr(const nh_request *r) { return r->s->c->remote; }
/* Made on first use: most handlers never ask, and a context costs an
 * allocation. It descends from the connection's, and ends with the
 * handler (or earlier, when the client leaves or the server shuts down). */
nh_ctx *nh_request_ctx(nh_request *r) {
  if (r->user_ctx)
    return r->user_ctx;
  if (!r->ctx && request_alive(r, "nh_request_ctx") &&
      nh_ctx_with_cancel(r->s->c->ctx, &r->ctx) == NH_OK)
    r->s->c->req_ctx = r->ctx;
  return r->ctx ? r->ctx : nh_ctx_background();
}
void *nh_request_handler_data(const nh_request *r) {
  return r->has_handler_data ? r->handler_data : r->s->srv->cfg.handler_data;
}
void nh_request_set_handler_data(nh_request *r, void *data) {
  r->handler_data = data;
  r->has_handler_data = 1;
}

void nh_handler_serve(nh_handler h, nh_response_writer *w, nh_request *r) {
  void *saved = r->handler_data;
  int had = r->has_handler_data;
  nh_request_set_handler_data(r, h.data);
  h.fn(w, r);
  r->handler_data = saved;
  r->has_handler_data = had;
}

int nh_request_proto_at_least(const nh_request *r, int major, int minor) {
  const nh__h1_req *p = &r->s->parser;
  return p->major > major || (p->major == major && p->minor >= minor);
}

nh_header *nh_request_trailer(nh_request *r) {
  return r->s->body_done && r->trailer ? r->trailer : NULL;
}

void nh_request_set_ctx(nh_request *r, nh_ctx *ctx) {
  if (!request_alive(r, "nh_request_set_ctx"))
    return;
  if (!ctx && !r->ctx) {
    r->user_ctx = NULL;
    nh_fiber_set_ctx(r->s->c->ctx);
    return;
  }
  r->user_ctx = ctx == r->ctx ? NULL : ctx;
  nh_fiber_set_ctx(ctx);
}

/* ---- request-scoped memory, cleanup, path values ---- */

struct nh__on_end {
  void (*fn)(void *arg);
  void *arg;
  struct nh__on_end *next;
};

struct nh__path_value {
  const char *name, *value;
};

void *nh_request_alloc(nh_request *r, size_t n) {
  return request_alive(r, "nh_request_alloc") ? nh__arena_alloc(&r->s->arena, n) : NULL;
}

char *nh_request_strdup(nh_request *r, const char *str) {
  return request_alive(r, "nh_request_strdup") ? nh__arena_strdup(&r->s->arena, str) : NULL;
}

int nh_request_on_end(nh_request *r, void (*fn)(void *arg), void *arg) {
  struct nh__on_end *e = nh_request_alloc(r, sizeof *e);
  if (!e)
    return NH_ENOMEM;
  e->fn = fn;
  e->arg = arg;
  e->next = r->on_end;
  r->on_end = e;
  return NH_OK;
}

void nh__request_end(nh_request *r) {
  while (r->on_end) {
    struct nh__on_end *e = r->on_end;
    r->on_end = e->next;
    e->fn(e->arg);
  }
}

const char *nh_request_path_value(const nh_request *r, const char *name) {
  for (int i = 0; i < r->npath_values; i++)
    if (!strcmp(r->path_values[i].name, name))
      return r->path_values[i].value;
  return NULL;
}

int nh_request_set_path_value(nh_request *r, const char *name, const char *value) {
  if (!request_alive(r, "nh_request_set_path_value"))
    return NH_EINVAL;
  nh__arena *a = &r->s->arena;
  const char *v = nh__arena_strdup(a, value);
  if (!v)
    return NH_ENOMEM;
  for (int i = 0; i < r->npath_values; i++)
    if (!strcmp(r->path_values[i].name, name)) {
      r->path_values[i].value = v;
      return NH_OK;
    }
  if (r->npath_values == r->path_values_cap) {
    int cap = r->path_values_cap ? r->path_values_cap * 2 : 4;
    struct nh__path_value *pv = nh__arena_alloc(a, (size_t)cap * sizeof *pv);
    if (!pv)
      return NH_ENOMEM;
    if (r->npath_values)
      memcpy(pv, r->path_values, (size_t)r->npath_values * sizeof *pv);
    r->path_values = pv;
    r->path_values_cap = cap;
  }
  const char *n = nh__arena_strdup(a, name);
  if (!n)
    return NH_ENOMEM;
  r->path_values[r->npath_values].name = n;
  r->path_values[r->npath_values++].value = v;
  return NH_OK;
}

int nh_request_set_path(nh_request *r, const char *path) {
  if (!request_alive(r, "nh_request_set_path"))
    return NH_EINVAL;
  const char *p = nh__arena_strdup(&r->s->arena, path);
  if (!p)
    return NH_ENOMEM;
  r->path = p;
  return NH_OK;
}

const char *nh_request_pattern(const nh_request *r) { return r->pattern ? r->pattern : ""; }
void nh_request_set_pattern(nh_request *r, const char *pattern) { r->pattern = pattern; }

/* ---- the body ---- */

void nh_request_limit_body(nh_request *r, int64_t max) {
  if (request_alive(r, "nh_request_limit_body"))
    r->body_limit = max < 0 ? -1 : max;
}

int nh_request_body_limit_hit(const nh_request *r) { return r->body_limit_hit; }

/* Past the cap: the connection cannot be kept (the rest of the body is
 * never read), and a handler that sends nothing else gets a 413. */
static ssize_t body_limit_hit(nh__serve *s) {
  nh__conn_close_why(s->c, NH_CLOSE_BODY_TOO_LARGE);
  s->req.body_limit_hit = 1;
  s->c->closing = 1;
  return NH_EBODYTOOLARGE;
}

/* Room for body bytes after the head, which must stay where it is. */
static int body_room(nh__serve *s) {
  if (s->pos == s->len)
    s->pos = s->len = s->head_end;
  if (s->cap - s->len >= 1024)
    return 1;
  size_t cap = s->cap + 16384;
  char *b = malloc(cap);
  if (!b)
    return 0;
  memcpy(b, s->buf, s->len);
  /* The request's strings point into the first buffer: keep that one until
   * the request ends; an intermediate one can go now. */
  if (!s->retired) {
    s->retired = s->buf;
    s->retired_cap = s->cap;
  } else {
    free(s->buf);
  }
  s->buf = b;
  s->cap = cap;
  return 1;
}

/* What decoding body bytes gave: the bytes, or a framing error, which
 * ends the connection. */
static ssize_t body_decoded(nh__serve *s, long n) {
  if (n < 0) {
    s->body_error = NH_EBADREQUEST;
    nh__conn_close_why(s->c, NH_CLOSE_ERROR_REPLY);
    s->c->closing = 1;
    NH_LOG(s->srv->log, NH_LOG_DEBUG, "refused a request body",
           NH_LSTR("reason", s->parser.reason ? s->parser.reason : "malformed body"),
           NH_LSTR("remote", s->c->remote));
    return s->body_error;
  }
  if (s->parser.phase == NH__H1_DONE)
    s->body_done = 1;
  return n;
}

/* One read of body bytes: from what is buffered, or from the socket.
 * Returns bytes, 0 at the end, or an error. */
static ssize_t body_read(nh__serve *s, void *out, size_t cap) {
  nh_request *r = &s->req;
  if (s->body_done)
    return 0;
  if (s->body_error)
    return s->body_error;
  if (s->parser.chunked && !r->trailer) {
    r->trailer = nh__arena_alloc(&s->arena, sizeof(nh_header));
    if (r->trailer)
      nh__header_init(r->trailer, &s->arena);
    s->parser.trailer = r->trailer;
    s->parser.trailer_arena = &s->arena;
  }
  for (;;) {
    if (s->pos < s->len) {
      ssize_t n = body_decoded(s, nh__h1_parse_body(&s->parser, s->buf, &s->pos, s->len, out, cap));
      if (n != 0 || s->body_done)
        return n;
      continue;
    }
    if (!s->c->fd)
      return NH_ECLOSED;
    /* Nothing buffered and a read as large as the buffer: a body framed by
     * Content-Length goes from the socket straight to the caller (Go's
     * bufio does the same), never more than is left of it, so no byte of
     * a next request lands there. */
    uint64_t left = nh__h1_body_left(&s->parser);
    int direct = left && cap >= NH__READ_BUF;
    if (!direct && !body_room(s))
      return NH_ENOMEM;
    size_t want = direct ? (cap < left ? cap : (size_t)left) : s->cap - s->len;
    ssize_t n = nh__conn_try_read(s->c, direct ? out : s->buf + s->len, want);
    /* Whether the socket had no more: after the handler, the server goes
     * idle only then, as the bytes of a next request may already wait. */
    s->short_read = n >= 0 && (size_t)n < want;
    if (n > 0 && direct)
      return body_decoded(s, nh__h1_parse_body_in_place(&s->parser, out, (size_t)n));
    if (n > 0) {
      s->len += (size_t)n;
      continue;
    }
    if (n == 0) { /* the client stopped sending mid-body */
      s->body_error = NH_ECONNRESET;
      nh__conn_close_why(s->c, NH_CLOSE_CLIENT);
      s->c->closing = 1;
      return s->body_error;
    }
    if (n != NH_EAGAIN) {
      nh__conn_close_why(s->c, NH_CLOSE_CLIENT);
      s->c->closing = 1;
      return s->body_error = (int)n;
    }
    s->c->client_wait = nh__loop_time(s->sl->loop);
    int e = nh_fd_wait(s->c->fd, NH_FD_READ, s->read_deadline);
    s->c->client_wait = 0;
    if (e) {
      if (e == NH_ETIMEDOUT) {
        NH__STAT_INC(s->srv, st_to_read);
        nh__conn_close_why(s->c, NH_CLOSE_TIMEOUT_READ);
      }
      s->c->closing = 1;
      if (e != NH_ECANCELED)
        s->body_error = e;
      return e;
    }
  }
}

ssize_t nh_request_read(nh_request *r, void *buf, size_t cap) {
  if (!request_alive(r, "nh_request_read"))
    return NH_EINVAL;
  nh__serve *s = r->s;
  if (r->body_limit_hit) /* sticky, even if the body's end was read */
    return NH_EBODYTOOLARGE;
  if (cap == 0 || s->body_done)
    return 0;
  if (r->body_limit >= 0) {
    if (r->content_length > r->body_limit)
      return body_limit_hit(s);
    /* Read one byte more than allowed, to tell "exactly at the cap" from
     * "over it". */
    int64_t left = r->body_limit - r->body_consumed + 1;
    if ((int64_t)cap > left)
      cap = (size_t)left;
  }
  /* Expect: 100-continue is answered when the handler first asks for the
   * body, never if it does not (RFC 9110 10.1.1). */
  if (s->parser.expect_continue && !s->continue_sent && !s->resp.committed) {
    s->continue_sent = 1;
    int e = nh__resp_send_continue(s);
    if (e)
      return e;
  }
  ssize_t n = body_read(s, buf, cap);
  if (n > 0 && r->body_limit >= 0 && (r->body_consumed += n) > r->body_limit) {
    /* The bytes up to the cap are the handler's (Go returns them with the
     * error); the error comes with the next read. */
    ssize_t within = n - (ssize_t)(r->body_consumed - r->body_limit);
    body_limit_hit(s);
    r->body_consumed = r->body_limit;
    return within > 0 ? within : NH_EBODYTOOLARGE;
  }
  return n;
}

int nh__request_drain(nh__serve *s, size_t limit) {
  if (s->body_done)
    return 1;
  if (s->body_error)
    return 0;
  nh_request *r = &s->req;
  /* The client waits for 100 Continue before sending the body: it was never
   * asked for, so there is nothing to drain, and nothing to trust. */
  if (s->parser.expect_continue && !s->continue_sent)
    return 0;
  if (r->content_length > (int64_t)limit) {
    NH__STAT_INC(s->srv, st_too_large_closed);
    nh__conn_close_why(s->c, NH_CLOSE_DRAIN_OVERFLOW);
    NH_LOG(s->srv->log, NH_LOG_DEBUG, "unread request body too large to drain: closing",
           NH_LSTR("method", r->method), NH_LSTR("path", r->path),
           NH_LINT("content_length", r->content_length));
    return 0;
  }
  char scratch[4096];
  size_t total = 0;
  while (total <= limit) {
    ssize_t n = body_read(s, scratch, sizeof scratch);
    if (n < 0)
      return 0;
    if (n == 0 && s->body_done) {
      NH__STAT_INC(s->srv, st_drained);
      NH_LOG(s->srv->log, NH_LOG_DEBUG, "drained an unread request body",
             NH_LSTR("method", r->method), NH_LSTR("path", r->path), NH_LINT("bytes", total));
      return 1;
    }
    total += (size_t)n;
  }
  NH__STAT_INC(s->srv, st_too_large_closed);
  nh__conn_close_why(s->c, NH_CLOSE_DRAIN_OVERFLOW);
  NH_LOG(s->srv->log, NH_LOG_DEBUG, "unread request body too large to drain: closing",
         NH_LSTR("method", r->method), NH_LSTR("path", r->path));
  return 0;
}

int nh__request_read_all(nh_request *r, size_t cap, char **out, size_t *len_out) {
  *out = NULL;
  *len_out = 0;
  /* Sized from the declared length when it fits; grown by doubling
   * otherwise, never past cap + 1 (one byte to see it was exceeded). */
  size_t bcap = r->content_length >= 0 && (uint64_t)r->content_length <= cap
                    ? (size_t)r->content_length + 1
                    : 4096;
  if (bcap > cap + 1)
    bcap = cap + 1;
  char *buf = malloc(bcap);
  if (!buf)
    return NH_ENOMEM;
  size_t len = 0;
  int e = 0;
  for (;;) {
    if (len == bcap) {
      size_t ncap = bcap > (cap + 1) / 2 ? cap + 1 : bcap * 2;
      char *nb = ncap > bcap ? realloc(buf, ncap) : NULL;
      if (!nb) {
        e = ncap > bcap ? NH_ENOMEM : NH_EBODYTOOLARGE;
        break;
      }
      buf = nb;
      bcap = ncap;
    }
    ssize_t n = nh_request_read(r, buf + len, bcap - len);
    if (n < 0) {
      e = (int)n;
      break;
    }
    if (n == 0)
      break;
    len += (size_t)n;
    if (len > cap) {
      e = NH_EBODYTOOLARGE;
      break;
    }
  }
  if (e) {
    free(buf);
    return e;
  }
  *out = buf;
  *len_out = len;
  return NH_OK;
}
