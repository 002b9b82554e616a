/* /metrics: http_server_request_duration_seconds and
 * http_server_active_requests (OpenTelemetry's http.server.* instruments
 * with their Prometheus names), from every configured server's loop tables
 * (src/server/metrics.h). Series of the same labels (from several loops,
 * servers, or patterns that differ only by host) are added together. */
#include "debug_metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"
#include "server/metrics.h"

typedef struct series {
  char route[NH__RM_ROUTE_MAX]; /* the path template, "" for none */
  int method, status, proto, tls, overflow;
  int64_t buckets[NH__RM_BUCKETS];
  int64_t sum_ns;
} series;

typedef struct gather {
  series *v;
  size_t n, cap;
  const nh__req_metrics *m; /* the table being read */
  int tls;
  int oom;
} gather;

/* The route as OpenTelemetry's http.route has it: the pattern's path
 * template, without the method and host the mux pattern may hold
 * ("GET example.com/items/{id}" -> "/items/{id}"). */
static void route_of(const char *pattern, char *out, size_t cap) {
  const char *p = pattern, *sp = strchr(pattern, ' ');
  if (sp) {
    p = sp;
    while (*p == ' ' || *p == '\t')
      p++;
  }
  const char *slash = strchr(p, '/');
  if (slash)
    p = slash;
  size_t n = strlen(p);
  if (n >= cap)
    n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
}

static void take(const nh__rm_series *s, void *arg) {
  gather *g = arg;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 64;
    series *v = realloc(g->v, cap * sizeof *v);
    if (!v) {
      g->oom = 1;
      return;
    }
    g->v = v;
    g->cap = cap;
  }
  series *e = &g->v[g->n++];
  memset(e, 0, sizeof *e);
  route_of(s->route, e->route, sizeof e->route);
  e->method = s->method;
  e->status = s->status;
  e->proto = s->proto;
  e->tls = g->tls;
  e->overflow = nh__rm_is_overflow(g->m, s);
  for (int b = 0; b < NH__RM_BUCKETS; b++)
    e->buckets[b] = atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
  e->sum_ns = atomic_load_explicit(&s->sum_ns, memory_order_relaxed);
}

static int cmp_series(const void *pa, const void *pb) {
  const series *a = pa, *b = pb;
  if (a->overflow != b->overflow)
    return a->overflow - b->overflow;
  int c = strcmp(a->route, b->route);
  if (c)
    return c;
  if (a->method != b->method)
    return a->method - b->method;
  if (a->status != b->status)
    return a->status - b->status;
  if (a->proto != b->proto)
    return a->proto - b->proto;
  return a->tls - b->tls;
}

static void labels(nh__dynbuf *b, const series *s) {
  nh__m_label(b, "http_request_method", nh__rm_method_names[s->method], 1);
  if (s->status) {
    char st[8];
    snprintf(st, sizeof st, "%d", s->status);
    nh__m_label(b, "http_response_status_code", st, 0);
  }
  if (s->overflow)
    nh__m_label(b, "http_route", "_OTHER", 0);
  else if (s->route[0])
    nh__m_label(b, "http_route", s->route, 0);
  if (!s->overflow)
    nh__m_label(b, "network_protocol_version", nh__rm_proto_names[s->proto], 0);
  nh__m_label(b, "url_scheme", s->tls ? "https" : "http", 0);
}

static const char HIST[] = "http_server_request_duration_seconds";

static void histogram(nh__dynbuf *b, const series *s) {
  int64_t cum = 0;
  for (int i = 0; i < NH__RM_BUCKETS; i++) {
    cum += s->buckets[i];
    nh__dynbuf_addf(b, "%s_bucket{", HIST);
    labels(b, s);
    nh__m_label(b, "le", i < NH__RM_BOUNDS ? nh__rm_bound_names[i] : "+Inf", 0);
    nh__dynbuf_addf(b, "} %" PRId64 "\n", cum);
  }
  nh__dynbuf_addf(b, "%s_sum{", HIST);
  labels(b, s);
  nh__dynbuf_addf(b, "} %.9f\n", (double)s->sum_ns / 1e9);
  nh__dynbuf_addf(b, "%s_count{", HIST);
  labels(b, s);
  /* The count is the +Inf bucket's, read once: the two always agree. */
  nh__dynbuf_addf(b, "} %" PRId64 "\n", cum);
}

void nh__m_http_server(const nh__debug *d, nh__dynbuf *b) {
  gather g = {0};
  int64_t active[2][NH__RM_METHODS] = {{0}};
  int schemes[2] = {0, 0};
  for (size_t i = 0; i < d->nservers; i++) {
    nh_server *srv = d->servers[i];
    g.tls = srv->cfg.tls != NULL;
    schemes[g.tls] = 1;
    for (int l = 0; l < srv->nloops; l++) {
      nh__req_metrics *m = srv->loops[l].xenv.metrics;
      if (!m)
        continue;
      g.m = m;
      nh__rm_each(m, take, &g);
      for (int k = 0; k < NH__RM_METHODS; k++)
        active[g.tls][k] += atomic_load_explicit(&m->active[k], memory_order_relaxed);
    }
  }
  if (g.oom && !b->err)
    b->err = NH_ENOMEM; /* a partial page would read as counters that fell */
  if (g.n)
    qsort(g.v, g.n, sizeof *g.v, cmp_series);
  nh__m_family(b, HIST, "histogram", "Duration of HTTP server requests, from the request head "
                                     "to the end of the response.");
  for (size_t i = 0; i < g.n;) {
    series acc = g.v[i];
    size_t j = i + 1;
    for (; j < g.n && cmp_series(&acc, &g.v[j]) == 0; j++) {
      for (int k = 0; k < NH__RM_BUCKETS; k++)
        acc.buckets[k] += g.v[j].buckets[k];
      acc.sum_ns += g.v[j].sum_ns;
    }
    histogram(b, &acc);
    i = j;
  }
  free(g.v);
  nh__m_family(b, "http_server_active_requests", "gauge",
               "Number of active HTTP server requests (handlers running).");
  for (int t = 0; t < 2; t++) {
    if (!schemes[t])
      continue;
    for (int k = 0; k < NH__RM_METHODS; k++) {
      nh__dynbuf_addstr(b, "http_server_active_requests{");
      nh__m_label(b, "http_request_method", nh__rm_method_names[k], 1);
      nh__m_label(b, "url_scheme", t ? "https" : "http", 0);
      nh__dynbuf_addf(b, "} %" PRId64 "\n", active[t][k]);
    }
  }
}
