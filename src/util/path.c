/* URL path cleaning, shared by the mux and the file server. */
#include "url_internal.h"

#include <string.h>

/* Go's path.Clean for a rooted path, then cleanPath's trailing slash. */
void nh__clean_path(const char *path, char *out) {
  size_t n = strlen(path), w = 1, r = 0;
  out[0] = '/';
  while (r < n) {
    if (path[r] == '/') {
      r++;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      r++;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (w > 1) {
        w--;
        while (w > 1 && out[w] != '/')
          w--;
      }
    } else {
      if (w != 1)
        out[w++] = '/';
      for (; r < n && path[r] != '/'; r++)
        out[w++] = path[r];
    }
  }
  if (n && path[n - 1] == '/' && w != 1)
    out[w++] = '/';
  out[w] = 0;
}
