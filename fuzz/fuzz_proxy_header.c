/* Fuzz target: PROXY protocol headers (v1 lines, v2 blocks with TLVs) come
 * from the network before anything else. Parsing must never crash or read
 * past its input; a header found must fit the input and the caps, parse
 * the same from exactly its own bytes, and every shorter prefix of it must
 * ask for more (the server peeks until it is whole). */
#include <stdlib.h>
#include <string.h>

#include "server/proxy_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A copy of exactly size bytes: ASan catches a read past the end. */
  uint8_t *b = malloc(size ? size : 1);
  memcpy(b, data, size);
  nh__proxy_hdr h;
  const char *why = NULL;
  int len = nh__proxy_parse(b, size, &h, &why);
  if (len < 0 && !why)
    abort();
  if (len > 0) {
    if ((size_t)len > size || len > NH__PROXY_MAX || (h.version == 1 && len > NH__PROXY_V1_MAX))
      abort();
    nh__proxy_hdr again;
    if (nh__proxy_parse(b, (size_t)len, &again, &why) != len)
      abort();
    size_t cuts[] = {0, 1, 6, 12, 15, 16, (size_t)len / 2, (size_t)len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
      if (cuts[i] < (size_t)len && nh__proxy_parse(b, cuts[i], &again, &why) != 0)
        abort();
    if (h.tlvs && (h.tlvs < b || h.tlvs + h.tlvs_len > b + len))
      abort();
    for (unsigned t = 0; t < 256 && h.tlvs; t++) {
      const uint8_t *v;
      size_t vlen;
      if (nh__proxy_tlv_find(h.tlvs, h.tlvs_len, (uint8_t)t, &v, &vlen) &&
          (v < h.tlvs || v + vlen > h.tlvs + h.tlvs_len))
        abort();
    }
  }
  free(b);
  return 0;
}
