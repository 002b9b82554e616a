/* One growable byte buffer, with a cap on every growth (curl's dynbuf is
 * the model): a builder of heads, bodies, URLs or forms says up front how
 * large it may grow, so no peer can make it grow without bound.
 *
 * The bytes are always NUL-terminated once anything was added (p[len] ==
 * 0), so a buffer of text is a C string. An append that would pass the cap
 * or finds no memory fails, leaves the buffer as it was, and makes the
 * buffer refuse every later append with the same error (a builder checks
 * once, at the end). */
#ifndef NH_UTIL_DYNBUF_H
#define NH_UTIL_DYNBUF_H

#include <stddef.h>

typedef struct nh__dynbuf {
  char *p;    /* NULL until the first append */
  size_t len; /* bytes held, not counting the NUL */
  size_t cap; /* bytes allocated */
  size_t max; /* the most len may ever be */
  int err;    /* 0, or the first failure (NH_ENOMEM, NH_ERANGE past max) */
} nh__dynbuf;

/* No cap: for builders whose input the program itself bounds. */
#define NH__DYNBUF_NOCAP ((size_t)-1)

/* An empty buffer that may hold up to max bytes. Allocates nothing. */
void nh__dynbuf_init(nh__dynbuf *b, size_t max);
/* Frees the bytes; the buffer is empty again (same cap), usable. */
void nh__dynbuf_free(nh__dynbuf *b);
/* Empties the buffer but keeps its memory (and clears its error). */
void nh__dynbuf_reset(nh__dynbuf *b);

/* Appends: 0, or the buffer's error (it stays set). */
int nh__dynbuf_add(nh__dynbuf *b, const void *data, size_t n);
int nh__dynbuf_addstr(nh__dynbuf *b, const char *s);
int nh__dynbuf_addc(nh__dynbuf *b, char c);
/* printf-style append. */
int nh__dynbuf_addf(nh__dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for n more bytes without another allocation: 0 or the error. */
int nh__dynbuf_reserve(nh__dynbuf *b, size_t n);
/* Drops the last n bytes (all of them if n > len). */
void nh__dynbuf_trim(nh__dynbuf *b, size_t n);

/* Hands the bytes over: a malloc'd, NUL-terminated string ("" when empty)
 * the caller frees, with its length in *len if len is not NULL. NULL if an
 * append failed (the buffer is freed either way) or memory ran out. */
char *nh__dynbuf_take(nh__dynbuf *b, size_t *len);

static inline const char *nh__dynbuf_ptr(const nh__dynbuf *b) { return b->p ? b->p : ""; }
static inline size_t nh__dynbuf_len(const nh__dynbuf *b) { return b->len; }

#endif
