/* Fuzz target: query strings and form bodies. Parsing never crashes, keeps
 * the well-formed pairs, and what it keeps encodes to a query that parses
 * back to the same pairs (sorted by key). */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nh_values *v = nh_values_new();
  if (!v)
    return 0;
  int err = nh_values_parse_query_n(v, (const char *)data, size);
  if (err != 0 && err != NH_EBADFORM)
    abort();
  char *enc = nh_values_encode(v);
  if (!enc)
    abort();
  nh_values *back = nh_values_new();
  if (nh_values_parse_query(back, enc) != 0 || nh_values_len(back) != nh_values_len(v))
    abort();
  char *enc2 = nh_values_encode(back);
  if (!enc2 || strcmp(enc, enc2) != 0)
    abort();
  /* Every key read back has its first value. */
  for (size_t i = 0; i < nh_values_len(v); i++) {
    const char *k, *val;
    size_t klen;
    nh_values_at_n(v, i, &k, &klen, &val, NULL);
    if (strlen(k) == klen && !nh_values_get(back, k))
      abort();
  }
  free(enc);
  free(enc2);
  nh_values_free(back);
  nh_values_free(v);
  return 0;
}
