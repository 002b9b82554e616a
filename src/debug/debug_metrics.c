/* /metrics: the process, its servers and transports in the Prometheus text
 * format 0.0.4, names after OpenTelemetry's HTTP conventions. Built whole
 * in memory, then sent in one write. */
#include "debug_metrics.h"

#include <inttypes.h>

#include "nethttp/status.h"

void nh__m_runtime(const nh__debug *d, nh__dynbuf *b) {
  nh_runtime *rt = nh__debug_runtime(d);
  if (!rt)
    return;
  nh_runtime_stats st;
  nh_runtime_stats_get(rt, &st);
  nh__m_single(b, "nethttp_runtime_loops", "gauge", "Event loops (one thread each).", st.loops);
  nh__m_single(b, "nethttp_runtime_fibers", "gauge", "Fibers alive.", st.fibers_live);
  nh__m_single(b, "nethttp_runtime_fibers_started_total", "counter", "Fibers started.",
               st.fibers_started);
  nh__m_single(b, "nethttp_runtime_panics_total", "counter", "Fibers that panicked.", st.panics);
  nh__m_single(b, "nethttp_runtime_stalls_total", "counter",
               "Loops the watchdog found stuck in one fiber.", st.stalls);
  nh__m_single(b, "nethttp_runtime_timers", "gauge", "Timers armed.", st.timers_armed);
  nh__m_single(b, "nethttp_runtime_fiber_stacks", "gauge", "Fiber stacks mapped (live and pooled).",
               st.stacks_mapped);
}

void nh__debug_metrics(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)r;
  nh__dynbuf b;
  nh__dynbuf_init(&b, 64u << 20);
  nh__dynbuf_reserve(&b, 16384);
  nh__m_http_server(d, &b);
  nh__m_server_conns(d, &b);
  nh__m_client(d, &b);
  nh__m_runtime(d, &b);
  nh__m_process(&b);
  if (b.err) {
    nh__dynbuf_free(&b);
    nh_error(w, "out of memory", NH_STATUS_INTERNAL_SERVER_ERROR);
    return;
  }
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  nh_resp_write(w, nh__dynbuf_ptr(&b), nh__dynbuf_len(&b));
  nh__dynbuf_free(&b);
}
