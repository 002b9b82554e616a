/* The in-flight limiter (the guide's back-pressure semaphore): a fixed
 * number of requests inside at once; the rest wait a bounded time or are
 * told to come back later, which is cheaper for everyone than a queue that
 * grows until timeouts fire. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/status.h"
#include "nethttp/sync.h"
#include "wrap.h"

typedef struct limit_wrap {
  nh__wrap base;
  nh_sem *slots;
  nh_dur max_wait;
  int retry_after;
  char *msg;
  _Atomic int64_t refused;
  _Atomic long inflight;
} limit_wrap;

static void give_back(void *arg) {
  limit_wrap *x = arg;
  atomic_fetch_sub_explicit(&x->inflight, 1, memory_order_relaxed);
  nh_sem_release(x->slots);
}

static void limit_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  limit_wrap *x = (limit_wrap *)self;
  int e = x->max_wait > 0 ? nh_sem_acquire(x->slots, nh_deadline_after(x->max_wait))
                          : nh_sem_try_acquire(x->slots);
  if (e != NH_OK) {
    if (e == NH_ECANCELED)
      return; /* the client left while it waited: nobody to answer */
    atomic_fetch_add_explicit(&x->refused, 1, memory_order_relaxed);
    char secs[16];
    snprintf(secs, sizeof secs, "%d", x->retry_after);
    nh_header_set(nh_resp_header(w), "Retry-After", secs);
    nh_error(w, x->msg, NH_STATUS_SERVICE_UNAVAILABLE);
    return;
  }
  atomic_fetch_add_explicit(&x->inflight, 1, memory_order_relaxed);
  /* The slot comes back even if the handler panics (deferred cleanups run
   * as its fiber unwinds). */
  nh_deferred *d = nh_defer(give_back, x);
  nh_handler_serve(x->base.next, w, r);
  if (d)
    nh_undefer(d);
  give_back(x);
}

static void limit_release(nh__wrap *self) {
  limit_wrap *x = (limit_wrap *)self;
  nh_sem_free(x->slots);
  free(x->msg);
}

nh_handler nh_with_limit(nh_handler next, const nh_limit_config *cfg) {
  if (!cfg || cfg->max_inflight <= 0)
    return NH_HANDLER(NULL, NULL);
  limit_wrap *x = nh__wrap_new(sizeof *x, next, limit_serve, limit_release);
  if (!x)
    return NH_HANDLER(NULL, NULL);
  x->slots = nh_sem_new(cfg->max_inflight);
  x->msg = strdup(cfg->msg ? cfg->msg : "server busy");
  x->max_wait = cfg->max_wait;
  x->retry_after = cfg->retry_after > 0 ? cfg->retry_after : 1;
  if (!x->slots || !x->msg) {
    limit_release(&x->base);
    free(x);
    return NH_HANDLER(NULL, NULL);
  }
  return nh__wrap_handler(x);
}

int64_t nh_limit_refused(nh_handler h) {
  limit_wrap *x = nh__wrap_of(h, limit_serve);
  return x ? atomic_load(&x->refused) : 0;
}

long nh_limit_inflight(nh_handler h) {
  limit_wrap *x = nh__wrap_of(h, limit_serve);
  return x ? atomic_load(&x->inflight) : 0;
}

nh_handler nh_mw_limit(nh_handler next, const void *cfg) { return nh_with_limit(next, cfg); }
