/* The header map's layout, shared with the HTTP layers that fill it from
 * parsed bytes without copying. */
#ifndef NH_UTIL_HEADER_INTERNAL_H
#define NH_UTIL_HEADER_INTERNAL_H

#include <stdint.h>

#include "arena.h"
#include "nethttp/header.h"

typedef struct nh__hentry {
  const char *key, *value;
  uint32_t klen, vlen;
} nh__hentry;

struct nh_header {
  nh__hentry *items;
  uint32_t len, cap;
  uint32_t version; /* bumped by every change: detects late edits */
  int frozen; /* a response header after it was decided: what was decided
                 stays (the head reads items), changes go to a live copy
                 (late) that reads see, and a change to anything but a
                 trailer is counted (version, changed_*) as a late edit */
  struct nh_header *late; /* frozen: the live copy, made on the first change */
  int trailer_prefix; /* a response's: "Trailer:Name" keys are valid (Go's
                         TrailerPrefix) */
  const char *changed_file; /* where the last change was made, if known */
  int changed_line;
  nh__arena *arena; /* where copies and growth go */
  nh__arena own;    /* used by standalone maps (nh_header_new) */
  nh__hentry inline_items[16];
};

/* Set up a map whose memory comes from arena (a request's). */
void nh__header_init(nh_header *h, nh__arena *arena);
/* Appends copies of a key that is a valid token (made canonical on the
 * way) and a valid value: for callers that checked them already. */
/* Appends a valid lower-case key (as HTTP/2 carries them), made
 * canonical, and a valid value; common names cost no key copy. */
int nh__header_add_lower(nh_header *h, const char *key, size_t klen, const char *value,
                         size_t vlen);
/* Appends copies of a key already canonical and a valid value (from
 * another map); common names cost no key copy. */
int nh__header_add_copy(nh_header *h, const char *key, size_t klen, const char *value,
                        size_t vlen);
int nh__header_add_checked(nh_header *h, const char *key, size_t klen, const char *value,
                           size_t vlen);
/* Append without copying or checking: key/value must outlive the map and
 * already be valid and canonical (the parser guarantees it). */
int nh__header_append_raw(nh_header *h, const char *key, uint32_t klen, const char *value,
                          uint32_t vlen);
/* nh_header_get for a name given in lowercase with its length: no strlen
 * and no strncasecmp, for lookups made on every response. */
const char *nh__header_get_lower(const nh_header *h, const char *lower, size_t len);
/* Drop every entry (and a frozen map's live copy), keep the arena. */
void nh__header_clear(nh_header *h);
/* The map as the handler sees it: a frozen map's live copy, if changed. */
static inline nh_header *nh__header_live(nh_header *h) { return h->late ? h->late : h; }
/* Whether key[0..klen) names a response trailer of h: "Trailer:" and a
 * name (Go's TrailerPrefix, any case), or a name h's Trailer fields
 * declare. */
int nh__header_is_trailer_key(const nh_header *h, const char *key, size_t klen);
/* klen > 8 and key begins with "Trailer:" (any case). */
int nh__header_trailer_prefixed(const char *key, size_t klen);

#endif
