/* The watchdog: a thread that notices a loop which has not come back to
 * epoll for longer than the threshold, and names the fiber holding it.
 *
 * A loop publishes when it last left epoll (busy_since, 0 while waiting),
 * which fiber runs, and how many fibers it has switched in (resumes). The
 * watchdog samples these every quarter threshold. Two cases:
 *   - one fiber has run without parking for longer than the threshold (the
 *     resume count has not moved): it is named — this is the blocking call
 *     in a handler that nh_offload should have taken;
 *   - the loop switched between many fibers but had no turn in epoll for
 *     that long: it is overloaded, reported as such.
 * One report per busy stretch, so a handler stuck for 10 s is reported
 * once, not forty times.
 *
 * The same thread drives the leak watch (leak_watch.c): its watermark
 * check on every tick, its scans for long parks every scan interval. The
 * thread runs when either is on. */
#include "internal.h"

#include <string.h>
#include <time.h>

static void report_fiber(nh_runtime *rt, nh_loop *l, nh_dur held) {
  uint64_t id = 0;
  char label[64] = "", entry[96] = "";
  /* The fiber struct outlives its run (structs are pooled per loop), so
   * reading it is safe even if it just finished; nh__fiber_peek copies a
   * consistent id, entry and label without a lock. */
  nh_fiber *f = atomic_load_explicit(&l->running, memory_order_relaxed);
  if (f) {
    nh_fiber_fn fn;
    nh__fiber_peek(f, &id, &fn, label);
    nh__symbol_name((const void *)fn, entry, sizeof entry, 0);
  }
  if (f)
    NH_LOG(nh__rt_logger(rt), NH_LOG_WARN, "loop stalled: a fiber ran without parking",
           NH_LINT("loop", l->index), NH_LDUR("stalled_for", held), NH_LINT("fiber", id),
           NH_LSTR("label", label), NH_LSTR("entry", entry),
           NH_LSTR("hint", "use nh_offload for blocking calls"));
  else
    NH_LOG(nh__rt_logger(rt), NH_LOG_WARN, "loop stalled outside any fiber",
           NH_LINT("loop", l->index), NH_LDUR("stalled_for", held));
}

static void check_loop(nh_runtime *rt, nh_loop *l, nh_time now) {
  nh_dur limit = rt->cfg.watchdog_threshold;
  uint64_t resumes = atomic_load_explicit(&l->resumes, memory_order_relaxed);
  if (resumes != l->seen_resumes) {
    l->seen_resumes = resumes;
    l->seen_since = now;
  }
  int64_t since = atomic_load_explicit(&l->busy_since, memory_order_relaxed);
  if (!since || now - since < limit || l->stall_reported == since)
    return;
  /* The same fiber since the resume count last moved (or since the loop
   * left epoll, whichever is later). */
  nh_time held_from = l->seen_since > since ? l->seen_since : since;
  if (now - held_from >= limit) {
    l->stall_reported = since;
    atomic_fetch_add_explicit(&rt->stalls, 1, memory_order_relaxed);
    report_fiber(rt, l, now - held_from);
  } else if (now - since >= 4 * limit) {
    l->stall_reported = since;
    atomic_fetch_add_explicit(&rt->stalls, 1, memory_order_relaxed);
    NH_LOG(nh__rt_logger(rt), NH_LOG_WARN, "loop overloaded: no turn in epoll",
           NH_LINT("loop", l->index), NH_LDUR("busy_for", now - since),
           NH_LINT("fibers_run", (int64_t)(resumes)));
  }
}

static void *watchdog_main(void *arg) {
  nh_runtime *rt = arg;
  pthread_setname_np(pthread_self(), "nh-watchdog");
  int stalls = rt->cfg.watchdog_threshold > 0;
  nh_dur tick = stalls ? rt->cfg.watchdog_threshold / 4 : NH_SEC;
  nh_dur leak_tick = nh__leak_watch_tick_every(rt);
  if (leak_tick && leak_tick < tick)
    tick = leak_tick;
  if (tick < NH_MSEC)
    tick = NH_MSEC;
  pthread_mutex_lock(&rt->wd_lock);
  while (!rt->wd_stop) {
    nh_time wake = nh_now() + tick;
    struct timespec ts = {wake / NH_SEC, wake % NH_SEC};
    pthread_cond_timedwait(&rt->wd_cond, &rt->wd_lock, &ts);
    if (rt->wd_stop)
      break;
    nh_time now = nh_now();
    for (int i = 0; stalls && i < rt->nloops; i++)
      check_loop(rt, &rt->loops[i], now);
    if (leak_tick)
      nh__leak_watch_tick(rt, now);
  }
  pthread_mutex_unlock(&rt->wd_lock);
  return NULL;
}

int nh__watchdog_start(nh_runtime *rt) {
  if (rt->cfg.watchdog_threshold <= 0 && !nh__leak_watch_tick_every(rt))
    return NH_OK;
  pthread_mutex_init(&rt->wd_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&rt->wd_cond, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&rt->watchdog, NULL, watchdog_main, rt) != 0)
    return NH_ENOMEM;
  rt->watchdog_running = 1;
  return NH_OK;
}

void nh__watchdog_stop(nh_runtime *rt) {
  if (!rt->watchdog_running)
    return;
  pthread_mutex_lock(&rt->wd_lock);
  rt->wd_stop = 1;
  pthread_cond_signal(&rt->wd_cond);
  pthread_mutex_unlock(&rt->wd_lock);
  pthread_join(rt->watchdog, NULL);
  pthread_mutex_destroy(&rt->wd_lock);
  pthread_cond_destroy(&rt->wd_cond);
  rt->watchdog_running = 0;
}
