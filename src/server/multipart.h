/* The multipart body parser (RFC 2046 section 5.1, RFC 7578), on bytes
 * only: no socket, no request, so it can be unit-tested and fuzzed.
 *
 * It is a push parser: the caller asks for room (nh__mp_space), writes body
 * bytes there, and commits them; the parser calls back with each part's
 * headers, its data in pieces, and its end. What it keeps between commits
 * is bounded: at most one part's header block, or a delimiter's worth of
 * bytes that might be the start of the next boundary.
 *
 * Media-type parameters (Content-Type's boundary, Content-Disposition's
 * name and filename) are parsed by nh__mime_parse, Go's mime.ParseMediaType
 * with RFC 2231 "name*=utf-8''..." values (continuations are not joined). */
#ifndef NH_SERVER_MULTIPART_H
#define NH_SERVER_MULTIPART_H

#include <stddef.h>

#define NH__MP_MAX_BOUNDARY 70 /* RFC 2046 section 5.1.1 */
#define NH__MP_PART_FIELDS 100 /* header fields in one part */

typedef struct nh__mp_limits {
  size_t max_header_bytes; /* one part's header block; beyond: NH_EBADFORM */
  int max_headers;         /* header fields of all parts together */
  int max_parts;
} nh__mp_limits;

/* Go's limits: 1000 parts, 10000 header fields; a header block of a part
 * is far smaller than a request head in practice. */
#define NH__MP_LIMITS_DEFAULT {16 * 1024, 10000, 1000}

/* One part header field: canonical name and trimmed value, NUL-terminated,
 * borrowed for the part_begin call only. */
typedef struct nh__mp_field {
  const char *name, *value;
} nh__mp_field;

/* Callbacks return 0 to go on, or a negative code that stops the parse and
 * is returned by nh__mp_commit. */
typedef struct nh__mp_handler {
  int (*part_begin)(void *user, const nh__mp_field *fields, int nfields);
  int (*part_data)(void *user, const char *data, size_t n);
  int (*part_end)(void *user);
  void *user;
} nh__mp_handler;

typedef struct nh__mp {
  int state;
  int err;       /* sticky: once failed, every call returns it */
  int in_part;   /* part_begin was called and part_end not yet */
  int nparts, nheaders;
  char delim[4 + NH__MP_MAX_BOUNDARY + 1]; /* "\r\n--" boundary */
  size_t dlen;
  char *buf; /* bytes not yet consumed: [pos, len) */
  size_t cap, pos, len;
  nh__mp_limits lim;
  nh__mp_handler h;
  nh__mp_field *fields;
} nh__mp;

/* nh__mp_init sets up a parser for boundary (1..70 bytes; else NH_EBADFORM).
 * lim NULL = defaults. 0, NH_EBADFORM or NH_ENOMEM. */
int nh__mp_init(nh__mp *m, const char *boundary, const nh__mp_limits *lim,
                const nh__mp_handler *h);
void nh__mp_dispose(nh__mp *m);

/* Room for the next body bytes (at least 1 KiB while the parse goes on). */
char *nh__mp_space(nh__mp *m, size_t *room);
/* Hands the n bytes written at nh__mp_space to the parser. Returns 0, or
 * NH_EBADFORM (malformed body, a limit passed) or a callback's error. */
int nh__mp_commit(nh__mp *m, size_t n);
/* Copies and commits data of any length. */
int nh__mp_feed(nh__mp *m, const void *data, size_t n);
/* 1 once the closing delimiter was read (the rest is epilogue). */
int nh__mp_done(const nh__mp *m);
/* The body ended: 0 if the closing delimiter was seen, else NH_EBADFORM. */
int nh__mp_finish(nh__mp *m);

/* ---- media types ---- */

typedef struct nh__mime_param {
  char *name; /* lower case; "filename*" is stored as "filename", ext = 1 */
  char *value;
  int ext;
} nh__mime_param;

typedef struct nh__mime {
  char *type; /* lower case: "multipart/form-data", "form-data" */
  nh__mime_param params[32];
  int nparams;
  char *mem;
} nh__mime;

/* nh__mime_parse parses `type/subtype; a=b; c="d"` (also a bare type such
 * as Content-Disposition's "form-data"). 0, NH_EINVAL for a malformed
 * value or a repeated parameter, NH_ENOMEM. Free with nh__mime_dispose
 * (also after an error). */
int nh__mime_parse(const char *s, nh__mime *out);
/* The value of parameter name (lower case): an RFC 2231 extended value
 * wins over a plain one. NULL if absent. */
const char *nh__mime_param_get(const nh__mime *m, const char *name);
void nh__mime_dispose(nh__mime *m);

#endif
