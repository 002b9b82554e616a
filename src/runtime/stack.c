/* Fiber stacks: the initial frame a new fiber starts from, and the frame
 * pointer walk used by fiber dumps. Both depend on the register frame that
 * switch_<arch>.S saves, so they live next to each other here. */
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
/* Saved frame, from the stack pointer up: r15 r14 r13 r12 rbx rbp ret. */
enum { F_R15, F_R14, F_R13, F_R12, F_RBX, F_RBP, F_RET, F_WORDS };

void *nh__stack_init_frame(char *stack_top, void (*entry)(void *), void *arg) {
  /* After the 6 pops and ret, rsp must be 16-byte aligned at the trampoline's
   * call instruction: leave one word of slack above the return slot. */
  uintptr_t top = ((uintptr_t)stack_top & ~(uintptr_t)15) - 16;
  void **frame = (void **)(top - 8 - 6 * 8);
  memset(frame, 0, F_WORDS * sizeof(void *));
  frame[F_R13] = (void *)entry;
  frame[F_R12] = arg;
  frame[F_RET] = (void *)nh__fiber_trampoline;
  return frame;
}

static void frame_start(void **sp, void **pc, void ***fp) {
  *pc = sp[F_RET];
  *fp = (void **)sp[F_RBP];
}

static void *return_address(void *saved) { return saved; }
#elif defined(__aarch64__)
/* Saved frame: x19..x28 at words 0..9, x29 (fp) word 10, x30 (lr) word 11. */
void *nh__stack_init_frame(char *stack_top, void (*entry)(void *), void *arg) {
  uintptr_t top = ((uintptr_t)stack_top & ~(uintptr_t)15) - 16;
  void **frame = (void **)(top - 160);
  memset(frame, 0, 160);
  frame[0] = (void *)entry; /* x19 */
  frame[1] = arg;           /* x20 */
  frame[11] = (void *)nh__fiber_trampoline; /* x30 */
  return frame;
}

static void frame_start(void **sp, void **pc, void ***fp) {
  *pc = sp[11];
  *fp = (void **)sp[10];
}

/* Code built with -mbranch-protection=pac-ret (or =standard, as hardened
 * distribution builds are) signs the return address before saving it in its
 * frame record: the top bits hold a pointer authentication code. xpaclri
 * (hint #7, a no-op on cores without pointer authentication) strips it. The
 * first pc needs none: nh__switch is entered by bl and never signs x30. */
static void *return_address(void *saved) {
  void *ret;
  __asm__("mov x30, %1\n\thint #7\n\tmov %0, x30" : "=r"(ret) : "r"(saved) : "x30");
  return ret;
}
#else
#error "nethttp fibers support x86-64 and aarch64"
#endif

int nh__fiber_frames(const nh_fiber *f, void **frames, int max) {
  if (!f->sp || max <= 0)
    return 0;
  const char *lo = f->stack_lo, *hi = f->stack_lo + f->stack_size;
  void *pc;
  void **fp;
  frame_start((void **)f->sp, &pc, &fp);
  int n = 0;
  frames[n++] = pc;
  /* Frame records are {previous fp, return address}; stop at the first one
   * that leaves the stack or does not move up it (the trampoline's zero). */
  while (n < max && (const char *)fp >= lo && (const char *)(fp + 2) <= hi &&
         ((uintptr_t)fp & 7) == 0) {
    void *ret = fp[1];
    void **next = (void **)fp[0];
    if (!ret)
      break;
    frames[n++] = return_address(ret);
    if (next <= fp)
      break;
    fp = next;
  }
  return n;
}

nh__symbolizer_fn nh__symbolizer;

/* Looks up lookup_addr, prints the offset of print_addr from the symbol:
 * with the debug-information symbolizer once the runtime has started one
 * (symbolize.c), else with dladdr, which knows exported symbols only. */
static void symbolize(const void *lookup_addr, const void *print_addr, char *buf, size_t cap,
                      int with_offset) {
  nh__symbolizer_fn debug = __atomic_load_n(&nh__symbolizer, __ATOMIC_ACQUIRE);
  if (debug && debug(lookup_addr, print_addr, buf, cap, with_offset))
    return;
  Dl_info info;
  if (dladdr(lookup_addr, &info) && info.dli_sname) {
    if (with_offset)
      snprintf(buf, cap, "%s+0x%lx", info.dli_sname,
               (unsigned long)((const char *)print_addr - (const char *)info.dli_saddr));
    else
      snprintf(buf, cap, "%s", info.dli_sname);
  } else if (dladdr(lookup_addr, &info) && info.dli_fname) {
    /* No dynamic symbol (a static function): module+offset, which
     * `addr2line -e module offset` resolves. */
    const char *base = strrchr(info.dli_fname, '/');
    snprintf(buf, cap, "%s+0x%lx", base ? base + 1 : info.dli_fname,
             (unsigned long)((const char *)print_addr - (const char *)info.dli_fbase));
  } else {
    snprintf(buf, cap, "%p", print_addr);
  }
}

void nh__symbol_name(const void *addr, char *buf, size_t cap, int with_offset) {
  symbolize(addr, addr, buf, cap, with_offset);
}

/* pc is a return address: the call it belongs to is just before it (and for
 * a noreturn call, pc may already be past the end of the function). */
void nh_frame_name(void *pc, char *buf, size_t cap) {
  symbolize((const char *)pc - 1, pc, buf, cap, 1);
}
