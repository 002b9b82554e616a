/* Header names and values (provisional). */
#include "nethttp/textproto.h"
#include <ctype.h>
#include <string.h>
#include <strings.h>
static int tchar(unsigned char c) {
  return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}
int nh_valid_header_name(const char *s, size_t len) {
  if (!len) return 0;
  for (size_t i = 0; i < len; i++) if (!tchar((unsigned char)s[i])) return 0;
  return 1;
}
int nh_valid_header_value(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
  }
  return 1;
}
void nh_canonical_header_key(char *k, size_t len) {
  if (!nh_valid_header_name(k, len)) return;
  int up = 1;
  for (size_t i = 0; i < len; i++) {
    k[i] = up ? (char)toupper((unsigned char)k[i]) : (char)tolower((unsigned char)k[i]);
    up = k[i] == '-';
  }
}
int nh_token_list_has(const char *list, const char *token) {
  size_t n = strlen(token);
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    size_t l = strcspn(p, ",");
    size_t t = l;
    while (t && (p[t - 1] == ' ' || p[t - 1] == '\t')) t--;
    if (t == n && !strncasecmp(p, token, n)) return 1;
    p += l;
  }
  return 0;
}
