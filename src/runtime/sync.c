/* Mutex, semaphore and wait group for fibers and threads alike.
 *
 * Each is a counter and a FIFO of waiters under one pthread mutex held for a
 * few instructions (the mutex skips it while nobody waits: one
 * compare-and-swap to lock, one to unlock). Release hands the resource
 * directly to the first waiter (w->granted) instead of letting everyone
 * race for it, so a waiter that times out at the same moment can tell
 * whether it got it. */
#include "internal.h"
#include "nethttp/sync.h"
#include "profile.h"

#include <stdlib.h>

/* The common wait: queue w under lk, park, and settle the race between a
 * grant and a timeout or cancel. Returns 0 when granted. */
static int wait_for_grant(pthread_mutex_t *lk, nh__waitq *q, nh__waiter *w, const char *reason,
                          nh_time deadline, nh_ctx *ctx, enum nh__wait_kind kind) {
  nh_time t0 = nh__wait_prof_begin();
  nh__waiter_init(w);
  nh__waitq_push(q, w);
  pthread_mutex_unlock(lk);
  int r = nh__waiter_park(w, reason, deadline, ctx);
  pthread_mutex_lock(lk);
  if (w->granted)
    r = NH_OK;
  else {
    nh__waitq_remove(q, w);
    if (r == NH_OK) /* spurious: cannot happen, but never report success */
      r = NH_EAGAIN;
  }
  pthread_mutex_unlock(lk);
  if (t0)
    nh__wait_prof_end(kind, t0);
  return r;
}

static void grant(nh__waiter *w) {
  w->granted = 1;
  nh__waiter_wake(w, NH_OK);
}

/* ---- mutex ---- */

/* An uncontended lock and unlock are one compare-and-swap each; lk and
 * the queue are used only once a second party comes. */
struct nh_mutex {
  _Atomic int state; /* 0 free, 1 held, 2 held and waiters may be queued */
  pthread_mutex_t lk; /* guards waiters, and moves of state from or to 2 */
  nh__waitq waiters;
};

nh_mutex *nh_mutex_new(void) {
  nh_mutex *m = calloc(1, sizeof *m);
  if (m) {
    pthread_mutex_init(&m->lk, NULL);
    nh__waitq_init(&m->waiters);
  }
  return m;
}

void nh_mutex_free(nh_mutex *m) {
  if (!m)
    return;
  pthread_mutex_destroy(&m->lk);
  free(m);
}

/* The contended lock, out of line: a profile names it even where the
 * fast path is inlined into its caller. */
static __attribute__((noinline)) void nh_mutex_lock_slow(nh_mutex *m) {
  int s;
  pthread_mutex_lock(&m->lk);
  s = atomic_load_explicit(&m->state, memory_order_relaxed); /* it may have moved meanwhile */
  for (;;) {
    if (s == 0) { /* came free: take it, keeping the mark if others queue */
      int to = nh__waitq_empty(&m->waiters) ? 1 : 2;
      if (atomic_compare_exchange_weak_explicit(&m->state, &s, to, memory_order_acquire,
                                                memory_order_relaxed)) {
        pthread_mutex_unlock(&m->lk);
        return;
      }
    } else if (s == 1) { /* mark it, so that its unlock looks at the queue */
      if (atomic_compare_exchange_weak_explicit(&m->state, &s, 2, memory_order_relaxed,
                                                memory_order_relaxed))
        s = 2;
    } else {
      break;
    }
  }
  nh__waiter w;
  /* A mutex wait is not cancellable: holding it is part of correctness.
   * Ownership is handed over by the unlock (state stays held). */
  int r = wait_for_grant(&m->lk, &m->waiters, &w, "mutex", NH_NO_DEADLINE, nh_ctx_background(),
                         NH__WAIT_MUTEX);
  if (r != NH_OK)
    nh_panic("nh_mutex_lock: wait failed: %s", nh_strerror(r));
}

void nh_mutex_lock(nh_mutex *m) {
  int s = 0;
  if (!atomic_compare_exchange_strong_explicit(&m->state, &s, 1, memory_order_acquire,
                                               memory_order_relaxed))
    nh_mutex_lock_slow(m);
}

int nh_mutex_trylock(nh_mutex *m) {
  int s = 0;
  return atomic_compare_exchange_strong_explicit(&m->state, &s, 1, memory_order_acquire,
                                                 memory_order_relaxed)
             ? NH_OK
             : NH_EBUSY;
}

void nh_mutex_unlock(nh_mutex *m) {
  int s = 1;
  if (atomic_compare_exchange_strong_explicit(&m->state, &s, 0, memory_order_release,
                                              memory_order_relaxed))
    return;
  pthread_mutex_lock(&m->lk);
  nh__waiter *w = nh__waitq_pop(&m->waiters);
  if (w) {
    atomic_store_explicit(&m->state, nh__waitq_empty(&m->waiters) ? 1 : 2, memory_order_relaxed);
    grant(w); /* ownership passes on */
  } else {
    atomic_store_explicit(&m->state, 0, memory_order_release);
  }
  pthread_mutex_unlock(&m->lk);
}

/* ---- semaphore ---- */

struct nh_sem {
  pthread_mutex_t lk;
  long permits;
  nh__waitq waiters;
};

nh_sem *nh_sem_new(long permits) {
  nh_sem *s = calloc(1, sizeof *s);
  if (s) {
    pthread_mutex_init(&s->lk, NULL);
    nh__waitq_init(&s->waiters);
    s->permits = permits;
  }
  return s;
}

void nh_sem_free(nh_sem *s) {
  if (!s)
    return;
  pthread_mutex_destroy(&s->lk);
  free(s);
}

int nh_sem_acquire(nh_sem *s, nh_time deadline) {
  pthread_mutex_lock(&s->lk);
  if (s->permits > 0 && nh__waitq_empty(&s->waiters)) {
    s->permits--;
    pthread_mutex_unlock(&s->lk);
    return NH_OK;
  }
  nh__waiter w;
  return wait_for_grant(&s->lk, &s->waiters, &w, "semaphore", deadline, NULL, NH__WAIT_SEM);
}

int nh_sem_try_acquire(nh_sem *s) {
  pthread_mutex_lock(&s->lk);
  int r = NH_EBUSY;
  if (s->permits > 0 && nh__waitq_empty(&s->waiters)) {
    s->permits--;
    r = NH_OK;
  }
  pthread_mutex_unlock(&s->lk);
  return r;
}

void nh_sem_release(nh_sem *s) {
  pthread_mutex_lock(&s->lk);
  nh__waiter *w = nh__waitq_pop(&s->waiters);
  if (w)
    grant(w);
  else
    s->permits++;
  pthread_mutex_unlock(&s->lk);
}

long nh_sem_available(nh_sem *s) {
  pthread_mutex_lock(&s->lk);
  long n = s->permits;
  pthread_mutex_unlock(&s->lk);
  return n;
}

/* ---- wait group ---- */

struct nh_wg {
  pthread_mutex_t lk;
  long count;
  nh__waitq waiters;
};

nh_wg *nh_wg_new(void) {
  nh_wg *wg = calloc(1, sizeof *wg);
  if (wg) {
    pthread_mutex_init(&wg->lk, NULL);
    nh__waitq_init(&wg->waiters);
  }
  return wg;
}

void nh_wg_free(nh_wg *wg) {
  if (!wg)
    return;
  pthread_mutex_destroy(&wg->lk);
  free(wg);
}

void nh_wg_add(nh_wg *wg, long delta) {
  pthread_mutex_lock(&wg->lk);
  wg->count += delta;
  long c = wg->count;
  if (c == 0) {
    nh__waiter *w;
    while ((w = nh__waitq_pop(&wg->waiters)))
      grant(w);
  }
  pthread_mutex_unlock(&wg->lk);
  if (c < 0)
    nh_panic("nh_wg_add: negative counter (%ld)", c);
}

void nh_wg_done(nh_wg *wg) { nh_wg_add(wg, -1); }

int nh_wg_wait(nh_wg *wg, nh_time deadline) {
  pthread_mutex_lock(&wg->lk);
  if (wg->count == 0) {
    pthread_mutex_unlock(&wg->lk);
    return NH_OK;
  }
  nh__waiter w;
  return wait_for_grant(&wg->lk, &wg->waiters, &w, "wait group", deadline, NULL, NH__WAIT_WG);
}
