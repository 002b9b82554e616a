/* The CPU profiler: SIGPROF at hz per second of process CPU time, each
 * signal appends the interrupted stack to a preallocated log.
 *
 * What the handler may do is narrow: it runs on any thread, between any
 * two instructions, under a sanitizer too. It takes no lock, calls no
 * allocator, reads only the interrupted registers, the calling thread's
 * loop (a thread-local pointer) and stack memory it has bounded first:
 * the running fiber's stack, or a loop thread's own stack as it was when
 * the profile started. A fiber's frame chain ends at its trampoline (a
 * zero frame pointer), so a walk from a fiber stops at the fiber's top. */
#include "internal.h"
#include "profile.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

typedef struct sample {
  uint32_t n;
  void *pcs[NH__PROF_DEPTH];
} sample;

/* The stacks of loop threads, known at start: the handler may walk them. */
enum { MAX_THREADS = 64 };
typedef struct thread_stack {
  pthread_t thread;
  uintptr_t lo, hi;
} thread_stack;

enum { IDLE, RUNNING, STOPPING };
static atomic_int state = IDLE;
static atomic_int active;        /* handlers inside the log's critical part */
static _Atomic uint64_t signals; /* every SIGPROF seen, for the tests */
static _Atomic uint64_t next;    /* the next free slot */
static _Atomic uint64_t lost;
static sample *slots;
static size_t nslots, map_bytes;
static thread_stack stacks[MAX_THREADS];
static int nstacks;
static int handler_installed;

#define NO_SAN __attribute__((no_sanitize_address, no_sanitize_thread, noinline))

static void context_regs(const ucontext_t *uc, uintptr_t *pc, uintptr_t *fp, uintptr_t *sp) {
#if defined(__x86_64__)
  *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  *pc = (uintptr_t)uc->uc_mcontext.pc;
  *fp = (uintptr_t)uc->uc_mcontext.regs[29];
  *sp = (uintptr_t)uc->uc_mcontext.sp;
#else
  *pc = *fp = *sp = 0;
#endif
}

/* The stack sp lies on, as [lo, hi); 0 when unknown (no walk then). */
NO_SAN static int stack_bounds(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) {
  nh_loop *l = nh__loop_current();
  nh_fiber *f = l ? l->current : NULL;
  if (f) {
    uintptr_t flo = (uintptr_t)f->stack_lo, fhi = flo + f->stack_size;
    if (sp >= flo && sp < fhi) {
      *lo = flo;
      *hi = fhi;
      return 1;
    }
  }
  pthread_t self = pthread_self();
  for (int i = 0; i < nstacks; i++)
    if (pthread_equal(stacks[i].thread, self) && sp >= stacks[i].lo && sp < stacks[i].hi) {
      *lo = stacks[i].lo;
      *hi = stacks[i].hi;
      return 1;
    }
  return 0;
}

#if defined(__aarch64__)
static void *strip_pac(uintptr_t ret) {
  void *r;
  __asm__("mov x30, %1\n\thint #7\n\tmov %0, x30" : "=r"(r) : "r"(ret) : "x30");
  return r;
}
#else
static void *strip_pac(uintptr_t ret) { return (void *)ret; }
#endif

/* Frame records are {previous fp, return address}, each above the last. */
NO_SAN static uint32_t walk(uintptr_t pc, uintptr_t fp, uintptr_t sp, void **out) {
  uint32_t n = 0;
  out[n++] = (void *)pc;
  uintptr_t lo, hi;
  if (!stack_bounds(sp, &lo, &hi))
    return n;
  if (fp < sp)
    return n;
  while (n < NH__PROF_DEPTH && fp >= lo && fp + 2 * sizeof(void *) <= hi && (fp & 7) == 0) {
    const uintptr_t *rec = (const uintptr_t *)fp;
    uintptr_t ret = rec[1], up = rec[0];
    if (!ret)
      break;
    out[n++] = strip_pac(ret);
    if (up <= fp)
      break;
    fp = up;
  }
  return n;
}

NO_SAN static void on_sigprof(int sig, siginfo_t *si, void *ctx) {
  (void)sig, (void)si;
  int saved = errno;
  atomic_fetch_add(&signals, 1);
  atomic_fetch_add(&active, 1);
  if (atomic_load(&state) == RUNNING) {
    uint64_t i = atomic_fetch_add(&next, 1);
    if (i < nslots) {
      uintptr_t pc, fp, sp;
      context_regs(ctx, &pc, &fp, &sp);
      slots[i].n = walk(pc, fp, sp, slots[i].pcs);
    } else {
      atomic_fetch_add(&lost, 1);
    }
  }
  atomic_fetch_sub(&active, 1);
  errno = saved;
}

static int install_handler(void) {
  if (handler_installed)
    return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigprof;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGPROF, &sa, NULL) != 0)
    return -errno;
  handler_installed = 1;
  return 0;
}

static int arm(int hz) {
  struct itimerval it;
  memset(&it, 0, sizeof it);
  if (hz > 0) {
    it.it_interval.tv_usec = 1000000 / hz;
    it.it_value = it.it_interval;
  }
  return setitimer(ITIMER_PROF, &it, NULL) == 0 ? 0 : -errno;
}

/* The loop threads' stacks, so the handler may walk them. The runtimes
 * are not freed under a running debug page; a runtime freed meanwhile
 * leaves an entry no live thread matches with a stack pointer in it. */
static void collect_thread_stacks(void) {
  nh_runtime *rts[16];
  size_t nrt = nh__runtimes_live(rts, 16);
  if (nrt > 16)
    nrt = 16;
  nstacks = 0;
  for (size_t r = 0; r < nrt; r++)
    for (int i = 0; i < rts[r]->nloops && nstacks < MAX_THREADS; i++) {
      pthread_attr_t a;
      void *base;
      size_t size;
      if (pthread_getattr_np(rts[r]->loops[i].thread, &a) != 0)
        continue;
      if (pthread_attr_getstack(&a, &base, &size) == 0) {
        stacks[nstacks].thread = rts[r]->loops[i].thread;
        stacks[nstacks].lo = (uintptr_t)base;
        stacks[nstacks].hi = (uintptr_t)base + size;
        nstacks++;
      }
      pthread_attr_destroy(&a);
    }
}

int nh__cpuprof_start(int hz, nh_dur max_dur) {
  int expect = IDLE;
  if (hz <= 0 || hz > 1000 || max_dur <= 0)
    return NH_EINVAL;
  if (!atomic_compare_exchange_strong(&state, &expect, STOPPING))
    return NH_EBUSY;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1)
    ncpu = 1;
  /* Samples come at hz per CPU-second: hz * seconds * CPUs at most, plus
   * slack for the timer's rounding. */
  double want = (double)hz * ((double)max_dur / NH_SEC + 1) * (double)ncpu + 64;
  nslots = want > (1 << 16) ? (1 << 16) : (size_t)want;
  map_bytes = nslots * sizeof(sample);
  void *m = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    atomic_store(&state, IDLE);
    return NH_ENOMEM;
  }
  slots = m;
  collect_thread_stacks();
  atomic_store(&next, 0);
  atomic_store(&lost, 0);
  int e = install_handler();
  if (!e) {
    atomic_store(&state, RUNNING);
    e = arm(hz);
  }
  if (e) {
    atomic_store(&state, STOPPING);
    while (atomic_load(&active))
      sched_yield();
    munmap(slots, map_bytes);
    slots = NULL;
    atomic_store(&state, IDLE);
  }
  return e;
}

int nh__cpuprof_stop(nh__cpuprof_fn fn, void *arg, uint64_t *lostp) {
  int expect = RUNNING;
  if (!atomic_compare_exchange_strong(&state, &expect, STOPPING))
    return NH_EINVAL;
  arm(0);
  /* A handler that saw RUNNING is counted in active before it looked:
   * once active drops to 0, no handler writes the log any more. */
  while (atomic_load(&active))
    sched_yield();
  uint64_t n = atomic_load(&next);
  if (n > nslots)
    n = nslots;
  if (fn)
    for (uint64_t i = 0; i < n; i++)
      fn(arg, slots[i].pcs, (int)slots[i].n);
  if (lostp)
    *lostp = atomic_load(&lost);
  munmap(slots, map_bytes);
  slots = NULL;
  atomic_store(&state, IDLE);
  return 0;
}

uint64_t nh__cpuprof_signals(void) { return atomic_load(&signals); }

int nh__cpuprof_running(void) { return atomic_load(&state) == RUNNING; }
