/* HTTP/1.x request parser (see h1_request.h).
 *
 * Head: the request line is parsed here (h1_request_line.c) and llhttp is
 * fed a stand-in line of the same version, so that any token method and
 * any HTTP/1.x version reach the server as Go has them. llhttp then
 * reports each piece of the header fields as a span of the caller's buffer. The buffer keeps every byte of the head
 * until it is complete, so pieces of one field that arrive in different
 * reads are adjacent and a span simply grows. Spans are stored as offsets,
 * so the buffer may be reallocated between feeds. llhttp pauses at the end
 * of the head; the caller then reads the body through nh__h1_parse_body,
 * which pauses again at the end of the message so pipelined bytes stay for
 * the next request. */
#include "h1_request.h"
#include "h1_request_line.h"
#include "nethttp/errors.h"
#include "nethttp/textproto.h"
#include "util/textproto_internal.h"

#include <string.h>
#include <strings.h>

static nh__h1_req *req_of(llhttp_t *ll) { return (nh__h1_req *)ll->data; }

static int fail(nh__h1_req *p, int status, const char *reason) {
  p->status = status;
  p->reason = reason;
  return HPE_USER;
}

static void grow_span(nh__h1_req *p, nh__h1_span *s, const char *at, size_t n) {
  uint32_t off = (uint32_t)(at - p->base);
  if (s->len == 0)
    s->off = off;
  s->len = off + (uint32_t)n - s->off; /* adjacent pieces: extend */
}

static int on_status(llhttp_t *ll, const char *at, size_t n) {
  nh__h1_req *p = req_of(ll);
  grow_span(p, &p->reason_phrase, at, n);
  return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n) {
  nh__h1_req *p = req_of(ll);
  if (p->phase == NH__H1_BODY) { /* a trailer name: copy, the buffer moves on */
    if ((p->trailer_bytes += n) > NH__H1_MAX_TRAILER_BYTES)
      return fail(p, 400, "trailer section too large");
    if (!p->trailer)
      return 0;
    size_t old = p->trailer_key ? strlen(p->trailer_key) : 0;
    char *k = nh__arena_alloc(p->trailer_arena, old + n + 1);
    if (!k)
      return fail(p, 500, "out of memory");
    if (old)
      memcpy(k, p->trailer_key, old);
    memcpy(k + old, at, n);
    k[old + n] = 0;
    p->trailer_key = k;
    return 0;
  }
  if (p->too_many_fields)
    return 0;
  if (p->last_was_value || p->nfields == 0) {
    if (p->nfields == p->max_fields) {
      /* Refused once the name is complete, after llhttp has checked it:
       * the same answer however the bytes were split into reads. */
      p->too_many_fields = 1;
      return 0;
    }
    p->nfields++;
    p->fields[p->nfields - 1] = (nh__h1_field){{0, 0}, {0, 0}};
    p->last_was_value = 0;
  }
  grow_span(p, &p->fields[p->nfields - 1].name, at, n);
  return 0;
}

static int on_header_field_complete(llhttp_t *ll) {
  nh__h1_req *p = req_of(ll);
  return p->too_many_fields ? fail(p, 431, "too many header fields") : 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n) {
  nh__h1_req *p = req_of(ll);
  if (p->phase == NH__H1_BODY) { /* a trailer value piece: gather, added when complete */
    if ((p->trailer_bytes += n) > NH__H1_MAX_TRAILER_BYTES)
      return fail(p, 400, "trailer section too large");
    if (!p->trailer || !p->trailer_key)
      return 0;
    size_t old = p->trailer_value ? strlen(p->trailer_value) : 0;
    char *v = nh__arena_alloc(p->trailer_arena, old + n + 1);
    if (!v)
      return fail(p, 500, "out of memory");
    if (old)
      memcpy(v, p->trailer_value, old);
    memcpy(v + old, at, n);
    v[old + n] = 0;
    p->trailer_value = v;
    return 0;
  }
  if (p->nfields == 0)
    return fail(p, 400, "header value without a name");
  nh__h1_field *f = &p->fields[p->nfields - 1];
  /* Pieces of one value split across reads are adjacent in the buffer. A
   * piece that is not adjacent skipped a line break: llhttp accepted an
   * obsolete line folding (RFC 9112 5.2), which we refuse. */
  if (f->value.len && at != p->base + f->value.off + f->value.len)
    return fail(p, 400, "obsolete line folding (RFC 9112 5.2)");
  /* A first piece must follow the colon and optional whitespace; after a
   * line break it is a fold of an empty value. The head is all in the
   * buffer, and the colon is in it, so the look back stays inside. */
  if (!f->value.len && n) { /* (an empty value comes as a piece of 0 bytes) */
    const char *q = at;
    while (q[-1] == ' ' || q[-1] == '\t')
      q--;
    if (q[-1] != ':')
      return fail(p, 400, "obsolete line folding (RFC 9112 5.2)");
  }
  grow_span(p, &f->value, at, n);
  p->last_was_value = 1;
  return 0;
}

static int on_header_value_complete(llhttp_t *ll) {
  nh__h1_req *p = req_of(ll);
  if (p->phase != NH__H1_BODY)
    return 0;
  if (p->trailer && p->trailer_key && nh_valid_header_name(p->trailer_key, strlen(p->trailer_key)))
    nh_header_add(p->trailer, p->trailer_key, p->trailer_value ? p->trailer_value : "");
  p->trailer_key = p->trailer_value = NULL;
  return 0;
}

/* A response's head: framing checks as Go's client makes them. */
static int check_response_head(nh__h1_req *p) {
  p->status_code = p->ll.status_code;
  if (p->status_code < 100 || p->status_code > 999)
    return fail(p, 502, "malformed status code");
  int te = 0;
  for (int i = 0; i < p->nfields; i++) {
    nh__h1_field *f = &p->fields[i];
    char *name = nh__h1_at(p, f->name);
    if (!nh_valid_header_name(name, f->name.len))
      return fail(p, 502, "invalid header name");
    char *v = nh__h1_at(p, f->value);
    while (f->value.len && (v[f->value.len - 1] == ' ' || v[f->value.len - 1] == '\t'))
      f->value.len--;
    if (nh__token_is(name, f->name.len, "transfer-encoding", 17)) {
      if (f->value.len != 7 || strncasecmp(v, "chunked", 7) != 0)
        return fail(p, 502, "unsupported transfer encoding");
      te = 1;
    }
  }
  int bodiless = p->head_request || p->status_code < 200 || p->status_code == 204 ||
                 p->status_code == 304;
  p->chunked = te && !bodiless;
  if ((p->ll.flags & F_CONTENT_LENGTH) && p->ll.content_length > (uint64_t)INT64_MAX)
    return fail(p, 502, "Content-Length does not fit in 63 bits");
  p->content_length = (p->ll.flags & F_CONTENT_LENGTH) ? (int64_t)p->ll.content_length : -1;
  p->until_close = !bodiless && !te && p->content_length < 0;
  if (bodiless)
    p->content_length = p->status_code < 200 || p->status_code == 204 ? 0 : p->content_length;
  if (bodiless) /* llhttp cannot know a HEAD's answer ends at its head */
    p->ll.flags |= F_SKIPBODY;
  p->keep_alive = llhttp_should_keep_alive(&p->ll) && !p->until_close;
  return 0;
}

static int method_is(const nh__h1_req *p, const char *m, uint32_t len) {
  return p->method.len == len && !memcmp(p->base + p->method.off, m, len);
}

/* Checks llhttp leaves to us, run once the whole head is in. */
static int check_head(nh__h1_req *p) {
  if (p->is_response) {
    p->major = p->ll.http_major;
    p->minor = p->ll.http_minor;
    if (p->major != 1)
      return fail(p, 505, "unsupported HTTP version");
    return check_response_head(p);
  }
  const char *te = NULL;
  int host = 0;
  for (int i = 0; i < p->nfields; i++) {
    nh__h1_field *f = &p->fields[i];
    char *name = nh__h1_at(p, f->name);
    if (!(p->canonical_names ? nh__token_check_canonical(name, f->name.len)
                             : nh_valid_header_name(name, f->name.len)))
      return fail(p, 400, "invalid header name");
    /* Trim optional whitespace after the value (llhttp keeps it). */
    char *v = nh__h1_at(p, f->value);
    while (f->value.len && (v[f->value.len - 1] == ' ' || v[f->value.len - 1] == '\t'))
      f->value.len--;
    if (nh__token_is(name, f->name.len, "host", 4)) {
      if (host++)
        return fail(p, 400, "more than one Host field (RFC 9112 3.2)");
      if (!nh__valid_host(v, f->value.len))
        return fail(p, 400, "invalid Host: not a host and optional port (RFC 9112 3.2, RFC 3986 3.2.2)");
    } else if (nh__token_is(name, f->name.len, "transfer-encoding", 17)) {
      /* One field, as Go: a second (even "chunked" again) is not framing
       * nethttp implements, and two parsers may disagree on it. */
      if (te)
        return fail(p, 501, "more than one Transfer-Encoding field (RFC 9112 6.1)");
      te = v;
      /* An HTTP/1.0 message with Transfer-Encoding has faulty framing. */
      if (p->minor == 0)
        return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1)");
      /* Only "chunked", alone, as Go: anything else is not implemented. */
      if (f->value.len != 7 || strncasecmp(v, "chunked", 7) != 0)
        return fail(p, 501, "unsupported transfer coding (RFC 9112 6.1)");
    } else if (nh__token_is(name, f->name.len, "expect", 6)) {
      /* 100-continue means nothing to an HTTP/1.0 client (RFC 9110 10.1.1). */
      if (f->value.len == 12 && strncasecmp(v, "100-continue", 12) == 0)
        p->expect_continue = p->minor >= 1;
      else
        return fail(p, 417, "unsupported expectation (RFC 9110 10.1.1)");
    }
  }
  /* CONNECT names its authority in the target; Go asks no Host of it. */
  if (!host && p->minor >= 1 && !method_is(p, "CONNECT", 7))
    return fail(p, 400, "missing Host header (RFC 9112 3.2)");
  /* A length read as negative would frame no body, and the body's bytes
   * would be read as the next request. */
  if ((p->ll.flags & F_CONTENT_LENGTH) && p->ll.content_length > (uint64_t)INT64_MAX)
    return fail(p, 400, "Content-Length does not fit in 63 bits (RFC 9110 8.6)");
  p->chunked = te != NULL;
  p->content_length = (p->ll.flags & F_CONTENT_LENGTH) ? (int64_t)p->ll.content_length : -1;
  p->keep_alive = llhttp_should_keep_alive(&p->ll);
  return 0;
}

static int on_headers_complete(llhttp_t *ll) {
  nh__h1_req *p = req_of(ll);
  if (p->phase == NH__H1_BODY) /* trailers done */
    return 0;
  int r = check_head(p);
  if (r)
    return r;
  return HPE_PAUSED;
}

static int on_body(llhttp_t *ll, const char *at, size_t n) {
  nh__h1_req *p = req_of(ll);
  char *to = p->out + p->out_len; /* fits: input fed <= room left */
  if (to != at) /* bytes read straight into out are already in place */
    memcpy(to, at, n);
  p->out_len += n;
  return 0;
}

/* A chunk's size line is complete: its size must fit an int64, and the
 * parser pauses so nh__h1_parse_body can count the line's bytes. */
static int on_chunk_header(llhttp_t *ll) {
  nh__h1_req *p = req_of(ll);
  p->ext_bytes = 0;
  if (ll->content_length > (uint64_t)INT64_MAX)
    return fail(p, 400, "chunk size does not fit in 63 bits (RFC 9112 7.1)");
  p->chunk_paused = 1;
  return HPE_PAUSED;
}

static int on_chunk_ext(llhttp_t *ll, const char *at, size_t n) {
  nh__h1_req *p = req_of(ll);
  p->ext_bytes += n;
  if (p->ext_bytes > NH__H1_MAX_CHUNK_EXT)
    return fail(p, 400, "chunk extension too long");
  return 0;
}

static int on_message_complete(llhttp_t *ll) {
  req_of(ll)->phase = NH__H1_DONE;
  return HPE_PAUSED;
}

static llhttp_settings_t settings;
static void settings_init(void) {
  llhttp_settings_init(&settings);
  settings.on_status = on_status;
  settings.on_header_field = on_header_field;
  settings.on_header_field_complete = on_header_field_complete;
  settings.on_header_value = on_header_value;
  settings.on_header_value_complete = on_header_value_complete;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_chunk_header = on_chunk_header;
  settings.on_chunk_extension_name = on_chunk_ext;
  settings.on_chunk_extension_value = on_chunk_ext;
  settings.on_message_complete = on_message_complete;
}

#include <pthread.h>
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static void clear_head(nh__h1_req *p) {
  p->phase = NH__H1_HEAD;
  p->method = p->target = p->reason_phrase = (nh__h1_span){0, 0};
  p->status_code = p->until_close = 0;
  p->nfields = 0;
  p->last_was_value = 0;
  p->content_length = -1;
  p->chunked = p->keep_alive = p->expect_continue = 0;
  p->ext_bytes = 0;
  p->line_state = 0;
  p->line_start = p->line_scan = 0;
  p->chunk_paused = 0;
  p->body_in = p->data_end = 0;
  p->chunk_excess = 0;
  p->trailer_bytes = 0;
  p->last_byte = 0;
  p->too_many_fields = 0;
  p->trailer_key = p->trailer_value = NULL;
  p->status = 0;
  p->reason = NULL;
}

/* A fresh request parser, made once: a server sets one up every time a
 * connection wakes from idle, and a struct copy is several times cheaper
 * than a memset, llhttp_init and clear_head. */
static nh__h1_req req_template;

/* llhttp's state just after a stand-in request line of HTTP/1.0 and 1.1:
 * copied in place of parsing one for every request. Valid only if no
 * span was left open (then nothing in it points into a buffer). */
static llhttp_t after_line[2];
static int after_line_ok;

static void template_init(void) {
  settings_init();
  llhttp_init(&req_template.ll, HTTP_REQUEST, &settings);
  clear_head(&req_template);
  static const char *const lines[2] = {"GET / HTTP/1.0\r\n", "GET / HTTP/1.1\r\n"};
  after_line_ok = 1;
  for (int v = 0; v < 2; v++) {
    llhttp_init(&after_line[v], HTTP_REQUEST, &settings);
    if (llhttp_execute(&after_line[v], lines[v], strlen(lines[v])) != HPE_OK ||
        after_line[v]._span_pos0)
      after_line_ok = 0;
  }
}

void nh__h1_req_init(nh__h1_req *p, nh__h1_field *fields, int max_fields) {
  pthread_once(&settings_once, template_init);
  *p = req_template;
  p->ll.data = p;
  p->fields = fields;
  p->max_fields = max_fields;
}

void nh__h1_resp_init(nh__h1_req *p, nh__h1_field *fields, int max_fields) {
  nh__h1_req_init(p, fields, max_fields);
  llhttp_init(&p->ll, HTTP_RESPONSE, &settings);
  p->ll.data = p;
  p->is_response = 1;
}

void nh__h1_req_next(nh__h1_req *p) {
  /* A request's llhttp state is replaced at its request line. */
  if (p->is_response || !after_line_ok) {
    llhttp_reset(&p->ll);
    p->ll.data = p;
  }
  p->trailer = NULL;
  p->trailer_arena = NULL;
  p->head_request = 0;
  clear_head(p);
}

/* Map an llhttp error to the status the client gets. */
static void llhttp_failure(nh__h1_req *p, llhttp_errno_t e) {
  if (p->status)
    return; /* our own check failed, status already chosen */
  p->reason = llhttp_get_error_reason(&p->ll);
  p->status = e == HPE_INVALID_TRANSFER_ENCODING ? 501 : 400;
}

static int line_failed(nh__h1_req *p, int status, const char *reason) {
  p->status = status;
  p->reason = reason;
  p->phase = NH__H1_FAILED;
  return -1;
}

/* The request line: waits for its LF (leading empty lines skipped, RFC 9112
 * 2.2), parses it, then feeds llhttp a stand-in line of the same version.
 * Returns 1 when the line is done (*pos past it), 0 for more input (all of
 * it consumed: the bytes stay in buf, where the spans point), -1 on error. */
static int request_line(nh__h1_req *p, char *buf, size_t *pos, size_t len) {
  if (p->line_state == 0) {
    size_t i = *pos;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
      i++;
    *pos = i;
    if (i == len)
      return 0;
    p->line_state = 1;
    p->line_start = p->line_scan = (uint32_t)i;
  }
  const char *why;
  char *lf = memchr(buf + p->line_scan, '\n', len - p->line_scan);
  if (!lf) {
    p->line_scan = (uint32_t)len;
    *pos = len;
    int st = nh__h1_request_line_prefix(buf, p->line_start, (uint32_t)len, &why);
    return st ? line_failed(p, st, why) : 0;
  }
  nh__h1_line line;
  int st = nh__h1_request_line(buf, p->line_start, (uint32_t)(lf - buf), &line, &why);
  if (st)
    return line_failed(p, st, why);
  p->method = (nh__h1_span){line.method_off, line.method_len};
  p->target = (nh__h1_span){line.target_off, line.target_len};
  p->major = line.major;
  p->minor = line.minor;
  /* HTTP/1.2 and up are served as HTTP/1.1 (RFC 9110 2.5). */
  if (after_line_ok) {
    p->ll = after_line[line.minor ? 1 : 0];
    p->ll.data = p;
  } else {
    static const char v10[] = "GET / HTTP/1.0\r\n", v11[] = "GET / HTTP/1.1\r\n";
    if (llhttp_execute(&p->ll, line.minor ? v11 : v10, sizeof v10 - 1) != HPE_OK)
      return line_failed(p, 400, "request line refused");
  }
  p->line_state = 2;
  *pos = (size_t)(lf - buf) + 1;
  return 1;
}

/* Does a line of the head buf[from, to) begin with SP or HTAB (obs-fold)?
 * The value checks catch most folds as they come; a fold of whitespace
 * alone gives llhttp no value bytes to report, so the whole head is looked
 * at once more (a few memchr calls). */
static int has_fold(const char *buf, size_t from, size_t to) {
  const char *p = buf + from, *end = buf + to;
  while ((p = memchr(p, '\n', (size_t)(end - p))) && ++p < end)
    if (*p == ' ' || *p == '\t')
      return 1;
  return 0;
}

int nh__h1_parse_head(nh__h1_req *p, char *buf, size_t *pos, size_t len) {
  p->base = buf;
  if (__builtin_expect(p->phase == NH__H1_FAILED, 0))
    return -1; /* a refused head stays refused */
  if (*pos >= len)
    return 0;
  if (!p->is_response && p->line_state != 2) {
    int r = request_line(p, buf, pos, len);
    if (r <= 0)
      return r;
    if (*pos >= len)
      return 0;
  }
  llhttp_errno_t e = llhttp_execute(&p->ll, buf + *pos, len - *pos);
  if (e == HPE_OK) {
    *pos = len;
    return 0;
  }
  if (e == HPE_PAUSED && p->phase == NH__H1_HEAD) {
    *pos = (size_t)(llhttp_get_error_pos(&p->ll) - buf);
    /* llhttp takes a bare LF as the empty line that ends the head, though
     * it refuses one after a field: refuse it here too (the request line
     * before it ended in CRLF, so buf[*pos - 2] is in this head). */
    if (!p->is_response && buf[*pos - 2] != '\r')
      return line_failed(p, 400, "bare LF ends the head (RFC 9112 2.2)");
    if (!p->is_response && has_fold(buf, p->line_start, *pos))
      return line_failed(p, 400, "obsolete line folding (RFC 9112 5.2)");
    llhttp_resume(&p->ll);
    p->phase = nh__h1_has_body(p) ? NH__H1_BODY : NH__H1_DONE;
    return 1;
  }
  llhttp_failure(p, e);
  p->phase = NH__H1_FAILED;
  return -1;
}

int nh__h1_has_body(const nh__h1_req *p) {
  if (p->is_response && (p->head_request || p->status_code < 200 || p->status_code == 204 ||
                         p->status_code == 304))
    return 0;
  return p->chunked || p->content_length > 0 || p->until_close;
}

int nh__h1_finish(nh__h1_req *p) {
  if (p->phase == NH__H1_DONE)
    return 0;
  if (p->phase != NH__H1_BODY || !p->until_close)
    return -1;
  p->out = NULL;
  p->out_len = 0;
  llhttp_errno_t e = llhttp_finish(&p->ll);
  if (e != HPE_OK && !(e == HPE_PAUSED && p->phase == NH__H1_DONE))
    return -1;
  p->phase = NH__H1_DONE;
  return 0;
}

uint64_t nh__h1_body_left(const nh__h1_req *p) {
  if (p->phase != NH__H1_BODY || p->chunked || p->until_close)
    return 0;
  return p->ll.content_length; /* llhttp counts it down as the body passes */
}

long nh__h1_parse_body_in_place(nh__h1_req *p, char *body, size_t n) {
  size_t pos = 0;
  return nh__h1_parse_body(p, body, &pos, n, body, n);
}

/* A chunk's size line ended at input offset at (llhttp paused there): its
 * bytes, with the CRLF ending the chunk before, are overhead. Go's rule
 * (CVE-2023-39326): 16 bytes and twice the chunk's data are free; the
 * rest adds up, and more than 16 KiB of it is refused. */
static int count_chunk_overhead(nh__h1_req *p, uint64_t at) {
  uint64_t size = p->ll.content_length;
  int64_t line = (int64_t)(at - p->data_end);
  int64_t free_bytes = NH__H1_CHUNK_FREE_OVERHEAD + 2 * (int64_t)(size < INT32_MAX ? size : INT32_MAX);
  p->chunk_excess += line - free_bytes;
  if (p->chunk_excess < 0)
    p->chunk_excess = 0;
  if (p->chunk_excess > NH__H1_MAX_CHUNK_EXCESS) {
    p->status = 400;
    p->reason = "chunked body is mostly chunk overhead (RFC 9112 7.1, Go CVE-2023-39326)";
    return -1;
  }
  p->data_end = at + size;
  return 0;
}

long nh__h1_parse_body(nh__h1_req *p, char *buf, size_t *pos, size_t len, char *out, size_t cap) {
  if (p->phase != NH__H1_BODY)
    return p->phase == NH__H1_DONE ? 0 : -1;
  p->base = buf;
  p->out = out;
  p->out_len = 0;
  size_t feed = len - *pos < cap ? len - *pos : cap;
  if (feed == 0)
    return 0;
  const char *at = buf + *pos;
  for (;;) {
    llhttp_errno_t e = llhttp_execute(&p->ll, at, feed);
    if (e == HPE_OK) {
      p->body_in += feed;
      if (feed)
        p->last_byte = at[feed - 1];
      *pos = (size_t)(at + feed - buf);
      break;
    }
    if (e == HPE_PAUSED && p->chunk_paused) {
      const char *stop = llhttp_get_error_pos(&p->ll);
      p->chunk_paused = 0;
      p->last_byte = stop[-1];
      p->body_in += (uint64_t)(stop - at);
      feed -= (size_t)(stop - at);
      at = stop;
      llhttp_resume(&p->ll);
      if (count_chunk_overhead(p, p->body_in) == 0)
        continue;
      p->phase = NH__H1_FAILED;
      return -1;
    }
    if (e == HPE_PAUSED && p->phase == NH__H1_DONE) {
      const char *stop = llhttp_get_error_pos(&p->ll);
      /* A chunked body ends with an empty line: CRLF, not a bare LF (the
       * CR may have come with the previous feed). */
      char before_lf = stop - at >= 2 ? stop[-2] : p->last_byte;
      if (p->chunked && !p->is_response && before_lf != '\r') {
        p->status = 400;
        p->reason = "bare LF ends the chunked body (RFC 9112 7.1)";
        p->phase = NH__H1_FAILED;
        return -1;
      }
      p->body_in += (uint64_t)(stop - at);
      *pos = (size_t)(stop - buf);
      break;
    }
    llhttp_failure(p, e);
    p->phase = NH__H1_FAILED;
    return -1;
  }
  return (long)p->out_len;
}
