/* nethttp/sniff.h — guess a body's Content-Type from its first bytes.
 *
 * The WHATWG MIME sniffing algorithm exactly as Go's http.DetectContentType
 * implements it: same signatures, same order, same answers. A server that
 * is not told a Content-Type sniffs the first NH_SNIFF_LEN bytes written. */
#ifndef NETHTTP_SNIFF_H
#define NETHTTP_SNIFF_H

#include <stddef.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most bytes nh_detect_content_type looks at. */
#define NH_SNIFF_LEN 512

/* nh_detect_content_type returns the MIME type of data (len bytes; only the
 * first NH_SNIFF_LEN matter), such as "text/html; charset=utf-8" or
 * "image/png"; "application/octet-stream" when nothing more specific fits.
 * Empty or all-text input is "text/plain; charset=utf-8". data may be NULL
 * when len is 0. The result is static, never NULL; thread-safe. */
NH_API const char *nh_detect_content_type(const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
