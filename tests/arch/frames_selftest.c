/* Standalone self-test of the frame-pointer walk of a switched-out fiber
 * (nh__fiber_frames in src/runtime/stack.c), which reads the register frame
 * nh__switch leaves on the fiber's stack. Links only stack.c and
 * switch_<arch>.S; internal.h is included for the nh_fiber layout alone.
 * Build with -fno-omit-frame-pointer, as the runtime is.
 *
 * A fiber's entry calls outer -> middle -> inner -> nh__switch. Switched
 * out, its walk must give exactly: a pc in inner, the return addresses into
 * middle, outer, entry and nh__fiber_trampoline, and stop there (the
 * trampoline zeroes the frame pointer). Then the fiber is resumed and must finish normally. */
#include "runtime/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void nh_frame_name(void *pc, char *buf, size_t cap);

#define STACK_SIZE (64 * 1024)

static void *g_main_sp;
static nh_fiber g_f;
static void *g_ra_inner, *g_ra_middle, *g_ra_outer, *g_ra_entry;
static volatile int g_depth, g_done;

static void fail(const char *what) {
  fflush(stdout);
  fprintf(stderr, "frames selftest: FAIL: %s\n", what);
  fflush(stderr);
  _exit(1);
}

/* noinline and work after each call: real frames, no tail calls. */
__attribute__((noinline)) int fr_inner(int x) {
  g_ra_inner = __builtin_return_address(0);
  nh__switch(&g_f.sp, g_main_sp);
  g_depth += x;
  return g_depth + 1;
}

__attribute__((noinline)) int fr_middle(int x) {
  g_ra_middle = __builtin_return_address(0);
  int r = fr_inner(x + 1);
  g_depth += r;
  return r + 1;
}

__attribute__((noinline)) int fr_outer(int x) {
  g_ra_outer = __builtin_return_address(0);
  int r = fr_middle(x + 1);
  g_depth += r;
  return r + 1;
}

__attribute__((noinline)) static void entry(void *arg) {
  g_ra_entry = __builtin_return_address(0);
  fr_outer((int)(intptr_t)arg);
  g_done = 1;
  nh__switch(&g_f.sp, g_main_sp);
  fail("finished fiber resumed");
}

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  size_t map = (size_t)page + STACK_SIZE;
  char *base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED || mprotect(base, (size_t)page, PROT_NONE) != 0)
    fail("mmap");
  g_f.stack_lo = base + page;
  g_f.stack_size = STACK_SIZE;

  /* A fresh fiber: the walk sees only its first return address. */
  g_f.sp = nh__stack_init_frame(g_f.stack_lo + STACK_SIZE, entry, (void *)(intptr_t)1);
  void *frames[16];
  int n = nh__fiber_frames(&g_f, frames, 16);
  if (n != 1 || frames[0] != (void *)nh__fiber_trampoline)
    fail("fresh fiber: expected exactly [nh__fiber_trampoline]");

  nh__switch(&g_main_sp, g_f.sp); /* runs until the switch in fr_inner */
  if (g_done)
    fail("fiber finished early");

  n = nh__fiber_frames(&g_f, frames, 16);
  char name[5][128];
  for (int i = 0; i < n && i < 5; i++)
    nh_frame_name(frames[i], name[i], sizeof name[i]);
  for (int i = 0; i < n; i++)
    printf("frames selftest: #%d %p %s\n", i, frames[i], i < 5 ? name[i] : "?");
  if (n != 5)
    fail("expected 5 frames (inner, middle, outer, entry, trampoline)");
  if ((char *)frames[0] <= (char *)fr_inner || (char *)frames[0] >= (char *)fr_inner + 1024)
    fail("frame 0 is not in fr_inner");
  if (frames[1] != g_ra_inner)
    fail("frame 1 is not the return address into fr_middle");
  if (frames[2] != g_ra_middle)
    fail("frame 2 is not the return address into fr_outer");
  if (frames[3] != g_ra_outer)
    fail("frame 3 is not the return address into entry");
  if (frames[4] != g_ra_entry)
    fail("frame 4 is not the return address into the trampoline");
  if ((char *)frames[4] <= (char *)nh__fiber_trampoline ||
      (char *)frames[4] > (char *)nh__fiber_trampoline + 16)
    fail("frame 4 is not inside nh__fiber_trampoline");
  /* Symbols resolve only where dladdr sees them (dynamic, -rdynamic). */
  if (strncmp(name[1], "0x", 2) != 0 && !strstr(name[1], "fr_middle"))
    fail("frame 1 does not symbolize as fr_middle");
  if (strncmp(name[4], "0x", 2) != 0 && !strstr(name[4], "nh__fiber_trampoline"))
    fail("frame 4 does not symbolize as nh__fiber_trampoline");
  if (nh__fiber_frames(&g_f, frames, 2) != 2)
    fail("max not honoured");

  /* The walk only reads: the fiber resumes and unwinds normally. */
  nh__switch(&g_main_sp, g_f.sp);
  if (!g_done || g_depth != 3 + 4 + 5)
    fail("fiber did not finish correctly after the walk");
  g_f.sp = NULL;
  if (nh__fiber_frames(&g_f, frames, 16) != 0)
    fail("a running fiber (sp NULL) must give no frames");
  munmap(base, map);
  printf("frames selftest: ok\n");
  return 0;
}
