/* Response trailers, with Go's two ways of setting them:
 *
 *  - names declared before the head in the "Trailer" field (one or more
 *    fields, comma-separated), whose values the handler sets in the header
 *    map after writing the body;
 *  - keys "Trailer:Name" (Go's TrailerPrefix) set in the header map at any
 *    time, even after the head went: they become trailer "Name".
 *
 * After WriteHeader the header map is frozen (what was decided stays for
 * the head); later changes go to its live copy (util/header.c), which is
 * what is read here. Names a trailer must not carry (RFC 9110 6.5.1, Go's
 * httpguts.ValidTrailerHeader) are dropped. */
#include "exchange.h"
#include "nethttp/textproto.h"
#include "util/textproto_internal.h"

#include <string.h>
#include <strings.h>

/* Go's badTrailer list, and any If-* (RFC 9110 6.5.1: framing, routing,
 * request modifiers, authentication, control). */
static int forbidden_trailer(const char *k, size_t n) {
  static const char *const bad[] = {
      "authorization", "cache-control",      "connection",          "content-encoding",
      "content-length", "content-range",     "content-type",        "expect",
      "host",           "keep-alive",        "max-forwards",        "pragma",
      "proxy-authenticate", "proxy-authorization", "proxy-connection", "range",
      "realm",          "te",                "trailer",             "transfer-encoding",
      "www-authenticate"};
  if (n >= 3 && !strncasecmp(k, "if-", 3))
    return 1;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (nh__token_is(k, n, bad[i], strlen(bad[i])))
      return 1;
  return 0;
}

/* Whether h has a Trailer field (declared), and "Trailer:" keys. */
static void scan(const nh_header *h, int *declared, int *prefixed) {
  *declared = *prefixed = 0;
  for (uint32_t i = 0; i < h->len; i++) {
    const nh__hentry *e = &h->items[i];
    if (nh__token_is(e->key, e->klen, "trailer", 7))
      *declared = 1;
    else if (nh__header_trailer_prefixed(e->key, e->klen))
      *prefixed = 1;
  }
}

int nh__resp_declares_trailers(nh_response_writer *w, int *prefixed) {
  int declared, late_declared, late_prefixed;
  scan(&w->header, &declared, prefixed);
  /* A "Trailer:" key set since WriteHeader counts too (Go would miss it
   * for a body sent whole at the end, and lose the trailer over HTTP/1). */
  late_prefixed = 0;
  if (w->header.late)
    scan(w->header.late, &late_declared, &late_prefixed);
  return declared || *prefixed || late_prefixed;
}

const nh_header *nh__resp_head_fields(nh_response_writer *w) {
  nh_header *f = nh__arena_alloc(&w->s->arena, sizeof *f);
  if (!f)
    return NULL;
  nh__header_init(f, &w->s->arena);
  for (uint32_t i = 0; i < w->header.len; i++) {
    const nh__hentry *e = &w->header.items[i];
    if (!nh__header_trailer_prefixed(e->key, e->klen) &&
        nh__header_append_raw(f, e->key, e->klen, e->value, e->vlen) != NH_OK)
      return NULL;
  }
  return f;
}

/* Every value of name (n bytes) in live into t as trailer name. */
static int add_values(nh_header *t, const nh_header *live, const char *name, size_t n) {
  for (uint32_t i = 0; i < live->len; i++) {
    const nh__hentry *e = &live->items[i];
    if (e->klen == n && !strncasecmp(e->key, name, n) &&
        nh__header_add_checked(t, name, n, e->value, e->vlen) != NH_OK)
      return NH_ENOMEM;
  }
  return NH_OK;
}

/* Whether t holds name already (a name declared twice is sent once). */
static int has(const nh_header *t, const char *name, size_t n) {
  for (uint32_t i = 0; i < t->len; i++)
    if (t->items[i].klen == n && !strncasecmp(t->items[i].key, name, n))
      return 1;
  return 0;
}

nh_header *nh__resp_trailers(nh_response_writer *w) {
  const nh_header *head = &w->header; /* as decided: its Trailer fields */
  const nh_header *live = nh__header_live(&w->header);
  nh_header *t = NULL;
  for (int pass = 0; pass < 2; pass++) {
    /* Pass 0: the declared names; pass 1: the "Trailer:" keys. */
    const nh_header *from = pass ? live : head;
    for (uint32_t i = 0; i < from->len; i++) {
      const nh__hentry *e = &from->items[i];
      const char *list = NULL, *name = NULL;
      size_t n = 0;
      if (pass == 0 && nh__token_is(e->key, e->klen, "trailer", 7))
        list = e->value;
      else if (pass == 1 && nh__header_trailer_prefixed(e->key, e->klen))
        name = e->key + 8, n = e->klen - 8;
      else
        continue;
      for (const char *p = list;;) {
        if (list) { /* the next element of the list */
          const char *end = strchr(p, ',');
          if (!end)
            end = p + strlen(p);
          while (p < end && (*p == ' ' || *p == '\t'))
            p++;
          n = (size_t)(end - p);
          while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
          name = p;
          p = *end ? end + 1 : end;
        }
        if (n && nh_valid_header_name(name, n) && !forbidden_trailer(name, n)) {
          if (!t) {
            if (!(t = nh__arena_alloc(&w->s->arena, sizeof *t)))
              return NULL;
            nh__header_init(t, &w->s->arena);
          }
          if (pass == 1)
            nh__header_add_checked(t, name, n, e->value, e->vlen);
          else if (!has(t, name, n) && add_values(t, live, name, n) != NH_OK)
            return NULL;
        }
        if (!list || !*p)
          break;
      }
    }
  }
  return t && t->len ? t : NULL;
}
