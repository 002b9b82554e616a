/* HTTP Basic authentication (RFC 7617) on a request, as Go's
 * Request.BasicAuth reads it. Writing the credentials is util's
 * (src/util/basic_auth.c): the client does it too. */
#include "nethttp/base64.h"
#include "nethttp/errors.h"
#include "nethttp/server_cookie.h"

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
