/* UTF-8 validation (RFC 3629), incremental: a text message is checked as
 * its bytes arrive, so a bad byte fails the connection at once (RFC 6455
 * §8.1), even mid-message, while a code point split between fragments or
 * reads is carried over in the state.
 *
 * States: 0 between code points, NH__UTF8_BAD, or what the next byte must
 * be: a continuation (2, 3 or 4 more to go, counting it) or, right after
 * E0, ED, F0 and F4, a narrower range that rules out overlong forms,
 * surrogates and code points past U+10FFFF. */
#include "websocket/ws_internal.h"

#include <string.h>

enum {
  S_OK = 0,
  S_BAD = NH__UTF8_BAD,
  S_C1 = 2,   /* one continuation byte to go */
  S_C2 = 3,   /* two */
  S_C3 = 4,   /* three */
  S_E0 = 5,   /* A0..BF, then one */
  S_ED = 6,   /* 80..9F, then one */
  S_F0 = 7,   /* 90..BF, then two */
  S_F4 = 8,   /* 80..8F, then two */
};

static uint32_t lead(uint8_t b) {
  if (b < 0x80)
    return S_OK;
  if (b < 0xC2)
    return S_BAD; /* a continuation, or C0/C1 (overlong) */
  if (b < 0xE0)
    return S_C1;
  if (b == 0xE0)
    return S_E0;
  if (b == 0xED)
    return S_ED;
  if (b < 0xF0)
    return S_C2;
  if (b == 0xF0)
    return S_F0;
  if (b < 0xF4)
    return S_C3;
  if (b == 0xF4)
    return S_F4;
  return S_BAD;
}

uint32_t nh__utf8_step(uint32_t s, const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
  while (p < end) {
    if (s == S_OK) {
      /* ASCII runs 8 bytes at a time. */
      while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (w & 0x8080808080808080ull)
          break;
        p += 8;
      }
      if (p == end)
        break;
      s = lead(*p++);
      if (s == S_BAD)
        return S_BAD;
      continue;
    }
    uint8_t b = *p++;
    switch (s) {
    case S_C1:
    case S_C2:
    case S_C3:
      if ((b & 0xC0) != 0x80)
        return S_BAD;
      s = s == S_C1 ? S_OK : s - 1;
      break;
    case S_E0:
      if (b < 0xA0 || b > 0xBF)
        return S_BAD;
      s = S_C1;
      break;
    case S_ED:
      if (b < 0x80 || b > 0x9F)
        return S_BAD;
      s = S_C1;
      break;
    case S_F0:
      if (b < 0x90 || b > 0xBF)
        return S_BAD;
      s = S_C2;
      break;
    case S_F4:
      if (b < 0x80 || b > 0x8F)
        return S_BAD;
      s = S_C2;
      break;
    default:
      return S_BAD;
    }
  }
  return s;
}

int nh__utf8_valid(const void *p, size_t n) { return nh__utf8_step(0, p, n) == S_OK; }
