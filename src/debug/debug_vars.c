/* /debug/vars: Go's expvar page. One JSON object: "cmdline" (the
 * process's arguments), "memstats" (resident and virtual size, the
 * allocator's totals from mallinfo2), "runtime" (nh_runtime_stats),
 * "servers" and "transports" (the stats of each one the handler was
 * configured with, in order), and every variable the program published
 * (nh_debug_var_publish). Keys are sorted so two snapshots diff cleanly. */
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "debug_internal.h"
#include "nethttp/errors.h"
#include "nethttp/json.h"

static json_t *cmdline(void) {
  json_t *a = json_array();
  FILE *f = fopen("/proc/self/cmdline", "r");
  if (!f)
    return a;
  char arg[4096];
  size_t n = 0;
  int ch;
  while ((ch = fgetc(f)) != EOF) {
    if (ch && n < sizeof arg - 1) {
      arg[n++] = (char)ch;
      continue;
    }
    if (!ch) {
      arg[n] = 0;
      json_array_append_new(a, json_stringn(arg, n));
      n = 0;
    }
  }
  fclose(f);
  return a;
}

static json_t *memstats(void) {
  long page = sysconf(_SC_PAGESIZE);
  unsigned long long vm = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%llu %llu", &vm, &rss) != 2)
      vm = rss = 0;
    fclose(f);
  }
  struct mallinfo2 mi = mallinfo2();
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rss_bytes", (json_int_t)(rss * page),
                   "vm_bytes", (json_int_t)(vm * page), "heap_arena_bytes", (json_int_t)mi.arena,
                   "heap_mmap_bytes", (json_int_t)mi.hblkhd, "heap_mmap_regions",
                   (json_int_t)mi.hblks, "heap_in_use_bytes", (json_int_t)mi.uordblks,
                   "heap_free_bytes", (json_int_t)mi.fordblks, "heap_releasable_bytes",
                   (json_int_t)mi.keepcost);
}

#define SET(o, st, field) json_object_set_new((o), #field, json_integer((json_int_t)(st).field))

static json_t *runtime_vars(nh_runtime *rt) {
  json_t *o = json_object();
  if (!rt)
    return o;
  nh_runtime_stats s;
  nh_runtime_stats_get(rt, &s);
  SET(o, s, loops);
  SET(o, s, fibers_live);
  SET(o, s, fibers_started);
  SET(o, s, panics);
  SET(o, s, stalls);
  SET(o, s, timers_armed);
  SET(o, s, stacks_mapped);
  return o;
}

static json_t *server_vars(nh_server *srv) {
  nh_server_stats s;
  nh_server_stats_get(srv, &s);
  json_t *o = json_object();
  char addr[128] = "";
  if (nh_server_addr(srv, addr, sizeof addr) == NH_OK)
    json_object_set_new(o, "addr", json_string(addr));
  SET(o, s, accepted);
  SET(o, s, closed);
  SET(o, s, requests);
  SET(o, s, hijacked);
  SET(o, s, shed_idle);
  SET(o, s, shed_reading);
  SET(o, s, timeouts_header);
  SET(o, s, timeouts_idle);
  SET(o, s, timeouts_read);
  SET(o, s, timeouts_write);
  SET(o, s, bad_requests);
  SET(o, s, bodies_drained);
  SET(o, s, bodies_too_large_closed);
  SET(o, s, accept_errors);
  SET(o, s, slow_hooks);
  SET(o, s, handler_panics);
  SET(o, s, tls_handshake_errors);
  SET(o, s, proxy_refused);
  SET(o, s, h2_conns);
  SET(o, s, h2_streams);
  SET(o, s, h2_streams_reset);
  SET(o, s, h2_rapid_reset);
  SET(o, s, h2_header_floods);
  SET(o, s, h2_control_floods);
  SET(o, s, h2_empty_floods);
  SET(o, s, h2_headers_too_large);
  SET(o, s, conns_new);
  SET(o, s, conns_active);
  SET(o, s, conns_idle);
  SET(o, s, conns_hijacked);
  SET(o, s, websockets_open);
  json_t *closes = json_object();
  for (int i = 0; i < NH_CLOSE__COUNT; i++)
    json_object_set_new(closes, nh_close_reason_name((nh_close_reason)i),
                        json_integer((json_int_t)s.closes[i]));
  json_object_set_new(o, "closes", closes);
  return o;
}

static json_t *transport_vars(nh_transport *t) {
  nh_transport_stats s;
  nh_transport_stats_get(t, &s);
  json_t *o = json_object();
  SET(o, s, dials);
  SET(o, s, reused);
  SET(o, s, requests);
  SET(o, s, retries);
  SET(o, s, idle_now);
  SET(o, s, open_now);
  SET(o, s, closed_idle_timeout);
  SET(o, s, closed_pool_full);
  SET(o, s, closed_unread_body);
  SET(o, s, unclosed_responses);
  return o;
}

void nh__debug_vars(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)r;
  json_t *v = json_object();
  json_t *servers = json_array(), *transports = json_array();
  for (size_t i = 0; i < d->nservers; i++)
    json_array_append_new(servers, server_vars(d->servers[i]));
  for (size_t i = 0; i < d->ntransports; i++)
    json_array_append_new(transports, transport_vars(d->transports[i]));
  json_object_set_new(v, "cmdline", cmdline());
  json_object_set_new(v, "memstats", memstats());
  json_object_set_new(v, "runtime", runtime_vars(nh__debug_runtime(d)));
  json_object_set_new(v, "servers", servers);
  json_object_set_new(v, "transports", transports);
  nh__debug_vars_published(v);
  nh_resp_json_flags(w, 200, v, JSON_INDENT(1) | JSON_SORT_KEYS);
  json_decref(v);
}
