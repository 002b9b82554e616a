/* Internals shared by the runtime's files (nh__ prefix). Nothing here is
 * part of the public API.
 *
 * Threading rule that keeps the runtime simple and race-free: everything in
 * a loop (its fibers, run queue, timers, descriptors) is touched only by that
 * loop's thread. Other threads talk to a loop through its inbox (a locked
 * list plus an eventfd). Primitives shared across loops (ctx, mutex, sem,
 * wg, chan) hold their own small lock and wake fibers through
 * nh__waiter_wake, which posts to the fiber's loop when called elsewhere. */
#ifndef NH_RUNTIME_INTERNAL_H
#define NH_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nethttp/ctx.h"
#include "nethttp/errors.h"
#include "nethttp/log.h"
#include "nethttp/runtime.h"
#include "nethttp/sync.h"
#include "nethttp/time.h"
#include "util/list.h"

typedef struct nh_loop nh_loop;
typedef struct nh_fiber nh_fiber;

/* ---- context switch (switch_<arch>.S) ----
 * Saves callee-saved registers on the current stack, stores the stack
 * pointer in *save_sp, loads load_sp and restores from there. */
void nh__switch(void **save_sp, void *load_sp);
/* First code a new fiber runs: calls fn(arg) from registers set up by
 * nh__stack_init_frame. Never returns. */
void nh__fiber_trampoline(void);
/* Prepares a fresh stack so that switching to the returned sp calls
 * entry(arg) on it. */
void *nh__stack_init_frame(char *stack_top, void (*entry)(void *), void *arg);

/* ---- timers (timer.c): a binary min-heap per loop ---- */
typedef struct nh__timer nh__timer;
struct nh__timer {
  nh_time when;
  size_t slot; /* index in the heap, NH__TIMER_IDLE when not armed */
  void (*cb)(nh__timer *t);
};
#define NH__TIMER_IDLE ((size_t)-1)

typedef struct nh__heap {
  nh__timer **items;
  size_t len, cap;
} nh__heap;

void nh__timer_start(nh_loop *l, nh__timer *t, nh_time when);
void nh__timer_stop(nh_loop *l, nh__timer *t);
static inline int nh__timer_armed(const nh__timer *t) { return t->slot != NH__TIMER_IDLE; }
/* Fires due timers; returns the next deadline or NH_NO_DEADLINE. */
nh_time nh__timers_run(nh_loop *l, nh_time now);
void nh__heap_dispose(nh__heap *h);

/* ---- waiters (waiter.c): one parked fiber or blocked thread ---- */
typedef struct nh__parker nh__parker; /* per-thread condvar for plain threads */

typedef struct nh__waiter nh__waiter;
struct nh__waiter {
  nh_fiber *fiber;    /* the parked fiber, or NULL for a plain thread */
  nh__parker *parker; /* the blocked thread otherwise */
  uint64_t gen;       /* park generation: stale wakes are ignored */
  nh__list node;      /* on a wait queue while linked */
  int granted; /* the waker handed over what was waited for */
  void *value; /* channel element passed along with a grant */
};

/* Capture the calling fiber or thread as a waiter (before queueing it). */
void nh__waiter_init(nh__waiter *w);
/* Park until woken, the deadline, or ctx ends (ctx NULL: the fiber's
 * context; pass nh_ctx_background() to ignore it). Returns 0 when woken, else
 * NH_ETIMEDOUT, NH_ECANCELED or the code given to nh__waiter_wake. */
int nh__waiter_park(nh__waiter *w, const char *reason, nh_time deadline, nh_ctx *ctx);
/* Wake w with result (0 = woken normally). Callable from any thread, any
 * number of times: only the first wake of a park counts. */
void nh__waiter_wake(nh__waiter *w, int result);

/* Intrusive FIFO of waiters, guarded by the owner's lock. Inline: every
 * park and every wake goes through them. A queue is initialised before use
 * (nh__waitq_init, or NH__WAITQ_INIT(q) for a static one). */
typedef struct nh__waitq {
  nh__list list;
} nh__waitq;
#define NH__WAITQ_INIT(q) {{&(q).list, &(q).list}}
static inline void nh__waitq_init(nh__waitq *q) { nh__list_init(&q->list); }
static inline int nh__waitq_empty(const nh__waitq *q) { return nh__list_empty(&q->list); }
static inline void nh__waitq_push(nh__waitq *q, nh__waiter *w) { nh__list_push_back(&q->list, &w->node); }
/* Takes w off q; a waiter already taken (granted, or never queued) stays as
 * it is. */
static inline void nh__waitq_remove(nh__waitq *q, nh__waiter *w) {
  (void)q;
  nh__list_remove(&w->node);
}
/* The oldest waiter, taken off q, or NULL. */
static inline nh__waiter *nh__waitq_pop(nh__waitq *q) {
  nh__list *n = nh__list_first(&q->list);
  if (!n)
    return NULL;
  nh__list_remove(n);
  return nh__container_of(n, nh__waiter, node);
}

/* ---- fibers (fiber.c) ---- */
/* Pooled stacks kept with their touched pages; the others give their pages
 * back to the kernel and fault them in again when reused. */
#define NH__WARM_STACKS 32
enum { NH__F_FREE, NH__F_RUNNABLE, NH__F_RUNNING, NH__F_PARKED, NH__F_DEAD };

typedef struct nh__defer_node nh__defer_node;

/* Something fibers own, such as a hijacked socket: the fiber that takes it
 * owns it, and so do the fibers that owner starts with nh_go afterwards
 * (the usual hand-off of a hijacked connection to its reader). When an
 * owner ends by nh_panic, panicked(o, last) runs on it after its deferred
 * cleanups (last: no other owner is left); when the last owner ends, either
 * way, released(o) runs next. Loop thread of its owners only. */
typedef struct nh__owned nh__owned;
struct nh__owned {
  int owners;
  void (*panicked)(nh__owned *o, int last);
  void (*released)(nh__owned *o);
};
enum { NH__FIBER_OWNED = 4 }; /* per fiber; more are not tracked */

struct nh_fiber {
  void *sp; /* saved stack pointer while switched out */
  char *map_base;
  size_t map_size;
  char *stack_lo; /* lowest usable byte (just above the guard) */
  size_t stack_size;
  nh_loop *loop;
  uint64_t id;
  nh_fiber_fn fn;
  void *arg;
  int state;
  const char *wait_reason;
  nh_time parked_at;
  uint64_t park_gen;
  int wake_result;
  int panicked;
  int trimmed; /* pooled, pages given back */
  int trim_park; /* the next park may be long: trim the stack (stack_trim.c) */
  nh_time stack_trimmed_at; /* loop time of the last trim of a parked stack; 0 none */
  nh_ctx *ctx;
  nh__timer park_timer;
  uint64_t timer_gen;
  nh__list defers; /* nh_defer's cleanups, newest first */
  void (*on_panic)(void *arg); /* internal, allocation-free panic cleanup */
  void *on_panic_arg;
  nh__owned *owned[NH__FIBER_OWNED]; /* see nh__owned */
  int nowned;
  /* Written only by the loop's thread, a word at a time with atomic stores
   * between two bumps of label_seq (a sequence lock: odd while writing), so
   * the watchdog can copy it, with id and fn, without a lock on the hot
   * path. See nh__fiber_peek. */
  union {
    char label[64];
    uint64_t label_words[8];
  };
  _Atomic uint32_t label_seq;
  /* Leak watch (leak_watch.c), loop thread only: in_handler while the
   * server runs a handler on this fiber; origin_id, origin: the handler
   * fiber (and its label) that started this one, directly or through
   * other fibers it started; long_park_gen: park_gen + 1 of the park
   * already reported. */
  int in_handler;
  uint64_t origin_id;
  char origin[64];
  uint64_t long_park_gen;
  nh_fiber *run_next;
  nh__list live_node; /* on its loop's live list */
  nh_fiber *pool_next;
  void *asan_fake_stack;
  void *tsan_fiber;
  /* Scheduler trace (trace.h): a wake recorded, its flow not yet ended by
   * a run; loop thread only. */
  int trace_woken;
  uint64_t trace_wake_gen;
};

/* Calling fiber or NULL. */
nh_fiber *nh__fiber_current(void);
/* Start a fiber on the calling thread's loop l. */
int nh__fiber_spawn(nh_loop *l, nh_fiber_fn fn, void *arg);
/* Make a parked fiber runnable with result if gen still matches. Loop thread
 * of f only. */
void nh__fiber_wake(nh_fiber *f, uint64_t gen, int result);
/* Park the current fiber: state PARKED until nh__fiber_wake. Returns the
 * wake result. The caller arranged for some waker to exist. */
int nh__fiber_park(const char *reason, nh_time deadline);
/* Run fn(arg) if the calling fiber panics (one slot; NULL clears). For the
 * library's own hot paths, where nh_defer's allocation would show. */
void nh__fiber_on_panic(void (*fn)(void *), void *arg);
/* Make the calling fiber an owner of o (see nh__owned). Returns 0,
 * NH_ENOTFIBER, or NH_ENOMEM when the fiber owns too many things already. */
int nh__fiber_own(nh__owned *o);
/* The loop's clock, read once per turn: cheap, and precise enough for
 * timeouts of milliseconds and more. */
static inline nh_time nh__loop_time(const nh_loop *l);
/* Recycle a dead fiber's struct and stack (scheduler side). */
void nh__fiber_recycle(nh_fiber *f);
void nh__fiber_pool_dispose(nh_loop *l);
void nh__fiber_pool_trim(nh_loop *l);
/* Run one fiber until it parks, yields or ends (scheduler side). */
void nh__fiber_resume(nh_fiber *f);

/* ---- trimming parked stacks (stack_trim.c) ---- */
/* At most one trim of a fiber's parked stack per this much time. */
#define NH__STACK_TRIM_EVERY NH_SEC
/* The calling fiber's next park may be long (a WebSocket waiting for its
 * next frame): once it is switched out, the whole pages of its stack below
 * its saved stack pointer go back to the kernel (they fault in again,
 * zeroed, when it goes that deep again), unless it trimmed less than
 * NH__STACK_TRIM_EVERY ago. Holds until the fiber next switches out. No-op
 * off-fiber. Loop thread. */
void nh__fiber_trim_on_park(void);
/* The scheduler's half, right after f switched out with trim_park set:
 * trims if f parked (a yield uses the request up without a trim). Loop
 * thread of f, outside f. */
void nh__fiber_stack_trim(nh_fiber *f);

/* ---- loops (loop.c) ---- */
typedef struct nh__msg nh__msg;
struct nh__msg {
  nh__msg *next;
  void (*fn)(nh_loop *l, void *arg);
  void *arg;
  nh_fiber *fiber; /* for wakes */
  uint64_t gen;
  int result;
};

struct nh_loop {
  nh_runtime *rt;
  int index;
  pthread_t thread;
  int epfd;                 /* poller->epfd */
  struct nh__poller *poller; /* the epoll instance, counted (netpoll_park.c) */
  int evfd;
  void *sched_sp;
  const void *sched_stack_bottom; /* for ASan */
  size_t sched_stack_size;
  void *asan_fake_stack;
  void *tsan_sched;
  nh_fiber *current;
  nh_fiber *runq_head, *runq_tail;
  nh__heap timers;
  nh_time now;
  nh__list live;    /* every fiber not yet finished, newest first */
  int64_t nlive;    /* loop-local count */
  nh_fiber *pool;   /* finished fibers kept with their stacks */
  size_t npool;
  nh_fiber *spare;  /* finished fibers whose stacks were unmapped */
  nh_time next_trim; /* when the pool is next trimmed */
  /* inbox: the only way in from other threads */
  pthread_mutex_t inbox_lock;
  nh__msg *inbox_head, *inbox_tail;
  atomic_int inbox_full; /* a hint, read without the lock */
  int inbox_closed;      /* the loop ended: posts fail (under inbox_lock) */
  nh_time last_poll;     /* when epoll was last asked */
  nh_time spin_until;    /* poll epoll without sleeping until then */
  atomic_int stop;
  /* watchdog's view, written by the loop thread */
  _Atomic int64_t busy_since; /* 0 while waiting in epoll */
  _Atomic(nh_fiber *) running;
  atomic_uint_fast64_t resumes; /* fibers switched in so far */
  /* Counters this loop's thread alone writes (nh__loop_count), summed over
   * the loops for nh_runtime_stats_get and leak checks. */
  _Atomic int64_t fibers_live;
  _Atomic int64_t fibers_started;
  _Atomic int64_t timers_armed;
  /* watchdog thread only */
  int64_t stall_reported;  /* busy_since already reported */
  uint64_t seen_resumes;   /* resumes at the previous tick */
  nh_time seen_since;      /* when resumes last changed */
  void *altstack;
  /* Scheduler trace (trace.h): this loop's records, and what the loop is
   * doing (NH__TR_BY_*), which tells why a fiber woke. Loop thread only
   * while a trace runs. */
  struct nh__trace_buf *trace;
  int trace_phase;
};

nh_loop *nh__loop_current(void);
/* Adds d to a counter of l's that only l's thread writes: a plain add, not
 * a locked one, on a line no other loop writes (these change with every
 * fiber and timer). */
static inline void nh__loop_count(_Atomic int64_t *c, int64_t d) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                        memory_order_relaxed);
}
static inline nh_time nh__loop_time(const nh_loop *l) { return l->now; }
/* A deadline d from the loop's clock (NH_NO_DEADLINE for a negative d). */
static inline nh_time nh__loop_deadline(const nh_loop *l, nh_dur d) {
  return d < 0 ? NH_NO_DEADLINE : l->now + d;
}
/* Post fn(l, arg) to run on loop l's thread, outside any fiber. Any thread.
 * Returns 0, NH_ENOMEM, or NH_ESHUTDOWN when the loop has ended (a
 * stopping loop still runs posts until its last fiber ends). */
int nh__loop_post(nh_loop *l, void (*fn)(nh_loop *l, void *arg), void *arg);
/* Wake fiber f (gen) on its loop from any thread. */
void nh__loop_post_wake(nh_fiber *f, uint64_t gen, int result);
void nh__runq_push(nh_loop *l, nh_fiber *f);
int nh__loop_init(nh_loop *l, nh_runtime *rt, int index);
void nh__loop_dispose(nh_loop *l);
void *nh__loop_main(void *arg);

/* ---- the runtime (runtime.c) ---- */
struct nh_runtime {
  nh_runtime_config cfg;
  int nloops;
  nh_loop *loops;
  atomic_uint next_loop;
  _Atomic int64_t panics;
  _Atomic int64_t stalls;
  _Atomic int64_t stacks_mapped;
  /* leak watch: counters, and the watchdog thread's own state */
  _Atomic int64_t long_parks;
  _Atomic int64_t watermark_reports;
  atomic_int wm_disarmed; /* above the mark since the last check that saw
                             it below 3/4 of it (read by tests) */
  nh_time wm_last;      /* when the last record was logged */
  nh_time next_scan;    /* when the loops next look for long parks */
  /* watchdog thread */
  pthread_t watchdog;
  int watchdog_running;
  pthread_mutex_t wd_lock;
  pthread_cond_t wd_cond;
  int wd_stop;
  /* offload pool */
  struct nh__offload_pool *offload;
  /* the process's live runtimes, for the leak check (nh__runtimes_*) */
  struct nh_runtime *live_next;
  uint64_t live_id; /* unique in the process, unlike the address */
  int freeing;      /* nh_runtime_free has begun (under the live list's lock) */
};

nh_logger *nh__rt_logger(const nh_runtime *rt);
/* The sum over rt's loops of one of their counters (NH__LOOPS_SUM(rt,
 * fibers_live)). */
int64_t nh__loops_sum(const nh_runtime *rt, size_t counter_offset);
/* The runtimes alive in the process (made and not yet freed): copies up to
 * cap of them into out and returns how many there are. The pointers are
 * only safe to use while the caller knows they are not being freed. */
size_t nh__runtimes_live(nh_runtime **out, size_t cap);
/* Same, by their ids (nh_runtime.live_id). */
size_t nh__runtime_ids_live(uint64_t *out, size_t cap);
/* nh_runtime_go on the runtime with this id, if it still has that loop
 * running: NH_ESHUTDOWN when it has been freed or the loop has ended.
 * For a caller that keeps a runtime's id but may outlive it; a runtime
 * being freed still takes fibers until its loops end. */
int nh__runtime_go_by_id(uint64_t id, int loop, nh_fiber_fn fn, void *arg);
#define NH__LOOPS_SUM(rt, counter) nh__loops_sum((rt), offsetof(nh_loop, counter))
int nh__watchdog_start(nh_runtime *rt);
void nh__watchdog_stop(nh_runtime *rt);
void nh__offload_stop(nh_runtime *rt);
/* Crash reporting for loop threads: alternate signal stack + handlers. */
int nh__crash_thread_init(nh_loop *l);
void nh__crash_thread_dispose(nh_loop *l);
void nh__crash_install(void);

/* ---- leak watch (leak_watch.c) ---- */
/* The server brackets each handler call with these, so that the fiber
 * and the fibers it starts are watched for long parks. Calling fiber;
 * no-op off-fiber. */
void nh__fiber_handler_enter(void);
void nh__fiber_handler_leave(void);
/* nh_go's part: child inherits parent's handler origin. */
void nh__leak_watch_inherit(const nh_fiber *parent, nh_fiber *child);
/* Watchdog thread, every tick: the watermark check, and every scan
 * interval a scan of each loop for long parks. */
void nh__leak_watch_tick(nh_runtime *rt, nh_time now);
/* How often the watchdog must tick for the leak watch (0: it is off). */
nh_dur nh__leak_watch_tick_every(const nh_runtime *rt);

/* A fiber the leak watch suspects: its dump entry, and the handler that
 * started it (origin_id 0 and origin "" when it is a handler's own
 * fiber, which its label names). */
typedef struct nh__leaked_fiber {
  nh_fiber_info info;
  uint64_t origin_id;
  char origin[64];
} nh__leaked_fiber;
/* The fibers of rt that are, now, handler fibers or fibers started by a
 * handler, parked on anything but socket I/O for min_park or longer
 * (min_park < 0: the runtime's long_park_threshold, or 1 minute when the
 * watch is off). *out is malloc'd (free()), sorted by fiber id. May park
 * (up to 1 s: each loop lists its own fibers). Returns 0, NH_EINVAL,
 * NH_ENOMEM or NH_ESTALL (a loop did not answer; the others are listed). */
int nh__leak_list(nh_runtime *rt, nh_dur min_park, nh__leaked_fiber **out, size_t *n);

/* ---- running a function on every loop (gather.c) ----
 * fn(l, slot, arg) runs on each loop's own thread, outside any fiber, and
 * fills slot (slot_size bytes, zeroed) for that loop; the slots come back
 * in slots[nloops]. Waits up to timeout; a loop that answers later has
 * its slot passed to drop (may be NULL) instead. arg (arg_size bytes) is
 * copied. Returns 0, NH_ENOMEM, or NH_ESTALL (the stalled loops' slots
 * stay zero). May park the calling fiber; blocks a plain thread. */
int nh__loops_gather(nh_runtime *rt, void (*fn)(nh_loop *l, void *slot, const void *arg),
                     const void *arg, size_t arg_size, void *slots, size_t slot_size,
                     void (*drop)(void *slot), nh_dur timeout);
/* The same for lists: fn fills its slot, an nh__gather_list, with n
 * elements of elem_size at items (malloc'd); they come back joined in
 * *out (malloc'd, NULL when empty), *n of them. NH_ENOMEM, NH_ESTALL (the
 * lists of the loops that answered) or 0. */
typedef struct nh__gather_list {
  void *items;
  size_t n;
} nh__gather_list;
int nh__loops_gather_list(nh_runtime *rt, void (*fn)(nh_loop *l, void *slot, const void *arg),
                          const void *arg, size_t arg_size, size_t elem_size, void **out,
                          size_t *n, nh_dur timeout);

/* ---- what fiber stacks cost (stack_usage.c) ---- */
typedef struct nh__stack_usage {
  int64_t live, pooled, pooled_trimmed; /* fibers with a stack */
  int64_t spare;                        /* finished fibers whose stack is unmapped */
  int64_t mapped_bytes;                 /* reserved: stacks and guards */
  int64_t touched_bytes;                /* resident pages of the stacks */
  int64_t stack_size;                   /* usable bytes per stack */
} nh__stack_usage;
/* Sums each loop's stacks, counted on its own thread (one mincore per
 * stack not trimmed). May park (up to 1 s). Returns 0, NH_ENOMEM or
 * NH_ESTALL (the stalled loops are left out). */
int nh__stack_usage_get(nh_runtime *rt, nh__stack_usage *out);

/* leak.c: nh_leak_check counting only the new descriptors for which
 * mine(fd, arg) says 1 (all if mine is NULL); *fibers_left (may be NULL)
 * tells whether fibers were among the leftovers. */
int nh__leak_check_scoped(nh_leak_baseline *b, nh_dur grace, FILE *report,
                          int (*mine)(int fd, void *arg), void *arg, int *fibers_left);
/* What descriptor fd is: "socket 127.0.0.1:80 -> 127.0.0.1:5555",
 * "socket 127.0.0.1:80 (listening)", or its /proc link ("/tmp/f"). */
void nh__fd_describe(int fd, char *buf, size_t cap);

/* Frame-pointer walk of a switched-out fiber's stack. */
int nh__fiber_frames(const nh_fiber *f, void **frames, int max);
/* nh_fiber_set_label(a + " " + b), cut to the label's size, written in
 * place: the server labels every request "METHOD /path". */
void nh__fiber_set_label2(const char *a, size_t alen, const char *b, size_t blen);
/* From another thread: f's id, entry and label (64 bytes, NUL-terminated),
 * a consistent copy unless f kept changing them (then the last try). */
void nh__fiber_peek(nh_fiber *f, uint64_t *id, nh_fiber_fn *fn, char label[64]);
/* Symbol of a function pointer, for labels. */
void nh__symbol_name(const void *addr, char *buf, size_t cap, int with_offset);
/* The debug-information symbolizer (symbolize.c), once started; stack.c
 * falls back to dladdr without it. Returns 0 if it knows nothing of
 * lookup_addr. */
typedef int (*nh__symbolizer_fn)(const void *lookup_addr, const void *print_addr, char *buf,
                                 size_t cap, int with_offset);
extern nh__symbolizer_fn nh__symbolizer;
/* Start the symbolizer (once; not from a signal handler). */
void nh__symbolize_init(void);
/* Hold off symbolizer lookups (not the crash handler's) while held: a
 * lookup opens the program's and libraries' files to read their debug
 * information, and a leak check listing descriptors must not see those. */
void nh__symbolize_lock(void);
void nh__symbolize_unlock(void);
/* Write the calling thread's backtrace, with names, to stderr: for the
 * crash handler (async-signal-safe once the symbolizer is started). */
void nh__crash_backtrace(void);

/* ---- ctx internals (ctx.c) used by park ---- */
/* Register w to be woken when ctx ends. Returns 0, or the ctx error when it
 * is already done (w not registered). */
int nh__ctx_watch(nh_ctx *ctx, nh__waiter *w);
void nh__ctx_unwatch(nh_ctx *ctx, nh__waiter *w);
/* Only its owner holds c (no child, no waiter: each holds a reference) and
 * it was never cancelled: the owner may keep it to reuse as a fresh
 * nh_ctx_with_cancel of the same parent. Asked by the owner's thread. */
int nh__ctx_reusable(nh_ctx *c);

#endif
