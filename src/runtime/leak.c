/* Leak check for tests: fibers, timers and descriptors left behind.
 *
 * The baseline remembers which fibers were alive, how many timers were
 * armed and which descriptors were open. The check polls until the runtime
 * is back to that state or the grace period ends, then names each leftover:
 * fibers with their dump entry, descriptors with what they point to. */
#include "internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct nh_leak_baseline {
  nh_runtime *rt;
  uint64_t *fibers;
  size_t nfibers;
  int64_t timers;
  int *fds;
  size_t nfds;
};

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Open descriptors, sorted, without the one used to list them. */
static int *list_fds(size_t *n) {
  *n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return NULL;
  int self = dirfd(d);
  size_t cap = 64;
  int *fds = malloc(cap * sizeof *fds);
  struct dirent *e;
  while (fds && (e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    int fd = atoi(e->d_name);
    if (fd == self)
      continue;
    if (*n == cap) {
      int *grown = realloc(fds, (cap *= 2) * sizeof *fds);
      if (!grown)
        break;
      fds = grown;
    }
    fds[(*n)++] = fd;
  }
  closedir(d);
  if (fds)
    qsort(fds, *n, sizeof *fds, cmp_int);
  return fds;
}

static int has_fd(const nh_leak_baseline *b, int fd) {
  return b->fds && bsearch(&fd, b->fds, b->nfds, sizeof fd, cmp_int) != NULL;
}

static int has_fiber(const nh_leak_baseline *b, uint64_t id) {
  for (size_t i = 0; i < b->nfibers; i++)
    if (b->fibers[i] == id)
      return 1;
  return 0;
}

nh_leak_baseline *nh_leak_baseline_take(nh_runtime *rt) {
  nh_leak_baseline *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->rt = rt ? rt : nh_runtime_current();
  if (b->rt) {
    nh_fiber_info *items;
    size_t n;
    nh_fiber_dump(b->rt, &items, &n);
    b->fibers = malloc((n ? n : 1) * sizeof *b->fibers);
    for (size_t i = 0; b->fibers && i < n; i++)
      b->fibers[b->nfibers++] = items[i].id;
    free(items);
    b->timers = NH__LOOPS_SUM(b->rt, timers_armed);
  }
  b->fds = list_fds(&b->nfds);
  return b;
}

static void free_baseline(nh_leak_baseline *b) {
  free(b->fibers);
  free(b->fds);
  free(b);
}

/* Quick test: 1 when everything is back to the baseline. */
static int settled(const nh_leak_baseline *b) {
  if (b->rt) {
    if (NH__LOOPS_SUM(b->rt, fibers_live) > (int64_t)b->nfibers)
      return 0;
    if (NH__LOOPS_SUM(b->rt, timers_armed) > b->timers)
      return 0;
  }
  size_t n;
  int *fds = list_fds(&n);
  int ok = 1;
  for (size_t i = 0; fds && i < n && ok; i++)
    ok = has_fd(b, fds[i]);
  free(fds);
  return ok;
}

int nh_leak_check(nh_leak_baseline *b, nh_dur grace, FILE *report) {
  if (!b)
    return NH_EINVAL;
  if (!report)
    report = stderr;
  nh_time deadline = nh_deadline_after(grace);
  while (!settled(b) && nh_now() < deadline)
    nh_sleep(5 * NH_MSEC);
  if (settled(b)) {
    free_baseline(b);
    return NH_OK;
  }

  fprintf(report, "leak check: the runtime did not return to its baseline\n");
  if (b->rt) {
    nh_fiber_info *items;
    size_t n;
    nh_fiber_dump(b->rt, &items, &n);
    for (size_t i = 0; i < n; i++) {
      nh_fiber_info *it = &items[i];
      if (has_fiber(b, it->id))
        continue;
      char d[32];
      nh_dur_format(it->waiting, d, sizeof d);
      fprintf(report, "  leaked fiber %llu [%s, %s] loop %d \"%s\" started at %s\n",
              (unsigned long long)it->id, it->state, d, it->loop, it->label, it->entry);
      for (int k = 0; k < it->nframes && k < 6; k++) {
        char name[160];
        nh_frame_name(it->frames[k], name, sizeof name);
        fprintf(report, "      %s\n", name);
      }
    }
    free(items);
    int64_t t = NH__LOOPS_SUM(b->rt, timers_armed);
    if (t > b->timers)
      fprintf(report, "  %lld timer(s) armed beyond the baseline\n", (long long)(t - b->timers));
  }
  size_t n;
  int *fds = list_fds(&n);
  for (size_t i = 0; fds && i < n; i++) {
    if (has_fd(b, fds[i]))
      continue;
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
    ssize_t len = readlink(path, target, sizeof target - 1);
    target[len > 0 ? len : 0] = 0;
    fprintf(report, "  leaked descriptor %d -> %s\n", fds[i], target);
  }
  free(fds);
  fflush(report);
  free_baseline(b);
  return NH_EBUSY;
}
