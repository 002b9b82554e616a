/* URL paths to file names: percent-decoding that refuses what could change
 * which file is meant, and Go's path.Clean. */
#include "files_internal.h"
#include "util/url_internal.h"

#include <string.h>

int nh__path_unescape(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (const char *p = in; *p; p++) {
    char c = *p;
    if (c == '%') {
      int hi = nh__hexval(p[1]), lo = hi < 0 ? -1 : nh__hexval(p[2]);
      if (lo < 0)
        return -1;
      c = (char)(hi * 16 + lo);
      p += 2;
      /* An encoded slash would join two segments into one name on disk
       * while the client meant one segment: refuse it. */
      if (c == '/')
        return -1;
    }
    if (c == 0 || n + 1 >= cap)
      return -1;
    out[n++] = c;
  }
  out[n] = 0;
  return 0;
}

int nh__has_dotdot(const char *path) {
  for (const char *seg = path; seg;) {
    const char *next = strchr(seg, '/');
    size_t len = next ? (size_t)(next - seg) : strlen(seg);
    if (len == 2 && seg[0] == '.' && seg[1] == '.')
      return 1;
    seg = next ? next + 1 : NULL;
  }
  return 0;
}

void nh__path_clean(char *path) {
  /* Rooted: out always starts with '/'; r reads, w writes. */
  size_t n = strlen(path), r = 0, w = 1;
  char *out = path;
  if (n == 0 || path[0] != '/') { /* make it rooted (caller leaves room) */
    memmove(path + 1, path, n + 1);
    path[0] = '/';
    n++;
  }
  r = 1;
  while (r < n) {
    if (path[r] == '/') {
      r++;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      r++;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (w > 1) { /* back up to the previous slash */
        w--;
        while (w > 1 && out[w - 1] != '/')
          w--;
        if (w > 1)
          w--;
      }
    } else {
      if (w > 1)
        out[w++] = '/';
      while (r < n && path[r] != '/')
        out[w++] = path[r++];
    }
  }
  out[w] = 0;
  if (w == 1)
    out[0] = '/';
}
