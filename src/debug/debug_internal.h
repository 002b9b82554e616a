/* The debug handler's state and its page table. Each page is one function
 * in its own file (debug_<page>.c) and one line of nh__debug_pages
 * (debug_pages.c). */
#ifndef NH_DEBUG_INTERNAL_H
#define NH_DEBUG_INTERNAL_H

#include "nethttp/debug.h"

typedef struct nh__debug {
  nh_runtime *runtime; /* NULL: the serving fiber's runtime */
  nh_server **servers;
  size_t nservers;
  nh_transport **transports;
  size_t ntransports;
  int allow_non_loopback;
} nh__debug;

/* The runtime a page reports on. */
nh_runtime *nh__debug_runtime(const nh__debug *d);

typedef void (*nh__debug_page_fn)(nh__debug *d, nh_response_writer *w, nh_request *r);

typedef struct nh__debug_page {
  const char *path;  /* matched exactly, without the query */
  const char *title; /* one line for the index */
  nh__debug_page_fn serve;
} nh__debug_page;

/* The pages, ended by an entry whose path is NULL. */
extern const nh__debug_page nh__debug_pages[];

/* The request-duration histogram of the live page, summed over the
 * handler's servers: counters since each server started, never reset, so
 * the page takes the difference of two readings for the last second.
 * le[i] is the upper bound of bucket i in seconds (ascending; the last one
 * may be INFINITY) and counts[i] the requests that took more than le[i-1]
 * and at most le[i] (not cumulative). nbuckets 0: no histogram is kept. */
#define NH__DEBUG_LATENCY_BUCKETS 32
typedef struct nh__debug_latency {
  size_t nbuckets;
  double le[NH__DEBUG_LATENCY_BUCKETS];
  int64_t counts[NH__DEBUG_LATENCY_BUCKETS];
  int64_t count;      /* requests measured */
  double sum_seconds; /* their total duration */
} nh__debug_latency;
/* Fills *out (debug_latency.c). Any thread; does not park. */
void nh__debug_latency_get(const nh__debug *d, nh__debug_latency *out);

/* The HTML of /debug/, NUL-terminated: debug_page.html, made a C string
 * at build time (cmake/embed.cmake). */
extern const char nh__debug_page_html[];

/* Pages (one file each). */
void nh__debug_index(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_fibers(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_vars(nh__debug *d, nh_response_writer *w, nh_request *r);

/* debug_vars_registry.c: sets each published variable into `into`. */
void nh__debug_vars_published(json_t *into);
/* The request asked for JSON: ?format=json or Accept: application/json. */
int nh__debug_wants_json(nh_request *r);
void nh__debug_live(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_metrics(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_pprof_profile(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_pprof_mutex(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_pprof_block(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_trace(nh__debug *d, nh_response_writer *w, nh_request *r);
void nh__debug_heap(nh__debug *d, nh_response_writer *w, nh_request *r);

#endif
