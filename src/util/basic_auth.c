/* The credentials of HTTP Basic authentication (RFC 7617 section 2), as
 * Go's SetBasicAuth writes them: "Basic " and base64(user ":" pass). The
 * client sends them; the server reads them (src/server/auth.c). */
#include "nethttp/base64.h"
#include "nethttp/cookie.h"
#include "nethttp/errors.h"

#include <stdlib.h>
#include <string.h>

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
