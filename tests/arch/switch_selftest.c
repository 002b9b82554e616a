/* Standalone self-test of the fiber context switch: switch_<arch>.S plus
 * nh__stack_init_frame from src/runtime/stack.c, and nothing else of the
 * runtime. It exists to prove the aarch64 port under qemu-aarch64 (see
 * scripts/check-aarch64.sh) and passes natively on x86-64 as well.
 *
 * Three fibers on mmap'd stacks (guard page below, one with a deliberately
 * misaligned stack top) and main switch among each other: first main <->
 * each fiber in turn ("star"), then main -> f0 -> f1 -> f2 -> main ("ring"),
 * about 200000 switches. Every switch is one of two kinds, mixed
 * pseudo-randomly:
 *   - switch_regs: inline assembly loads a distinct pattern into every
 *     callee-saved register (x19-x29 and d8-d15 on aarch64; rbx, rbp,
 *     r12-r15 on x86-64), calls nh__switch, and after being switched back
 *     stores them and checks each one. The other side loads its own
 *     different pattern before switching back, so a register the switch
 *     forgets to save or restore is caught exactly.
 *   - switch_locals: ordinary -O2 C keeping ten integers and eight doubles
 *     live across the call (in callee-saved registers or spill slots),
 *     checked afterwards.
 * A token says who should be running after each switch. Each fiber checks
 * at entry that its stack is 16-byte aligned, that its locals are on its own
 * stack, and formats a double with snprintf (which faults on x86-64 with a
 * misaligned stack).
 *
 * Deliberately does not include internal.h: only these three declarations
 * are needed, and they must match it. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void nh__switch(void **save_sp, void *load_sp);
void nh__fiber_trampoline(void);
void *nh__stack_init_frame(char *stack_top, void (*entry)(void *), void *arg);

#define NFIB 3
#define STAR_ROUNDS 20000
#define RING_ROUNDS 20000
#define STACK_SIZE (64 * 1024)

typedef struct fib {
  void *sp;
  char *map, *lo, *hi; /* usable stack [lo, hi) above the guard page */
  int id;
  int started, finished;
} fib;

static fib g_fib[NFIB];
static void *g_main_sp;
static volatile int g_turn = -1; /* who should be running: -1 main, else a fiber */
static unsigned long g_switches;
static unsigned long g_regs_checked, g_locals_checked;

/* fail realigns its own stack (x86-64) so it can still report a fiber that
 * was started on a misaligned one. */
#if defined(__x86_64__)
#define REALIGN __attribute__((force_align_arg_pointer))
#else
#define REALIGN
#endif
__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...);
REALIGN static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "switch selftest: FAIL after %lu switches: ", g_switches);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  _exit(1);
}

/* ---- switch_regs: every callee-saved register, exactly ---- */
#if defined(__aarch64__)
enum { NREGS = 19 }; /* x19-x28, x29, d8-d15 */
static const char *const reg_names[NREGS] = {"x19", "x20", "x21", "x22", "x23", "x24", "x25",
                                             "x26", "x27", "x28", "x29", "d8",  "d9",  "d10",
                                             "d11", "d12", "d13", "d14", "d15"};

static __attribute__((noinline)) void switch_regs(void **save, void *load, uint64_t seed) {
  uint64_t out[NREGS];
  register void **x0 __asm__("x0") = save;
  register void *x1 __asm__("x1") = load;
  register uint64_t x2 __asm__("x2") = seed;
  register uint64_t *x3 __asm__("x3") = out;
  /* x29 is the frame pointer and cannot be a clobber: keep it (and the out
   * pointer) on the stack around the call, and load a pattern into it too. */
  __asm__ volatile("stp x29, x3, [sp, #-16]!\n\t"
                   "mov x19, x2\n\t"
                   "add x20, x2, #1\n\t"
                   "add x21, x2, #2\n\t"
                   "add x22, x2, #3\n\t"
                   "add x23, x2, #4\n\t"
                   "add x24, x2, #5\n\t"
                   "add x25, x2, #6\n\t"
                   "add x26, x2, #7\n\t"
                   "add x27, x2, #8\n\t"
                   "add x28, x2, #9\n\t"
                   "add x29, x2, #10\n\t"
                   "add x4, x2, #11\n\t"
                   "fmov d8, x4\n\t"
                   "add x4, x2, #12\n\t"
                   "fmov d9, x4\n\t"
                   "add x4, x2, #13\n\t"
                   "fmov d10, x4\n\t"
                   "add x4, x2, #14\n\t"
                   "fmov d11, x4\n\t"
                   "add x4, x2, #15\n\t"
                   "fmov d12, x4\n\t"
                   "add x4, x2, #16\n\t"
                   "fmov d13, x4\n\t"
                   "add x4, x2, #17\n\t"
                   "fmov d14, x4\n\t"
                   "add x4, x2, #18\n\t"
                   "fmov d15, x4\n\t"
                   "bl nh__switch\n\t"
                   "ldr x3, [sp, #8]\n\t"
                   "stp x19, x20, [x3, #0]\n\t"
                   "stp x21, x22, [x3, #16]\n\t"
                   "stp x23, x24, [x3, #32]\n\t"
                   "stp x25, x26, [x3, #48]\n\t"
                   "stp x27, x28, [x3, #64]\n\t"
                   "str x29, [x3, #80]\n\t"
                   "str d8, [x3, #88]\n\t"
                   "stp d9, d10, [x3, #96]\n\t"
                   "stp d11, d12, [x3, #112]\n\t"
                   "stp d13, d14, [x3, #128]\n\t"
                   "str d15, [x3, #144]\n\t"
                   "ldp x29, x3, [sp], #16\n\t"
                   : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                   :
                   : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                     "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24",
                     "x25", "x26", "x27", "x28", "x30", "v0", "v1", "v2", "v3", "v4", "v5",
                     "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16",
                     "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
                     "v27", "v28", "v29", "v30", "v31", "memory", "cc");
  for (int i = 0; i < NREGS; i++)
    if (out[i] != seed + (uint64_t)i)
      fail("%s not preserved across nh__switch: 0x%llx, expected 0x%llx", reg_names[i],
           (unsigned long long)out[i], (unsigned long long)(seed + i));
  g_regs_checked++;
}
#elif defined(__x86_64__)
enum { NREGS = 6 }; /* rbx, r12-r15, rbp */
static const char *const reg_names[NREGS] = {"rbx", "r12", "r13", "r14", "r15", "rbp"};

static __attribute__((noinline)) void switch_regs(void **save, void *load, uint64_t seed) {
  uint64_t out[NREGS];
  uint64_t *o = out;
  uint64_t s = seed;
  /* A call from inline assembly: step over the red zone, realign rsp to 16
   * for the call, keep the old rsp, rbp (the frame pointer, which cannot be
   * a clobber) and the out pointer on the stack around it. */
  __asm__ volatile("mov %%rsp, %%rax\n\t"
                   "sub $128, %%rsp\n\t"
                   "and $-16, %%rsp\n\t"
                   "push %%rax\n\t"
                   "push %%rbp\n\t"
                   "push %%rcx\n\t"
                   "push %%rcx\n\t"
                   "mov %%rdx, %%rbx\n\t"
                   "lea 1(%%rdx), %%r12\n\t"
                   "lea 2(%%rdx), %%r13\n\t"
                   "lea 3(%%rdx), %%r14\n\t"
                   "lea 4(%%rdx), %%r15\n\t"
                   "lea 5(%%rdx), %%rbp\n\t"
                   "call nh__switch\n\t"
                   "pop %%rcx\n\t"
                   "pop %%rcx\n\t"
                   "mov %%rbx, 0(%%rcx)\n\t"
                   "mov %%r12, 8(%%rcx)\n\t"
                   "mov %%r13, 16(%%rcx)\n\t"
                   "mov %%r14, 24(%%rcx)\n\t"
                   "mov %%r15, 32(%%rcx)\n\t"
                   "mov %%rbp, 40(%%rcx)\n\t"
                   "pop %%rbp\n\t"
                   "pop %%rsp\n\t"
                   : "+D"(save), "+S"(load), "+d"(s), "+c"(o)
                   :
                   : "rax", "rbx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                     "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                     "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory",
                     "cc");
  for (int i = 0; i < NREGS; i++)
    if (out[i] != seed + (uint64_t)i)
      fail("%s not preserved across nh__switch: 0x%llx, expected 0x%llx", reg_names[i],
           (unsigned long long)out[i], (unsigned long long)(seed + i));
  g_regs_checked++;
}
#else
#error "switch selftest supports x86-64 and aarch64"
#endif

/* ---- switch_locals: what C code actually relies on ---- */
#if defined(__aarch64__)
#define FP_CONSTRAINT "+w"
#else
#define FP_CONSTRAINT "+x"
#endif
/* Hide a value from the optimizer so it must really be kept, not recomputed. */
#define OPAQUE_I(v) __asm__ volatile("" : "+r"(v))
#define OPAQUE_D(v) __asm__ volatile("" : FP_CONSTRAINT(v))

static __attribute__((noinline)) void switch_locals(void **save, void *load, uint64_t seed) {
  uint64_t i0 = seed * 3 + 1, i1 = seed ^ 0x5555aaaa5555aaaaull, i2 = ~seed, i3 = seed << 7,
           i4 = seed * seed, i5 = seed + 0x1234, i6 = seed >> 3, i7 = seed * 77,
           i8 = seed | 0xf0f0, i9 = seed - 99;
  double d0 = (double)(seed & 0xffff) * 0.5, d1 = d0 + 1.25, d2 = d0 * 3.0, d3 = d0 - 7.5,
         d4 = d0 / 4.0, d5 = -d0, d6 = d0 + 1e6, d7 = d0 * 0.125;
  OPAQUE_I(i0); OPAQUE_I(i1); OPAQUE_I(i2); OPAQUE_I(i3); OPAQUE_I(i4);
  OPAQUE_I(i5); OPAQUE_I(i6); OPAQUE_I(i7); OPAQUE_I(i8); OPAQUE_I(i9);
  OPAQUE_D(d0); OPAQUE_D(d1); OPAQUE_D(d2); OPAQUE_D(d3);
  OPAQUE_D(d4); OPAQUE_D(d5); OPAQUE_D(d6); OPAQUE_D(d7);
  nh__switch(save, load);
  OPAQUE_I(i0); OPAQUE_I(i1); OPAQUE_I(i2); OPAQUE_I(i3); OPAQUE_I(i4);
  OPAQUE_I(i5); OPAQUE_I(i6); OPAQUE_I(i7); OPAQUE_I(i8); OPAQUE_I(i9);
  OPAQUE_D(d0); OPAQUE_D(d1); OPAQUE_D(d2); OPAQUE_D(d3);
  OPAQUE_D(d4); OPAQUE_D(d5); OPAQUE_D(d6); OPAQUE_D(d7);
  uint64_t iok = (i0 == seed * 3 + 1) & (i1 == (seed ^ 0x5555aaaa5555aaaaull)) & (i2 == ~seed) &
                 (i3 == seed << 7) & (i4 == seed * seed) & (i5 == seed + 0x1234) &
                 (i6 == seed >> 3) & (i7 == seed * 77) & (i8 == (seed | 0xf0f0)) &
                 (i9 == seed - 99);
  double e = (double)(seed & 0xffff) * 0.5;
  int dok = (d0 == e) & (d1 == e + 1.25) & (d2 == e * 3.0) & (d3 == e - 7.5) &
            (d4 == e / 4.0) & (d5 == -e) & (d6 == e + 1e6) & (d7 == e * 0.125);
  if (!iok)
    fail("integer locals changed across nh__switch (seed 0x%llx)", (unsigned long long)seed);
  if (!dok)
    fail("double locals changed across nh__switch (seed 0x%llx): %g %g %g %g %g %g %g %g",
         (unsigned long long)seed, d0, d1, d2, d3, d4, d5, d6, d7);
  g_locals_checked++;
}

/* ---- the schedule ---- */
static void **save_of(int who) { return who < 0 ? &g_main_sp : &g_fib[who].sp; }
static void *sp_of(int who) { return who < 0 ? g_main_sp : g_fib[who].sp; }

static void hop(int self, int target) {
  g_turn = target;
  g_switches++;
  uint64_t seed = ((uint64_t)g_switches << 8) + (uint64_t)(self + 2) * 0x100000000ull;
  if (((g_switches * 2654435761u) >> 9) & 1)
    switch_regs(save_of(self), sp_of(target), seed);
  else
    switch_locals(save_of(self), sp_of(target), seed);
  if (g_turn != self)
    fail("%d resumed while %d should run", self, g_turn);
}

static __attribute__((noinline)) void check_entry(fib *f) {
  /* At a fiber's entry the stack must be as the ABI has it after a call. */
#if defined(__aarch64__)
  uintptr_t sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  if (sp & 15)
    fail("fiber %d: sp %p not 16-byte aligned", f->id, (void *)sp);
#endif
  /* With frame pointers, the frame address is 16-aligned exactly when the
   * caller's stack was (x86-64: rbp = entry rsp - 8, entry rsp = 8 mod 16). */
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  OPAQUE_I(fp);
  if (fp & 15)
    fail("fiber %d: frame address %p not 16-byte aligned", f->id, (void *)fp);
  /* An over-aligned local: the compiler trusts the incoming alignment. */
  _Alignas(16) volatile char probe[16];
  uintptr_t pa = (uintptr_t)probe;
  OPAQUE_I(pa);
  if (pa & 15)
    fail("fiber %d: 16-aligned local at %p", f->id, (void *)pa);
  if ((char *)pa < f->lo || (char *)pa >= f->hi)
    fail("fiber %d: local %p outside its stack [%p, %p)", f->id, (void *)pa, (void *)f->lo,
         (void *)f->hi);
  probe[0] = 1;
  /* Variadic doubles: glibc's printf saves xmm registers with movaps and
   * would fault on a misaligned x86-64 stack. */
  char buf[64];
  snprintf(buf, sizeof buf, "%.3f %.1Lf", 1.5 * (f->id + 1), (long double)f->id);
  char want[64];
  snprintf(want, sizeof want, "%d.%s %d.0", (3 * (f->id + 1)) / 2,
           (f->id + 1) % 2 ? "500" : "000", f->id);
  if (strcmp(buf, want) != 0)
    fail("fiber %d: snprintf gave \"%s\", expected \"%s\"", f->id, buf, want);
}

static void fiber_main(void *arg) {
  fib *f = arg;
  int self = f->id;
  if (g_turn != self)
    fail("fiber %d started while %d should run", self, g_turn);
  check_entry(f);
  f->started = 1;
  for (int r = 0; r < STAR_ROUNDS; r++)
    hop(self, -1);
  for (int r = 0; r < RING_ROUNDS; r++)
    hop(self, self == NFIB - 1 ? -1 : self + 1);
  f->finished = 1;
  /* Last switch out: nobody resumes a finished fiber. */
  g_turn = -1;
  g_switches++;
  nh__switch(&f->sp, g_main_sp);
  fail("fiber %d resumed after it finished", self);
}

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  for (int i = 0; i < NFIB; i++) {
    fib *f = &g_fib[i];
    size_t map = (size_t)page + STACK_SIZE;
    f->map = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f->map == MAP_FAILED)
      fail("mmap");
    if (mprotect(f->map, (size_t)page, PROT_NONE) != 0)
      fail("mprotect guard");
    f->lo = f->map + page;
    f->hi = f->lo + STACK_SIZE;
    f->id = i;
    /* Fiber 1 gets a stack top that is not aligned at all: init_frame must
     * round it down. */
    char *top = i == 1 ? f->hi - 7 : f->hi;
    f->sp = nh__stack_init_frame(top, fiber_main, f);
    if ((char *)f->sp < f->lo + 64 || (char *)f->sp >= top)
      fail("fiber %d: initial sp %p outside its stack [%p, %p)", i, f->sp, (void *)f->lo,
           (void *)top);
    if ((uintptr_t)f->sp & 7)
      fail("fiber %d: initial sp %p not word aligned", i, f->sp);
  }

  for (int r = 0; r < STAR_ROUNDS; r++)
    for (int i = 0; i < NFIB; i++)
      hop(-1, i);
  for (int i = 0; i < NFIB; i++)
    if (!g_fib[i].started)
      fail("fiber %d never started", i);
  for (int r = 0; r < RING_ROUNDS; r++)
    hop(-1, 0);
  for (int i = 0; i < NFIB; i++) {
    hop(-1, i);
    if (!g_fib[i].finished)
      fail("fiber %d did not finish", i);
  }

  unsigned long want = (unsigned long)NFIB * STAR_ROUNDS * 2 +
                       (unsigned long)(NFIB + 1) * RING_ROUNDS + (unsigned long)NFIB * 2;
  if (g_switches != want)
    fail("%lu switches, expected %lu", g_switches, want);
  if (g_regs_checked == 0 || g_locals_checked == 0)
    fail("a switch kind never ran (regs %lu, locals %lu)", g_regs_checked, g_locals_checked);
  for (int i = 0; i < NFIB; i++)
    munmap(g_fib[i].map, (size_t)page + STACK_SIZE);
  printf("switch selftest: %lu switches, %lu register-exact, %lu C-locals, %d fibers\n",
         g_switches, g_regs_checked, g_locals_checked, NFIB);
  printf("switch selftest: ok\n");
  return 0;
}
