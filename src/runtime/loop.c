/* The event loop: one thread, one epoll, one run queue, one timer heap.
 *
 * Each turn of the loop:
 *   1. runs the fibers that were runnable when the turn began (fibers made
 *      runnable meanwhile wait for the next turn, so I/O is never starved);
 *   2. handles messages posted by other threads (wakes, spawns, calls);
 *   3. fires due timers;
 *   4. waits in epoll until the next timer, a ready descriptor, or a post
 *      (not at all if fibers are runnable), and hands ready descriptors to
 *      netpoll, which wakes the fibers parked on them.
 * busy_since tells the watchdog when the loop last left epoll. */
#include "internal.h"
#include "netpoll_internal.h"
#include "sanitizer.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static __thread nh_loop *tls_loop;

nh_loop *nh__loop_current(void) { return tls_loop; }

void nh__runq_push(nh_loop *l, nh_fiber *f) {
  f->run_next = NULL;
  if (l->runq_tail)
    l->runq_tail->run_next = f;
  else
    l->runq_head = f;
  l->runq_tail = f;
}

/* 0, or NH_ESHUTDOWN once the loop has ended (m is then not taken). */
static int inbox_push(nh_loop *l, nh__msg *m) {
  m->next = NULL;
  pthread_mutex_lock(&l->inbox_lock);
  if (l->inbox_closed) {
    pthread_mutex_unlock(&l->inbox_lock);
    return NH_ESHUTDOWN;
  }
  int was_empty = l->inbox_head == NULL;
  if (l->inbox_tail)
    l->inbox_tail->next = m;
  else
    l->inbox_head = m;
  l->inbox_tail = m;
  atomic_store_explicit(&l->inbox_full, 1, memory_order_release);
  pthread_mutex_unlock(&l->inbox_lock);
  /* Only the first message of a batch needs to interrupt epoll. */
  if (was_empty) {
    uint64_t one = 1;
    ssize_t w = write(l->evfd, &one, sizeof one);
    (void)w; /* EAGAIN means the counter is already non-zero: still woken */
  }
  return NH_OK;
}

int nh__loop_post(nh_loop *l, void (*fn)(nh_loop *l, void *arg), void *arg) {
  nh__msg *m = calloc(1, sizeof *m);
  if (!m)
    return NH_ENOMEM;
  m->fn = fn;
  m->arg = arg;
  int e = inbox_push(l, m);
  if (e)
    free(m);
  return e;
}

void nh__loop_post_wake(nh_fiber *f, uint64_t gen, int result) {
  if (nh__tracing())
    nh__trace_wake_remote(f, gen);
  nh__msg *m = calloc(1, sizeof *m);
  if (!m)
    abort(); /* a lost wake is a hung fiber: fail loudly instead */
  m->fiber = f;
  m->gen = gen;
  m->result = result;
  if (inbox_push(f->loop, m))
    free(m); /* an ended loop has no fiber left to wake */
}

static int inbox_drain(nh_loop *l) {
  /* The flag is set under the lock before the eventfd write, so a message
   * missed here is seen on the turn its wake-up causes. */
  if (!atomic_load_explicit(&l->inbox_full, memory_order_acquire))
    return 0;
  pthread_mutex_lock(&l->inbox_lock);
  atomic_store_explicit(&l->inbox_full, 0, memory_order_relaxed);
  nh__msg *m = l->inbox_head;
  l->inbox_head = l->inbox_tail = NULL;
  pthread_mutex_unlock(&l->inbox_lock);
  int n = 0;
  while (m) {
    nh__msg *next = m->next;
    if (m->fiber)
      nh__fiber_wake(m->fiber, m->gen, m->result);
    else
      m->fn(l, m->arg);
    free(m);
    m = next;
    n++;
  }
  return n;
}

/* The loop may end: with nothing in its inbox, the inbox is closed under
 * its lock, so a post either lands before (and the loop goes on to run
 * it) or fails. 1 when closed. */
static int inbox_close_if_empty(nh_loop *l) {
  pthread_mutex_lock(&l->inbox_lock);
  if (!l->inbox_head)
    l->inbox_closed = 1;
  int closed = l->inbox_closed;
  pthread_mutex_unlock(&l->inbox_lock);
  return closed;
}
/* run_ready while a trace runs: each run timed and recorded. Apart, so
 * that the untraced path tests the flag once per turn, not per fiber. */
static void run_ready_traced(nh_loop *l, nh_fiber *f) {
  nh__trace_turn(l);
  while (f) {
    nh_fiber *next = f->run_next;
    nh_time begin = nh_now();
    nh__fiber_resume(f);
    /* A fiber that ended is pooled now, its struct intact (see fiber.c). */
    nh__trace_run(l, f, begin);
    f = next;
  }
}

static void run_ready(nh_loop *l) {
  nh_fiber *f = l->runq_head;
  l->runq_head = l->runq_tail = NULL;
  if (nh__tracing()) {
    run_ready_traced(l, f);
    return;
  }
  while (f) {
    nh_fiber *next = f->run_next;
    nh__fiber_resume(f);
    f = next;
  }
}

int nh__loop_init(nh_loop *l, nh_runtime *rt, int index) {
  memset(l, 0, sizeof *l);
  l->rt = rt;
  l->index = index;
  nh__list_init(&l->live);
  int e = nh__poller_new(l);
  if (e)
    return e;
  l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->evfd < 0) {
    e = -errno;
    nh__poller_detach(l);
    return e;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev);
  pthread_mutex_init(&l->inbox_lock, NULL);
  return NH_OK;
}

void nh__loop_dispose(nh_loop *l) {
  /* Nothing is left once the loop ran (its inbox closed empty); a loop
   * that never started may hold messages. */
  nh__msg *m = l->inbox_head;
  while (m) {
    nh__msg *next = m->next;
    free(m);
    m = next;
  }
  l->inbox_head = l->inbox_tail = NULL;
  nh__fiber_pool_dispose(l);
  nh__heap_dispose(&l->timers);
  nh__netpoll_reap(l);
  nh__trace_loop_dispose(l);
  nh__poller_detach(l); /* parked descriptors may keep the epoll a while */
  close(l->evfd);
  pthread_mutex_destroy(&l->inbox_lock);
}

static int wait_events(nh_loop *l, struct epoll_event *evs, int max, nh_time next) {
  if (l->runq_head)
    return epoll_wait(l->epfd, evs, max, 0);
  /* An answer is due any moment (nh__netpoll_spin): ask without sleeping
   * until it comes, the spin ends or a timer is due. */
  if (l->spin_until > l->now) {
    nh_time until = l->spin_until < next ? l->spin_until : next;
    for (nh_time now = nh_now(); now < until; now = nh_now()) {
      int n = epoll_wait(l->epfd, evs, max, 0);
      if (n != 0)
        return n;
    }
    l->spin_until = 0;
  }
  if (next == NH_NO_DEADLINE)
    return epoll_wait(l->epfd, evs, max, -1);
  nh_dur d = next - nh_now();
  if (d < 0)
    d = 0;
  /* Nanosecond timeouts (Linux 5.11): sub-millisecond timers fire on time. */
  static atomic_int no_pwait2;
  if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
    struct timespec ts = {d / NH_SEC, d % NH_SEC};
    int n = epoll_pwait2(l->epfd, evs, max, &ts, NULL);
    if (n >= 0 || errno != ENOSYS)
      return n;
    atomic_store_explicit(&no_pwait2, 1, memory_order_relaxed);
  }
  return epoll_wait(l->epfd, evs, max, (int)((d + NH_MSEC - 1) / NH_MSEC));
}

void *nh__loop_main(void *arg) {
  nh_loop *l = arg;
  tls_loop = l;
  l->tsan_sched = nh__tsan_current();
  nh__crash_thread_init(l);
  char name[16];
  snprintf(name, sizeof name, "nh-loop-%d", l->index);
  pthread_setname_np(pthread_self(), name);

  struct epoll_event evs[256];
  atomic_store_explicit(&l->busy_since, nh_now(), memory_order_relaxed);
  for (;;) {
    l->now = nh_now();
    run_ready(l);
    l->trace_phase = NH__TR_BY_INBOX; /* why fibers woken from here on wake */
    inbox_drain(l);
    l->trace_phase = NH__TR_BY_TIMER;
    nh_time next = nh__timers_run(l, nh_now());
    l->trace_phase = NH__TR_BY_LOOP;
    nh__netpoll_reap(l);
    if (l->now >= l->next_trim) {
      nh__fiber_pool_trim(l);
      l->next_trim = l->now + NH_SEC;
    }
    if (l->pool && next > l->next_trim)
      next = l->next_trim; /* wake up to trim after a burst */
    if (!l->runq_head && atomic_load(&l->stop) && l->nlive == 0 &&
        inbox_close_if_empty(l))
      break;
    /* With fibers ready to run, ask epoll at most every 50 us: often enough
     * that I/O is never starved, rarely enough that a yield does not cost a
     * system call. */
    if (l->runq_head && l->now - l->last_poll < 50 * NH_USEC)
      continue;
    atomic_store_explicit(&l->busy_since, 0, memory_order_relaxed);
    nh_time traced = nh__trace_poll_begin(); /* 0 unless a trace runs */
    int n = wait_events(l, evs, 256, next);
    l->now = l->last_poll = nh_now();
    atomic_store_explicit(&l->busy_since, l->now, memory_order_relaxed);
    if (__builtin_expect(traced != 0, 0))
      nh__trace_poll(l, traced, n);
    l->trace_phase = NH__TR_BY_IO;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        uint64_t v;
        ssize_t r = read(l->evfd, &v, sizeof v);
        (void)r;
        continue;
      }
      nh__netpoll_event(evs[i].data.ptr, evs[i].events);
    }
  }
  nh__crash_thread_dispose(l);
  tls_loop = NULL;
  return NULL;
}
