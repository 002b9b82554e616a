/* /metrics: the configured transports' connection pools (nh_transport_stats),
 * one series per transport, labelled with its index in nh_debug_config. */
#include "debug_metrics.h"

#include <inttypes.h>
#include <stdio.h>

typedef struct fam {
  const char *name, *type, *help;
} fam;

void nh__m_client(const nh__debug *d, nh__dynbuf *b) {
  size_t n = d->ntransports;
  nh_transport_stats st[n ? n : 1];
  for (size_t i = 0; i < n; i++)
    nh_transport_stats_get(d->transports[i], &st[i]);
  char idx[24];
  /* OpenTelemetry's http.client.open_connections, by http.connection.state. */
  nh__m_family(b, "http_client_open_connections", "gauge",
               "Client connections open in each transport's pool, by state.");
  for (size_t i = 0; i < n; i++) {
    snprintf(idx, sizeof idx, "%zu", i);
    int64_t idle = st[i].idle_now, active = st[i].open_now - st[i].idle_now;
    for (int k = 0; k < 2; k++) {
      nh__dynbuf_addstr(b, "http_client_open_connections{");
      nh__m_label(b, "http_connection_state", k ? "idle" : "active", 1);
      nh__m_label(b, "transport", idx, 0);
      nh__dynbuf_addf(b, "} %" PRId64 "\n", k ? idle : (active > 0 ? active : 0));
    }
  }
  static const fam fams[] = {
      {"nethttp_client_dials_total", "counter", "Connections dialed."},
      {"nethttp_client_connections_reused_total", "counter",
       "Requests sent on a pooled connection."},
      {"nethttp_client_requests_total", "counter", "Requests sent."},
      {"nethttp_client_retries_total", "counter", "Requests retried on a new connection."},
      {"nethttp_client_unclosed_responses", "gauge", "Responses not yet closed."},
  };
  for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
    nh__m_family(b, fams[f].name, fams[f].type, fams[f].help);
    for (size_t i = 0; i < n; i++) {
      int64_t v = f == 0 ? st[i].dials : f == 1 ? st[i].reused : f == 2 ? st[i].requests
                : f == 3 ? st[i].retries : st[i].unclosed_responses;
      snprintf(idx, sizeof idx, "%zu", i);
      nh__m_sample1(b, fams[f].name, "transport", idx, v);
    }
  }
  nh__m_family(b, "nethttp_client_connections_closed_total", "counter",
               "Pooled connections closed, by reason.");
  for (size_t i = 0; i < n; i++) {
    snprintf(idx, sizeof idx, "%zu", i);
    const char *why[] = {"idle_timeout", "pool_full", "unread_body"};
    int64_t v[] = {st[i].closed_idle_timeout, st[i].closed_pool_full, st[i].closed_unread_body};
    for (int k = 0; k < 3; k++) {
      nh__dynbuf_addstr(b, "nethttp_client_connections_closed_total{");
      nh__m_label(b, "reason", why[k], 1);
      nh__m_label(b, "transport", idx, 0);
      nh__dynbuf_addf(b, "} %" PRId64 "\n", v[k]);
    }
  }
}
