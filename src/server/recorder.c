/* The response recorder: a handler called directly, on a request built from
 * text, answered into memory. Everything between is the server's own code:
 * the request is parsed by the HTTP/1 parser, the response written by the
 * real writer (framing, sniffing, Date...), so a handler unit test sees
 * exactly what a client would. */
#include "exchange.h"
#include "nethttp/httptest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nh_recorder {
  nh_server srv;
  nh__srv_loop sl;
  nh__conn conn;
  nh__serve s;
  nh__h1_field fields[100];
  nh__wire wire;
  int status;
  nh_header *header;
  char *body;
  size_t blen;
};

int nh__wire_append(nh__wire *w, const void *data, size_t n) {
  if (w->len + n + 1 > w->cap) {
    size_t cap = (w->len + n + 1) * 2;
    char *p = realloc(w->p, cap);
    if (!p)
      return NH_ENOMEM;
    w->p = p;
    w->cap = cap;
  }
  memcpy(w->p + w->len, data, n);
  w->len += n;
  w->p[w->len] = 0;
  return NH_OK;
}

/* Decode the recorded bytes: status line, headers, body (chunked or not). */
static void decode(nh_recorder *rec) {
  char *p = rec->wire.p;
  /* Skip interim 1xx responses. */
  while (p && !strncmp(p, "HTTP/1.1 1", 10) && strncmp(p, "HTTP/1.1 101", 12)) {
    char *end = strstr(p, "\r\n\r\n");
    p = end ? end + 4 : NULL;
  }
  if (!p || strlen(p) < 12)
    return;
  rec->status = atoi(p + 9);
  char *end = strstr(p, "\r\n\r\n");
  if (!end)
    return;
  char *line = strstr(p, "\r\n") + 2;
  int chunked = 0;
  while (line < end) {
    char *eol = strstr(line, "\r\n");
    char *colon = memchr(line, ':', (size_t)(eol - line));
    if (colon) {
      char key[256], val[4096];
      snprintf(key, sizeof key, "%.*s", (int)(colon - line), line);
      const char *v = colon + 1;
      while (*v == ' ')
        v++;
      snprintf(val, sizeof val, "%.*s", (int)(eol - v), v);
      nh_header_add(rec->header, key, val);
      if (!strcasecmp(key, "Transfer-Encoding") && !strcasecmp(val, "chunked"))
        chunked = 1;
    }
    line = eol + 2;
  }
  char *b = end + 4;
  size_t left = rec->wire.len - (size_t)(b - rec->wire.p);
  rec->body = malloc(left + 1);
  if (!rec->body)
    return;
  if (!chunked) {
    memcpy(rec->body, b, left);
    rec->blen = left;
  } else {
    for (;;) {
      size_t sz = strtoul(b, NULL, 16);
      char *data = strstr(b, "\r\n");
      if (!data || sz == 0)
        break;
      data += 2;
      memcpy(rec->body + rec->blen, data, sz);
      rec->blen += sz;
      b = data + sz + 2;
    }
  }
  rec->body[rec->blen] = 0;
}

nh_recorder *nh_recorder_serve(nh_handler_fn handler, void *handler_data, const char *method,
                               const char *target, const char *headers, const char *body) {
  nh_recorder *rec = calloc(1, sizeof *rec);
  if (!rec)
    return NULL;
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = handler;
  cfg.handler_data = handler_data;
  rec->srv.cfg = cfg;
  rec->srv.log = nh_log_default();
  rec->sl.srv = &rec->srv;
  rec->conn.srv = &rec->srv;
  rec->conn.sl = &rec->sl;
  snprintf(rec->conn.remote, sizeof rec->conn.remote, "192.0.2.1:1234");
  rec->header = nh_header_new();

  nh__wire req = {0};
  char line[512];
  size_t blen = body ? strlen(body) : 0;
  snprintf(line, sizeof line, "%s %s HTTP/1.1\r\n", method, target);
  nh__wire_append(&req, line, strlen(line));
  if (!headers || !strstr(headers, "Host:"))
    nh__wire_append(&req, "Host: example.com\r\n", 19);
  if (headers)
    nh__wire_append(&req, headers, strlen(headers));
  if (blen && (!headers || !strstr(headers, "Transfer-Encoding"))) {
    snprintf(line, sizeof line, "Content-Length: %zu\r\n", blen);
    nh__wire_append(&req, line, strlen(line));
  }
  nh__wire_append(&req, "\r\n", 2);
  if (blen)
    nh__wire_append(&req, body, blen);

  nh__serve *s = &rec->s;
  s->c = &rec->conn;
  s->sl = &rec->sl;
  s->srv = &rec->srv;
  s->buf = req.p;
  s->cap = req.cap;
  s->len = req.len;
  s->rec = &rec->wire;
  s->fields = rec->fields;
  s->read_deadline = s->header_deadline = NH_NO_DEADLINE;
  nh__arena_init(&s->arena, s->arena_first, sizeof s->arena_first);
  nh__h1_req_init(&s->parser, rec->fields, 100);
  if (nh__h1_parse_head(&s->parser, s->buf, &s->pos, s->len) != 1 || nh__request_build(s) != 0) {
    free(req.p);
    nh__arena_dispose(&s->arena);
    nh_header_free(rec->header);
    free(rec);
    return NULL;
  }
  s->head_end = s->pos;
  nh__resp_init(s, &s->resp);
  nh_ctx_with_cancel(NULL, &s->req.ctx);
  handler(&s->resp, &s->req);
  if (!s->resp.hijacked)
    nh__resp_finish(&s->resp);
  nh__request_end(&s->req);
  s->req.magic = s->resp.magic = NH__DEAD_MAGIC;
  nh_ctx_free(s->req.ctx);
  nh__arena_dispose(&s->arena);
  nh__serve_release_retired(s);
  free(s->wbuf);
  free(s->buf != req.p ? s->buf : NULL);
  free(req.p);
  decode(rec);
  return rec;
}

int nh_recorder_status(const nh_recorder *rec) { return rec->status; }
nh_header *nh_recorder_header(nh_recorder *rec) { return rec->header; }

const char *nh_recorder_body(const nh_recorder *rec, size_t *len) {
  if (len)
    *len = rec->blen;
  return rec->body ? rec->body : "";
}

const char *nh_recorder_wire(const nh_recorder *rec, size_t *len) {
  if (len)
    *len = rec->wire.len;
  return rec->wire.p ? rec->wire.p : "";
}

void nh_recorder_free(nh_recorder *rec) {
  if (!rec)
    return;
  free(rec->wire.p);
  free(rec->body);
  nh_header_free(rec->header);
  free(rec);
}
