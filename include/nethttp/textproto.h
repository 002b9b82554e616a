/* nethttp/textproto.h — the rules for header names, values and lists.
 *
 * Header names are RFC 9110 tokens, stored in Go's canonical form
 * ("content-type" is kept as "Content-Type"); values may not hold control
 * bytes that could end a header line early; list-valued headers
 * ("Connection: keep-alive, Upgrade") are searched token by token. The
 * same rules as Go's net/textproto and x/net/http/httpguts. */
#ifndef NETHTTP_TEXTPROTO_H
#define NETHTTP_TEXTPROTO_H

#include <stddef.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nh_canonical_header_key rewrites the len bytes at key in place into Go's
 * CanonicalMIMEHeaderKey form: the first letter and every letter after a
 * '-' upper case, all other letters lower case ("x-forwarded-for" becomes
 * "X-Forwarded-For", "ETAG" becomes "Etag"). A key holding any byte that is
 * not a token character (a space, a colon, a byte >= 0x80, ...) is left
 * unchanged. No allocation; thread-safe for distinct keys. */
NH_API void nh_canonical_header_key(char *key, size_t len);

/* nh_valid_header_name returns 1 if s[0..len) is a non-empty token
 * (RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~), else 0. */
NH_API int nh_valid_header_name(const char *s, size_t len);

/* nh_valid_header_value returns 1 if s[0..len) holds no control byte other
 * than horizontal tab (no CR, LF, NUL or DEL), as Go's
 * httpguts.ValidHeaderFieldValue; bytes >= 0x80 are allowed. Else 0. */
NH_API int nh_valid_header_value(const char *s, size_t len);

/* nh_token_list_has returns 1 if the comma-separated list (a header value,
 * NUL-terminated) has an element equal to token ASCII case-insensitively
 * once spaces and tabs around it are trimmed, as Go's
 * headerValuesContainsToken: "keep-alive, Upgrade" has "upgrade". An
 * element with non-ASCII bytes never matches. NULL list or token: 0. */
NH_API int nh_token_list_has(const char *list, const char *token);

#ifdef __cplusplus
}
#endif
#endif
