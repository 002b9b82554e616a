/* For tests of a runtime being freed: waits, on a fiber of it, until
 * nh_runtime_free has begun (the runtime then leaves the live list). */
#ifndef NH_TESTS_RUNTIME_FREEING_H
#define NH_TESTS_RUNTIME_FREEING_H

#include <nethttp.h>

#include "runtime/internal.h"

static inline int runtime_listed(uint64_t id) {
  uint64_t ids[64];
  size_t n = nh__runtime_ids_live(ids, 64);
  for (size_t i = 0; i < n && i < 64; i++)
    if (ids[i] == id)
      return 1;
  return 0;
}

/* The id of the calling fiber's runtime. */
static inline uint64_t runtime_id_here(void) { return nh__loop_current()->rt->live_id; }

/* Up to 4 s. */
static inline void wait_runtime_freeing(uint64_t id) {
  for (int i = 0; i < 2000 && runtime_listed(id); i++)
    nh_sleep(2 * NH_MSEC);
}

#endif
