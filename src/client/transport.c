/* The Transport: one request on one connection, taken from the pool or
 * dialed, with Go's retry of a request that met a pooled connection the
 * server had already closed. */
#include "internal.h"
#include "nethttp/cookie.h"
#include "net/tls_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void fill_defaults(nh_transport_config *c) {
  nh_transport_config d = NH_TRANSPORT_CONFIG_DEFAULT;
  /* Zero means "the default": a zeroed configuration is a safe one. */
  if (!c->dial_timeout)
    c->dial_timeout = d.dial_timeout;
  if (!c->tls_handshake_timeout)
    c->tls_handshake_timeout = d.tls_handshake_timeout;
  if (!c->response_header_timeout)
    c->response_header_timeout = d.response_header_timeout;
  if (!c->body_stall_timeout)
    c->body_stall_timeout = d.body_stall_timeout;
  if (!c->expect_continue_timeout)
    c->expect_continue_timeout = d.expect_continue_timeout;
  if (!c->idle_conn_timeout)
    c->idle_conn_timeout = d.idle_conn_timeout;
  if (!c->tcp_keepalive)
    c->tcp_keepalive = d.tcp_keepalive;
  if (!c->reply_spin)
    c->reply_spin = d.reply_spin;
  if (c->max_idle_conns <= 0)
    c->max_idle_conns = d.max_idle_conns;
  if (c->max_idle_conns_per_host <= 0)
    c->max_idle_conns_per_host = d.max_idle_conns_per_host;
  if (!c->max_response_header_bytes)
    c->max_response_header_bytes = d.max_response_header_bytes;
  if (!c->h2_read_idle_timeout)
    c->h2_read_idle_timeout = d.h2_read_idle_timeout;
  if (!c->h2_ping_timeout)
    c->h2_ping_timeout = d.h2_ping_timeout;
  if (c->h2_stream_window < 16384)
    c->h2_stream_window = c->h2_stream_window ? 16384 : d.h2_stream_window;
  if (c->h2_stream_window > 0x7fffffff)
    c->h2_stream_window = 0x7fffffff; /* RFC 9113 6.9.2 */
}

/* The ALPN offer when the configuration gives no list (Go's
 * DefaultTransport offers h2 first). */
static const char *default_alpn(const nh_transport *t) {
  switch (t->cfg.http_version) {
  case NH_HTTP_1:
    return "http/1.1";
  case NH_HTTP_2:
    return "h2";
  default:
    return "h2,http/1.1";
  }
}

/* The transport's TLS context from a configuration (copied by the TLS
 * layer); its identity joins the pool key. */
static int tls_make(nh_transport *t, const nh_tls_config *given) {
  nh_tls_config c = *given;
  c.role = NH_TLS_CLIENT;
  if (t->alpn || !c.alpn || t->cfg.http_version != NH_HTTP_AUTO)
    c.alpn = t->alpn ? t->alpn : default_alpn(t);
  nh__tls_shared *sh = calloc(1, sizeof *sh);
  char *err = NULL;
  if (!sh || nh_tls_config_new(&c, &sh->ctx, &err) != NH_OK) {
    if (err)
      NH_LOG(NULL, NH_LOG_ERROR, "TLS configuration refused", NH_LSTR("error", err));
    free(err);
    free(sh);
    return NH_EINVAL;
  }
  atomic_store(&sh->refs, 1);
  const char *k = nh_tls_ctx_key(sh->ctx);
  size_t n = strlen(k) + strlen(t->tls_key) + 2;
  char *key = malloc(n);
  if (!key) {
    nh_tls_ctx_free(sh->ctx);
    free(sh);
    return NH_ENOMEM;
  }
  snprintf(key, n, "%s%s%s", k, *t->tls_key ? "+" : "", t->tls_key);
  free(t->tls_key);
  t->tls_key = key;
  t->cfg.tls_config_key = key;
  t->tls = sh;
  return NH_OK;
}

static void tls_release(nh__tls_shared *sh) {
  if (sh && atomic_fetch_sub(&sh->refs, 1) == 1) {
    nh_tls_ctx_free(sh->ctx);
    free(sh);
  }
}

/* The context for an https request: the transport's, or the default one
 * (system roots, verification on), made on first use. Loading the roots
 * parks a fiber (it runs on the offload pool), so it is done outside the
 * lock: a fiber parked while holding it would block the next caller's
 * whole loop, and with it the wake-up of the fiber holding the lock.
 * Callers racing on the first request may each load one; the first kept
 * wins and the others are freed. */
static nh_tls_ctx *tls_ctx_for(nh_transport *t) {
  pthread_mutex_lock(&t->tls_mu);
  nh_tls_ctx *ctx = t->tls ? t->tls->ctx : NULL;
  pthread_mutex_unlock(&t->tls_mu);
  if (ctx)
    return ctx;
  nh_tls_config d = {0};
  nh__tls_shared *sh = calloc(1, sizeof *sh);
  char *err = NULL;
  d.role = NH_TLS_CLIENT;
  d.alpn = t->alpn ? t->alpn : default_alpn(t);
  if (!sh || nh_tls_config_new(&d, &sh->ctx, &err) != NH_OK) {
    NH_LOG(NULL, NH_LOG_ERROR, "default TLS configuration failed", NH_LSTR("error", err ? err : ""));
    free(err);
    free(sh);
    return NULL;
  }
  atomic_store(&sh->refs, 1);
  pthread_mutex_lock(&t->tls_mu);
  if (!t->tls) {
    t->tls = sh;
    sh = NULL;
  }
  ctx = t->tls->ctx;
  pthread_mutex_unlock(&t->tls_mu);
  tls_release(sh); /* lost the race: another caller's context is in place */
  return ctx;
}

/* The ALPN offer as the TLS layer takes it ("h2,http/1.1"), or NULL for
 * the default; NH_EINVAL for an empty or too long name, or one with a
 * comma (it would read as two). */
static int alpn_join(const char *const *list, char **out) {
  *out = NULL;
  if (!list)
    return NH_OK;
  size_t n = 1;
  for (const char *const *p = list; *p; p++) {
    size_t len = strlen(*p);
    if (len == 0 || len > 255 || strchr(*p, ','))
      return NH_EINVAL;
    n += len + 1;
  }
  char *s = malloc(n);
  if (!s)
    return NH_ENOMEM;
  size_t at = 0;
  for (const char *const *p = list; *p; p++) {
    if (at)
      s[at++] = ',';
    size_t len = strlen(*p);
    memcpy(s + at, *p, len);
    at += len;
  }
  s[at] = 0;
  *out = s;
  return NH_OK;
}

nh_transport *nh_transport_new(const nh_transport_config *cfg) {
  nh_transport *t = calloc(1, sizeof *t);
  static _Atomic uint64_t next_id;
  if (t)
    t->id = atomic_fetch_add(&next_id, 1) + 1;
  if (!t)
    return NULL;
  nh_transport_config d = NH_TRANSPORT_CONFIG_DEFAULT;
  t->cfg = cfg ? *cfg : d;
  fill_defaults(&t->cfg);
  /* Copies: a caller changing its strings later changes nothing here. */
  t->tls_key = strdup(t->cfg.tls_config_key ? t->cfg.tls_config_key : "");
  t->proxy = t->cfg.proxy_url ? strdup(t->cfg.proxy_url) : NULL;
  if (!t->tls_key || (t->cfg.proxy_url && !t->proxy)) {
    free(t->tls_key);
    free(t->proxy);
    free(t);
    return NULL;
  }
  t->cfg.tls_config_key = t->tls_key;
  t->cfg.proxy_url = t->proxy;
  nh__list_init(&t->pool);
  pthread_mutex_init(&t->tls_mu, NULL);
  if (alpn_join(t->cfg.alpn, &t->alpn) != NH_OK) {
    NH_LOG(NULL, NH_LOG_ERROR, "transport: bad ALPN protocol list");
    free(t->tls_key);
    free(t->proxy);
    free(t);
    return NULL;
  }
  t->cfg.alpn = NULL; /* copied into t->alpn */
  if (t->cfg.tls && tls_make(t, t->cfg.tls) != NH_OK) {
    free(t->alpn);
    free(t->tls_key);
    free(t->proxy);
    free(t);
    return NULL;
  }
  t->cfg.tls = NULL; /* copied into the context: the caller's struct may go */
  if (!t->proxy && nh_proxy_config_from_env(&t->env_proxy) != NH_OK) {
    tls_release(t->tls);
    free(t->alpn);
    free(t->tls_key);
    free(t);
    return NULL;
  }
  pthread_mutex_init(&t->mu, NULL);
  return t;
}

nh_transport *nh_transport_clone(const nh_transport *tc) {
  nh_transport *t = (nh_transport *)tc;
  nh_transport *n = nh_transport_new(&t->cfg);
  if (!n)
    return NULL;
  /* The same ALPN offer (for a TLS context the clone makes itself). */
  if (t->alpn && !(n->alpn = strdup(t->alpn))) {
    nh_transport_free(n);
    return NULL;
  }
  /* The same TLS context (and so the same identity), shared. */
  pthread_mutex_lock(&t->tls_mu);
  if (t->tls) {
    atomic_fetch_add(&t->tls->refs, 1);
    n->tls = t->tls;
    free(n->tls_key);
    n->tls_key = strdup(t->tls_key);
    n->cfg.tls_config_key = n->tls_key;
  }
  pthread_mutex_unlock(&t->tls_mu);
  if (!n->tls_key) {
    nh_transport_free(n);
    return NULL;
  }
  return n;
}

int nh_transport_leak_report(nh_transport *t, FILE *out) {
  int n = 0;
  nh__open_lock(t);
  for (nh_response *r = t->open_responses; r; r = r->next_open, n++)
    if (out)
      fprintf(out, "nethttp: response %d %s never closed; its request was made at %s:%d\n",
              r->head.status, r->url ? r->url : "", r->file ? r->file : "?", r->line);
  nh__open_unlock(t);
  return n;
}

void nh_transport_free(nh_transport *t) {
  if (!t)
    return;
  int leaked = nh_transport_leak_report(t, NULL);
  if (leaked) {
    nh__open_lock(t);
    for (nh_response *r = t->open_responses; r; r = r->next_open)
      NH_LOG(NULL, NH_LOG_ERROR, "response body never closed (connection leaked)",
             NH_LINT("status", r->head.status), NH_LSTR("url", r->url ? r->url : ""),
             NH_LLOC("request_at", r->file, r->line));
    nh__open_unlock(t);
  }
  nh_transport_close_idle(t);
  while (t->hosts) {
    nh__host *h = t->hosts;
    t->hosts = h->next;
    nh_sem_free(h->limit);
    nh_sem_free(h->dial_sem);
    free(h->key);
    free(h);
  }
  pthread_mutex_destroy(&t->mu);
  nh_proxy_config_clear(&t->env_proxy);
  tls_release(t->tls);
  pthread_mutex_destroy(&t->tls_mu);
  free(t->alpn);
  free(t->tls_key);
  free(t->proxy);
  free(t);
}

void nh_transport_stats_get(const nh_transport *tc, nh_transport_stats *out) {
  nh_transport *t = (nh_transport *)tc;
  out->dials = atomic_load(&t->st_dials);
  out->reused = atomic_load(&t->st_reused);
  out->requests = atomic_load(&t->st_requests);
  out->retries = atomic_load(&t->st_retries);
  out->open_now = atomic_load(&t->st_open);
  out->closed_idle_timeout = atomic_load(&t->st_closed_idle);
  out->closed_pool_full = atomic_load(&t->st_closed_full);
  out->closed_unread_body = atomic_load(&t->st_closed_unread);
  out->unclosed_responses = atomic_load(&t->st_unclosed);
  pthread_mutex_lock(&t->mu);
  out->idle_now = t->idle;
  pthread_mutex_unlock(&t->mu);
}

/* ---- one round trip ---- */

/* Go's Request.isReplayable: the body can be sent again, and the method is
 * GET, HEAD, OPTIONS or TRACE, or an Idempotency-Key (X-Idempotency-Key)
 * header says the request may be repeated. PUT and DELETE are idempotent
 * by RFC 9110 but, as in Go, not sent twice on their own. */
static int replayable(const nh_client_request *req) {
  const char *m = req->method;
  return nh__creq_replayable(req) &&
         (!strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS") ||
          !strcmp(m, "TRACE") || nh_header_get(req->header, "Idempotency-Key") ||
          nh_header_get(req->header, "X-Idempotency-Key"));
}

/* After a pooled connection failed: a request of which no byte went out
 * never reached the server and may always go again (if its body can); one
 * that went out only if it is replayable (Go's shouldRetryRequest). */
static int may_resend(const nh_client_request *req, int sent_any) {
  return sent_any ? replayable(req) : nh__creq_replayable(req);
}

/* A pooled connection the server closed while it was idle fails before
 * any byte of a response arrives: the request never reached a handler. */
static int stale_conn_error(int e) {
  return e == NH_ECONNRESET || e == NH_EPIPE || e == NH_ECONNABORTED;
}

/* Where a request goes: the target, or its proxy (fixed, or chosen from
 * the environment by scheme, host and NO_PROXY). */
typedef struct route {
  char host[256]; /* the target's */
  int port;
  int tls; /* https */
  char proxy[512]; /* "" = direct */
  char key[1024];  /* the pool key */
} route;

/* Appends s to the key at *at; 0 when it does not fit. Building the key
 * by hand keeps printf off the path every request takes. */
static int key_put(route *rt, size_t *at, const char *s, size_t n) {
  if (n >= sizeof rt->key - *at)
    return 0;
  memcpy(rt->key + *at, s, n);
  *at += n;
  rt->key[*at] = 0;
  return 1;
}

/* "scheme|host|port|proxy|tls" */
static int route_key(const nh_transport *t, const nh_client_request *req, route *rt) {
  char port[8];
  int np = 0;
  for (int v = rt->port; v; v /= 10) /* 1..65535: at least one digit */
    np++;
  for (int v = rt->port, i = np; i > 0; v /= 10)
    port[--i] = (char)('0' + v % 10);
  size_t at = 0;
  return key_put(rt, &at, req->url->scheme, strlen(req->url->scheme)) && key_put(rt, &at, "|", 1) &&
         key_put(rt, &at, rt->host, strlen(rt->host)) && key_put(rt, &at, "|", 1) &&
         key_put(rt, &at, port, (size_t)np) && key_put(rt, &at, "|", 1) &&
         key_put(rt, &at, rt->proxy, strlen(rt->proxy)) && key_put(rt, &at, "|", 1) &&
         key_put(rt, &at, t->tls_key, strlen(t->tls_key));
}

static int route_for(nh_transport *t, nh_client_request *req, route *rt) {
  if (nh_url_hostname(req->url, rt->host, sizeof rt->host) <= 0)
    return NH_EINVAL;
  const char *p = nh_url_port(req->url);
  rt->tls = !strcmp(req->url->scheme, "https");
  rt->port = rt->tls ? 443 : 80;
  if (p && *p) {
    rt->port = 0;
    for (; *p && rt->port <= 65535; p++) /* the URL parser let only digits through */
      rt->port = *p >= '0' && *p <= '9' ? rt->port * 10 + (*p - '0') : 65536;
  }
  if (rt->port <= 0 || rt->port > 65535)
    return NH_EINVAL;
  rt->proxy[0] = 0;
  if (t->proxy) {
    if (strlen(t->proxy) >= sizeof rt->proxy)
      return NH_EINVAL;
    strcpy(rt->proxy, t->proxy);
  } else {
    int e = nh_proxy_for(&t->env_proxy, req->url->scheme, rt->host, rt->port, rt->proxy,
                         sizeof rt->proxy);
    if (e == NH_EPERM)
      rt->proxy[0] = 0; /* a CGI environment's HTTP_PROXY is not trusted: direct */
    else if (e)
      return e;
  }
  return route_key(t, req, rt) ? NH_OK : NH_EINVAL;
}

/* Dial the proxy of a route: requests through it go in absolute form, with
 * its credentials. */
static int dial_proxy(nh_transport *t, nh__host *h, const char *proxy, nh_time deadline,
                      const nh_client_trace *tr, nh__cconn **out) {
  nh_url *pu = NULL;
  char phost[256];
  if (nh_url_parse(proxy, &pu) != NH_OK || nh_url_hostname(pu, phost, sizeof phost) <= 0) {
    nh_url_free(pu);
    return NH_EINVAL;
  }
  if (strcmp(pu->scheme, "http") != 0) { /* https and socks proxies: not yet */
    nh_url_free(pu);
    return NH_ENOTSUP;
  }
  const char *pp = nh_url_port(pu);
  int e = nh__cconn_dial(t, h, phost, pp && *pp ? atoi(pp) : 80, deadline, tr, out);
  if (!e) {
    (*out)->proxied = 1;
    if (pu->user) {
      char auth[1024];
      if (nh_basic_auth_header(pu->user, pu->password ? pu->password : "", auth, sizeof auth) > 0)
        (*out)->proxy_auth = strdup(auth);
    }
  }
  nh_url_free(pu);
  return e;
}

/* Dial the target, or the proxy in front of it; for https through a proxy
 * a CONNECT tunnel first; then the TLS handshake with the target, whose
 * ALPN answer picks the protocol. A failure after the dial closes the
 * connection, which gives its slot of max_conns_per_host back. */
static int dial_route(nh_transport *t, nh__host *h, const route *rt, nh_time deadline,
                      const nh_client_trace *tr, nh__cconn **out) {
  nh_tls_ctx *ctx = NULL;
  *out = NULL;
  if (rt->tls && !(ctx = tls_ctx_for(t))) {
    if (h->limit)
      nh_sem_release(h->limit);
    return NH_EINVAL;
  }
  int e;
  if (!rt->proxy[0]) {
    e = nh__cconn_dial(t, h, rt->host, rt->port, deadline, tr, out);
  } else {
    e = dial_proxy(t, h, rt->proxy, deadline, tr, out);
    if (!e && rt->tls) {
      e = nh__cconn_connect_tunnel(*out, rt->host, rt->port, deadline);
      (*out)->proxied = 0; /* inside the tunnel: origin-form requests */
    }
  }
  if (!e && rt->tls)
    e = nh__cconn_tls(*out, ctx, rt->host, deadline, tr);
  if (!e)
    e = nh__cconn_attach(*out);
  if (e && *out) {
    nh__cconn_discard(*out);
    *out = NULL;
  } else if (e && h->limit) {
    nh_sem_release(h->limit); /* no connection holds the slot */
  }
  return e;
}

/* A connection slot of a host at max_conns_per_host. A slot can also be
 * held by an idle connection: while waiting, look for one now and then
 * (the caller then reuses it instead of dialing). */
static int acquire_slot(nh_transport *t, nh__host *h, nh_time deadline, int can_retry,
                        nh__cconn **idle) {
  nh_dur pause = NH_MSEC;
  for (;;) {
    if (nh_sem_try_acquire(h->limit) == NH_OK)
      return NH_OK;
    if ((*idle = nh__pool_take(t, h, can_retry)))
      return NH_OK;
    nh_time until = nh_deadline_after(pause);
    int e = nh_sem_acquire(h->limit, until < deadline ? until : deadline);
    if (e != NH_ETIMEDOUT || nh_now() >= deadline)
      return e;
    pause = pause * 2 > 20 * NH_MSEC ? 20 * NH_MSEC : pause * 2;
  }
}

int nh__transport_round_trip(nh_transport *t, nh_client_request *req, nh_time deadline,
                             nh_response **out, const char *file, int line) {
  route rt;
  int routed = 0, e; /* rt is worked out only for a new request or a dial */
  nh__host *h = req->route_host;
  if (!h || req->route_transport != t->id) {
    if ((e = route_for(t, req, &rt)) != NH_OK)
      return e;
    routed = 1;
    if (!(h = nh__host_get(t, rt.key, rt.host, rt.port)))
      return NH_ENOMEM;
    req->route_transport = t->id;
    req->route_host = h;
  }
  atomic_fetch_add(&t->st_requests, 1);
  req->wire_gzip = !t->cfg.disable_compression && !nh_header_get(req->header, "Accept-Encoding") &&
                   !nh_header_get(req->header, "Range") && strcmp(req->method, "HEAD") != 0;
  deadline = nh__client_deadline(req->ctx, deadline);
  nh_ctx *saved = nh_fiber_ctx();
  if (req->ctx)
    nh_fiber_set_ctx(req->ctx);
  int fresh = 0; /* the retry of a refused request: on a new connection */
  for (int attempt = 0;; attempt++) {
    int can_retry = attempt == 0 && replayable(req);
    nh__trace_get_conn(req->trace, h->host_port);
    nh__cconn *c;
    if (fresh) {
      c = NULL;
      nh__pool_dial_begin(t, h);
    } else {
      c = nh__pool_take_or_dial(t, h, can_retry, deadline);
    }
    int dialer = !c; /* counted as dialing until nh__pool_dial_end */
    if (!c && h->limit && (e = acquire_slot(t, h, deadline, can_retry, &c)) != NH_OK) {
      nh__pool_dial_end(t, h, NULL);
      break;
    }
    int reused = c != NULL;
    if (reused) {
      if (dialer) /* a connection came free while waiting for a slot */
        nh__pool_dial_end(t, h, NULL);
      atomic_fetch_add(&t->st_reused, 1);
    } else {
      if (!routed && (e = route_for(t, req, &rt)) != NH_OK) {
        if (h->limit) /* the slot taken for this dial */
          nh_sem_release(h->limit);
        nh__pool_dial_end(t, h, NULL);
        break;
      }
      routed = 1;
      e = dial_route(t, h, &rt, deadline, req->trace, &c);
      if (!e)
        nh__pool_opened(c);
      nh__pool_dial_end(t, h, e ? NULL : c);
      if (e)
        break;
    }
    nh__trace_got_conn(req->trace, reused);
    nh_response *r = nh__response_alloc(t, req, file, line);
    nh__cstream *s = NULL;
    if (!r)
      e = NH_ENOMEM;
    else if ((e = c->ops->start(c, req, deadline, &s)) == NH_OK)
      e = c->ops->read_head(s, req, deadline, &r->head);
    if (e == NH_OK) {
      nh__response_start(r, s, req->wire_gzip);
      *out = r;
      break;
    }
    nh__response_drop(r);
    int sent_any = s && s->sent_any, got_any = s && s->got_any, refused = s && s->refused;
    /* On a shared connection a request that failed met a reset of its own
     * stream or a dead connection, not one closed while idle: only a
     * refusal is retried there. */
    int shared = c->ops->shared;
    if (s) {
      nh__cstream_close(s, 0);
    } else { /* no stream began: the connection did nothing for this request */
      if (!c->ops->shared)
        c->broken = 1;
      nh__pool_release(c);
    }
    /* HTTP/2: a request the server never processed (RFC 9113 8.7) goes
     * again once, whatever its method, as Go's canRetryError allows, on a
     * new connection (the refusing one is going away or full). */
    if (refused && !fresh && nh__creq_rewind(req) == NH_OK) {
      fresh = 1;
      atomic_fetch_add(&t->st_retries, 1);
      continue;
    }
    /* As Go's roundTrip loop: again for as long as the connection that
     * failed was a reused one. Each try uses up the pooled connection it
     * took; the next takes another (looked at first: a server that closed
     * one has likely closed its others too) or dials, and a failure on a
     * fresh connection is final. */
    if (!(reused && !shared && !got_any && stale_conn_error(e) && may_resend(req, sent_any) &&
          nh__creq_rewind(req) == NH_OK))
      break;
    atomic_fetch_add(&t->st_retries, 1);
  }
  if (req->ctx)
    nh_fiber_set_ctx(saved);
  return e;
}

/* ---- a connection of the caller's own (WebSockets) ---- */

/* Its own pool entry, apart from the route's: nothing pooled ever mixes
 * with it, yet max_conns_per_host bounds its dials as any other's. */
static nh__host *own_host(nh_transport *t, const route *rt) {
  char key[sizeof rt->key + 8];
  snprintf(key, sizeof key, "own|%s", rt->key);
  return nh__host_get(t, key, rt->host, rt->port);
}

int nh__transport_dial_own(nh_transport *t, nh_client_request *req, const char *alpn,
                           nh_time deadline, nh__cconn **out) {
  route rt;
  *out = NULL;
  deadline = nh__client_deadline(req->ctx, deadline);
  int e = route_for(t, req, &rt);
  if (e)
    return e;
  nh__host *h = own_host(t, &rt);
  if (!h)
    return NH_ENOMEM;
  nh_tls_ctx *ctx = NULL;
  if (rt.tls && !(ctx = tls_ctx_for(t)))
    return NH_EINVAL;
  if (h->limit && (e = nh_sem_acquire(h->limit, deadline)) != NH_OK)
    return e;
  nh__cconn *c = NULL;
  if (!rt.proxy[0]) {
    e = nh__cconn_dial(t, h, rt.host, rt.port, deadline, req->trace, &c);
  } else {
    /* Through a proxy, a tunnel whatever the scheme: the proxy cannot
     * forward an Upgrade it does not know as a plain request. */
    e = dial_proxy(t, h, rt.proxy, deadline, req->trace, &c);
    if (!e) {
      e = nh__cconn_connect_tunnel(c, rt.host, rt.port, deadline);
      c->proxied = 0;
    }
  }
  if (!e && rt.tls) {
    nh_time hs = deadline;
    if (t->cfg.tls_handshake_timeout != NH_NO_TIMEOUT &&
        nh_deadline_after(t->cfg.tls_handshake_timeout) < hs)
      hs = nh_deadline_after(t->cfg.tls_handshake_timeout);
    e = alpn ? nh__tls_client_alpn(ctx, c->fd, rt.host, alpn, hs, &c->tls)
             : nh_tls_client(ctx, c->fd, rt.host, hs, &c->tls);
    nh__trace_tls_done(req->trace, c->tls, e);
  }
  if (!e) {
    /* HTTP/1.1 whatever ALPN said: the caller asked for it alone. */
    if ((e = nh__h1_cconn_ops.attach(c)) == NH_OK)
      c->ops = &nh__h1_cconn_ops;
  }
  if (e) {
    if (c)
      nh__cconn_discard(c);
    else if (h->limit)
      nh_sem_release(h->limit);
    return e;
  }
  c->broken = 1; /* never pooled: its stream's end discards it */
  *out = c;
  return NH_OK;
}

void nh__cconn_take_socket(nh__cconn *c, nh_fd **fd, nh_tls_conn **tls) {
  nh_transport *t = c->t;
  pthread_mutex_lock(&t->mu);
  c->host->open--;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_sub(&t->st_open, 1);
  if (c->ops)
    c->ops->detach(c);
  *tls = c->tls;
  *fd = c->tls ? NULL : c->fd;
  if (c->host->limit)
    nh_sem_release(c->host->limit);
  free(c->proxy_auth);
  free(c);
}
