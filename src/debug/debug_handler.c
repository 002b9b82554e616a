/* nh_debug_handler: one handler for every debug page, dispatched by exact
 * path through the table of debug_pages.c. */
#include <stdlib.h>
#include <string.h>

#include "debug_internal.h"
#include "nethttp/handlers.h"

nh_runtime *nh__debug_runtime(const nh__debug *d) {
  return d->runtime ? d->runtime : nh_runtime_current();
}

static void debug_serve(nh_response_writer *w, nh_request *r);

static const nh__debug_page *page_for(const char *path) {
  for (const nh__debug_page *p = nh__debug_pages; p->path; p++)
    if (strcmp(p->path, path) == 0)
      return p;
  return NULL;
}

static void debug_serve_with(nh__debug *d, nh_response_writer *w, nh_request *r) {
  const nh__debug_page *p = page_for(nh_request_path(r));
  if (!p) {
    nh_not_found(w, r);
    return;
  }
  p->serve(d, w, r);
}

/* The handler's data is the nh__debug; nh_handler_fn has no data argument,
 * so the state is found through the handler the server passes along. */
static void debug_serve(nh_response_writer *w, nh_request *r) {
  debug_serve_with(nh_request_handler_data(r), w, r);
}

static void **copy_ptrs(void *const *src, size_t n) {
  if (!n)
    return NULL;
  void **dst = malloc(n * sizeof *dst);
  if (dst)
    memcpy(dst, src, n * sizeof *dst);
  return dst;
}

nh_handler nh_debug_handler(const nh_debug_config *cfg) {
  nh_debug_config none = {0};
  if (!cfg)
    cfg = &none;
  nh__debug *d = calloc(1, sizeof *d);
  if (!d)
    return NH_HANDLER(NULL, NULL);
  d->runtime = cfg->runtime;
  d->allow_non_loopback = cfg->allow_non_loopback;
  d->nservers = cfg->nservers;
  d->ntransports = cfg->ntransports;
  d->servers = (nh_server **)copy_ptrs((void *const *)cfg->servers, cfg->nservers);
  d->transports = (nh_transport **)copy_ptrs((void *const *)cfg->transports, cfg->ntransports);
  if ((cfg->nservers && !d->servers) || (cfg->ntransports && !d->transports)) {
    free(d->servers);
    free(d->transports);
    free(d);
    return NH_HANDLER(NULL, NULL);
  }
  return NH_HANDLER(debug_serve, d);
}

void nh_debug_handler_free(nh_handler h) {
  if (h.fn != debug_serve)
    return;
  nh__debug *d = h.data;
  free(d->servers);
  free(d->transports);
  free(d);
}
