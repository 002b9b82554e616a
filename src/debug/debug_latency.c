/* The request-duration histogram the live page reads (see
 * nh__debug_latency_get in debug_internal.h): the servers' per-loop tables
 * that /metrics reports (src/server/metrics.h), every series added into one
 * set of buckets, read the way debug_metrics_http.c reads them (no lock;
 * relaxed loads of counters only their loop writes). */
#include <math.h>
#include <string.h>

#include "debug_internal.h"
#include "server/internal.h"
#include "server/metrics.h"

_Static_assert(NH__RM_BUCKETS <= NH__DEBUG_LATENCY_BUCKETS, "the live page's histogram is too small");

static void add_series(const nh__rm_series *s, void *arg) {
  nh__debug_latency *out = arg;
  for (int b = 0; b < NH__RM_BUCKETS; b++)
    out->counts[b] += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
  out->sum_seconds += (double)atomic_load_explicit(&s->sum_ns, memory_order_relaxed) / 1e9;
}

void nh__debug_latency_get(const nh__debug *d, nh__debug_latency *out) {
  memset(out, 0, sizeof *out);
  int kept = 0;
  for (size_t i = 0; i < d->nservers; i++) {
    nh_server *srv = d->servers[i];
    for (int l = 0; l < srv->nloops; l++) {
      const nh__req_metrics *m = srv->loops[l].xenv.metrics;
      if (!m)
        continue; /* nh_server_config.disable_metrics */
      kept = 1;
      nh__rm_each(m, add_series, out);
    }
  }
  if (!kept)
    return; /* nbuckets 0: no server keeps the histogram */
  out->nbuckets = NH__RM_BUCKETS;
  for (int b = 0; b < NH__RM_BOUNDS; b++)
    out->le[b] = (double)nh__rm_bounds_ns[b] / 1e9;
  out->le[NH__RM_BOUNDS] = INFINITY;
  /* The count is the buckets' sum, so the two always agree. */
  for (int b = 0; b < NH__RM_BUCKETS; b++)
    out->count += out->counts[b];
}
