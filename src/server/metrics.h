/* Request figures a loop keeps for /metrics: a request-duration histogram
 * for each (route, method, status, protocol version) and the requests in
 * flight by method.
 *
 * Each loop owns one table and only its thread writes it, with plain adds
 * (nh__loop_count) on lines no other loop writes; nothing is allocated per
 * request. The table has a fixed number of series: label values come from
 * fixed sets (methods, protocol versions), status codes and the mux's
 * patterns, so it fills only with a program that has very many routes;
 * requests that find it full are counted in one overflow series.
 *
 * Readers (the /metrics page, on any thread) scan the tables without a
 * lock: a series is published (used, release) after its key is written,
 * and its counters are atomics read relaxed. Bucket counts read one by one
 * may miss a request being recorded, never count one twice. */
#ifndef NH_SERVER_METRICS_H
#define NH_SERVER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "nethttp/server.h"

/* OpenTelemetry's default boundaries for http.server.request.duration, in
 * seconds: 5 ms to 10 s. A request lands in the first bucket whose bound
 * it does not exceed (Prometheus' "le"), or in the last (+Inf). */
enum { NH__RM_BOUNDS = 14, NH__RM_BUCKETS = NH__RM_BOUNDS + 1 };
extern const char *const nh__rm_bound_names[NH__RM_BOUNDS]; /* "0.005"... */
extern const int64_t nh__rm_bounds_ns[NH__RM_BOUNDS];        /* the same, in ns */

/* Methods OpenTelemetry knows; any other is _OTHER (index 0). */
enum { NH__RM_METHODS = 10 };
extern const char *const nh__rm_method_names[NH__RM_METHODS];
/* Protocol versions: "1.0", "1.1", "2". */
enum { NH__RM_PROTOS = 3 };
extern const char *const nh__rm_proto_names[NH__RM_PROTOS];

/* A pattern is kept (and compared) up to this many bytes. */
enum { NH__RM_ROUTE_MAX = 96 };
/* Series per loop; a power of two. At most three quarters are used, so
 * that a probe for a new key ends soon. */
enum { NH__RM_SLOTS = 512, NH__RM_MAX_USED = NH__RM_SLOTS / 4 * 3 };

typedef struct nh__rm_series {
  _Atomic uint32_t used; /* 1 once the key below is written (release) */
  uint32_t hash;
  uint16_t status; /* 0: none (a hijacked connection that sent nothing) */
  uint8_t method, proto;
  char route[NH__RM_ROUTE_MAX]; /* the mux's pattern, "" for none */
  _Atomic int64_t buckets[NH__RM_BUCKETS]; /* not cumulative */
  _Atomic int64_t sum_ns;
} nh__rm_series;

typedef struct nh__req_metrics {
  _Atomic int64_t active[NH__RM_METHODS]; /* handlers running, by method */
  int nused;                              /* series taken (loop only) */
  nh__rm_series overflow;                 /* requests that found no room */
  nh__rm_series slots[NH__RM_SLOTS];
} nh__req_metrics;

/* A new, empty table (calloc'd: the slots' pages stay untouched until
 * used), or NULL when out of memory. Free with free(). */
nh__req_metrics *nh__req_metrics_new(void);

/* The index of method in nh__rm_method_names (0: _OTHER). */
int nh__rm_method_index(const char *method);

/* A request began on this table's loop: one more in flight. */
static inline void nh__rm_begin(nh__req_metrics *m, int method) {
  atomic_store_explicit(&m->active[method],
                        atomic_load_explicit(&m->active[method], memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* The request r (method index as given to nh__rm_begin) ended with status
 * after took: one fewer in flight, one more in its series. Loop thread. */
void nh__rm_end(nh__req_metrics *m, int method, const nh_request *r, int status, int64_t took);

/* Calls fn for every series of m in use, the overflow one last if it
 * counted anything (nh__rm_is_overflow tells it apart). Any thread. */
void nh__rm_each(const nh__req_metrics *m, void (*fn)(const nh__rm_series *s, void *arg),
                 void *arg);
static inline int nh__rm_is_overflow(const nh__req_metrics *m, const nh__rm_series *s) {
  return s == &m->overflow;
}

#endif
