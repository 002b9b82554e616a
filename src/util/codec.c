/* Content codings: names, levels, and the buffering every encoder and
 * decoder shares (codec.h); the codings themselves are in codec_*.c. */
#include "util/codec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nethttp/errors.h"
#include "util/codec_impl.h"

/* An encoder's output buffer: what it hands a sink at a time. */
#define ENC_BUF 16384
/* Encoders kept for reuse, per thread and coding: a new zlib stream is
 * some 270 KiB to allocate and fault in, more than compressing a 30 KB
 * response at level 1 costs. A loop serves its responses one at a time, so
 * a few are enough. */
#define ENC_CACHE 4

static const nh__codec_ops *ops_of(nh__coding c) {
  switch (c) {
  case NH__CODING_GZIP:
    return &nh__codec_gzip;
  case NH__CODING_BR:
    return &nh__codec_br;
  case NH__CODING_ZSTD:
    return &nh__codec_zstd;
  default:
    return NULL;
  }
}

const char *nh__coding_name(nh__coding c) {
  static const char *const names[] = {"identity", "gzip", "br", "zstd"};
  return (unsigned)c < NH__CODING_COUNT ? names[c] : "";
}

const char *nh__coding_suffix(nh__coding c) {
  static const char *const sfx[] = {"", ".gz", ".br", ".zst"};
  return (unsigned)c < NH__CODING_COUNT ? sfx[c] : "";
}

int nh__coding_parse(const char *tok, size_t len) {
  if (len == 6 && !strncasecmp(tok, "x-gzip", 6))
    return NH__CODING_GZIP;
  for (int c = 0; c < NH__CODING_COUNT; c++) {
    const char *n = nh__coding_name((nh__coding)c);
    if (strlen(n) == len && !strncasecmp(tok, n, len))
      return c;
  }
  return -1;
}

int nh__coding_level_min(nh__coding c) { return ops_of(c) ? ops_of(c)->level_min : 0; }
int nh__coding_level_max(nh__coding c) { return ops_of(c) ? ops_of(c)->level_max : 0; }
int nh__coding_level_default(nh__coding c) { return ops_of(c) ? ops_of(c)->level_default : 0; }

/* ---- encoder ---- */

struct nh__encoder {
  const nh__codec_ops *ops;
  void *st;
  nh__codec_sink sink;
  void *arg;
  size_t len, out;
  int err; /* a failure (the sink's): every later call returns it */
  int finished;
  nh__coding coding;
  uint8_t buf[ENC_BUF];
};

/* ---- the per-thread cache of encoders ---- */

typedef struct enc_cache {
  nh__encoder *e[NH__CODING_COUNT][ENC_CACHE];
  int n[NH__CODING_COUNT];
} enc_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_ok;

static void really_free(nh__encoder *e);

static void cache_drop(void *arg) { /* the thread ends */
  enc_cache *c = arg;
  for (int k = 0; k < NH__CODING_COUNT; k++)
    for (int i = 0; i < c->n[k]; i++)
      really_free(c->e[k][i]);
  free(c);
}

static void cache_init(void) { cache_ok = pthread_key_create(&cache_key, cache_drop) == 0; }

static enc_cache *cache_get(int make) {
  pthread_once(&cache_once, cache_init);
  if (!cache_ok)
    return NULL;
  enc_cache *c = pthread_getspecific(cache_key);
  if (!c && make && (c = calloc(1, sizeof *c)) && pthread_setspecific(cache_key, c) != 0) {
    free(c);
    c = NULL;
  }
  return c;
}

/* Field by field: a compound literal would clear the 16 KiB buffer too,
 * for every response. The state (st) is the caller's to set. */
static void enc_init(nh__encoder *e, const nh__codec_ops *ops, nh__codec_sink sink, void *arg,
                     nh__coding c) {
  e->ops = ops;
  e->sink = sink;
  e->arg = arg;
  e->len = e->out = 0;
  e->err = e->finished = 0;
  e->coding = c;
}

nh__encoder *nh__encoder_new(nh__coding c, int level, nh__codec_sink sink, void *arg) {
  const nh__codec_ops *ops = ops_of(c);
  if (!ops || !sink)
    return NULL;
  if (level < ops->level_min || (level == 0 && c != NH__CODING_BR))
    level = ops->level_default;
  if (level > ops->level_max)
    level = ops->level_max;
  enc_cache *cache = ops->enc_reset ? cache_get(0) : NULL;
  while (cache && cache->n[c] > 0) {
    nh__encoder *e = cache->e[c][--cache->n[c]];
    if (ops->enc_reset(e->st, level) != NH_OK) {
      really_free(e);
      continue;
    }
    enc_init(e, ops, sink, arg, c);
    return e;
  }
  nh__encoder *e = malloc(sizeof *e);
  if (!e)
    return NULL;
  enc_init(e, ops, sink, arg, c);
  if (!(e->st = ops->enc_new(level))) {
    free(e);
    return NULL;
  }
  return e;
}

static int emit(nh__encoder *e) {
  if (!e->len)
    return NH_OK;
  int r = e->sink(e->arg, e->buf, e->len);
  e->out += e->len;
  e->len = 0;
  return r;
}

static int run(nh__encoder *e, const void *p, size_t n, int op) {
  if (e->err)
    return e->err;
  if (e->finished)
    return NH_EINVAL;
  const uint8_t *in = p;
  for (;;) {
    uint8_t *out = e->buf + e->len;
    size_t room = ENC_BUF - e->len;
    int pending = 0;
    int r = e->ops->enc(e->st, &in, &n, &out, &room, op, &pending);
    e->len = ENC_BUF - room;
    if (!r && (room == 0 || (op != NH__ENC_PROCESS && !pending)))
      r = emit(e);
    if (r)
      return e->err = r;
    if (!pending && n == 0)
      break;
  }
  if (op == NH__ENC_FINISH)
    e->finished = 1;
  return NH_OK;
}

int nh__encoder_write(nh__encoder *e, const void *p, size_t n) {
  return n ? run(e, p, n, NH__ENC_PROCESS) : (e->err ? e->err : NH_OK);
}
int nh__encoder_flush(nh__encoder *e) { return run(e, NULL, 0, NH__ENC_FLUSH); }
int nh__encoder_finish(nh__encoder *e) { return run(e, NULL, 0, NH__ENC_FINISH); }
size_t nh__encoder_out(const nh__encoder *e) { return e->out; }

static void really_free(nh__encoder *e) {
  e->ops->enc_free(e->st);
  free(e);
}

void nh__encoder_free(nh__encoder *e) {
  if (!e)
    return;
  enc_cache *c = e->ops->enc_reset ? cache_get(1) : NULL;
  if (c && c->n[e->coding] < ENC_CACHE) {
    c->e[e->coding][c->n[e->coding]++] = e; /* reset when taken again */
    return;
  }
  really_free(e);
}

/* ---- decoder ---- */

struct nh__decoder {
  const nh__codec_ops *ops;
  void *st;
  const uint8_t *in;
  size_t nin;
  int ended; /* the last stream ended; more input may start another */
  int err;
};

nh__decoder *nh__decoder_new(nh__coding c) {
  const nh__codec_ops *ops = ops_of(c);
  if (!ops)
    return NULL;
  nh__decoder *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->ops = ops;
  if (!(d->st = ops->dec_new())) {
    free(d);
    return NULL;
  }
  return d;
}

void nh__decoder_push(nh__decoder *d, const void *p, size_t n) {
  d->in = p;
  d->nin = n;
}

ssize_t nh__decoder_pull(nh__decoder *d, void *out, size_t cap) {
  if (d->err)
    return d->err;
  uint8_t *o = out;
  size_t room = cap;
  while (room && d->nin) {
    if (d->ended) {
      /* Another member or frame, or trailing bytes left for the caller. */
      if (d->ops->dec_restart(d->st, d->in, d->nin) != NH_OK)
        break;
      d->ended = 0;
    }
    int end = 0;
    size_t before_in = d->nin, before_out = room;
    int r = d->ops->dec(d->st, &d->in, &d->nin, &o, &room, &end);
    if (r)
      return d->err = r;
    if (end)
      d->ended = 1;
    else if (d->nin == before_in && room == before_out)
      break; /* no progress: it needs more input */
  }
  /* A stream may end with no input left to show it: ask once more. */
  if (!d->ended && room && !d->nin) {
    int end = 0;
    int r = d->ops->dec(d->st, &d->in, &d->nin, &o, &room, &end);
    if (r)
      return d->err = r;
    if (end)
      d->ended = 1;
  }
  return (ssize_t)(cap - room);
}

size_t nh__decoder_input_left(const nh__decoder *d) { return d->nin; }
int nh__decoder_done(const nh__decoder *d) { return d->ended; }

void nh__decoder_free(nh__decoder *d) {
  if (!d)
    return;
  d->ops->dec_free(d->st);
  free(d);
}
