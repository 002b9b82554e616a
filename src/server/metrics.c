/* The request figures of one loop (metrics.h): find the request's series
 * by a hash of its key, then add to one bucket and the sum. */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "exchange.h"

const char *const nh__rm_bound_names[NH__RM_BOUNDS] = {
    "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25",
    "0.5",   "0.75", "1",     "2.5",  "5",     "7.5", "10"};
const int64_t nh__rm_bounds_ns[NH__RM_BOUNDS] = {
    5 * NH_MSEC,   10 * NH_MSEC,  25 * NH_MSEC,  50 * NH_MSEC, 75 * NH_MSEC,
    100 * NH_MSEC, 250 * NH_MSEC, 500 * NH_MSEC, 750 * NH_MSEC, NH_SEC,
    2500 * NH_MSEC, 5 * NH_SEC,   7500 * NH_MSEC, 10 * NH_SEC};

const char *const nh__rm_method_names[NH__RM_METHODS] = {
    "_OTHER", "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"};
const char *const nh__rm_proto_names[NH__RM_PROTOS] = {"1.0", "1.1", "2"};

nh__req_metrics *nh__req_metrics_new(void) { return calloc(1, sizeof(nh__req_metrics)); }

int nh__rm_method_index(const char *m) {
  /* GET first: most requests are. Methods are case-sensitive (RFC 9110). */
  switch (m[0]) {
  case 'G': return strcmp(m, "GET") == 0 ? 3 : 0;
  case 'P':
    return strcmp(m, "POST") == 0 ? 7 : strcmp(m, "PUT") == 0 ? 8 : strcmp(m, "PATCH") == 0 ? 6 : 0;
  case 'H': return strcmp(m, "HEAD") == 0 ? 4 : 0;
  case 'D': return strcmp(m, "DELETE") == 0 ? 2 : 0;
  case 'O': return strcmp(m, "OPTIONS") == 0 ? 5 : 0;
  case 'C': return strcmp(m, "CONNECT") == 0 ? 1 : 0;
  case 'T': return strcmp(m, "TRACE") == 0 ? 9 : 0;
  default: return 0;
  }
}

static inline void add(_Atomic int64_t *c, int64_t d) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                        memory_order_relaxed);
}

/* FNV-1a over the route (as far as it is kept) and the other key fields. */
static uint32_t key_hash(const char *route, int method, int status, int proto) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; route[i] && i < NH__RM_ROUTE_MAX - 1; i++)
    h = (h ^ (unsigned char)route[i]) * 16777619u;
  h = (h ^ (uint32_t)method) * 16777619u;
  h = (h ^ (uint32_t)status) * 16777619u;
  h = (h ^ (uint32_t)proto) * 16777619u;
  return h;
}

/* Compared by content, not by pointer: a pattern set with
 * nh_request_set_pattern may live in request memory that the next request
 * reuses for another string. Patterns are short. */
static int same_route(const nh__rm_series *s, const char *route) {
  return strncmp(s->route, route, NH__RM_ROUTE_MAX - 1) == 0;
}

/* The series of this key: found, or taken from a free slot, or the
 * overflow one when three quarters are taken. */
static nh__rm_series *series_for(nh__req_metrics *m, const char *route, int method, int status,
                                 int proto) {
  uint32_t h = key_hash(route, method, status, proto);
  for (uint32_t i = h, n = 0; n < NH__RM_SLOTS; i++, n++) {
    nh__rm_series *s = &m->slots[i & (NH__RM_SLOTS - 1)];
    if (!atomic_load_explicit(&s->used, memory_order_relaxed)) {
      if (m->nused >= NH__RM_MAX_USED)
        break;
      m->nused++;
      s->hash = h;
      s->status = (uint16_t)status;
      s->method = (uint8_t)method;
      s->proto = (uint8_t)proto;
      size_t len = strnlen(route, NH__RM_ROUTE_MAX - 1);
      memcpy(s->route, route, len);
      s->route[len] = 0;
      atomic_store_explicit(&s->used, 1, memory_order_release);
      return s;
    }
    if (s->hash == h && s->status == status && s->method == method && s->proto == proto &&
        same_route(s, route))
      return s;
  }
  return &m->overflow;
}

void nh__rm_end(nh__req_metrics *m, int method, const nh_request *r, int status, int64_t took) {
  add(&m->active[method], -1);
  int proto = r->major >= 2 ? 2 : r->major == 1 && r->minor == 0 ? 0 : 1;
  if (status < 0 || status > 999)
    status = 0;
  nh__rm_series *s = series_for(m, r->pattern ? r->pattern : "", method, status, proto);
  int b = 0;
  while (b < NH__RM_BOUNDS && took > nh__rm_bounds_ns[b])
    b++;
  add(&s->buckets[b], 1);
  add(&s->sum_ns, took > 0 ? took : 0);
}

void nh__rm_each(const nh__req_metrics *m, void (*fn)(const nh__rm_series *s, void *arg),
                 void *arg) {
  for (int i = 0; i < NH__RM_SLOTS; i++)
    if (atomic_load_explicit(&m->slots[i].used, memory_order_acquire))
      fn(&m->slots[i], arg);
  for (int b = 0; b < NH__RM_BUCKETS; b++)
    if (atomic_load_explicit(&m->overflow.buckets[b], memory_order_relaxed)) {
      fn(&m->overflow, arg);
      return;
    }
}
