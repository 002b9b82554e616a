/* nethttp/runtime.h — fibers over one event loop per core.
 *
 * A runtime owns N loop threads (default: one per CPU). Each loop has its own
 * epoll, run queue and timers. A fiber is a stackful coroutine pinned to the
 * loop that started it; anything that would block (I/O, sleep, fiber sync,
 * offloaded calls) parks the fiber and lets the loop run others. Fibers
 * never migrate between loops.
 *
 * Lifetimes: nh_runtime_free waits until every fiber has returned, so a
 * program stops its servers and fibers first, then frees the runtime.
 * Tests check that with nh_leak_check before freeing. */
#ifndef NETHTTP_RUNTIME_H
#define NETHTTP_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nethttp/export.h"
#include "nethttp/log.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_runtime nh_runtime;
typedef struct nh_ctx nh_ctx;
typedef void (*nh_fiber_fn)(void *arg);

/* Default usable stack per fiber. Stacks are reserved with mmap and only the
 * pages a fiber touches cost memory, so a generous reservation is cheap; 256
 * KiB covers OpenSSL handshakes, printf-family calls and sanitizer builds. */
#define NH_DEFAULT_STACK_SIZE ((size_t)256 * 1024)
/* Unmapped guard below every stack: overflow faults instead of corrupting. */
#define NH_STACK_GUARD_SIZE ((size_t)16 * 1024)

typedef struct nh_runtime_config {
  int loops;                 /* event loops (threads); 0 = number of CPUs */
  size_t stack_size;         /* usable bytes per fiber stack; 0 = default */
  size_t fiber_pool;         /* finished fibers kept per loop for reuse; 0 = 1024 */
  nh_dur watchdog_threshold; /* report a loop busy longer than this; NH_NO_TIMEOUT = off */
  int offload_threads;       /* threads for nh_offload; 0 = 4 */
  nh_logger *logger;         /* NULL = nh_log_default() */
  /* Leak watch (docs/operations.md, "Leak watch"), run by the watchdog's
   * thread and each loop's housekeeping, never on the request path:
   * - fiber_watermark: when more fibers than this are live, one WARN
   *   record with the fibers grouped by stack, the largest groups first.
   *   One per excursion: the count must fall below three quarters of the
   *   mark before the next, and an excursion that starts within a minute
   *   of the last record is not logged. 0 = off (the default: no number
   *   fits every server; set it well above the normal peak).
   * - long_park_threshold: a handler's fiber, or a fiber a handler
   *   started (nh_go), parked this long on anything but socket I/O (a
   *   channel, lock, semaphore, wait group, sleep...) is logged once per
   *   park with its stack, and listed by /debug/fibers?leaked=1.
   *   0 = 1 minute; NH_NO_TIMEOUT = off. */
  int fiber_watermark;
  nh_dur long_park_threshold;
} nh_runtime_config;

#define NH_RUNTIME_CONFIG_DEFAULT {0, 0, 0, 100 * NH_MSEC, 0, NULL, 0, 0}

/* nh_runtime_new starts the loop threads. cfg NULL means the defaults.
 * Returns NULL on failure (errno set). Thread-safe. */
NH_API nh_runtime *nh_runtime_new(const nh_runtime_config *cfg);

/* nh_runtime_free waits for every fiber on every loop to return, then stops
 * the loops and frees the runtime. Call it from a plain thread, never from a
 * fiber of this runtime. NULL does nothing. Meanwhile its fibers may still
 * start others: each loop ends once its own last fiber has returned, and
 * until then takes new ones. */
NH_API void nh_runtime_free(nh_runtime *rt);

/* nh_runtime_go starts fn(arg) on a new fiber of rt, picking loops round-robin
 * (loop < 0) or the given loop index. Callable from any thread or fiber.
 * Returns 0, NH_EINVAL (bad loop), NH_ENOMEM, or NH_ESHUTDOWN when that
 * loop has already ended in nh_runtime_free. */
NH_API int nh_runtime_go(nh_runtime *rt, int loop, nh_fiber_fn fn, void *arg);

/* nh_runtime_loops returns the number of loops. */
NH_API int nh_runtime_loops(const nh_runtime *rt);

/* nh_runtime_current returns the runtime of the calling loop thread, or NULL
 * on a plain thread. */
NH_API nh_runtime *nh_runtime_current(void);

/* nh_run is the whole lifecycle in one call: start a runtime, run fn(arg) on a
 * fiber, wait for it and for every fiber it left running, free the runtime.
 * Returns 0 or NH_ENOMEM. Call from a plain thread (typically main). */
NH_API int nh_run(const nh_runtime_config *cfg, nh_fiber_fn fn, void *arg);

/* nh_go starts fn(arg) on a new fiber of the calling fiber's loop (Go's `go`).
 * A panic in it unwinds that fiber only. Returns 0, NH_ENOTFIBER on a plain
 * thread (use nh_runtime_go there), NH_ENOMEM. */
NH_API int nh_go(nh_fiber_fn fn, void *arg);

/* nh_in_fiber tells whether the caller runs on a fiber. */
NH_API int nh_in_fiber(void);

/* nh_fiber_id returns the calling fiber's id (never reused), 0 off-fiber. */
NH_API uint64_t nh_fiber_id(void);

/* nh_fiber_set_label names what the calling fiber is doing ("GET /users",
 * "conn 10.0.0.1:5555"); it shows in dumps and watchdog reports. Copied,
 * truncated to 63 bytes. No-op off-fiber. */
NH_API void nh_fiber_set_label(const char *label);

/* nh_fiber_ctx returns the calling fiber's context (borrowed; background if
 * none was set). Blocking calls made by the fiber inherit it: when it is
 * cancelled or its deadline passes they return NH_ECANCELED/NH_ETIMEDOUT.
 * nh_fiber_set_ctx replaces it (borrowed: keep ctx alive while set). */
NH_API nh_ctx *nh_fiber_ctx(void);
NH_API void nh_fiber_set_ctx(nh_ctx *ctx);

/* nh_yield lets other runnable fibers of this loop run. Off-fiber: sched_yield. */
NH_API void nh_yield(void);

/* nh_sleep parks the fiber (or blocks the thread) for d. Returns 0, or
 * NH_ECANCELED / NH_ETIMEDOUT early when the fiber's context ends. */
NH_API int nh_sleep(nh_dur d);
/* nh_sleep_until is nh_sleep to an absolute deadline (no drift when the
 * caller computed it from an earlier clock reading). */
NH_API int nh_sleep_until(nh_time deadline);

/* nh_panic logs msg with a backtrace, runs the fiber's deferred cleanups in
 * reverse order, and ends the calling fiber only; its loop and every other
 * fiber go on. Off-fiber it logs and aborts the process. Never returns. */
NH_API __attribute__((noreturn, format(printf, 1, 2))) void nh_panic(const char *fmt, ...);

/* nh_defer registers fn(arg) to run when the calling fiber ends, normally or
 * by nh_panic, newest first. Returns a handle for nh_undefer (which drops it
 * without running it), or NULL off-fiber or out of memory. */
typedef struct nh_deferred nh_deferred;
NH_API nh_deferred *nh_defer(void (*fn)(void *), void *arg);
NH_API void nh_undefer(nh_deferred *d);

/* Counters, readable at any time from any thread. */
typedef struct nh_runtime_stats {
  int loops;
  int64_t fibers_live;
  int64_t fibers_started;
  int64_t panics;
  int64_t stalls; /* watchdog reports */
  int64_t timers_armed;
  int64_t stacks_mapped; /* fiber stacks currently mapped (live + pooled) */
  int64_t long_parks;        /* leak watch: handler fibers reported parked long */
  int64_t watermark_reports; /* leak watch: fiber high-watermark records */
} nh_runtime_stats;
NH_API void nh_runtime_stats_get(const nh_runtime *rt, nh_runtime_stats *out);

/* ---- Fiber dump: every live fiber and what it waits on (Go's goroutine
 * dump). Collected by each loop on its own thread, so it is consistent and
 * race-free; a loop that does not answer within 1 s is listed as stalled. */
typedef struct nh_fiber_info {
  uint64_t id;
  int loop;
  const char *state; /* "running", "runnable", or a wait reason such as
                        "IO wait: read", "sleep", "mutex", "chan receive" */
  nh_dur waiting;    /* how long it has been parked (0 if not parked) */
  char label[64];
  char entry[64]; /* symbol of the function the fiber started with */
  void *entry_pc; /* that function's address */
  int nframes;
  void *frames[32]; /* return addresses, innermost first (frame pointers) */
} nh_fiber_info;

/* nh_fiber_dump fills *out (malloc'd array; free with free()) with *n
 * entries. rt NULL = the caller's runtime. May park the calling fiber.
 * Returns 0, NH_EINVAL, NH_ENOMEM, or NH_ESTALL if a loop did not answer (the
 * others are still listed). */
NH_API int nh_fiber_dump(nh_runtime *rt, nh_fiber_info **out, size_t *n);

/* nh_fiber_dump_write writes the dump as text, one block per fiber:
 *   fiber 17 [IO wait: read, 5m0s] loop 0 "conn 127.0.0.1:5555" (serve_conn):
 *       nh_fd_read+0x5a
 *       ...
 * Returns the nh_fiber_dump result. */
NH_API int nh_fiber_dump_write(nh_runtime *rt, FILE *out);

/* nh_frame_name writes "symbol+0xoff" (or the address) for a frame. */
NH_API void nh_frame_name(void *pc, char *buf, size_t cap);

/* ---- Contention profiles (served as /debug/pprof/mutex and
 * /debug/pprof/block by nh_debug_handler). Off by default; when off, a
 * wait costs one branch more.
 *
 * nh_set_mutex_profile_fraction (Go's runtime.SetMutexProfileFraction):
 * on average 1 in rate waits for an nh_mutex held by another is recorded,
 * with the waiter's stack and how long it waited; 0 turns it off. The
 * mutex profile scales its figures back up by rate. A negative rate only
 * reads the setting. Returns the previous rate. Any thread. */
NH_API int nh_set_mutex_profile_fraction(int rate);
/* nh_set_block_profile_rate (Go's runtime.SetBlockProfileRate): waits on
 * an nh_mutex, nh_sem, nh_chan or nh_wg are recorded, on average one per
 * rate nanoseconds spent waiting (a wait of rate ns or more always; 1:
 * every wait); 0 turns it off, a negative rate only reads the setting.
 * Returns the previous rate. Any thread. */
NH_API int64_t nh_set_block_profile_rate(int64_t rate_ns);

/* ---- Leak check for tests (Go's goleak): take a baseline at the start,
 * check at the end. The check waits up to grace for stragglers to finish,
 * then reports every fiber, armed timer and file descriptor that was not
 * there at the baseline.
 *
 * nh_leak_baseline_take(rt) watches rt (NULL: the caller's runtime). Called
 * with NULL outside any runtime (a plain thread, e.g. a test's main), it
 * watches the process instead: the check then also reports every runtime
 * made since and not freed (with its fibers), threads beyond the count at
 * the baseline and child processes not reaped. NULL on out-of-memory.
 * Thread-safe; does not park. */
typedef struct nh_leak_baseline nh_leak_baseline;
NH_API nh_leak_baseline *nh_leak_baseline_take(nh_runtime *rt);
/* Returns 0 when nothing leaked, else NH_EBUSY after writing a report to
 * report (NULL = stderr). Frees the baseline either way. May park. */
NH_API int nh_leak_check(nh_leak_baseline *b, nh_dur grace, FILE *report);

#ifdef __cplusplus
}
#endif
#endif
