/* Readiness and liveness handlers (for load balancers' health checks and
 * Kubernetes probes). Readiness follows the server's draining flag, so a
 * balancer stops routing here during the drain delay, while the server
 * still serves; liveness says only that the process answers. */
#include "internal.h"

static void probe_answer(nh_response_writer *w, int status, const char *text) {
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", "text/plain; charset=utf-8");
  nh_header_set(h, "Cache-Control", "no-store");
  if (status != 200)
    nh_header_set(h, "Connection", "close"); /* the next probe gets a fresh look */
  nh_resp_write_header(w, status);
  nh_resp_write_string(w, text); /* dropped for HEAD */
}

static void ready(nh_response_writer *w, nh_request *r) {
  nh_server *srv = nh_request_handler_data(r);
  if (nh_server_draining(srv))
    probe_answer(w, 503, "draining\n");
  else
    probe_answer(w, 200, "ready\n");
}

static void live(nh_response_writer *w, nh_request *r) {
  (void)r;
  probe_answer(w, 200, "alive\n");
}

nh_handler nh_server_ready_handler(nh_server *srv) { return NH_HANDLER(ready, srv); }

nh_handler nh_server_live_handler(nh_server *srv) { return NH_HANDLER(live, srv); }
