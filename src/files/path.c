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

