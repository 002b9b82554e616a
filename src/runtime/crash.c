/* Crash reports for loop threads.
 *
 * A fiber that runs off the end of its stack touches the guard page below
 * it and gets SIGSEGV. The default action would kill the process with a bare
 * "Segmentation fault"; worse, the handler itself could not run on the
 * overflowed stack. So each loop thread has an alternate signal stack, and
 * the handler says which fiber overflowed and by how much room it had, then
 * hands the signal to the previous handler (the default action, or a
 * sanitizer's) so the process still dies with a core. Before that it
 * writes the faulting thread's backtrace with function names
 * (symbolize.c: async-signal-safe lookups). Memory faults cannot be
 * recovered from in C: this is a report, not isolation. */
#include "internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALTSTACK_SIZE (64 * 1024)

static struct sigaction old_segv, old_bus;

static void write_str(const char *s) {
  ssize_t w = write(2, s, strlen(s));
  (void)w;
}

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  nh_loop *l = nh__loop_current();
  nh_fiber *f = l ? l->current : NULL;
  char buf[512];
  const char *addr = si->si_addr;
  if (f && addr >= f->map_base && addr < f->stack_lo + 4096) {
    snprintf(buf, sizeof buf,
             "nethttp: fiber %llu \"%s\" on loop %d overflowed its stack (%zu KiB usable, "
             "fault at %p in the guard page). Raise nh_runtime_config.stack_size or move "
             "large buffers off the stack.\n",
             (unsigned long long)f->id, f->label, l->index, f->stack_size / 1024, si->si_addr);
  } else if (f) {
    snprintf(buf, sizeof buf,
             "nethttp: fatal signal %d (%s) at %p in fiber %llu \"%s\" on loop %d\n", sig,
             strsignal(sig), si->si_addr, (unsigned long long)f->id, f->label, l->index);
  } else {
    snprintf(buf, sizeof buf, "nethttp: fatal signal %d (%s) at %p outside any fiber\n", sig,
             strsignal(sig), si->si_addr);
  }
  write_str(buf);
  /* Only the first fault prints a backtrace: a fault inside the walk
   * itself must not loop. */
  static atomic_int walking;
  if (!atomic_exchange(&walking, 1))
    nh__crash_backtrace();
  /* Hand over to whoever handled it before us; returning re-runs the
   * faulting instruction, which then meets that handler. */
  sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
}

/* A peer that closes while we write must be an EPIPE, not a dead process.
 * Sockets are written with MSG_NOSIGNAL, but sendfile(2) has no such flag,
 * so, as Go does, SIGPIPE is ignored unless the program set a handler. */
static void ignore_sigpipe(void) {
  struct sigaction old;
  if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
      !(old.sa_flags & SA_SIGINFO))
    signal(SIGPIPE, SIG_IGN);
}

void nh__crash_install(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  nh__symbolize_init(); /* before any fault: the handler cannot make it */
  pthread_once(&once, install);
  ignore_sigpipe();
}

int nh__crash_thread_init(nh_loop *l) {
  l->altstack = malloc(ALTSTACK_SIZE);
  if (!l->altstack)
    return NH_ENOMEM;
  stack_t ss = {.ss_sp = l->altstack, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    free(l->altstack);
    l->altstack = NULL;
    return -errno;
  }
  return NH_OK;
}

void nh__crash_thread_dispose(nh_loop *l) {
  if (!l->altstack)
    return;
  stack_t ss = {.ss_flags = SS_DISABLE};
  sigaltstack(&ss, NULL);
  free(l->altstack);
  l->altstack = NULL;
}
