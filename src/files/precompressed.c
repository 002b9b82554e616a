/* Precompressed siblings (nginx's gzip_static, for br and zstd too): for
 * "x.js", "x.js.br", "x.js.zst" or "x.js.gz" made ahead of time at the
 * highest levels, chosen by the request's Accept-Encoding. */
#include "files_internal.h"
#include "util/accept_encoding.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* For files made ahead of time at the top levels, br is usually the
 * smallest, then zstd, then gzip: a tie in the request's weights goes in
 * this order. */
static const nh__coding order[] = {NH__CODING_BR, NH__CODING_ZSTD, NH__CODING_GZIP};

int nh__open_sibling(int rootfd, const char *root, nh_request *r, const char *name,
                     time_t mtime, struct stat *st, int *coding) {
  nh__accept_enc a;
  nh__accept_enc_from(&a, nh_request_header(r));
  if (!a.present)
    return -1;
  /* The accepted codings, best weight first (the order above in a tie). */
  nh__coding cand[3];
  int q[3], n = 0;
  for (int i = 0; i < 3; i++) {
    int w = nh__accept_enc_weight(&a, order[i]);
    if (w <= 0 || (a.q[NH__CODING_IDENTITY] > w))
      continue;
    int k = n++;
    while (k > 0 && q[k - 1] < w) {
      cand[k] = cand[k - 1];
      q[k] = q[k - 1];
      k--;
    }
    cand[k] = order[i];
    q[k] = w;
  }
  for (int i = 0; i < n; i++) {
    char rel[4096];
    if (snprintf(rel, sizeof rel, "%s%s", name + 1, nh__coding_suffix(cand[i])) >= (int)sizeof rel)
      return -1;
    int fd = nh__open_beneath(rootfd, root, rel);
    if (fd < 0)
      continue; /* absent, or a symlink out of the root */
    /* A directory is not a sibling, nor is one older than the original:
     * left behind by an edit of the original, it would serve old bytes. */
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_mtime < mtime) {
      close(fd);
      continue;
    }
    *coding = cand[i];
    return fd;
  }
  return -1;
}
