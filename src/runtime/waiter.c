/* Waiters: the one way anything in nethttp waits.
 *
 * A waiter is either a parked fiber or a blocked plain thread. Primitives
 * queue waiters under their own lock and wake them with nh__waiter_wake,
 * which works from any thread: a fiber on the caller's loop is made runnable
 * directly, a fiber on another loop gets a message in its loop's inbox, and a
 * thread is signalled on its condition variable. Every park has a
 * generation number; only the first wake of a generation counts, so a
 * timeout, a cancellation and a grant can race without harm. */
#include "internal.h"

#include <stdlib.h>
#include <time.h>

struct nh__parker {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t gen;
  int result;
};

static pthread_key_t parker_key;
static pthread_once_t parker_once = PTHREAD_ONCE_INIT;

static void parker_free(void *p) {
  nh__parker *pk = p;
  /* A waker may still be leaving its critical section: pass through it. */
  pthread_mutex_lock(&pk->mu);
  pthread_mutex_unlock(&pk->mu);
  pthread_mutex_destroy(&pk->mu);
  pthread_cond_destroy(&pk->cv);
  free(pk);
}

static void parker_key_init(void) { pthread_key_create(&parker_key, parker_free); }

static nh__parker *thread_parker(void) {
  pthread_once(&parker_once, parker_key_init);
  nh__parker *p = pthread_getspecific(parker_key);
  if (p)
    return p;
  p = calloc(1, sizeof *p);
  if (!p)
    abort(); /* cannot wait at all without it */
  pthread_mutex_init(&p->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_setspecific(parker_key, p);
  return p;
}

void nh__waiter_init(nh__waiter *w) {
  w->node.next = w->node.prev = NULL;
  w->granted = 0;
  w->value = NULL;
  w->fiber = nh__fiber_current();
  if (w->fiber) {
    w->parker = NULL;
    w->gen = w->fiber->park_gen;
  } else {
    w->parker = thread_parker();
    pthread_mutex_lock(&w->parker->mu);
    w->gen = w->parker->gen;
    pthread_mutex_unlock(&w->parker->mu);
  }
}

/* End the current generation without parking, so a wake already in flight
 * cannot hit the caller's next park. */
static void waiter_expire(nh__waiter *w) {
  if (w->fiber) {
    if (w->fiber->park_gen == w->gen)
      w->fiber->park_gen++;
    return;
  }
  pthread_mutex_lock(&w->parker->mu);
  if (w->parker->gen == w->gen)
    w->parker->gen++;
  pthread_mutex_unlock(&w->parker->mu);
}

static int thread_park(nh__parker *p, uint64_t gen, nh_time deadline) {
  pthread_mutex_lock(&p->mu);
  while (p->gen == gen) {
    if (deadline == NH_NO_DEADLINE) {
      pthread_cond_wait(&p->cv, &p->mu);
      continue;
    }
    if (nh_now() >= deadline) {
      p->gen++;
      p->result = NH_ETIMEDOUT;
      break;
    }
    struct timespec ts = {deadline / NH_SEC, deadline % NH_SEC};
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
  }
  int r = p->result;
  pthread_mutex_unlock(&p->mu);
  return r;
}

int nh__waiter_park(nh__waiter *w, const char *reason, nh_time deadline, nh_ctx *ctx) {
  if (!ctx && w->fiber)
    ctx = nh_fiber_ctx();
  nh__waiter cw; /* a second handle on the same park, queued on the ctx */
  int watching = 0;
  if (ctx && ctx != nh_ctx_background()) {
    /* Only the fields that are ours: w is already queued, and others may
     * be linking to it or granting it under the queue's lock. */
    cw = (nh__waiter){.fiber = w->fiber, .parker = w->parker, .gen = w->gen};
    int err = nh__ctx_watch(ctx, &cw);
    if (err) {
      waiter_expire(w);
      return err;
    }
    watching = 1;
    nh_time cd = nh_ctx_deadline(ctx);
    if (cd < deadline)
      deadline = cd;
  }
  /* A fiber compares with its loop's time of this turn (no clock read per
   * park): a deadline that passed within the turn is caught by its timer,
   * which fires on the loop's next look at the clock. */
  if (deadline != NH_NO_DEADLINE &&
      deadline <= (w->fiber ? nh__loop_time(w->fiber->loop) : nh_now())) {
    waiter_expire(w);
    if (watching)
      nh__ctx_unwatch(ctx, &cw);
    return NH_ETIMEDOUT;
  }
  int r = w->fiber ? nh__fiber_park(reason, deadline) : thread_park(w->parker, w->gen, deadline);
  if (watching)
    nh__ctx_unwatch(ctx, &cw);
  return r;
}

void nh__waiter_wake(nh__waiter *w, int result) {
  if (w->fiber) {
    if (nh__loop_current() == w->fiber->loop)
      nh__fiber_wake(w->fiber, w->gen, result);
    else
      nh__loop_post_wake(w->fiber, w->gen, result);
    return;
  }
  nh__parker *p = w->parker;
  pthread_mutex_lock(&p->mu);
  if (p->gen == w->gen) {
    p->gen++;
    p->result = result;
    pthread_cond_signal(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
}
