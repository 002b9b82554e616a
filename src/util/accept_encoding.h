/* Accept-Encoding (RFC 9110 section 12.5.3): the weight a request gives
 * each content coding of codec.h, and the choice among them. */
#ifndef NH_UTIL_ACCEPT_ENCODING_H
#define NH_UTIL_ACCEPT_ENCODING_H

#include <stddef.h>

#include "nethttp/header.h"
#include "util/codec.h"

typedef struct nh__accept_enc {
  int q[NH__CODING_COUNT]; /* weight 0..1000 of each coding named, -1 if not named */
  int star;                /* weight of "*", -1 if not named */
  int present;             /* a field was given (even empty) */
} nh__accept_enc;

/* Nothing named yet (as for a request without the field). */
void nh__accept_enc_init(nh__accept_enc *a);
/* Adds one field value of len bytes (a request with several lines: once
 * for each). An element that is not valid (a bad weight) is ignored, as are
 * codings not in codec.h; a coding named twice keeps its higher weight. */
void nh__accept_enc_parse(nh__accept_enc *a, const char *v, size_t len);
/* Init, then every Accept-Encoding line of the request header h (at
 * most 16 of them). */
void nh__accept_enc_from(nh__accept_enc *a, const nh_header *h);
/* The weight of c: as named, else "*"'s, else 1000 for identity and 0
 * for the others. */
int nh__accept_enc_weight(const nh__accept_enc *a, nh__coding c);
/* The coding for the response, among prefs (the server's order of
 * preference): the highest weight above 0, a tie to the one first in
 * prefs; identity when none is acceptable, when the request had no
 * Accept-Encoding (RFC 9110 allows any coding then, but clients that
 * decode send the field; curl without --compressed does not), or when the
 * request names identity with a higher weight than the best of them. */
nh__coding nh__accept_enc_choose(const nh__accept_enc *a, const nh__coding *prefs, size_t n);

#endif
