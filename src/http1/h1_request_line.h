/* The HTTP/1.x request line (RFC 9112 3), parsed by nethttp itself rather
 * than by llhttp: llhttp knows only a fixed list of methods (Go serves any
 * token), accepts more than one space between the parts, and refuses
 * HTTP/1.x versions above 1.1, all of which RFC 9110 and Go decide
 * otherwise. A pure function on bytes, so it can be tested and fuzzed. */
#ifndef NH_HTTP1_H1_REQUEST_LINE_H
#define NH_HTTP1_H1_REQUEST_LINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct nh__h1_line {
  uint32_t method_off, method_len;
  uint32_t target_off, target_len;
  int major, minor;
} nh__h1_line;

/* Parses the request line buf[start, lf), where buf[lf] is its LF, which
 * must follow a CR. Exactly `method SP target SP HTTP/D.D`:
 * method a token, target non-empty without controls or spaces. Returns 0,
 * or the status to answer with (400, or 505 for a version other than 1.x)
 * and *reason, a static text naming the rule. */
int nh__h1_request_line(const char *buf, uint32_t start, uint32_t lf, nh__h1_line *out,
                        const char **reason);

/* Can buf[start, end), the beginning of a request line whose LF has not
 * come yet, still become a valid one? 0 if so, else 400 and *reason: lets
 * a server refuse garbage (a TLS hello on a plain port) without waiting
 * for a line end that may never come. */
int nh__h1_request_line_prefix(const char *buf, uint32_t start, uint32_t end, const char **reason);

#endif
