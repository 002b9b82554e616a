/* nethttp/base64.h — base64 (RFC 4648), standard and URL alphabets, with
 * padding ('=') or without. Thread-safe; no allocation. */
#ifndef NETHTTP_BASE64_H
#define NETHTTP_BASE64_H

#include <stddef.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nh_base64_kind {
  NH_BASE64_STD = 0,     /* "+/", padded (Go's StdEncoding) */
  NH_BASE64_URL,         /* "-_", padded (URLEncoding) */
  NH_BASE64_RAW_STD,     /* "+/", no padding (RawStdEncoding) */
  NH_BASE64_RAW_URL,     /* "-_", no padding (RawURLEncoding) */
} nh_base64_kind;

/* Bytes needed to encode n bytes (without the NUL), and an upper bound of
 * the bytes n encoded characters decode to. */
NH_API size_t nh_base64_encoded_len(nh_base64_kind kind, size_t n);
NH_API size_t nh_base64_decoded_max(size_t n);

/* nh_base64_encode writes the encoding of src[0..n) and a NUL into out.
 * Returns the length (without the NUL), or NH_ERANGE if cap is too small. */
NH_API long nh_base64_encode(nh_base64_kind kind, const void *src, size_t n, char *out, size_t cap);

/* nh_base64_decode decodes src[0..n) into out, strictly as Go's decoders do
 * (no blanks; CR and LF are skipped as Go does; padding exactly as the kind
 * requires; non-zero trailing bits ignored, as Go's non-Strict encodings). Returns the byte count, or
 * NH_EINVAL for bad input, NH_ERANGE if cap is too small. out gets no NUL. */
NH_API long nh_base64_decode(nh_base64_kind kind, const char *src, size_t n, void *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
