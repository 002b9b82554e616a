/* Helpers of the pprof tests: run `go tool pprof` on a profile file and
 * keep what it printed. */
#ifndef NH_TESTS_DEBUG_PPROF_SUPPORT_H
#define NH_TESTS_DEBUG_PPROF_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 if `go` is on the PATH. */
static inline int have_go(void) { return system("command -v go >/dev/null 2>&1") == 0; }

/* Writes n bytes to a new temporary file; its path goes in path[64]. */
static inline int write_temp(const void *p, size_t n, char path[64]) {
  snprintf(path, 64, "/tmp/nh-pprof-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0)
    return -1;
  const char *s = p;
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    s += w;
    n -= (size_t)w;
  }
  close(fd);
  return 0;
}

/* `go tool pprof <args> <file>`: its output (malloc'd, NUL-terminated) and
 * exit status in *status. Bounded by timeout(1): a hang fails the case. The
 * go cache and pprof's own files go to a temporary home. */
static inline char *go_pprof(const char *args, const char *file, int *status) {
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "HOME=/tmp GOCACHE=/tmp/nh-pprof-gocache PPROF_TMPDIR=/tmp timeout 120 "
           "go tool pprof %s %s 2>&1",
           args, file);
  FILE *f = popen(cmd, "r");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  size_t n;
  while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 4096)
      out = realloc(out, cap *= 2);
  }
  out[len] = 0;
  *status = pclose(f);
  return out;
}

#endif
