/* nethttp/debug.h — looking inside a running process: fiber dumps,
 * profiles, traces, variables, metrics and a live page, served by one
 * handler that a program mounts on a private listener (Go's net/http/pprof
 * and expvar, which also mount on a separate port in production).
 *
 * The handler answers under /debug/ and /metrics; every other path is 404.
 * It refuses (403) a request that did not arrive on a loopback address or
 * a Unix socket unless allow_non_loopback is set: the pages show stacks,
 * memory and timings an outsider must not see. */
#ifndef NETHTTP_DEBUG_H
#define NETHTTP_DEBUG_H

#include <stddef.h>

#include "nethttp/client.h"
#include "nethttp/export.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_debug_config {
  /* The runtime whose fibers, loops and timers the pages show; NULL: the
   * runtime of the fiber that serves each request. */
  nh_runtime *runtime;
  /* The servers and transports whose figures the pages and /metrics
   * report. The arrays are copied; each server and transport must outlive
   * the handler. */
  nh_server *const *servers;
  size_t nservers;
  nh_transport *const *transports;
  size_t ntransports;
  /* Serve requests that arrived on a non-loopback address (0: 403). */
  int allow_non_loopback;
} nh_debug_config;

/* nh_debug_handler returns the handler of the debug pages (cfg may be
 * NULL: the defaults above). Release it with nh_debug_handler_free after
 * the server that serves it has stopped. fn == NULL when out of memory. */
NH_API nh_handler nh_debug_handler(const nh_debug_config *cfg);
NH_API void nh_debug_handler_free(nh_handler h);

#ifdef __cplusplus
}
#endif
#endif
