/* The client's opening handshake (RFC 6455 §4.1): a connection of its own
 * through the transport (its dialer, proxy and TLS configuration, ALPN
 * http/1.1 alone), the GET with the Upgrade fields as gorilla's Dialer
 * sends them, and the 101 checked field by field before the socket
 * becomes a WebSocket. A refused handshake can be read as an ordinary
 * response. */
#include "ws_internal.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/h1_conn.h"
#include "util/arena.h"
#include "util/header_internal.h"
#include "nethttp/base64.h"
#include "nethttp/client.h"
#include "nethttp/url.h"

/* The transport of calls that give none, made on first use and kept for
 * the process (Go's DefaultTransport). */
static nh_transport *default_transport;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static void default_make(void) { default_transport = nh_transport_new(NULL); }

/* The http(s) URL of a ws(s) one, without its fragment (never sent). */
static int http_url(const char *url, char **out) {
  nh_url *u = NULL;
  *out = NULL;
  if (!url || nh_url_parse(url, &u) != NH_OK)
    return NH_EINVAL;
  const char *scheme = !strcmp(u->scheme, "ws") ? "http" : !strcmp(u->scheme, "wss") ? "https" : NULL;
  /* As gorilla: no user information in a WebSocket URI. */
  if (!scheme || u->user || !u->host || !*u->host || *u->opaque) {
    nh_url_free(u);
    return NH_EINVAL;
  }
  char *s = strdup(scheme), *f = strdup(""), *rf = strdup("");
  if (!s || !f || !rf) {
    free(s), free(f), free(rf);
    nh_url_free(u);
    return NH_ENOMEM;
  }
  free(u->scheme), free(u->fragment), free(u->raw_fragment);
  u->scheme = s, u->fragment = f, u->raw_fragment = rf;
  *out = nh_url_string(u);
  nh_url_free(u);
  return *out ? NH_OK : NH_ENOMEM;
}

/* Fields the handshake owns: a caller may not send its own. */
static int handshake_field(const char *k, int have_protocols) {
  return !strcasecmp(k, "Upgrade") || !strcasecmp(k, "Connection") ||
         !strcasecmp(k, "Sec-WebSocket-Key") || !strcasecmp(k, "Sec-WebSocket-Version") ||
         !strcasecmp(k, "Sec-WebSocket-Extensions") ||
         (have_protocols && !strcasecmp(k, "Sec-WebSocket-Protocol"));
}

/* A handshake field spelled as RFC 6455 spells it ("Sec-WebSocket-Key",
 * not the canonical "Sec-Websocket-Key"), as gorilla sends them: some
 * servers compare names case-sensitively. The value is kept in the
 * request's own memory. */
static int put_field(nh_client_request *req, const char *name, const char *value) {
  char *v = nh__arena_strdup(&req->header_arena, value);
  if (!v)
    return NH_ENOMEM;
  return nh__header_append_raw(req->header, name, (uint32_t)strlen(name), v, (uint32_t)strlen(v));
}

/* The request's header: the caller's fields, then the handshake's. */
static int build_header(nh_client_request *req, const nh_ws_options *o, const char *key) {
  nh_header *h = nh_client_request_header(req);
  int have_protocols = o->subprotocols && o->subprotocols[0];
  if (o->header) {
    size_t n = nh_header_len(o->header);
    for (size_t i = 0; i < n; i++) {
      const char *k, *v;
      if (nh_header_at(o->header, i, &k, &v) != NH_OK)
        continue;
      if (handshake_field(k, have_protocols))
        return NH_EINVAL; /* gorilla: "duplicate header not allowed" */
      int e = nh_header_add(h, k, v);
      if (e)
        return e;
    }
  }
  int e = put_field(req, "Upgrade", "websocket");
  if (!e)
    e = put_field(req, "Connection", "Upgrade");
  if (!e)
    e = put_field(req, "Sec-WebSocket-Key", key);
  if (!e)
    e = put_field(req, "Sec-WebSocket-Version", "13");
  if (!e && have_protocols) {
    char list[1024];
    size_t at = 0;
    for (const char *const *p = o->subprotocols; *p; p++) {
      size_t n = strlen(*p);
      if (!n || strpbrk(*p, ", \t") || at + n + 3 > sizeof list)
        return NH_EINVAL;
      if (at)
        memcpy(list + at, ", ", 2), at += 2;
      memcpy(list + at, *p, n);
      at += n;
    }
    list[at] = 0;
    e = put_field(req, "Sec-WebSocket-Protocol", list);
  }
  if (!e && o->compression) {
    char offer[256];
    size_t n = nh__wsd_offer(o, offer, sizeof offer);
    if (n > 0 && n < sizeof offer) {
      offer[n] = 0;
      e = put_field(req, "Sec-WebSocket-Extensions", offer);
    }
  }
  return e;
}

/* Every value of key joined with ", " into buf; NULL when none. */
static const char *joined(nh_header *h, const char *key, char *buf, size_t cap) {
  const char *vals[16];
  size_t n = nh_header_values(h, key, vals, 16);
  if (!n)
    return NULL;
  size_t at = 0;
  buf[0] = 0;
  for (size_t i = 0; i < n && i < 16; i++) {
    int w = snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", vals[i]);
    if (w < 0 || (size_t)w >= cap - at)
      return NULL;
    at += (size_t)w;
  }
  return buf;
}

/* The 101's fields as RFC 6455 §4.1 wants them. Returns 0 and fills
 * *proto / *pmd / *deflate, or NH_EBADRESPONSE. */
static int check_101(nh_header *h, const char *key, const nh_ws_options *o, const char **proto,
                     nh__wsd_params *pmd, int *deflate) {
  char want[29];
  nh__ws_accept_key(key, want);
  const char *vals[2];
  if (!nh_header_has_token(h, "Upgrade", "websocket") ||
      !nh_header_has_token(h, "Connection", "upgrade") ||
      nh_header_values(h, "Sec-WebSocket-Accept", vals, 2) != 1 || strcmp(vals[0], want) != 0)
    return NH_EBADRESPONSE;
  /* The subprotocol: one, and one we offered. */
  size_t np = nh_header_values(h, "Sec-WebSocket-Protocol", vals, 2);
  *proto = NULL;
  if (np > 1)
    return NH_EBADRESPONSE;
  if (np == 1) {
    int ok = 0;
    for (const char *const *p = o->subprotocols; p && *p && !ok; p++)
      ok = !strcmp(*p, vals[0]);
    if (!ok)
      return NH_EBADRESPONSE;
    *proto = vals[0];
  }
  /* Extensions: only the permessage-deflate we offered, if we did. */
  char ext[1024];
  const char *answer = joined(h, "Sec-WebSocket-Extensions", ext, sizeof ext);
  if (!answer && nh_header_get(h, "Sec-WebSocket-Extensions"))
    return NH_EBADRESPONSE; /* too long to be an answer to our offer */
  *deflate = 0;
  if (!o->compression)
    return answer ? NH_EBADRESPONSE : NH_OK;
  int r = nh__wsd_accept(answer, o, pmd);
  if (r < 0)
    return NH_EBADRESPONSE;
  *deflate = r;
  return NH_OK;
}

int nh_ws_dial(nh_transport *t, const char *url, const nh_ws_options *opt, nh_time deadline,
               nh_ws **out, nh_response **resp) {
  *out = NULL;
  if (resp)
    *resp = NULL;
  if (!t) {
    pthread_once(&default_once, default_make);
    if (!(t = default_transport))
      return NH_ENOMEM;
  }
  nh_ws_options o;
  nh__ws_options_fill(&o, opt);
  char *hurl;
  int e = http_url(url, &hurl);
  if (e)
    return e;
  nh_client_request *req = nh_client_request_new("GET", hurl);
  free(hurl);
  if (!req)
    return NH_EINVAL;
  unsigned char nonce[16];
  char key[32];
  if (RAND_bytes(nonce, sizeof nonce) != 1 ||
      nh_base64_encode(NH_BASE64_STD, nonce, sizeof nonce, key, sizeof key) != 24) {
    nh_client_request_free(req);
    return NH_ENOMEM;
  }
  key[24] = 0;
  if ((e = build_header(req, &o, key)) != NH_OK) {
    nh_client_request_free(req);
    return e;
  }

  nh__cconn *c = NULL;
  if ((e = nh__transport_dial_own(t, req, "http/1.1", deadline, &c)) != NH_OK) {
    nh_client_request_free(req);
    return e;
  }
  nh__cstream *s = NULL;
  nh_response *r = nh__response_alloc(t, req, __FILE__, __LINE__);
  if (!r)
    e = NH_ENOMEM;
  else if ((e = c->ops->start(c, req, deadline, &s)) == NH_OK)
    e = c->ops->read_head(s, req, deadline, &r->head);
  if (e) {
    nh__response_drop(r);
    if (s)
      nh__cstream_close(s, 0);
    else
      nh__cconn_discard(c);
    nh_client_request_free(req);
    return e;
  }
  r->total_deadline = deadline;
  r->url = nh__creq_url_string(req); /* lives as long as req, adopted next */
  nh__response_adopt_request(r, req); /* freed with r */

  if (r->head.status != 101) {
    /* Refused: the answer, body and all, is the caller's to read; the
     * connection goes with it (it was never to be pooled). */
    r->head.close = 1;
    nh__response_start(r, s, 0);
    if (resp)
      *resp = r;
    else
      nh_response_close(r);
    return NH_EBADRESPONSE;
  }

  const char *proto = NULL;
  nh__wsd_params pmd;
  int deflate = 0;
  e = check_101(r->head.header, key, &o, &proto, &pmd, &deflate);
  nh__h1c *h = nh__h1c_of(c);
  size_t nrest = h->in.len - h->in.pos;
  char *rest = e ? NULL : malloc(nrest ? nrest : 1);
  if (!e && !rest)
    e = NH_ENOMEM;
  if (e) {
    r->head.close = 1;
    r->head.no_body = 1; /* nothing of a 101 is a body: the stream ends now */
    nh__response_start(r, s, 0);
    if (resp)
      *resp = r;
    else
      nh_response_close(r);
    return e;
  }
  memcpy(rest, h->in.buf + h->in.pos, nrest);
  h->in_flight = 0; /* the exchange is over: the socket leaves HTTP */
  nh_fd *fd;
  nh_tls_conn *tls;
  nh__cconn_take_socket(c, &fd, &tls);
  nh_ws *ws = nh__ws_new(tls ? nh_tls_fd(tls) : fd, tls, rest, nrest, 1, &o, deflate ? &pmd : NULL, proto);
  free(rest);
  /* The 101's head stays the caller's if asked (proto pointed into it). */
  r->head.no_body = 1;
  nh__response_start(r, NULL, 0);
  if (resp)
    *resp = r;
  else
    nh_response_close(r);
  if (!ws)
    return NH_ENOMEM;
  *out = ws;
  return NH_OK;
}
