/* /metrics: the servers' connection and protocol figures (nh_server_stats,
 * summed over the configured servers). Gauges come from per-loop counters
 * and counters from the server's atomics: a scrape costs the same with ten
 * connections or ten thousand. */
#include "debug_metrics.h"

#include <inttypes.h>

typedef struct labelled {
  const char *value;
  size_t offset; /* of an int64_t in nh_server_stats */
} labelled;

#define F(field) offsetof(nh_server_stats, field)
#define AT(st, off) (*(const int64_t *)((const char *)(st) + (off)))

static void family(nh__dynbuf *b, const nh_server_stats *st, const char *name, const char *type,
                   const char *help, const char *key, const labelled *v, size_t n) {
  nh__m_family(b, name, type, help);
  for (size_t i = 0; i < n; i++)
    nh__m_sample1(b, name, key, v[i].value, AT(st, v[i].offset));
}

static void single(nh__dynbuf *b, const nh_server_stats *st, const char *name, const char *help,
                   size_t off) {
  nh__m_single(b, name, "counter", help, AT(st, off));
}

void nh__m_server_conns(const nh__debug *d, nh__dynbuf *b) {
  nh_server_stats st = {0};
  for (size_t i = 0; i < d->nservers; i++) {
    nh_server_stats one;
    nh_server_stats_get(d->servers[i], &one);
    int64_t *dst = (int64_t *)&st;
    const int64_t *src = (const int64_t *)&one;
    for (size_t k = 0; k < sizeof st / sizeof(int64_t); k++)
      dst[k] += src[k];
  }
  static const labelled states[] = {{"new", F(conns_new)},
                                    {"active", F(conns_active)},
                                    {"idle", F(conns_idle)},
                                    {"hijacked", F(conns_hijacked)}};
  family(b, &st, "nethttp_server_connections", "gauge",
         "Server connections by state (Go's ConnState).", "state", states, 4);
  nh__m_single(b, "nethttp_server_websockets_open", "gauge",
               "Open server WebSockets (hijacked connections the server still knows, closed "
               "1001 at shutdown).",
               st.websockets_open);
  single(b, &st, "nethttp_server_connections_accepted_total", "Connections accepted.",
         F(accepted));
  nh__m_family(b, "nethttp_server_connections_closed_total", "counter",
               "Connections let go of, by reason (each counts once, when it closes or is "
               "hijacked).");
  for (int r = 0; r < NH_CLOSE__COUNT; r++)
    nh__m_sample1(b, "nethttp_server_connections_closed_total", "reason",
                  nh_close_reason_name((nh_close_reason)r), st.closes[r]);
  static const labelled shed[] = {{"idle", F(shed_idle)}, {"reading", F(shed_reading)}};
  family(b, &st, "nethttp_server_connections_shed_total", "counter",
         "Connections closed to make room under max_conns or the descriptor limit: idle ones, "
         "or the slowest still reading.",
         "kind", shed, 2);
  static const labelled refused[] = {{"per_ip", F(refused_per_ip)}, {"hook", F(refused_by_hook)}};
  family(b, &st, "nethttp_server_connections_refused_total", "counter",
         "Connections closed at accept, never served: over max_conns_per_ip, or refused by "
         "the accept hook.",
         "reason", refused, 2);
  static const labelled timeouts[] = {{"header", F(timeouts_header)},
                                      {"read", F(timeouts_read)},
                                      {"write", F(timeouts_write)},
                                      {"idle", F(timeouts_idle)}};
  family(b, &st, "nethttp_server_timeouts_total", "counter",
         "Server timeouts by kind (read_header, read, write, idle).", "kind", timeouts, 4);
  single(b, &st, "nethttp_server_requests_total",
         "Requests read, those the server refused itself included.", F(requests));
  single(b, &st, "nethttp_server_bad_requests_total",
         "Requests the server answered 4xx or 5xx itself (malformed, too large...).",
         F(bad_requests));
  single(b, &st, "nethttp_server_bodies_drained_total",
         "Unread request bodies drained after the handler to keep the connection.",
         F(bodies_drained));
  single(b, &st, "nethttp_server_bodies_too_large_total",
         "Connections closed because a body passed its limit or was too large to drain.",
         F(bodies_too_large_closed));
  single(b, &st, "nethttp_server_handler_panics_total", "Handlers that panicked.",
         F(handler_panics));
  single(b, &st, "nethttp_server_accept_errors_total", "Failed accept calls.", F(accept_errors));
  single(b, &st, "nethttp_server_slow_hooks_total", "Connection-state hooks slower than their "
                                                    "threshold.", F(slow_hooks));
  single(b, &st, "nethttp_server_tls_handshake_errors_total", "TLS handshakes that failed.",
         F(tls_handshake_errors));
  single(b, &st, "nethttp_server_proxy_refused_total",
         "Connections closed over their PROXY protocol header.", F(proxy_refused));
  single(b, &st, "nethttp_server_http2_connections_total", "Connections served as HTTP/2.",
         F(h2_conns));
  single(b, &st, "nethttp_server_http2_streams_total", "HTTP/2 streams served.", F(h2_streams));
  single(b, &st, "nethttp_server_http2_streams_reset_total",
         "HTTP/2 streams reset by the server or the client.", F(h2_streams_reset));
  static const labelled abuse[] = {{"rapid_reset", F(h2_rapid_reset)},
                                   {"header_flood", F(h2_header_floods)},
                                   {"control_flood", F(h2_control_floods)},
                                   {"empty_flood", F(h2_empty_floods)}};
  family(b, &st, "nethttp_server_http2_abuse_total", "counter",
         "HTTP/2 connections ended for abuse, by kind.", "kind", abuse, 4);
  single(b, &st, "nethttp_server_http2_headers_too_large_total",
         "HTTP/2 header lists refused with 431.", F(h2_headers_too_large));
}
