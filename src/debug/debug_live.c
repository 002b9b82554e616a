/* /debug/live.json: the figures the live page (/debug/) charts, read once
 * a second by its script. Counters stay counters (requests, accepted...):
 * the page turns two readings into a rate, so a missed poll loses nothing
 * and two pages open at once do not disturb each other. */
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "debug_internal.h"
#include "nethttp/errors.h"
#include "runtime/census.h"

/* Resident set size in bytes from /proc/self/statm, or -1. */
static long long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  if (!f)
    return -1;
  long long size, resident;
  int n = fscanf(f, "%lld %lld", &size, &resident);
  fclose(f);
  return n == 2 ? resident * (long long)sysconf(_SC_PAGESIZE) : -1;
}

static void write_latency(nh__debug *d, nh_response_writer *w) {
  nh__debug_latency lat;
  nh__debug_latency_get(d, &lat);
  if (!lat.nbuckets) {
    nh_resp_printf(w, "\"latency\":null");
    return;
  }
  nh_resp_printf(w, "\"latency\":{\"count\":%lld,\"sum\":%.9g,\"le\":[", (long long)lat.count,
                 lat.sum_seconds);
  for (size_t i = 0; i < lat.nbuckets; i++) {
    if (isinf(lat.le[i]))
      nh_resp_printf(w, "%s\"+Inf\"", i ? "," : "");
    else
      nh_resp_printf(w, "%s%.9g", i ? "," : "", lat.le[i]);
  }
  nh_resp_printf(w, "],\"counts\":[");
  for (size_t i = 0; i < lat.nbuckets; i++)
    nh_resp_printf(w, "%s%lld", i ? "," : "", (long long)lat.counts[i]);
  nh_resp_printf(w, "]}");
}

void nh__debug_live(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_runtime *rt = nh__debug_runtime(d);
  nh_runtime_stats rs = {0};
  if (rt)
    nh_runtime_stats_get(rt, &rs);
  nh__fiber_census fc;
  int stalled = nh__fiber_census_take(rt, &fc) != NH_OK;

  nh_server_stats sum = {0};
  for (size_t i = 0; i < d->nservers; i++) {
    nh_server_stats s;
    nh_server_stats_get(d->servers[i], &s);
    sum.requests += s.requests;
    sum.accepted += s.accepted;
    sum.closed += s.closed;
    sum.bad_requests += s.bad_requests;
    sum.conns_new += s.conns_new;
    sum.conns_active += s.conns_active;
    sum.conns_idle += s.conns_idle;
    sum.conns_hijacked += s.conns_hijacked;
    sum.websockets_open += s.websockets_open;
  }

  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", "application/json");
  nh_header_set(h, "Cache-Control", "no-store");
  /* t: the monotonic clock in seconds, so rates divide by the server's
   * own interval, not by when the browser's timer happened to fire. */
  nh_resp_printf(w, "{\"t\":%.6f,\"servers\":%zu,", (double)nh_now() / NH_SEC, d->nservers);
  nh_resp_printf(w, "\"requests\":%lld,\"accepted\":%lld,\"closed\":%lld,\"bad_requests\":%lld,",
                 (long long)sum.requests, (long long)sum.accepted, (long long)sum.closed,
                 (long long)sum.bad_requests);
  nh_resp_printf(w,
                 "\"conns\":{\"new\":%lld,\"active\":%lld,\"idle\":%lld,\"hijacked\":%lld,"
                 "\"websockets\":%lld},",
                 (long long)sum.conns_new, (long long)sum.conns_active,
                 (long long)sum.conns_idle, (long long)sum.conns_hijacked,
                 (long long)sum.websockets_open);
  /* Live comes from the counters (exact); parked and runnable from the
   * census, a moment later. */
  nh_resp_printf(w,
                 "\"fibers\":{\"live\":%lld,\"parked\":%lld,\"runnable\":%lld,"
                 "\"started\":%lld,\"loops\":%d,\"stalled\":%s},",
                 (long long)rs.fibers_live, (long long)fc.parked, (long long)fc.runnable,
                 (long long)rs.fibers_started, rs.loops, stalled ? "true" : "false");
  nh_resp_printf(w, "\"memory\":{\"rss\":%lld,\"fiber_stacks\":%lld,\"stacks_mapped\":%lld},",
                 rss_bytes(), (long long)fc.stack_bytes, (long long)rs.stacks_mapped);
  write_latency(d, w);
  nh_resp_printf(w, "}\n");
}
