/* The offload pool: a few plain threads for work that truly blocks.
 *
 * A job is queued under the pool lock and taken by the first idle thread.
 * The fiber that queued it parks; the thread wakes it when the job is done.
 * If the fiber's context ends first, the fiber leaves at once and the job is
 * either skipped (still queued) or finishes on its own, and whoever finishes
 * last frees it (a two-reference job). */
#include "internal.h"
#include "nethttp/offload.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct job job;
struct job {
  job *next;
  nh_offload_fn fn;
  void *arg;
  int result;
  int done;      /* under pool lock */
  int abandoned; /* under pool lock: the fiber left */
  int refs;      /* under pool lock */
  nh__waiter *waiter;
};

typedef struct nh__offload_pool {
  pthread_mutex_t lk;
  pthread_cond_t cv;
  job *head, *tail;
  int stop;
  int nthreads;
  pthread_t *threads;
} nh__offload_pool;

static void job_unref_locked(job *j) {
  if (--j->refs == 0)
    free(j);
}

static void *worker(void *arg) {
  nh__offload_pool *p = arg;
  pthread_setname_np(pthread_self(), "nh-offload");
  pthread_mutex_lock(&p->lk);
  for (;;) {
    while (!p->head && !p->stop)
      pthread_cond_wait(&p->cv, &p->lk);
    if (!p->head)
      break;
    job *j = p->head;
    p->head = j->next;
    if (!p->head)
      p->tail = NULL;
    if (j->abandoned) {
      job_unref_locked(j);
      continue;
    }
    pthread_mutex_unlock(&p->lk);
    int r = j->fn(j->arg);
    pthread_mutex_lock(&p->lk);
    j->result = r;
    j->done = 1;
    if (!j->abandoned) {
      j->waiter->granted = 1;
      nh__waiter_wake(j->waiter, NH_OK);
    }
    job_unref_locked(j);
  }
  pthread_mutex_unlock(&p->lk);
  return NULL;
}

/* Started on first use, so programs that never offload start no threads. */
static nh__offload_pool *pool_get(nh_runtime *rt) {
  static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&start_lock);
  nh__offload_pool *p = rt->offload;
  if (!p && (p = calloc(1, sizeof *p))) {
    pthread_mutex_init(&p->lk, NULL);
    pthread_cond_init(&p->cv, NULL);
    int n = rt->cfg.offload_threads;
    p->threads = calloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; p->threads && i < n; i++)
      if (pthread_create(&p->threads[i], NULL, worker, p) == 0)
        p->nthreads++;
    if (!p->nthreads) {
      free(p->threads);
      free(p);
      p = NULL;
    }
    rt->offload = p;
  }
  pthread_mutex_unlock(&start_lock);
  return p;
}

int nh_offload(nh_ctx *ctx, nh_offload_fn fn, void *arg) {
  nh_fiber *f = nh__fiber_current();
  if (!f)
    return fn(arg);
  nh__offload_pool *p = pool_get(f->loop->rt);
  job *j = p ? calloc(1, sizeof *j) : NULL;
  if (!j)
    return NH_ENOMEM;
  nh__waiter w;
  nh__waiter_init(&w);
  j->fn = fn;
  j->arg = arg;
  j->refs = 2;
  j->waiter = &w;
  pthread_mutex_lock(&p->lk);
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->lk);

  int r = nh__waiter_park(&w, "offload", NH_NO_DEADLINE, ctx);
  pthread_mutex_lock(&p->lk);
  if (j->done)
    r = j->result;
  else
    j->abandoned = 1; /* r is the ctx error */
  job_unref_locked(j);
  pthread_mutex_unlock(&p->lk);
  return r;
}

void nh__offload_stop(nh_runtime *rt) {
  nh__offload_pool *p = rt->offload;
  if (!p)
    return;
  pthread_mutex_lock(&p->lk);
  p->stop = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->lk);
  for (int i = 0; i < p->nthreads; i++)
    pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->lk);
  pthread_cond_destroy(&p->cv);
  free(p->threads);
  free(p);
  rt->offload = NULL;
}
