/* Fuzz target: Redirect's URL resolution. The URL often carries request
 * input (a path, a "next" parameter), so resolving it must never crash.
 * Input: the request path, a newline, the URL. A resolved URL (rooted, no
 * "//" authority) must come out clean: no "." or ".." segment left. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/reply.h"

static int has_dot_segment(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != '/')
      continue;
    size_t seg = i + 1, end = seg;
    while (end < n && p[end] != '/')
      end++;
    if ((end - seg == 1 && p[seg] == '.') || (end - seg == 2 && p[seg] == '.' && p[seg + 1] == '.'))
      return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 2);
  s[0] = '/';
  memcpy(s + 1, data, size);
  s[size + 1] = 0;
  char *nl = strchr(s, '\n');
  const char *url = "";
  if (nl) {
    *nl = 0;
    url = nl + 1;
  }
  char *out = nh__redirect_resolve(s, url);
  if (!out)
    abort();
  /* A plain relative path (letters, digits, dots, slashes only) is always
   * resolved; it must come out rooted and clean. */
  int simple = url[0] != '/';
  for (const char *p = url; *p && simple; p++)
    simple = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '/';
  if (simple && (out[0] != '/' || has_dot_segment(out, strcspn(out, "?"))))
    abort();
  free(out);
  free(s);
  return 0;
}
