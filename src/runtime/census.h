/* A head count of a runtime's fibers by state, for the debug pages. */
#ifndef NH_RUNTIME_CENSUS_H
#define NH_RUNTIME_CENSUS_H

#include <stdint.h>

#include "nethttp/runtime.h"

typedef struct nh__fiber_census {
  int64_t live;        /* started and not yet finished */
  int64_t running;     /* on a loop's thread right now */
  int64_t runnable;    /* queued to run */
  int64_t parked;      /* waiting: I/O, a timer, a lock, a channel... */
  int64_t stack_bytes; /* fiber stacks mapped: live fibers and the pools */
  int loops_answered;  /* < the runtime's loops: some loop is stalled */
} nh__fiber_census;

/* nh__fiber_census_take counts rt's fibers (NULL: the caller's runtime).
 * Each loop counts its own on its own thread, as the fiber dump does, so
 * no fiber is read while it runs; no stacks are walked, so it is cheap
 * enough to take every second (one pass over the live fibers). Waits up to
 * a second for every loop: parks a fiber, blocks a plain thread. Returns
 * 0, NH_EINVAL (no runtime), NH_ENOMEM, or NH_ESTALL when a loop did not
 * answer (the others are counted). Thread-safe. */
int nh__fiber_census_take(nh_runtime *rt, nh__fiber_census *out);

#endif
