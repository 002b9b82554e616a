/* Base64 (RFC 4648) with Go's encoding/base64 decoding rules: CR and LF
 * are skipped, padding is required exactly for the padded kinds, and
 * anything else out of the alphabet is an error. */
#include "nethttp/base64.h"

#include "nethttp/errors.h"

#include <stdint.h>

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int is_url(nh_base64_kind k) { return k == NH_BASE64_URL || k == NH_BASE64_RAW_URL; }
static int is_padded(nh_base64_kind k) { return k == NH_BASE64_STD || k == NH_BASE64_URL; }

size_t nh_base64_encoded_len(nh_base64_kind kind, size_t n) {
  return is_padded(kind) ? (n + 2) / 3 * 4 : (n * 8 + 5) / 6;
}

size_t nh_base64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

long nh_base64_encode(nh_base64_kind kind, const void *src, size_t n, char *out, size_t cap) {
  const unsigned char *s = src;
  const char *a = is_url(kind) ? url_alpha : std_alpha;
  size_t need = nh_base64_encoded_len(kind, n);
  if (need + 1 > cap)
    return NH_ERANGE;
  size_t j = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    out[j++] = a[v >> 18 & 63];
    out[j++] = a[v >> 12 & 63];
    out[j++] = a[v >> 6 & 63];
    out[j++] = a[v & 63];
  }
  size_t rem = n - i;
  if (rem) {
    uint32_t v = (uint32_t)s[i] << 16 | (rem == 2 ? (uint32_t)s[i + 1] << 8 : 0);
    out[j++] = a[v >> 18 & 63];
    out[j++] = a[v >> 12 & 63];
    if (rem == 2)
      out[j++] = a[v >> 6 & 63];
    if (is_padded(kind)) {
      if (rem == 1)
        out[j++] = '=';
      out[j++] = '=';
    }
  }
  out[j] = 0;
  return (long)j;
}

static int sextet(nh_base64_kind kind, unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (is_url(kind))
    return c == '-' ? 62 : c == '_' ? 63 : -1;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long nh_base64_decode(nh_base64_kind kind, const char *src, size_t n, void *out, size_t cap) {
  unsigned char *o = out;
  size_t j = 0;
  uint32_t acc = 0;
  int nq = 0;  /* sextets in the current quantum */
  int pad = 0; /* '=' seen */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == '\r' || c == '\n')
      continue;
    if (c == '=') {
      /* Padding only after 2 or 3 sextets, only in padded kinds. */
      if (!is_padded(kind) || (nq < 2 && !pad))
        return NH_EINVAL;
      pad++;
      if (nq + pad > 4)
        return NH_EINVAL;
      continue;
    }
    if (pad)
      return NH_EINVAL; /* data after padding */
    int v = sextet(kind, c);
    if (v < 0)
      return NH_EINVAL;
    acc = acc << 6 | (uint32_t)v;
    if (++nq == 4) {
      if (j + 3 > cap)
        return NH_ERANGE;
      o[j++] = (unsigned char)(acc >> 16);
      o[j++] = (unsigned char)(acc >> 8);
      o[j++] = (unsigned char)acc;
      acc = 0;
      nq = 0;
    }
  }
  if (nq == 1)
    return NH_EINVAL;
  if (nq) {
    if (is_padded(kind) && nq + pad != 4)
      return NH_EINVAL;
    size_t bytes = (size_t)nq - 1;
    if (j + bytes > cap)
      return NH_ERANGE;
    acc <<= 6 * (4 - nq);
    o[j++] = (unsigned char)(acc >> 16);
    if (bytes == 2)
      o[j++] = (unsigned char)(acc >> 8);
  } else if (pad) {
    return NH_EINVAL;
  }
  return (long)j;
}
