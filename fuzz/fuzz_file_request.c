/* Fuzz target: what the file server reads from a request, the URL path and
 * the Range header. First byte: the body size (0..255, then scaled); the
 * rest, up to a newline, is a path, and after it a Range value. Nothing may
 * crash, parsed ranges must lie inside the body, and a path that decodes
 * without ".." must clean to a rooted path without "..", "." or "//". */
#include "files/files_internal.h"
#include "util/url_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int64_t body = (int64_t)data[0] * 97;
  char *s = malloc(size);
  memcpy(s, data + 1, size - 1);
  s[size - 1] = 0;
  char *nl = strchr(s, '\n');
  const char *range = nl ? nl + 1 : "";
  if (nl)
    *nl = 0;

  nh__byte_range rs[NH_FILE_MAX_RANGES];
  int n = -1;
  int rc = nh__parse_range(range, body, rs, NH_FILE_MAX_RANGES, &n);
  if (n < 0 || n > NH_FILE_MAX_RANGES || (rc == NH__RANGE_OK) != (n > 0))
    abort();
  for (int i = 0; i < n; i++)
    if (rs[i].start < 0 || rs[i].length <= 0 || rs[i].start + rs[i].length > body)
      abort();

  size_t cap = strlen(s) + 2;
  char *out = malloc(cap);
  if (nh__path_unescape(s, out + 1, cap - 1) == 0 && !nh__has_dotdot(out + 1)) {
    out[0] = '/';
    char *clean = malloc(cap + 1);
    nh__clean_path(out, clean);
    size_t len = strlen(clean);
    if (len > 1 && clean[len - 1] == '/')
      clean[--len] = 0; /* as the file server does */
    if (clean[0] != '/' || strstr(clean, "//") || strstr(clean, "/./") || nh__has_dotdot(clean) ||
        (len >= 2 && !strcmp(clean + len - 2, "/.")))
      abort();
    free(clean);
  }
  free(out);
  free(s);
  return 0;
}
