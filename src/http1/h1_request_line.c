/* The request line (see h1_request_line.h). RFC 9112 3:
 *   request-line = method SP request-target SP HTTP-version
 * One SP each, no HTAB: a parser that accepted other whitespace could split
 * the line differently from a proxy in front of it. */
#include "h1_request_line.h"
#include "nethttp/textproto.h"

#include <string.h>

/* Bytes a request target must not hold: controls, SP and DEL. Bytes
 * >= 0x80 pass, as in Go's server (they are not framing). */
static const uint8_t target_bad[256] = {[0 ... 32] = 1, [127] = 1};

static int refuse(const char **reason, const char *why) {
  *reason = why;
  return 400;
}

/* A method token: up to the first byte that is not a token byte. */
static uint32_t method_end(const char *buf, uint32_t start, uint32_t end) {
  uint32_t i = start;
  while (i < end && nh_valid_header_name(buf + i, 1))
    i++;
  return i;
}

int nh__h1_request_line_prefix(const char *buf, uint32_t start, uint32_t end, const char **reason) {
  uint32_t m = method_end(buf, start, end);
  if (m < end && (m == start || buf[m] != ' '))
    return refuse(reason, "request line: method is not a token followed by one SP (RFC 9112 3)");
  return 0;
}

int nh__h1_request_line(const char *buf, uint32_t start, uint32_t lf, nh__h1_line *out,
                        const char **reason) {
  /* CRLF: a bare LF is refused here as it is after a field line. */
  if (lf == start || buf[lf - 1] != '\r')
    return refuse(reason, "request line: bare LF without CR (RFC 9112 2.2)");
  uint32_t end = lf - 1;
  uint32_t m = method_end(buf, start, end);
  if (m == start || m == end || buf[m] != ' ')
    return refuse(reason, "request line: method is not a token followed by one SP (RFC 9112 3)");
  uint32_t t = m + 1, te = t;
  while (te < end && !target_bad[(uint8_t)buf[te]])
    te++;
  if (te == t)
    return refuse(reason, "request line: empty request target or extra whitespace (RFC 9112 3)");
  if (te == end || buf[te] != ' ')
    return refuse(reason, "request line: control byte in the request target or no version (RFC 9112 3.2)");
  /* HTTP-version = "HTTP" "/" DIGIT "." DIGIT, nothing after it. */
  const char *v = buf + te + 1;
  if (end - (te + 1) != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
      v[6] != '.' || v[7] < '0' || v[7] > '9')
    return refuse(reason, "request line: malformed HTTP version (RFC 9112 2.3)");
  *out = (nh__h1_line){start, m - start, t, te - t, v[5] - '0', v[7] - '0'};
  if (out->major != 1) {
    *reason = "HTTP version not supported: only HTTP/1.x is served on this connection (RFC 9110 2.5)";
    return 505;
  }
  return 0;
}
