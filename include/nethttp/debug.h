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

#include <jansson.h>
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

/* nh_debug_addr_is_loopback tells whether a listen or local address is
 * private to this machine: 127.0.0.0/8 ("127.0.0.1:6060"), ::1
 * ("[::1]:6060"), an IPv4-mapped 127.x address, "localhost:PORT", or a
 * Unix socket ("unix:/path", "/path", "@name"). ":6060" (every address)
 * is not. Pure string work; any thread. */
NH_API int nh_debug_addr_is_loopback(const char *addr);

/* ---- Variables of /debug/vars (Go's expvar.Publish with expvar.Func) ----
 *
 * A program publishes its own figures under a name; /debug/vars shows each
 * one beside the built-in "cmdline", "memstats", "runtime", "servers" and
 * "transports" (reserved names). The registry is process-wide, like Go's.
 *
 * fn returns the variable's current value as a new jansson reference
 * (NULL shows as null). It is called by the fiber serving /debug/vars on a
 * loop thread, under the registry's read lock: it must be quick and must
 * not park, block, publish or unpublish. user is passed back, borrowed. */
typedef json_t *(*nh_debug_var_fn)(void *user);

/* nh_debug_var_publish registers fn(user) under name (copied). Returns 0,
 * NH_EEXIST if the name is taken (Go panics there), NH_EINVAL (NULL or
 * empty name, NULL fn), NH_ENOMEM. Thread-safe. */
NH_API int nh_debug_var_publish(const char *name, nh_debug_var_fn fn, void *user);

/* nh_debug_var_unpublish removes name. Once it returns, fn is not running
 * and will not be called again, so user may be freed. Returns 0 or
 * NH_ENOENT. Thread-safe; must not be called from inside an fn. */
NH_API int nh_debug_var_unpublish(const char *name);

#ifdef __cplusplus
}
#endif
#endif
