/* Header-name canonicalization and validity checks, by table lookup so the
 * request parser can run them on every header byte cheaply. */
#include "nethttp/textproto.h"
#include "util/textproto_internal.h"

#include <stdint.h>
#include <string.h>

/* RFC 9110 tchar; every byte >= 0x80 is 0. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
    ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,  ['|'] = 1,
    ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,  ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,  ['C'] = 1,
    ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,  ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,  ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,  ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,  ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,  ['z'] = 1,
};

void nh_canonical_header_key(char *key, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!tchar[(uint8_t)key[i]])
      return; /* not a token: leave it as it came */
  nh__token_canonical_copy(key, key, len);
}

/* Of token bytes, only letters land in a-z when OR-ed with 0x20, and OR-ing
 * 0x20 turns nothing else into a letter or '-': both helpers below rest on
 * that. */
void nh__token_canonical_copy(char *dst, const char *src, size_t len) {
  int upper = 1;
  for (size_t i = 0; i < len; i++) {
    char c = src[i];
    if ((unsigned)((c | 0x20) - 'a') < 26)
      c = upper ? (char)(c & ~0x20) : (char)(c | 0x20);
    dst[i] = c;
    upper = c == '-';
  }
}

static uint64_t load8(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

int nh__token_is(const char *name, size_t len, const char *lower, size_t lower_len) {
  if (len != lower_len)
    return 0;
  /* Eight bytes at a time (the last eight may overlap the ones before). */
  const uint64_t fold = 0x2020202020202020u;
  if (len >= 8) {
    for (size_t i = 0; i + 8 < len; i += 8)
      if ((load8(name + i) | fold) != load8(lower + i))
        return 0;
    return (load8(name + len - 8) | fold) == load8(lower + len - 8);
  }
  for (size_t i = 0; i < len; i++)
    if ((name[i] | 0x20) != lower[i])
      return 0;
  return 1;
}

int nh_valid_header_name(const char *s, size_t len) {
  if (len == 0)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!tchar[(uint8_t)s[i]])
      return 0;
  return 1;
}

static const uint8_t host_byte[256] = {
    ['!'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1,
    ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, [':'] = 1, [';'] = 1, ['='] = 1, ['['] = 1,
    [']'] = 1, ['_'] = 1, ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

int nh__valid_host(const char *host, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!host_byte[(uint8_t)host[i]])
      return 0;
  return 1;
}

/* Bytes a header value must not hold: controls but HTAB, and DEL. A table,
 * as for names: one load per byte instead of three compares. */
static const uint8_t value_ctl[256] = {[0 ... 8] = 1, [10 ... 31] = 1, [127] = 1};

int nh_valid_header_value(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (value_ctl[(uint8_t)s[i]])
      return 0;
  return 1;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }
static int lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Go's tokenEqual: same length, ASCII only, case-insensitive. */
static int token_eq(const char *a, size_t alen, const char *tok, size_t tlen) {
  if (alen != tlen)
    return 0;
  for (size_t i = 0; i < alen; i++) {
    uint8_t c = (uint8_t)a[i];
    if (c >= 0x80 || lower(c) != lower((uint8_t)tok[i]))
      return 0;
  }
  return 1;
}

int nh_token_list_has(const char *list, const char *token) {
  if (!list || !token)
    return 0;
  size_t tlen = strlen(token);
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    const char *end = comma ? comma : p + strlen(p);
    const char *b = p, *e = end;
    while (b < e && is_ows(*b))
      b++;
    while (e > b && is_ows(e[-1]))
      e--;
    if (token_eq(b, (size_t)(e - b), token, tlen))
      return 1;
    if (!comma)
      return 0;
    p = comma + 1;
  }
}

int nh__token_check_canonical(char *s, size_t len) {
  if (len == 0)
    return 0;
  int upper = 1;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    if (!tchar[c])
      return 0;
    if ((unsigned)((c | 0x20) - 'a') < 26)
      c = upper ? (uint8_t)(c & ~0x20) : (uint8_t)(c | 0x20);
    s[i] = (char)c;
    upper = c == '-';
  }
  return 1;
}
