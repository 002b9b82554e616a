/* Fuzz target: Content-Type sniffing runs on every response body a handler
 * writes without a type. It must never read past the data or its first
 * NH_SNIFF_LEN bytes, and always name some type. */
#include <nethttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy, so ASan sees any read beyond the end. */
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  const char *ct = nh_detect_content_type(copy, size);
  if (!ct || !*ct)
    abort();
  /* Only the first NH_SNIFF_LEN bytes may matter. */
  if (size > NH_SNIFF_LEN && strcmp(nh_detect_content_type(copy, NH_SNIFF_LEN), ct) != 0)
    abort();
  free(copy);
  return 0;
}
