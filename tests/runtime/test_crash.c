/* Running off the end of a fiber stack: a clear message naming the fiber,
 * then the process dies (in a child, so the test survives). */
#include "harness.h"

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
  int pipefd[2];
  CHECK_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
    cfg.loops = 1;
    cfg.stack_size = 64 * 1024;
    nh_run(&cfg, overflow_main, NULL);
    _exit(0); /* reaching here means no overflow happened */
  }
  close(pipefd[1]);
  char out[16384];
  size_t len = 0;
  ssize_t n;
  while ((n = read(pipefd[0], out + len, sizeof out - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = 0;
  close(pipefd[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  fprintf(stderr, "child said:\n%.600s\n", out);
  CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
  CHECK_CONTAINS(out, "overflowed its stack (64 KiB usable");
  CHECK_CONTAINS(out, "\"recursive handler\"");
}

NH_TEST_MAIN()
