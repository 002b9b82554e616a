/* The server's opening handshake (RFC 6455 §4.2): check the request as
 * gorilla's Upgrader does, answer a bad one with a plain-text error, else
 * hijack the connection, send 101 and hand the socket to a WebSocket that
 * the server's registry knows (ws_registry.c). */
#include "ws_internal.h"
#include "ws_registry.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nethttp/base64.h"
#include "nethttp/status.h"
#include "nethttp/url.h"
#include "runtime/internal.h"
#include "server/exchange.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void nh__ws_accept_key(const char *key, char out[29]) {
  char buf[256];
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  out[0] = 0;
  size_t n = strlen(key);
  if (n + sizeof WS_GUID > sizeof buf)
    return; /* no valid key is that long: an empty answer matches none */
  memcpy(buf, key, n);
  memcpy(buf + n, WS_GUID, sizeof WS_GUID - 1);
  if (EVP_Digest(buf, n + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
    return;
  long w = nh_base64_encode(NH_BASE64_STD, md, mdlen, out, 29);
  out[w > 0 && w < 29 ? w : 0] = 0;
}

/* ---- token lists ---- */

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Calls fn on each comma-separated element of every value of key, trimmed
 * (empty ones skipped), until fn returns non-zero (returned). */
static int each_element(const nh_header *h, const char *key,
                        int (*fn)(const char *p, size_t n, void *arg), void *arg) {
  size_t len = nh_header_len(h);
  for (size_t i = 0; i < len; i++) {
    const char *k, *v;
    if (nh_header_at(h, i, &k, &v) != 0 || strcasecmp(k, key) != 0)
      continue;
    for (const char *p = v; *p;) {
      const char *end = strchr(p, ',');
      if (!end)
        end = p + strlen(p);
      const char *a = p, *b = end;
      while (a < b && is_space(*a))
        a++;
      while (b > a && is_space(b[-1]))
        b--;
      if (b > a) {
        int r = fn(a, (size_t)(b - a), arg);
        if (r)
          return r;
      }
      p = *end ? end + 1 : end;
    }
  }
  return 0;
}

static int same_token(const char *p, size_t n, void *arg) {
  const char *want = arg;
  return strlen(want) == n && strncasecmp(p, want, n) == 0;
}

/* Any value of key, as a comma-separated list, holds token
 * (case-insensitive). */
static int has_token(const nh_header *h, const char *key, const char *token) {
  return each_element(h, key, same_token, (void *)token);
}

static size_t count_fields(const nh_header *h, const char *key) {
  size_t n = 0, len = nh_header_len(h);
  for (size_t i = 0; i < len; i++) {
    const char *k, *v;
    if (nh_header_at(h, i, &k, &v) == 0 && strcasecmp(k, key) == 0)
      n++;
  }
  return n;
}

int nh_ws_is_upgrade(const nh_request *r) {
  return r && !strcmp(r->method, "GET") && has_token(&r->header, "Connection", "upgrade") &&
         has_token(&r->header, "Upgrade", "websocket");
}

/* ---- the checks ---- */

/* gorilla's checkSameOrigin: no Origin, or its host (with port, as
 * written) equals the request's Host, case-insensitively. */
static int same_origin(const nh_request *r) {
  const char *origin = nh_header_get(&r->header, "Origin");
  if (!origin)
    return 1;
  nh_url *u = NULL;
  if (nh_url_parse(origin, &u) != 0)
    return 0;
  int ok = u->host && r->host && strcasecmp(u->host, r->host) == 0;
  nh_url_free(u);
  return ok;
}

/* The Sec-WebSocket-Key: one field, base64 of exactly 16 bytes. */
static int key_valid(const nh_request *r, const char **key) {
  if (count_fields(&r->header, "Sec-WebSocket-Key") != 1)
    return 0;
  *key = nh_header_get(&r->header, "Sec-WebSocket-Key");
  size_t n = strlen(*key);
  unsigned char raw[32];
  return n == 24 && nh_base64_decode(NH_BASE64_STD, *key, n, raw, sizeof raw) == 16;
}

typedef struct proto_pick {
  const char *want;
  size_t n;
} proto_pick;

static int offered(const char *p, size_t n, void *arg) {
  proto_pick *pp = arg;
  return n == pp->n && memcmp(p, pp->want, n) == 0; /* subprotocols are case-sensitive */
}

static int client_offers(const nh_request *r, const char *proto) {
  proto_pick pp = {proto, strlen(proto)};
  return each_element(&r->header, "Sec-WebSocket-Protocol", offered, &pp);
}

/* The server's first preference the client offered; without a list of
 * the server's, one the handler set in the response header if the client
 * offered it (gorilla's responseHeader). NULL: none. */
static const char *pick_subprotocol(const nh_request *r, const nh_ws_options *o,
                                    nh_header *resp) {
  if (o->subprotocols) {
    for (const char *const *s = o->subprotocols; *s; s++)
      if (**s && client_offers(r, *s))
        return *s;
    return NULL;
  }
  const char *h = nh_header_get(resp, "Sec-WebSocket-Protocol");
  return h && *h && client_offers(r, h) ? h : NULL;
}

/* All of a field's values joined with ", " into b (NULL when none). */
static const char *joined(const nh_header *h, const char *key, nh__dynbuf *b) {
  size_t len = nh_header_len(h);
  int any = 0;
  for (size_t i = 0; i < len; i++) {
    const char *k, *v;
    if (nh_header_at(h, i, &k, &v) != 0 || strcasecmp(k, key) != 0)
      continue;
    if (any)
      nh__dynbuf_addstr(b, ", ");
    nh__dynbuf_addstr(b, v);
    any = 1;
  }
  if (!any || b->err)
    return NULL;
  return nh__dynbuf_ptr(b);
}

/* gorilla's returnError: Sec-WebSocket-Version: 13, the status text as a
 * plain-text body. */
static int refuse(nh_response_writer *w, int status, const char *why, nh_request *r) {
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Sec-WebSocket-Version", "13");
  if (status == 405)
    nh_header_set(h, "Allow", "GET");
  nh_error(w, nh_status_text(status), status);
  NH_LOG(nh__request_server_logger(r), NH_LOG_DEBUG, "websocket handshake refused",
         NH_LINT("status", status), NH_LSTR("why", why), NH_LSTR("path", r->path));
  return status == 501 ? NH_ENOTSUP : NH_EBADREQUEST;
}

/* ---- the answer ---- */

static int is_named(const char *k, const char *name) { return strcasecmp(k, name) == 0; }

/* The 101: the handshake's fields, then the handler's own (those the
 * handshake owns, and framing fields, left out). */
static void put_101(nh__dynbuf *b, const char *accept, const char *proto, const char *ext,
                    const nh_header *extra) {
  nh__dynbuf_addstr(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
  nh__dynbuf_addstr(b, accept);
  nh__dynbuf_addstr(b, "\r\n");
  if (proto) {
    nh__dynbuf_addstr(b, "Sec-WebSocket-Protocol: ");
    nh__dynbuf_addstr(b, proto);
    nh__dynbuf_addstr(b, "\r\n");
  }
  if (ext && *ext) {
    nh__dynbuf_addstr(b, "Sec-WebSocket-Extensions: ");
    nh__dynbuf_addstr(b, ext);
    nh__dynbuf_addstr(b, "\r\n");
  }
  size_t len = nh_header_len(extra);
  for (size_t i = 0; i < len; i++) {
    const char *k, *v;
    if (nh_header_at(extra, i, &k, &v) != 0)
      continue;
    if (is_named(k, "Upgrade") || is_named(k, "Connection") ||
        is_named(k, "Sec-WebSocket-Accept") || is_named(k, "Sec-WebSocket-Protocol") ||
        is_named(k, "Sec-WebSocket-Extensions") || is_named(k, "Content-Length") ||
        is_named(k, "Transfer-Encoding"))
      continue;
    nh__dynbuf_addstr(b, k);
    nh__dynbuf_addstr(b, ": ");
    for (const char *p = v; *p; p++) /* no response splitting */
      nh__dynbuf_addc(b, (unsigned char)*p < 32 && *p != '\t' ? ' ' : *p);
    nh__dynbuf_addstr(b, "\r\n");
  }
  nh__dynbuf_addstr(b, "\r\n");
}

static ssize_t write_all(nh_fd *fd, nh_tls_conn *tls, const char *p, size_t n, nh_time dl) {
  return tls ? nh_tls_write(tls, p, n, dl) : nh_fd_write(fd, p, n, dl);
}

int nh_ws_accept(nh_response_writer *w, nh_request *r, const nh_ws_options *opt, nh_ws **out) {
  *out = NULL;
  nh_ws_options o;
  nh__ws_options_fill(&o, opt);
  if (r->major >= 2)
    return refuse(w, 501, "HTTP/2 has no Upgrade (RFC 8441 is not supported)", r);
  if (strcmp(r->method, "GET") != 0)
    return refuse(w, 405, "request method is not GET", r);
  if (r->major != 1 || r->minor < 1)
    return refuse(w, 400, "HTTP/1.1 or later is required", r);
  if (!has_token(&r->header, "Connection", "upgrade"))
    return refuse(w, 400, "'upgrade' token not found in 'Connection' header", r);
  if (!has_token(&r->header, "Upgrade", "websocket"))
    return refuse(w, 400, "'websocket' token not found in 'Upgrade' header", r);
  if (!nh_header_get(&r->header, "Sec-WebSocket-Version"))
    return refuse(w, 400, "'Sec-WebSocket-Version' header is missing", r);
  if (!has_token(&r->header, "Sec-WebSocket-Version", "13"))
    return refuse(w, 426, "unsupported version: 13 not found in 'Sec-WebSocket-Version' header",
                  r);
  const char *key = NULL;
  if (!key_valid(r, &key))
    return refuse(w, 400, "'Sec-WebSocket-Key' is not base64 of 16 bytes", r);
  nh_header *rh = nh_resp_header(w);
  if (nh_header_get(rh, "Sec-WebSocket-Extensions"))
    return refuse(w, 500, "application specific 'Sec-WebSocket-Extensions' headers are unsupported",
                  r);
  int origin_ok = o.check_origin ? o.check_origin(r, o.check_origin_arg) : same_origin(r);
  if (!origin_ok)
    return refuse(w, 403, "request origin not allowed", r);
  const char *proto = pick_subprotocol(r, &o, rh);

  nh__wsd_params pmd;
  char ext[256] = "";
  int deflate = 0;
  if (o.compression) {
    nh__dynbuf offer;
    nh__dynbuf_init(&offer, 64 * 1024);
    const char *all = joined(&r->header, "Sec-WebSocket-Extensions", &offer);
    deflate = all ? nh__wsd_negotiate(all, &o, &pmd, ext, sizeof ext) : 0;
    nh__dynbuf_free(&offer);
    if (deflate < 0)
      return refuse(w, 400, "malformed permessage-deflate offer", r);
  }

  char accept[29];
  nh__ws_accept_key(key, accept);
  nh__dynbuf head;
  nh__dynbuf_init(&head, NH__DYNBUF_NOCAP);
  put_101(&head, accept, proto, deflate ? ext : NULL, rh);
  if (head.err) {
    nh__dynbuf_free(&head);
    return refuse(w, 500, "out of memory", r);
  }
  /* proto may point into the response header, which the hijack ends. */
  char *proto_copy = proto ? strdup(proto) : NULL;

  int raw = -1;
  nh_fd *fd = NULL;
  nh_tls_conn *tls = NULL;
  char *buffered = NULL;
  size_t nbuffered = 0;
  /* A plain hijack of an HTTPS connection is refused before anything is
   * done: then it is the TLS one. */
  int e = nh_resp_hijack(w, &raw, &buffered, &nbuffered);
  if (e == NH_ENOTSUP)
    e = nh_resp_hijack_tls(w, &tls, &buffered, &nbuffered);
  if (e) {
    nh__dynbuf_free(&head);
    free(proto_copy);
    return e;
  }
  if (!tls && (e = nh_fd_open(raw, &fd)) != 0) {
    nh__dynbuf_free(&head);
    free(proto_copy);
    free(buffered);
    return e;
  }
  ssize_t n = write_all(fd, tls, nh__dynbuf_ptr(&head), head.len, nh_deadline_after(o.write_timeout));
  nh__dynbuf_free(&head);
  if (n < 0) {
    if (tls)
      nh_tls_abort(tls);
    else
      nh_fd_close(fd);
    free(proto_copy);
    free(buffered);
    return (int)n;
  }
  nh_ws *ws = nh__ws_new(tls ? nh_tls_fd(tls) : fd, tls, buffered, nbuffered, 0, &o, deflate ? &pmd : NULL,
                         proto_copy);
  free(buffered);
  free(proto_copy);
  if (!ws)
    return NH_ENOMEM;
  nh__ws_registry_add(w, ws);
  nh__fiber_set_label2("websocket", 9, r->path, strlen(r->path));
  *out = ws;
  return NH_OK;
}
