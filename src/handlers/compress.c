/* Response compression: gzip, br or zstd as the request accepts and the
 * server prefers, through a filter on the response writer (server/hooks.h)
 * so that flush, sendfile and hijack keep working.
 *
 * The decision waits for what it needs: the status and headers, and either
 * a Content-Length, min_size body bytes (held until then), a flush, or the
 * handler's end. Until then the status is held back too, so that the
 * headers can still change (Content-Encoding, Vary, ETag, Content-Length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nethttp/sniff.h"
#include "server/hooks.h"
#include "util/accept_encoding.h"
#include "util/codec.h"
#include "wrap.h"

#define DEFAULT_MIN_SIZE 1024
#define DEFAULT_ENCODINGS "zstd, br, gzip"

typedef struct compress_wrap {
  nh__wrap base;
  nh__coding prefs[NH__CODING_COUNT];
  size_t nprefs;
  int level[NH__CODING_COUNT];
  size_t min_size;
} compress_wrap;

/* CZ_ONCE: the whole body went out compressed in one piece. */
enum { CZ_UNDECIDED, CZ_PASS, CZ_ENCODE, CZ_ONCE, CZ_DONE };

typedef struct cz {
  compress_wrap *x;
  nh_response_writer *w;
  nh__coding coding; /* what the request accepts best; identity: none */
  int state;
  int status;        /* held back until the decision */
  int off;           /* nh_compress_off */
  char *hold;        /* body bytes held until the decision (malloc'd) */
  size_t hlen, hcap;
  size_t hold_to;    /* bytes to hold before deciding; 0: not known yet */
  nh__encoder *enc;
} cz;

static const char cz_key; /* the request slot of the state */

/* ---- what may be compressed ---- */

/* Media types whose bodies are compressed already, or are not worth it. */
static int type_compressed(const char *ct) {
  static const char *const prefixes[] = {
      "image/", "video/", "audio/", "font/woff", "application/font-woff",
      "application/zip", "application/gzip", "application/x-gzip", "application/zstd",
      "application/x-bzip2", "application/x-xz", "application/x-7z-compressed",
      "application/vnd.rar", "application/x-rar-compressed", "application/pdf",
      "application/x-brotli", "multipart/byteranges"};
  /* An image that is text is worth compressing. */
  static const char *const text_images[] = {"image/svg+xml", "image/x-icon",
                                            "image/vnd.microsoft.icon", "image/bmp"};
  while (*ct == ' ' || *ct == '\t')
    ct++;
  for (size_t i = 0; i < sizeof text_images / sizeof *text_images; i++)
    if (!strncasecmp(ct, text_images[i], strlen(text_images[i])))
      return 0;
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
    if (!strncasecmp(ct, prefixes[i], strlen(prefixes[i])))
      return 1;
  return 0;
}

/* Whether the response as the handler made it could be compressed, for
 * some request: then it varies with Accept-Encoding. */
static int representation_ok(const cz *z, nh_header *h) {
  if (z->off || nh_header_has_token(h, "Cache-Control", "no-transform"))
    return 0;
  const char *ce = nh_header_get(h, "Content-Encoding");
  if (ce && *ce)
    return 0;
  const char *ct = nh_header_get(h, "Content-Type");
  return !(ct && type_compressed(ct));
}

static void add_vary(nh_header *h) {
  if (!nh_header_has_token(h, "Vary", "Accept-Encoding") && !nh_header_has_token(h, "Vary", "*"))
    nh_header_add(h, "Vary", "Accept-Encoding");
}

/* A strong validator names the bytes; compressed bytes are other bytes
 * (RFC 9110 section 8.8.1), and a weak one still matches If-None-Match. */
static void weaken_etag(nh_header *h) {
  const char *et = nh_header_get(h, "ETag");
  if (!et || et[0] != '"')
    return;
  char small[256], *buf = small;
  size_t n = strlen(et) + 3;
  if (n > sizeof small && !(buf = malloc(n)))
    return;
  snprintf(buf, n, "W/%s", et);
  nh_header_set(h, "ETag", buf);
  if (buf != small)
    free(buf);
}

/* ---- the encoder's output ---- */

static int to_writer(void *arg, const void *p, size_t n) {
  ssize_t r = nh_resp_write(((cz *)arg)->w, p, n);
  return r < 0 ? (int)r : 0;
}

/* ---- the bytes held until the decision ---- */

static int hold_append(cz *z, const void *p, size_t n) {
  if (z->hlen + n > z->hcap) {
    size_t cap = z->hcap ? z->hcap * 2 : 512;
    while (cap < z->hlen + n)
      cap *= 2;
    char *b = realloc(z->hold, cap);
    if (!b)
      return NH_ENOMEM;
    z->hold = b;
    z->hcap = cap;
  }
  memcpy(z->hold + z->hlen, p, n);
  z->hlen += n;
  return 0;
}

static void hold_drop(cz *z) {
  free(z->hold);
  z->hold = NULL;
  z->hlen = z->hcap = 0;
}

static void release(cz *z) {
  nh__encoder_free(z->enc);
  z->enc = NULL;
  hold_drop(z);
}

/* The Content-Length the handler set, or -1 (none, or not a number). */
static int64_t declared_length(nh_header *h) {
  const char *cl = nh_header_get(h, "Content-Length");
  if (!cl || !*cl)
    return -1;
  char *end;
  long long v = strtoll(cl, &end, 10);
  return !*end && v >= 0 ? v : -1;
}

static void cz_at_end(void *arg) { release(arg); }

/* ---- the decision ---- */

/* gzip of a body in hand whole (the held bytes, then file bytes from fd at
 * off) into a new buffer: *out (free it), and its length; 0 when out of
 * memory or the file could not be read whole. */
static size_t gzip_whole(cz *z, int64_t file, int fd, off_t off, char **out) {
  size_t n = z->hlen + (size_t)(file > 0 ? file : 0);
  size_t bound = nh__gzip_once_bound(n);
  char *buf = malloc(n + bound);
  *out = buf;
  if (!buf)
    return 0;
  char *gz = buf + n;
  if (z->hlen)
    memcpy(buf, z->hold, z->hlen);
  for (size_t got = z->hlen; got < n;) {
    ssize_t r = pread(fd, buf + got, n - got, off + (off_t)(got - z->hlen));
    if (r <= 0)
      return 0;
    got += (size_t)r;
  }
  size_t len = nh__gzip_once(z->x->level[NH__CODING_GZIP], buf, n, gz, bound);
  if (len)
    memmove(buf, gz, len);
  return len;
}

/* Decide with what is known: final (the handler returned), file (bytes a
 * sendfile adds, -1 none; fd to sniff from), flushing. */
static int decide(cz *z, int final, int64_t file, int fd, off_t off, int flushing) {
  nh_response_writer *w = z->w;
  nh_header *h = nh_resp_header(w);
  int status = z->status ? z->status : 200;
  int ok = representation_ok(z, h);
  int encode = ok && z->coding != NH__CODING_IDENTITY;
  if (status == 204 || status == 304 || status == 206 || status < 200)
    encode = 0;
  int64_t known = -1;
  if (encode) {
    const char *cl = nh_header_get(h, "Content-Length");
    if (cl && *cl) {
      known = declared_length(h);
    } else if (file >= 0) {
      known = (int64_t)z->hlen + file;
    } else if (final) {
      known = (int64_t)z->hlen;
    }
    if (known >= 0 && (size_t)known < z->x->min_size)
      encode = 0;
    else if (known < 0 && !flushing && z->hlen < z->x->min_size)
      encode = 0; /* cannot happen: a write decides at min_size */
  }
  if (encode && !nh_header_get(h, "Content-Type")) {
    /* The writer would sniff the compressed bytes: name the type from the
     * body as it is. Nothing to sniff from: leave it as it is. */
    char head[NH_SNIFF_LEN];
    size_t n = z->hlen < sizeof head ? z->hlen : sizeof head;
    memcpy(head, z->hold, n);
    if (n < sizeof head && file > 0) {
      ssize_t got = pread(fd, head + n, sizeof head - n < (size_t)file ? sizeof head - n : (size_t)file, off);
      if (got > 0)
        n += (size_t)got;
    }
    if (n == 0) {
      encode = 0;
    } else {
      const char *t = nh_detect_content_type(head, n);
      nh_header_set(h, "Content-Type", t);
      encode = !type_compressed(t);
    }
  }
  if (ok)
    add_vary(h);
  /* The whole body in hand (held, or held and a file) with its length
   * known: gzip it in one call, and state the compressed length. */
  char *once = NULL;
  size_t once_len = 0;
  if (encode && z->coding == NH__CODING_GZIP && known >= 0 &&
      (size_t)known <= NH__GZIP_ONCE_MAX &&
      (size_t)known == z->hlen + (size_t)(file > 0 ? file : 0)) {
    once_len = gzip_whole(z, file, fd, off, &once);
    if (!once_len) {
      free(once); /* out of memory, or a short file: the streaming way */
      once = NULL;
    }
  }
  if (once) {
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", once_len);
    nh_header_set(h, "Content-Encoding", nh__coding_name(z->coding));
    nh_header_set(h, "Content-Length", cl);
    nh_header_del(h, "Accept-Ranges");
    weaken_etag(h);
    z->state = CZ_ONCE;
    nh_resp_write_header(w, status);
    ssize_t wr = nh_resp_write(w, once, once_len);
    free(once);
    hold_drop(z);
    return wr < 0 ? (int)wr : 0;
  }
  if (encode) {
    nh__encoder *e = nh__encoder_new(z->coding, z->x->level[z->coding], to_writer, z);
    if (e) {
      z->enc = e;
      nh_header_set(h, "Content-Encoding", nh__coding_name(z->coding));
      nh_header_del(h, "Content-Length");
      nh_header_del(h, "Accept-Ranges"); /* ranges would be of the other bytes */
      weaken_etag(h);
    } else {
      encode = 0; /* out of memory: send it as it is */
    }
  }
  z->state = encode ? CZ_ENCODE : CZ_PASS;
  nh_resp_write_header(w, status);
  int r = 0;
  if (z->hlen) {
    if (encode) {
      r = nh__encoder_write(z->enc, z->hold, z->hlen);
    } else {
      ssize_t wr = nh_resp_write(w, z->hold, z->hlen);
      r = wr < 0 ? (int)wr : 0;
    }
  }
  hold_drop(z);
  return r;
}

/* ---- the filter ---- */

static void cz_write_header(void *st, nh_response_writer *w, int status) {
  cz *z = st;
  if (z->state != CZ_UNDECIDED) {
    nh_resp_write_header(w, status); /* the writer reports it superfluous */
    return;
  }
  if (z->status)
    return; /* superfluous too: the first one stands */
  z->status = status;
  if (status == 204 || status == 304 || status == 206)
    decide(z, 0, -1, -1, 0, 0);
}

/* How many bytes a write holds before deciding: min_size, or for gzip a
 * declared Content-Length up to NH__GZIP_ONCE_MAX, so that the whole body
 * is compressed at once (a flush or the handler's end decides earlier). */
static size_t hold_target(const cz *z) {
  size_t min = z->x->min_size;
  int64_t v = z->coding == NH__CODING_GZIP ? declared_length(nh_resp_header(z->w)) : -1;
  if (v < (int64_t)min || v > (int64_t)NH__GZIP_ONCE_MAX)
    return min;
  return (size_t)v;
}

static ssize_t cz_write(void *st, nh_response_writer *w, const void *p, size_t n) {
  cz *z = st;
  if (z->state == CZ_UNDECIDED) {
    if (z->status == 204 || z->status == 304)
      return nh_resp_write(w, p, n);
    if (!z->hold_to)
      z->hold_to = hold_target(z);
    int r = hold_append(z, p, n);
    if (r < 0)
      return r;
    if (z->hlen < z->hold_to)
      return (ssize_t)n;
    /* Enough held: decide, and the held bytes go the chosen way. */
    r = decide(z, 0, -1, -1, 0, 0);
    return r < 0 ? r : (ssize_t)n;
  }
  if (z->state == CZ_ENCODE) {
    int r = nh__encoder_write(z->enc, p, n);
    return r < 0 ? r : (ssize_t)n;
  }
  if (z->state == CZ_ONCE)
    return n ? NH_ERANGE : 0; /* past the Content-Length it declared */
  return nh_resp_write(w, p, n);
}

static int cz_sendfile(void *st, nh_response_writer *w, int fd, off_t offset, size_t len) {
  cz *z = st;
  if (z->state == CZ_UNDECIDED) {
    nh_header *h = nh_resp_header(w);
    if (!z->hlen && !z->status && !nh_header_get(h, "Content-Length")) {
      char n[32]; /* what the writer would say of a file alone */
      snprintf(n, sizeof n, "%zu", len);
      nh_header_set(h, "Content-Length", n);
    }
    int r = decide(z, 0, (int64_t)len, fd, offset, 0);
    if (r < 0 || z->state == CZ_ONCE)
      return r; /* once: the file went out with the decision */
  } else if (z->state == CZ_ONCE) {
    return len ? NH_ERANGE : NH_OK;
  }
  if (z->state != CZ_ENCODE)
    return nh_resp_sendfile(w, fd, offset, len);
  char chunk[16384];
  while (len) {
    ssize_t n = pread(fd, chunk, len < sizeof chunk ? len : sizeof chunk, offset);
    if (n <= 0)
      return NH_EIO; /* a read error, or the file is shorter than len */
    int r = nh__encoder_write(z->enc, chunk, (size_t)n);
    if (r < 0)
      return r;
    offset += n;
    len -= (size_t)n;
  }
  return NH_OK;
}

static int cz_flush(void *st, nh_response_writer *w) {
  cz *z = st;
  if (z->state == CZ_UNDECIDED) {
    int r = decide(z, 0, -1, -1, 0, 1);
    if (r < 0)
      return r;
  }
  if (z->state == CZ_ENCODE) {
    int r = nh__encoder_flush(z->enc);
    if (r < 0)
      return r;
  }
  return nh_resp_flush(w);
}

/* Hijacking is for a handler that has not answered: nothing held, no
 * status. */
static int cz_hijack(void *st, nh_response_writer *w) {
  cz *z = st;
  if (z->state != CZ_UNDECIDED || z->hlen || z->status)
    return NH_ENOTSUP;
  z->state = CZ_DONE;
  release(z);
  return NH_OK;
}

static void cz_reset(void *st, nh_response_writer *w) {
  cz *z = st;
  z->state = CZ_DONE;
  z->status = 0;
  release(z);
}

static int cz_finish(void *st, nh_response_writer *w) {
  cz *z = st;
  int r = 0;
  if (z->state == CZ_UNDECIDED)
    r = decide(z, 1, -1, -1, 0, 0);
  if (z->state == CZ_ENCODE && !r)
    r = nh__encoder_finish(z->enc);
  z->state = CZ_DONE;
  release(z);
  return r;
}

static const nh__resp_filter cz_filter = {cz_write_header, cz_write, cz_sendfile, cz_flush,
                                          cz_hijack,       cz_reset, cz_finish};

/* ---- the wrapper ---- */

static nh__coding negotiate(const compress_wrap *x, nh_request *r) {
  const char *m = nh_request_method(r);
  if (!strcmp(m, "HEAD") || nh_header_get(nh_request_header(r), "Range"))
    return NH__CODING_IDENTITY;
  nh__accept_enc a;
  nh__accept_enc_from(&a, nh_request_header(r));
  return nh__accept_enc_choose(&a, x->prefs, x->nprefs);
}

static void compress_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  compress_wrap *x = (compress_wrap *)self;
  cz *z = nh_request_alloc(r, sizeof *z);
  if (!z || nh__request_ext_get(r, &cz_key)) { /* no memory, or compressed outside already */
    nh_handler_serve(x->base.next, w, r);
    return;
  }
  *z = (cz){.x = x, .w = w, .coding = negotiate(x, r)};
  if (nh_request_on_end(r, cz_at_end, z) != NH_OK ||
      nh__request_ext_set(r, &cz_key, z) != NH_OK ||
      nh__resp_set_filter(w, &cz_filter, z) != NH_OK) {
    nh_handler_serve(x->base.next, w, r);
    return;
  }
  nh_handler_serve(x->base.next, w, r);
  nh__resp_end_filter(w);
}

void nh_compress_off(nh_request *r) {
  cz *z = r ? nh__request_ext_get(r, &cz_key) : NULL;
  if (z)
    z->off = 1;
}

nh_handler nh_with_compress(nh_handler next, const nh_compress_config *cfg) {
  nh_compress_config def = {0};
  if (!cfg)
    cfg = &def;
  compress_wrap *x = nh__wrap_new(sizeof *x, next, compress_serve, NULL);
  if (!x)
    return NH_HANDLER(NULL, NULL);
  x->min_size = cfg->min_size ? cfg->min_size : DEFAULT_MIN_SIZE;
  const int given[NH__CODING_COUNT] = {0, cfg->gzip_level, cfg->br_level, cfg->zstd_level};
  for (int c = NH__CODING_GZIP; c < NH__CODING_COUNT; c++) {
    int l = given[c];
    if (l == 0)
      l = nh__coding_level_default((nh__coding)c);
    if (l < 1 || l > nh__coding_level_max((nh__coding)c)) {
      free(x);
      return NH_HANDLER(NULL, NULL);
    }
    x->level[c] = l;
  }
  const char *p = cfg->encodings ? cfg->encodings : DEFAULT_ENCODINGS;
  while (*p) {
    while (*p == ' ' || *p == ',' || *p == '\t')
      p++;
    size_t n = strcspn(p, " ,\t");
    if (!n)
      break;
    int c = nh__coding_parse(p, n);
    int dup = 0;
    for (size_t i = 0; i < x->nprefs; i++)
      dup |= x->prefs[i] == (nh__coding)c;
    if (c <= NH__CODING_IDENTITY || dup) {
      free(x);
      return NH_HANDLER(NULL, NULL);
    }
    x->prefs[x->nprefs++] = (nh__coding)c;
    p += n;
  }
  return nh__wrap_handler(x);
}

nh_handler nh_mw_compress(nh_handler next, const void *cfg) {
  return nh_with_compress(next, cfg);
}
