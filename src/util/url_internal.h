/* Percent-encoding shared by url.c, values.c and the cookie code. */
#ifndef NH_UTIL_URL_INTERNAL_H
#define NH_UTIL_URL_INTERNAL_H

#include <stddef.h>

#include "util/dynbuf.h"

/* The value of a hex digit, or -1: one copy for every percent-decoder. */
static inline int nh__hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Go's path.Clean of a rooted path ("/" is prepended if missing), keeping
 * one trailing slash if path had one (the mux's cleanPath). out needs
 * strlen(path) + 2 bytes. */
void nh__clean_path(const char *path, char *out);

/* Go's url.encoding modes: what shouldEscape and unescape do depends on the
 * URL component. */
typedef enum nh__enc {
  NH__ENC_PATH = 1,
  NH__ENC_PATH_SEGMENT,
  NH__ENC_HOST,
  NH__ENC_ZONE,
  NH__ENC_USER_PASSWORD,
  NH__ENC_QUERY_COMPONENT,
  NH__ENC_FRAGMENT,
} nh__enc;

/* nh_url_request_uri appended to b (b's error is set if an append failed). */
struct nh_url;
void nh__url_put_request_uri(nh__dynbuf *b, const struct nh_url *u);

int nh__should_escape(unsigned char c, nh__enc mode);
/* Append s[0..n) escaped for mode. */
void nh__escape_into(nh__dynbuf *b, const char *s, size_t n, nh__enc mode);
/* Decode s[0..n) for mode: 0 with *out malloc'd (+ *outlen), NH_EINVAL,
 * NH_ENOMEM. */
int nh__unescape(const char *s, size_t n, nh__enc mode, char **out, size_t *outlen);

/* Shared empty lists, returned instead of NULL when memory runs out. */
struct nh_values;
struct nh_cookies;
const struct nh_values *nh__values_empty(void);
const struct nh_cookies *nh__cookies_empty(void);

#endif
