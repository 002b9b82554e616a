/* Backtraces name functions, static ones included, from the debug
 * information: in a panic's log line and in the crash handler's report.
 * Built twice, against the static and the shared library. */
#include "harness.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int panic_line;

/* Static and not exported: dladdr alone could not name it. */
static __attribute__((noinline)) void explode_in_named_function(int code) {
  panic_line = __LINE__ + 1;
  nh_panic("boom %d", code);
}

static void panicker(void *arg) {
  explode_in_named_function(2);
  nh_fiber_set_label("not reached"); /* keeps the call from being a tail call */
}

static void panic_main(void *arg) {
  nh_go(panicker, NULL);
  nh_sleep(50 * NH_MSEC);
}

/* Under ThreadSanitizer the library names frames by dladdr only (see
 * src/runtime/symbolize.c): static functions have no name to check. */
static void skip_without_symbolizer(void) {
#if defined(__SANITIZE_THREAD__)
  NH_SKIP("libbacktrace is not used under ThreadSanitizer");
#endif
}

NH_TEST(panic_backtrace_names_the_function) {
  skip_without_symbolizer();
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  cfg.logger = &cap->base;
  CHECK_EQ(nh_run(&cfg, panic_main, NULL), NH_OK);
  char *text = capture_log_text(cap);
  fprintf(stderr, "%s", text);
  CHECK_CONTAINS(text, "fiber panicked");
  /* The panicking frame, by name (an optimised build may add a suffix such
   * as ".constprop.0", and inlines nh_panic itself), with its source line,
   * and its caller. */
  char want[128];
  CHECK_CONTAINS(text, "explode_in_named_function");
  snprintf(want, sizeof want, "(test_symbolize.c:%d)", panic_line);
  CHECK_CONTAINS(text, want);
  CHECK_CONTAINS(text, "panicker+0x");
#ifndef __OPTIMIZE__
  CHECK_CONTAINS(text, "nh_panic+0x");
#endif
  free(text);
  capture_log_free(cap);
}

/* A memory fault: the crash handler's report names the faulting function.
 * The process dies, so it is a child's. */
static __attribute__((noinline)) void fault_in_named_function(volatile int *p) { *p = 1; }

static void faulter(void *arg) {
  nh_fiber_set_label("faulty handler");
  /* A page nobody may touch: a fault the sanitizers do not catch first. */
  void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  fault_in_named_function(page);
}

static void crash_main(void *arg) {
  nh_go(faulter, NULL);
  nh_sleep(10 * NH_SEC);
}

NH_TEST(crash_backtrace_names_the_function) {
  skip_without_symbolizer();
  static char out[32768];
  int status = run_child_capturing_stderr(crash_main, 0, out, sizeof out);
  fprintf(stderr, "child said:\n%.3000s\n", out);
  CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  CHECK_CONTAINS(out, "\"faulty handler\"");
  const char *bt = strstr(out, "nethttp: backtrace of the faulting thread");
  CHECK(bt);
  CHECK_CONTAINS(bt, "  fault_in_named_function (test_symbolize.c:");
#ifndef __OPTIMIZE__ /* optimised, the call into it is a tail call: no frame */
  CHECK_CONTAINS(bt, "  faulter (test_symbolize.c:");
#endif
}

NH_TEST_MAIN()
