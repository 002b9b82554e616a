/* Function names for backtraces, from the program's symbol tables and
 * DWARF debug information, with libbacktrace (GCC's symbolizer; Debian
 * ships it with libgcc-12-dev).
 *
 * dladdr alone (stack.c's fallback) sees only exported symbols: a static
 * function, or any function of a program linked without -rdynamic, came out
 * as "module+0xoffset". libbacktrace also reads .symtab and the line
 * tables: "serve_ws+0x4a (ws.c:88)".
 *
 * The state is made once, at the runtime's first start (never in a signal
 * handler: making it allocates). After that, libbacktrace's lookups are
 * async-signal-safe on Linux (they allocate with mmap and lock nothing), so
 * the crash handler (crash.c) uses them too. Debug information is read on
 * the first lookup, not at start. */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include NH_BACKTRACE_H

static struct backtrace_state *state;

static void on_error(void *data, const char *msg, int errnum) {
  (void)data, (void)msg, (void)errnum; /* no debug info: names stay empty */
}

typedef struct lookup {
  const char *sym; /* from the symbol table */
  uintptr_t symval;
  const char *fn; /* from DWARF: the innermost (inlined) function */
  const char *file;
  int line;
  int got_line;
} lookup;

static void on_sym(void *data, uintptr_t pc, const char *sym, uintptr_t val, uintptr_t size) {
  lookup *l = data;
  l->sym = sym;
  l->symval = val;
}

static int on_line(void *data, uintptr_t pc, const char *file, int line, const char *fn) {
  lookup *l = data;
  if (l->got_line)
    return 0;
  l->got_line = 1;
  l->fn = fn;
  l->file = file;
  l->line = line;
  return 0;
}

static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

/* "name+0xoff (file.c:12)" for a frame, "name" without offset (a fiber's
 * entry, for labels); 0 if neither table knows lookup_pc. */
static int describe(uintptr_t lookup_pc, uintptr_t print_pc, char *buf, size_t cap,
                    int with_offset) {
  lookup l = {0};
  backtrace_syminfo(state, lookup_pc, on_sym, on_error, &l);
  backtrace_pcinfo(state, lookup_pc, on_line, on_error, &l);
  const char *name = l.sym ? l.sym : l.fn;
  if (!name)
    return 0;
  int n;
  if (with_offset && l.sym)
    n = snprintf(buf, cap, "%s+0x%lx", name, (unsigned long)(print_pc - l.symval));
  else
    n = snprintf(buf, cap, "%s", name);
  if (with_offset && l.file && l.line > 0 && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " (%s:%d)", base_name(l.file), l.line);
  return 1;
}

/* Lookups outside the crash handler (watchdog reports, dumps, panics, leak
 * reports) take turns: two runtimes' watchdogs may name frames at once,
 * and the first lookups fill libbacktrace's tables, whose own atomics a
 * ThreadSanitizer build cannot see (the library is not instrumented). A
 * leak check takes the same lock to list descriptors without the files a
 * lookup has open for a moment. The crash handler does not come here. */
static pthread_mutex_t lookup_lock = PTHREAD_MUTEX_INITIALIZER;

void nh__symbolize_lock(void) { pthread_mutex_lock(&lookup_lock); }
void nh__symbolize_unlock(void) { pthread_mutex_unlock(&lookup_lock); }

static int symbolize(const void *lookup_addr, const void *print_addr, char *buf, size_t cap,
                     int with_offset) {
  if (!state)
    return 0;
  pthread_mutex_lock(&lookup_lock);
  int r = describe((uintptr_t)lookup_addr, (uintptr_t)print_addr, buf, cap, with_offset);
  pthread_mutex_unlock(&lookup_lock);
  return r;
}

static void init_once(void) {
#if defined(__SANITIZE_THREAD__)
  /* Under ThreadSanitizer libbacktrace (not instrumented, synchronised by
   * its own atomics) reads as racing through the intercepted calls, and its
   * first read of the debug information takes seconds: dladdr only. */
  return;
#endif
  state = backtrace_create_state(NULL, 1, on_error, NULL);
  if (state)
    __atomic_store_n(&nh__symbolizer, symbolize, __ATOMIC_RELEASE);
}

void nh__symbolize_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_once);
}

/* ---- the crash handler's backtrace ---- */

typedef struct crash_walk {
  int frames;
} crash_walk;

static void write_all(const char *s, size_t n) {
  while (n) {
    ssize_t w = write(2, s, n);
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

static int on_crash_frame(void *data, uintptr_t pc, const char *file, int line, const char *fn) {
  crash_walk *w = data;
  if (pc == (uintptr_t)-1) /* the unwinder's end marker */
    return 1;
  if (w->frames++ >= 32)
    return 1;
  lookup l = {0};
  if (!fn)
    backtrace_syminfo(state, pc, on_sym, on_error, &l);
  char out[320];
  int n;
  if (fn || l.sym)
    n = snprintf(out, sizeof out, "  %s", fn ? fn : l.sym);
  else
    n = snprintf(out, sizeof out, "  %p", (void *)pc);
  if (file && line > 0 && n > 0 && (size_t)n < sizeof out)
    n += snprintf(out + n, sizeof out - (size_t)n, " (%s:%d)", base_name(file), line);
  if (n > 0 && (size_t)n < sizeof out - 1) {
    out[n++] = '\n';
    write_all(out, (size_t)n);
  }
  return 0;
}

void nh__crash_backtrace(void) {
  if (!state) {
    static const char note[] = "nethttp: no backtrace (symbolizer not started)\n";
    write_all(note, sizeof note - 1);
    return;
  }
  static const char head[] = "nethttp: backtrace of the faulting thread, innermost first:\n";
  write_all(head, sizeof head - 1);
  crash_walk w = {0};
  backtrace_full(state, 1, on_crash_frame, on_error, &w);
}
