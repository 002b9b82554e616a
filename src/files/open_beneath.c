/* Opening a file so that it can never lie outside a root directory.
 *
 * openat2(RESOLVE_BENEATH) makes the kernel refuse any resolution that
 * leaves the root, symlinks included, with no window for races. What it
 * refuses (EXDEV: an absolute symlink, or one leading out) gets a second
 * look with realpath, so an absolute symlink to a file inside the root
 * still works; where openat2 does not exist, every name takes that path. */
#include "files_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* O_NONBLOCK: opening a FIFO must not park the loop; such files are
 * refused after fstat anyway. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static atomic_int no_openat2;

static int open_checked(const char *root, const char *rel) {
  size_t rlen = strlen(root);
  char full[PATH_MAX], real[PATH_MAX];
  if (snprintf(full, sizeof full, "%s/%s", root, rel) >= (int)sizeof full)
    return -ENAMETOOLONG;
  if (!realpath(full, real))
    return -errno;
  if (rlen == 1) /* the root is "/": everything is under it */
    rlen = 0;
  if (strncmp(real, root, rlen) != 0 || (real[rlen] != '/' && real[rlen] != 0))
    return -ENOENT; /* outside the root: as if absent */
  /* O_NOFOLLOW: a symlink swapped in for the last name since realpath is
   * not followed. */
  int fd = open(real, OPEN_FLAGS | O_NOFOLLOW);
  return fd >= 0 ? fd : -errno;
}

int nh__open_beneath(int rootfd, const char *root, const char *rel) {
  if (!*rel)
    rel = ".";
  if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
#ifdef SYS_openat2
    struct open_how how = {.flags = OPEN_FLAGS,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (fd >= 0)
      return fd;
    if (errno != ENOSYS && errno != EXDEV)
      return -errno;
    if (errno == ENOSYS)
      atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
#else
    atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
#endif
  }
  return open_checked(root, rel);
}
