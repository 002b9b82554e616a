/* nethttp/header.h — an HTTP header map (Go's http.Header).
 *
 * Keys are matched case-insensitively and stored in canonical form
 * ("content-type" becomes "Content-Type"). A key may have several values,
 * kept in the order they were added. Strings given to set/add are copied;
 * strings returned are borrowed and valid until the entry is changed or the
 * map (or the request owning it) ends. Not thread-safe. */
#ifndef NETHTTP_HEADER_H
#define NETHTTP_HEADER_H

#include <stddef.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_header nh_header;

/* nh_header_new makes a standalone map (requests and responses own theirs).
 * NULL when out of memory. nh_header_free(NULL) does nothing. */
NH_API nh_header *nh_header_new(void);
NH_API void nh_header_free(nh_header *h);

/* nh_header_get returns the first value of key, or NULL. */
NH_API const char *nh_header_get(const nh_header *h, const char *key);

/* nh_header_values stores up to max values of key in vals; returns how many
 * the key has in all. */
NH_API size_t nh_header_values(const nh_header *h, const char *key, const char **vals, size_t max);

/* nh_header_set replaces every value of key with value; nh_header_add
 * appends one. Both refuse (NH_EINVAL) a key that is not an HTTP token and a
 * value holding CR, LF or NUL, so a handler can never split a response.
 * Return 0, NH_EINVAL or NH_ENOMEM. */
NH_API int nh_header_set(nh_header *h, const char *key, const char *value);
NH_API int nh_header_add(nh_header *h, const char *key, const char *value);

/* nh_header_del removes every value of key; returns how many. */
NH_API size_t nh_header_del(nh_header *h, const char *key);

/* The same, recording the caller's file:line, so a change made too late
 * (after a response's header was sent) is reported where it was made. The
 * macros below route every call through them. */
NH_API int nh_header_set_at(nh_header *h, const char *key, const char *value, const char *file,
                            int line);
NH_API int nh_header_add_at(nh_header *h, const char *key, const char *value, const char *file,
                            int line);
NH_API size_t nh_header_del_at(nh_header *h, const char *key, const char *file, int line);
#define nh_header_set(h, k, v) nh_header_set_at((h), (k), (v), __FILE__, __LINE__)
#define nh_header_add(h, k, v) nh_header_add_at((h), (k), (v), __FILE__, __LINE__)
#define nh_header_del(h, k) nh_header_del_at((h), (k), __FILE__, __LINE__)

/* Iteration in insertion order: entries 0 .. nh_header_len()-1. */
NH_API size_t nh_header_len(const nh_header *h);
NH_API int nh_header_at(const nh_header *h, size_t i, const char **key, const char **value);

/* nh_header_has_token tells whether any value of key, read as a
 * comma-separated list, holds token (case-insensitive): ("Connection",
 * "close"). */
NH_API int nh_header_has_token(const nh_header *h, const char *key, const char *token);

#ifdef __cplusplus
}
#endif
#endif
