/* The runtime: starting and stopping loops, spawning fibers from anywhere,
 * and nh_run, the whole lifecycle in one call. */
#include "internal.h"
#include "nethttp/sync.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

nh_logger *nh__rt_logger(const nh_runtime *rt) {
  return rt && rt->cfg.logger ? rt->cfg.logger : nh_log_default();
}

static void fill_defaults(nh_runtime_config *c) {
  if (c->loops <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->loops = n > 0 ? (int)n : 1;
  }
  if (!c->stack_size)
    c->stack_size = NH_DEFAULT_STACK_SIZE;
  if (c->stack_size < 16 * 1024)
    c->stack_size = 16 * 1024;
  if (!c->fiber_pool)
    c->fiber_pool = 1024;
  if (c->watchdog_threshold == 0)
    c->watchdog_threshold = 100 * NH_MSEC;
  if (c->offload_threads <= 0)
    c->offload_threads = 4;
  if (c->long_park_threshold == 0)
    c->long_park_threshold = 60 * NH_SEC;
  if (c->fiber_watermark < 0)
    c->fiber_watermark = 0;
}

/* Every live runtime, so that a leak check after a test can name the ones
 * left running. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static nh_runtime *live_head;
static uint64_t live_ids;

static void live_add(nh_runtime *rt) {
  pthread_mutex_lock(&live_lock);
  rt->live_id = ++live_ids;
  rt->live_next = live_head;
  live_head = rt;
  pthread_mutex_unlock(&live_lock);
}

static void live_remove(nh_runtime *rt) {
  pthread_mutex_lock(&live_lock);
  for (nh_runtime **p = &live_head; *p; p = &(*p)->live_next)
    if (*p == rt) {
      *p = rt->live_next;
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

/* A runtime being freed stays listed until its loops have ended (for
 * nh__runtime_go_by_id) but is no longer counted as live. */
size_t nh__runtimes_live(nh_runtime **out, size_t cap) {
  size_t n = 0;
  pthread_mutex_lock(&live_lock);
  for (nh_runtime *rt = live_head; rt; rt = rt->live_next)
    if (!rt->freeing && n++ < cap)
      out[n - 1] = rt;
  pthread_mutex_unlock(&live_lock);
  return n;
}

size_t nh__runtime_ids_live(uint64_t *out, size_t cap) {
  size_t n = 0;
  pthread_mutex_lock(&live_lock);
  for (nh_runtime *rt = live_head; rt; rt = rt->live_next)
    if (!rt->freeing && n++ < cap)
      out[n - 1] = rt->live_id;
  pthread_mutex_unlock(&live_lock);
  return n;
}

int nh__runtime_go_by_id(uint64_t id, int loop, nh_fiber_fn fn, void *arg) {
  int e = NH_ESHUTDOWN;
  /* Under the list's lock: nh_runtime_free unlists a runtime before it
   * disposes of its loops, so the post meets a loop that runs or one
   * whose inbox is closed. */
  pthread_mutex_lock(&live_lock);
  for (nh_runtime *rt = live_head; rt; rt = rt->live_next)
    if (rt->live_id == id) {
      e = nh_runtime_go(rt, loop, fn, arg);
      break;
    }
  pthread_mutex_unlock(&live_lock);
  return e;
}

nh_runtime *nh_runtime_new(const nh_runtime_config *cfg) {
  nh_runtime *rt = calloc(1, sizeof *rt);
  if (!rt)
    return NULL;
  nh_runtime_config defaults = NH_RUNTIME_CONFIG_DEFAULT;
  rt->cfg = cfg ? *cfg : defaults;
  fill_defaults(&rt->cfg);
  rt->loops = calloc((size_t)rt->cfg.loops, sizeof *rt->loops);
  if (!rt->loops) {
    free(rt);
    return NULL;
  }
  nh__crash_install();
  for (int i = 0; i < rt->cfg.loops; i++) {
    if (nh__loop_init(&rt->loops[i], rt, i) != NH_OK)
      goto fail;
    if (pthread_create(&rt->loops[i].thread, NULL, nh__loop_main, &rt->loops[i]) != 0) {
      nh__loop_dispose(&rt->loops[i]);
      goto fail;
    }
    rt->nloops++;
  }
  nh__watchdog_start(rt);
  live_add(rt);
  return rt;
fail:
  nh_runtime_free(rt);
  return NULL;
}

static void wake_loop(nh_loop *l, void *arg) {
  (void)l;
  (void)arg; /* the post itself was the point: the loop re-checks stop */
}

void nh_runtime_free(nh_runtime *rt) {
  if (!rt)
    return;
  pthread_mutex_lock(&live_lock);
  rt->freeing = 1;
  pthread_mutex_unlock(&live_lock);
  for (int i = 0; i < rt->nloops; i++) {
    atomic_store(&rt->loops[i].stop, 1);
    nh__loop_post(&rt->loops[i], wake_loop, NULL); /* fails if it ended already */
  }
  for (int i = 0; i < rt->nloops; i++)
    pthread_join(rt->loops[i].thread, NULL);
  live_remove(rt); /* after the loops: nh__runtime_go_by_id reaches them until they end */
  /* The watchdog reads loops' fibers: stop it before they are freed. */
  nh__watchdog_stop(rt);
  nh__offload_stop(rt);
  for (int i = 0; i < rt->nloops; i++)
    nh__loop_dispose(&rt->loops[i]);
  free(rt->loops);
  free(rt);
}

int nh_runtime_loops(const nh_runtime *rt) { return rt->nloops; }

nh_runtime *nh_runtime_current(void) {
  nh_loop *l = nh__loop_current();
  return l ? l->rt : NULL;
}

typedef struct spawn_msg {
  nh_fiber_fn fn;
  void *arg;
} spawn_msg;

static void spawn_on_loop(nh_loop *l, void *p) {
  spawn_msg *m = p;
  int r = nh__fiber_spawn(l, m->fn, m->arg);
  if (r != NH_OK)
    NH_LOG(nh__rt_logger(l->rt), NH_LOG_ERROR, "could not start fiber", NH_LINT("loop", l->index),
           NH_LSTR("error", nh_strerror(r)));
  free(m);
}

int nh_runtime_go(nh_runtime *rt, int loop, nh_fiber_fn fn, void *arg) {
  if (loop >= rt->nloops)
    return NH_EINVAL;
  if (loop < 0)
    loop = (int)(atomic_fetch_add_explicit(&rt->next_loop, 1, memory_order_relaxed) %
                 (unsigned)rt->nloops);
  nh_loop *l = &rt->loops[loop];
  if (nh__loop_current() == l)
    return nh__fiber_spawn(l, fn, arg);
  spawn_msg *m = malloc(sizeof *m);
  if (!m)
    return NH_ENOMEM;
  m->fn = fn;
  m->arg = arg;
  int r = nh__loop_post(l, spawn_on_loop, m);
  if (r != NH_OK)
    free(m);
  return r;
}

int64_t nh__loops_sum(const nh_runtime *rt, size_t counter_offset) {
  int64_t n = 0;
  for (int i = 0; i < rt->nloops; i++) {
    _Atomic int64_t *c = (_Atomic int64_t *)((char *)&rt->loops[i] + counter_offset);
    n += atomic_load_explicit(c, memory_order_relaxed);
  }
  return n;
}

void nh_runtime_stats_get(const nh_runtime *rt, nh_runtime_stats *s) {
  memset(s, 0, sizeof *s);
  s->loops = rt->nloops;
  s->fibers_live = NH__LOOPS_SUM(rt, fibers_live);
  s->fibers_started = NH__LOOPS_SUM(rt, fibers_started);
  s->panics = atomic_load(&((nh_runtime *)rt)->panics);
  s->stalls = atomic_load(&((nh_runtime *)rt)->stalls);
  s->timers_armed = NH__LOOPS_SUM(rt, timers_armed);
  s->stacks_mapped = atomic_load(&((nh_runtime *)rt)->stacks_mapped);
  s->long_parks = atomic_load(&((nh_runtime *)rt)->long_parks);
  s->watermark_reports = atomic_load(&((nh_runtime *)rt)->watermark_reports);
}

typedef struct run_main {
  nh_fiber_fn fn;
  void *arg;
  nh_wg *done;
} run_main;

static void run_main_panicked(void *p) { nh_wg_done(((run_main *)p)->done); }

static void run_main_entry(void *p) {
  /* Even if main panics, nh_run must return rather than wait forever. */
  nh_deferred *d = nh_defer(run_main_panicked, p);
  run_main *m = p;
  m->fn(m->arg);
  nh_undefer(d);
  nh_wg_done(m->done);
}

int nh_run(const nh_runtime_config *cfg, nh_fiber_fn fn, void *arg) {
  nh_runtime *rt = nh_runtime_new(cfg);
  if (!rt)
    return NH_ENOMEM;
  run_main m = {fn, arg, nh_wg_new()};
  if (!m.done) {
    nh_runtime_free(rt);
    return NH_ENOMEM;
  }
  nh_wg_add(m.done, 1);
  int r = nh_runtime_go(rt, 0, run_main_entry, &m);
  if (r == NH_OK)
    nh_wg_wait(m.done, NH_NO_DEADLINE);
  nh_runtime_free(rt);
  nh_wg_free(m.done);
  return r;
}
