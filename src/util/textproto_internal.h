/* Header-name helpers for names already checked to be tokens (the HTTP/1
 * parser checks every name): cheaper than the general calls, which must
 * also cope with names that are not tokens. */
#ifndef NH_UTIL_TEXTPROTO_INTERNAL_H
#define NH_UTIL_TEXTPROTO_INTERNAL_H

#include <stddef.h>

/* Copies the token src[0..len) to dst in canonical form ("content-type" ->
 * "Content-Type") in one pass; dst may be src. No terminating NUL. */
void nh__token_canonical_copy(char *dst, const char *src, size_t len);

/* Checks that s[0..len) is a token (nh_valid_header_name) and puts it in
 * canonical form in place, in one pass: 1 if it was a token, else 0 (s
 * then partly rewritten). For a parser that checks every name anyway. */
int nh__token_check_canonical(char *s, size_t len);

/* Is the token name[0..len) equal to lower[0..lower_len), ignoring case?
 * lower is in lowercase. */
int nh__token_is(const char *name, size_t len, const char *lower, size_t lower_len);

/* Is host[0..len) a valid Host field value, as Go's server checks it
 * (httpguts.ValidHostHeader): RFC 3986 reg-name or IP-literal characters
 * and an optional port, i.e. letters, digits and !$%&'()*+,-.:;=[]_~ only.
 * No control, space, byte >= 0x80, '{' or '/'. Empty is valid. */
int nh__valid_host(const char *host, size_t len);

#endif
