/* Reading an HTTP/1.x response: the input buffer, the head (1xx skipped),
 * its fields as a header map, and the body's framing. The caller does the
 * reads; everything here works on bytes already in the buffer. */
#include "http1/h1_response.h"

#include "nethttp/errors.h"
#include "nethttp/textproto.h"
#include "util/header_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far past max_head the buffer may grow: the head limit counts the
 * head alone, and the buffer also holds bytes before and after it. */
#define HEAD_SLACK 4096

int nh__h1_response_init(nh__h1_response *r, size_t max_head) {
  if (!(r->buf = malloc(NH__H1_RESPONSE_BUF)))
    return NH_ENOMEM;
  r->cap = NH__H1_RESPONSE_BUF;
  r->len = r->pos = 0;
  r->max_head = max_head;
  r->head_open = 0;
  r->head_start = 0;
  nh__arena_init(&r->arena, NULL, 0);
  nh__h1_resp_init(&r->parser, r->fields, NH__H1_RESPONSE_MAX_FIELDS);
  return NH_OK;
}

void nh__h1_response_dispose(nh__h1_response *r) {
  nh__arena_dispose(&r->arena);
  free(r->buf);
  r->buf = NULL;
}

void nh__h1_response_idle(nh__h1_response *r) {
  r->len = r->pos = 0;
  nh__arena_reset(&r->arena);
}

int nh__h1_response_room(nh__h1_response *r, char **at, size_t *n) {
  if (r->pos == r->len && r->parser.phase != NH__H1_HEAD)
    r->pos = r->len = 0; /* body bytes were all consumed: start over */
  if (r->len == r->cap) {
    if (r->cap >= r->max_head + HEAD_SLACK)
      return NH_EBADRESPONSE; /* head too large */
    size_t cap = r->cap * 2;
    char *b = realloc(r->buf, cap);
    if (!b)
      return NH_ENOMEM;
    r->buf = b;
    r->cap = cap;
  }
  *at = r->buf + r->len;
  *n = r->cap - r->len;
  return NH_OK;
}

int nh__h1_response_head(nh__h1_response *r, int head_request, int stop_at_100) {
  for (;;) {
    if (!r->head_open) {
      nh__h1_req_next(&r->parser);
      r->parser.head_request = head_request;
      r->head_open = 1;
      r->head_start = r->pos;
    }
    int st = nh__h1_parse_head(&r->parser, r->buf, &r->pos, r->len);
    if (st < 0)
      return NH_EBADRESPONSE;
    if (st == 0)
      return r->len - r->head_start > r->max_head ? NH_EBADRESPONSE : 0;
    r->head_open = 0;
    int code = r->parser.status_code;
    if (code == 100 && stop_at_100)
      return 1;
    if (code >= 100 && code < 200 && code != 101)
      continue; /* 100 Continue, 103 Early Hints: the real answer follows */
    return 1;
  }
}

void nh__h1_response_proto(const nh__h1_response *r, char *out) {
  const nh__h1_req *p = &r->parser;
  if (p->major >= 0 && p->major <= 9 && p->minor >= 0 && p->minor <= 9) { /* always: no printf */
    memcpy(out, "HTTP/x.y", 9);
    out[5] = (char)('0' + p->major);
    out[7] = (char)('0' + p->minor);
  } else {
    snprintf(out, 12, "HTTP/%d.%d", p->major, p->minor);
  }
}

int nh__h1_response_fields(const nh__h1_response *r, nh_header *h) {
  const nh__h1_req *p = &r->parser;
  for (int i = 0; i < p->nfields; i++) {
    const nh__h1_field *f = &p->fields[i];
    const char *value = nh__h1_at(p, f->value);
    if (!nh_valid_header_value(value, f->value.len))
      continue; /* invalid values are dropped */
    /* The parser checked the name is a token: copied (the buffer is
     * reused), the name made canonical, as nh_header_add would. */
    int e = nh__header_add_checked(h, nh__h1_at(p, f->name), f->name.len, value, f->value.len);
    if (e)
      return e;
  }
  return NH_OK;
}

int64_t nh__h1_response_content_length(const nh__h1_response *r) {
  const nh__h1_req *p = &r->parser;
  if (p->head_request)
    return p->content_length; /* what a GET would have had */
  return p->chunked || p->until_close ? -1 : p->content_length;
}

void nh__h1_response_set_trailer(nh__h1_response *r, nh_header *t) {
  r->parser.trailer = t;
  r->parser.trailer_arena = t ? &r->arena : NULL;
}

long nh__h1_response_body(nh__h1_response *r, char *out, size_t cap) {
  nh__h1_req *p = &r->parser;
  for (;;) {
    if (p->phase == NH__H1_DONE)
      return 0;
    if (r->pos == r->len)
      return NH_EAGAIN;
    long n = nh__h1_parse_body(p, r->buf, &r->pos, r->len, out, cap);
    if (n < 0)
      return NH_EBADRESPONSE;
    if (n > 0)
      return n;
  }
}

int nh__h1_response_eof(nh__h1_response *r) {
  /* The end of a body that runs until close; anything else was cut. */
  return nh__h1_finish(&r->parser) == 0 ? NH_OK : NH_ECONNRESET;
}
