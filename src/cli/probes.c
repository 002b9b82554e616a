/* The readiness and liveness paths in front of a program's handler (see
 * probes.h). */
#include "probes.h"

#include <string.h>

static void probes_serve(nh_response_writer *w, nh_request *r) {
  cli_probes *p = nh_request_handler_data(r);
  const char *path = nh_request_path(r);
  if (p->ready_path && !strcmp(path, p->ready_path))
    nh_handler_serve(nh_server_ready_handler(p->srv), w, r);
  else if (p->live_path && !strcmp(path, p->live_path))
    nh_handler_serve(nh_server_live_handler(p->srv), w, r);
  else
    nh_handler_serve(p->next, w, r);
}

void cli_probes_wrap(cli_probes *p, server_flags *f) {
  p->next = NH_HANDLER(f->cfg.handler, f->cfg.handler_data);
  p->ready_path = f->ready_path;
  p->live_path = f->live_path;
  p->srv = NULL;
  if (!p->ready_path && !p->live_path)
    return;
  f->cfg.handler = probes_serve;
  f->cfg.handler_data = p;
}
