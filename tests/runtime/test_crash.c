/* Running off the end of a fiber stack: a clear message naming the fiber,
 * then the process dies (in a child, so the test survives). */
#include "harness.h"
#include "runtime/support.h"

#include <nethttp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int depth) {
  volatile char pad[1024];
  pad[0] = (char)depth;
  return recurse(depth + 1) + pad[0];
}

static void overflow(void *arg) {
  nh_fiber_set_label("recursive handler");
  recurse(0);
}

static void overflow_main(void *arg) {
  nh_go(overflow, NULL);
  nh_sleep(10 * NH_SEC);
}

NH_TEST(stack_overflow_names_the_fiber) {
  static char out[16384];
  int status = run_child_capturing_stderr(overflow_main, 64 * 1024, out, sizeof out);
  fprintf(stderr, "child said:\n%.600s\n", out);
  CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  CHECK_CONTAINS(out, "overflowed its stack (64 KiB usable");
  CHECK_CONTAINS(out, "\"recursive handler\"");
}

NH_TEST_MAIN()
