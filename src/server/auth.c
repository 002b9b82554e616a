/* HTTP Basic authentication (RFC 7617), as Go's Request.BasicAuth reads it
 * and SetBasicAuth writes it. */
#include "nethttp/base64.h"
#include "nethttp/cookie.h"
#include "nethttp/errors.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int nh_request_basic_auth(nh_request *r, const char **user, const char **pass) {
  const char *auth = nh_header_get(nh_request_header(r), "Authorization");
  /* "Basic " matched case-insensitively (RFC 7617 2.1; Go issue 22736). */
  if (!auth || strncasecmp(auth, "Basic ", 6) != 0)
    return NH_ENOENT;
  const char *b64 = auth + 6;
  size_t n = strlen(b64);
  char *dec = nh_request_alloc(r, nh_base64_decoded_max(n) + 1);
  if (!dec)
    return NH_ENOMEM;
  long len = nh_base64_decode(NH_BASE64_STD, b64, n, dec, nh_base64_decoded_max(n));
  if (len < 0)
    return NH_ENOENT;
  dec[len] = 0;
  /* A NUL byte would silently cut the C strings: refuse it. */
  if (memchr(dec, 0, (size_t)len))
    return NH_ENOENT;
  char *colon = strchr(dec, ':');
  if (!colon)
    return NH_ENOENT;
  *colon = 0;
  if (user)
    *user = dec;
  if (pass)
    *pass = colon + 1;
  return 0;
}

int nh_basic_auth_header(const char *user, const char *pass, char *out, size_t cap) {
  size_t ul = strlen(user), pl = strlen(pass);
  char stackbuf[256];
  char *cred = ul + pl + 1 <= sizeof stackbuf ? stackbuf : malloc(ul + pl + 1);
  if (!cred)
    return NH_ENOMEM;
  memcpy(cred, user, ul);
  cred[ul] = ':';
  memcpy(cred + ul + 1, pass, pl);
  int ret;
  if (cap < 7) {
    ret = NH_ERANGE;
  } else {
    memcpy(out, "Basic ", 6);
    long n = nh_base64_encode(NH_BASE64_STD, cred, ul + pl + 1, out + 6, cap - 6);
    ret = n < 0 ? (int)n : (int)n + 6;
  }
  if (cred != stackbuf)
    free(cred);
  return ret;
}
