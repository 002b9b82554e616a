/* Fuzz target: HTTP dates (If-Modified-Since and friends come from
 * clients). Parsing must never crash, and whatever parses must format to an
 * IMF-fixdate that parses back to the same second. */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;
  int64_t t;
  if (nh_http_date_parse(s, &t) == NH_OK) {
    char buf[30];
    if (nh_http_date_format(t, buf) != NH_HTTP_DATE_LEN || strlen(buf) != NH_HTTP_DATE_LEN)
      abort();
    int64_t back;
    if (nh_http_date_parse(buf, &back) != NH_OK || back != t)
      abort();
  }
  free(s);
  return 0;
}
