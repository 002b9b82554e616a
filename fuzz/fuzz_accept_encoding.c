/* Fuzz target: Accept-Encoding (every request may carry one). Parsing never
 * crashes, every weight stays in 0..1000, and the choice is always a coding
 * the server offered, or identity, with a weight above 0 unless identity. */
#include <stdint.h>
#include <stdlib.h>

#include "util/accept_encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nh__accept_enc a;
  nh__accept_enc_init(&a);
  /* A NUL splits the input into field lines, as several would come. */
  size_t s = 0;
  for (size_t i = 0; i <= size; i++)
    if (i == size || data[i] == 0) {
      nh__accept_enc_parse(&a, (const char *)data + s, i - s);
      s = i + 1;
    }
  for (int c = 0; c < NH__CODING_COUNT; c++) {
    int q = nh__accept_enc_weight(&a, (nh__coding)c);
    if (q < 0 || q > 1000 || a.q[c] < -1 || a.q[c] > 1000)
      abort();
  }
  if (a.star < -1 || a.star > 1000)
    abort();
  static const nh__coding prefs[] = {NH__CODING_ZSTD, NH__CODING_BR, NH__CODING_GZIP};
  nh__coding got = nh__accept_enc_choose(&a, prefs, 3);
  if (got != NH__CODING_IDENTITY && nh__accept_enc_weight(&a, got) <= 0)
    abort();
  if ((unsigned)got >= NH__CODING_COUNT)
    abort();
  got = nh__accept_enc_choose(&a, prefs + 2, 1);
  if (got != NH__CODING_IDENTITY && got != NH__CODING_GZIP)
    abort();
  return 0;
}
