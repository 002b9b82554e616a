/* --ready-path and --live-path: requests to exactly those paths go to the
 * server's readiness and liveness handlers (nh_server_ready_handler,
 * nh_server_live_handler) before the program's own handler, which never
 * sees them (nor logs them: probes come every few seconds). */
#ifndef NH_CLI_PROBES_H
#define NH_CLI_PROBES_H

#include "flags.h"

typedef struct cli_probes {
  nh_handler next; /* the program's handler */
  const char *ready_path, *live_path;
  nh_server *srv; /* set once the server exists, before it serves */
} cli_probes;

/* With --ready-path or --live-path, puts p in front of f->cfg's handler
 * (f->cfg.handler and handler_data must be set); otherwise leaves it. Set
 * p->srv after nh_server_new, before serving. */
void cli_probes_wrap(cli_probes *p, server_flags *f);

#endif
