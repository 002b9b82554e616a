/* nh_debug_handler: one handler for every debug page, dispatched by exact
 * path through the table of debug_pages.c. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "debug_internal.h"
#include "nethttp/errors.h"
#include "nethttp/form.h"
#include "nethttp/handlers.h"
#include "server/internal.h"

int nh_debug_addr_is_loopback(const char *addr) {
  if (!addr || !*addr)
    return 0;
  if (!strncmp(addr, "unix:", 5) || addr[0] == '/' || addr[0] == '@')
    return 1;
  char host[64];
  const char *end;
  if (addr[0] == '[') {
    addr++;
    end = strchr(addr, ']');
  } else {
    end = strrchr(addr, ':');
  }
  size_t n = end ? (size_t)(end - addr) : strlen(addr);
  if (n == 0 || n >= sizeof host)
    return 0;
  memcpy(host, addr, n);
  host[n] = 0;
  if (!strcasecmp(host, "localhost"))
    return 1;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return 0;
}

/* Where the request arrived, not who sent it: a proxy on this machine
 * would make every remote address look local, while the listener's own
 * address says whether outsiders can reach it at all. */
static int arrived_privately(const nh_request *r) {
  if (nh__request_on_unix(r))
    return 1;
  char local[128];
  return nh_request_local_addr(r, local, sizeof local) == NH_OK && nh_debug_addr_is_loopback(local);
}

int nh__debug_wants_json(nh_request *r) {
  const char *f = nh_request_form_value(r, "format");
  if (f)
    return !strcmp(f, "json");
  const char *accept = nh_header_get(nh_request_header(r), "Accept");
  return accept && strstr(accept, "application/json") != NULL;
}

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
  if (!d->allow_non_loopback && !arrived_privately(r)) {
    nh_error(w,
             "Forbidden: the debug pages are served only on a loopback address or a Unix "
             "socket (allow_non_loopback lifts this)",
             403);
    return;
  }
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
