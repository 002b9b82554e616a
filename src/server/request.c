/* Requests: turning a protocol's head into an nh_request without copying
 * (the protocol hands over NUL-terminated strings where they lie), and
 * reading the body in blocking style through the protocol's read_body.
 *
 * RFC 9112 section 3.2: the request target is origin-form ("/path?q"),
 * absolute-form ("http://host/path"), authority-form ("host:port", CONNECT
 * only) or asterisk-form ("*", OPTIONS only). */
#include "exchange.h"
#include "nethttp/status.h"
#include "nethttp/textproto.h"
#include "util/dynbuf.h"
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
static int parse_target(nh__exchange *s, nh_request *r, char *target) {
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

int nh__request_build(nh__exchange *x, const nh__req_head *head) {
  nh_request *r = &x->req;
  NH__ZERO_BUT_HEADER(r, nh_request);
  r->magic = NH__REQ_MAGIC;
  r->s = x;
  r->method = head->method;
  r->target = head->target;
  r->proto = head->proto;
  r->major = head->major;
  r->minor = head->minor;
  /* The protocol filled the map with the fields as sent (r->header is
   * head->fields): Go's canonical keys, in place, unless it did that. */
  const char *host = NULL;
  for (uint32_t i = 0; i < head->fields->len; i++) {
    nh__hentry *f = &head->fields->items[i];
    char *name = (char *)f->key; /* the protocol's writable copy */
    if (!head->names_canonical)
      nh__token_canonical_copy(name, name, f->klen);
    /* The Host header, found on the way rather than by a lookup after
     * (the key is canonical now; the protocol refused a second one). */
    if (f->klen == 4 && !memcmp(name, "Host", 4) && !host)
      host = f->value;
  }
  r->host = host ? host : "";
  int st = parse_target(x, r, head->target);
  if (st)
    return st;
  r->body_limit = -1;
  r->content_length = head->content_length;
  r->transfer_encoding = head->transfer_encoding;
  x->proto->body_done = !head->has_body;
  x->body_error = 0;
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
const char *nh_request_remote_addr(const nh_request *r) { return r->s->remote; }
/* Made on first use: most handlers never ask, and a context costs an
 * allocation. It descends from the connection's, and ends with the
 * handler (or earlier, when the client leaves or the server shuts down). */
nh_ctx *nh_request_ctx(nh_request *r) {
  if (r->user_ctx)
    return r->user_ctx;
  if (!r->ctx && request_alive(r, "nh_request_ctx") &&
      nh_ctx_with_cancel(r->s->conn_ctx, &r->ctx) == NH_OK && r->s->req_ctx_out)
    *r->s->req_ctx_out = r->ctx;
  return r->ctx ? r->ctx : nh_ctx_background();
}
void *nh_request_handler_data(const nh_request *r) {
  return r->has_handler_data ? r->handler_data : r->s->env->handler_data;
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
  return r->major > major || (r->major == major && r->minor >= minor);
}

nh_header *nh_request_trailer(nh_request *r) {
  return r->s->proto->body_done && r->trailer ? r->trailer : NULL;
}

void nh_request_set_ctx(nh_request *r, nh_ctx *ctx) {
  if (!request_alive(r, "nh_request_set_ctx"))
    return;
  if (!ctx && !r->ctx) {
    r->user_ctx = NULL;
    nh_fiber_set_ctx(r->s->conn_ctx);
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

/* Past the cap: the rest of the body is never read (the protocol must not
 * wait for it), and a handler that sends nothing else gets a 413. */
static ssize_t body_limit_hit(nh__exchange *x) {
  if (!x->req.body_limit_hit)
    x->proto->ops->refuse_body(x->proto);
  x->req.body_limit_hit = 1;
  return NH_EBODYTOOLARGE;
}

/* One read through the protocol (which notes the body's end); a failure is
 * noted for the writer (a 400 for a malformed body). */
static ssize_t body_read(nh__exchange *x, void *buf, size_t cap) {
  nh_request *r = &x->req;
  /* Trailers may follow a chunked body, or any body over HTTP/2. */
  if ((r->transfer_encoding || r->major >= 2) && !r->trailer) {
    r->trailer = nh__arena_alloc(&x->arena, sizeof(nh_header));
    if (r->trailer)
      nh__header_init(r->trailer, &x->arena);
    x->proto->trailer = r->trailer;
  }
  ssize_t n = x->proto->ops->read_body(x->proto, buf, cap);
  if (n < 0 && n != NH_ECANCELED)
    x->body_error = (int)n;
  return n;
}

ssize_t nh_request_read(nh_request *r, void *buf, size_t cap) {
  if (!request_alive(r, "nh_request_read"))
    return NH_EINVAL;
  nh__exchange *x = r->s;
  if (r->body_limit_hit) /* sticky, even if the body's end was read */
    return NH_EBODYTOOLARGE;
  if (cap == 0 || x->proto->body_done)
    return 0;
  if (r->body_limit >= 0) {
    if (r->content_length > r->body_limit)
      return body_limit_hit(x);
    /* Read one byte more than allowed, to tell "exactly at the cap" from
     * "over it". */
    int64_t left = r->body_limit - r->body_consumed + 1;
    if ((int64_t)cap > left)
      cap = (size_t)left;
  }
  ssize_t n = body_read(x, buf, cap);
  if (n > 0 && r->body_limit >= 0 && (r->body_consumed += n) > r->body_limit) {
    /* The bytes up to the cap are the handler's (Go returns them with the
     * error); the error comes with the next read. */
    ssize_t within = n - (ssize_t)(r->body_consumed - r->body_limit);
    body_limit_hit(x);
    r->body_consumed = r->body_limit;
    return within > 0 ? within : NH_EBODYTOOLARGE;
  }
  return n;
}

int nh__request_read_all(nh_request *r, size_t cap, char **out, size_t *len_out) {
  *out = NULL;
  *len_out = 0;
  /* Sized from the declared length when it fits; grown by doubling
   * otherwise, never past cap + 1 (one byte to see it was exceeded). */
  nh__dynbuf b;
  nh__dynbuf_init(&b, cap + 1);
  size_t first = r->content_length >= 0 && (uint64_t)r->content_length <= cap
                     ? (size_t)r->content_length + 1
                     : 4096;
  int e = nh__dynbuf_reserve(&b, first < cap + 1 ? first : cap + 1);
  while (!e) {
    if (b.len + 1 >= b.cap) { /* full (one byte is the NUL's) */
      size_t more = b.len < cap + 1 - b.len ? b.len : cap + 1 - b.len;
      e = more ? nh__dynbuf_reserve(&b, more) : NH_EBODYTOOLARGE;
      if (e)
        break;
    }
    ssize_t n = nh_request_read(r, b.p + b.len, b.cap - b.len - 1);
    if (n <= 0) {
      e = (int)n;
      break;
    }
    b.len += (size_t)n;
    b.p[b.len] = 0;
    if (b.len > cap)
      e = NH_EBODYTOOLARGE;
  }
  if (e == NH_ERANGE)
    e = NH_EBODYTOOLARGE;
  if (e) {
    nh__dynbuf_free(&b);
    return e;
  }
  *out = nh__dynbuf_take(&b, len_out);
  return *out ? NH_OK : NH_ENOMEM;
}

/* ---- slots for the layers above ---- */

void *nh__request_ext_get(const nh_request *r, const void *key) {
  for (int i = 0; i < NH__EXT_KEYED && r->keyed[i].key; i++)
    if (r->keyed[i].key == key)
      return r->keyed[i].value;
  return NULL;
}

int nh__request_ext_set(nh_request *r, const void *key, void *value) {
  for (int i = 0; i < NH__EXT_KEYED; i++)
    if (!r->keyed[i].key || r->keyed[i].key == key) {
      r->keyed[i].key = key;
      r->keyed[i].value = value;
      return NH_OK;
    }
  return NH_ENOMEM;
}

nh_logger *nh__request_server_logger(const nh_request *r) {
  nh_logger *lg = r->s ? r->s->env->log : NULL;
  return lg ? lg : nh_log_default();
}

nh_ctx *nh__request_user_ctx(const nh_request *r) { return r->user_ctx; }
void nh__request_restore_user_ctx(nh_request *r, nh_ctx *ctx) { r->user_ctx = ctx; }
