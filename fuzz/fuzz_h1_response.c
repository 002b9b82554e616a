/* Fuzz target: bytes as a server's response stream, through the client's
 * HTTP/1 parser core: heads (1xx skipped), bodies by length, chunked (with
 * trailers) or until close, one response after another on a kept
 * connection, and the end of the stream.
 *
 * Input: byte 0 holds flags (bit 0: the request was HEAD) and byte 1 seeds
 * how the rest is cut into arriving reads and how much room each body read
 * has. The stream is parsed twice, once whole and once cut that way; what
 * must always hold: no crash or out-of-bounds access, spans inside the
 * bytes seen, a body read never produces more than its room, bodiless
 * answers (HEAD, 1xx, 204, 304) have no body, a complete length-framed body
 * has exactly its length, and the cutting changes nothing of the outcome
 * (responses, body bytes, trailers). */
#include "http1/h1_request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 32

typedef struct outcome {
  int responses; /* complete final responses */
  int failed;    /* a head or body was refused */
  int cut;       /* the stream ended inside a message */
  uint64_t body_hash;
  int64_t body_bytes;
  uint64_t trailer_hash; /* names and values of every trailer kept */
  int last_status;
} outcome;

/* Deterministic pseudo-random sizes from the seed byte. */
static size_t next_size(uint32_t *state, size_t max) {
  *state = *state * 1103515245u + 12345u;
  return 1 + (*state >> 16) % max;
}

static uint64_t hash_str(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;
}

static void spans_inside(const nh__h1_req *p, const nh__h1_field *fields, size_t end) {
  if (p->reason_phrase.off + p->reason_phrase.len > end)
    abort();
  for (int i = 0; i < p->nfields; i++)
    if (fields[i].name.off + fields[i].name.len > end ||
        fields[i].value.off + fields[i].value.len > end)
      abort();
}

static outcome run(char *buf, size_t size, int head_request, int whole, uint32_t seed) {
  outcome o = {0, 0, 0, 1469598103934665603ull, 0, 1469598103934665603ull, 0};
  nh__h1_field fields[MAX_FIELDS];
  nh__h1_req p;
  nh__h1_resp_init(&p, fields, MAX_FIELDS);
  nh__arena arena;
  nh__arena_init(&arena, NULL, 0);
  uint32_t rng = seed;
  size_t pos = 0, avail = 0; /* bytes [0, avail) have "arrived" */
  for (int msg = 0; msg < 64 && pos < size; msg++) {
    nh__h1_req_next(&p);
    p.head_request = head_request;
    nh_header *trailer = nh_header_new();
    p.trailer = trailer;
    p.trailer_arena = &arena;
    /* Head: more bytes arrive until it is complete. */
    int r;
    for (;;) {
      if (avail < pos)
        avail = pos;
      r = nh__h1_parse_head(&p, buf, &pos, avail);
      if (r != 0 || avail == size)
        break;
      avail = whole ? size : avail + next_size(&rng, 64);
      if (avail > size)
        avail = size;
    }
    if (r == 0) { /* the stream ended inside a head */
      o.cut = 1;
      nh_header_free(trailer);
      break;
    }
    if (r < 0) {
      if (p.phase != NH__H1_FAILED || p.status == 0)
        abort();
      o.failed = 1;
      nh_header_free(trailer);
      break;
    }
    if (pos > avail || p.status_code < 100 || p.status_code > 999)
      abort();
    spans_inside(&p, fields, pos);
    int st = p.status_code;
    int bodiless = head_request || st < 200 || st == 204 || st == 304;
    if (bodiless && p.phase != NH__H1_DONE)
      abort();
    if (st >= 100 && st < 200) {
      nh_header_free(trailer);
      if (st == 101)
        break; /* the connection is another protocol's now */
      continue; /* 1xx: the final answer follows */
    }
    o.last_status = st;
    /* Body: reads with varying room; more bytes arrive when these are used. */
    int64_t got = 0;
    char out[256];
    for (int guard = 0; p.phase == NH__H1_BODY && guard < 1000000; guard++) {
      if (pos == avail) {
        if (avail == size) {
          if (nh__h1_finish(&p) == 0) {
            if (p.phase != NH__H1_DONE || !p.until_close)
              abort();
          } else {
            o.cut = 1;
          }
          break;
        }
        avail = whole ? size : avail + next_size(&rng, 512);
        if (avail > size)
          avail = size;
      }
      size_t room = whole ? sizeof out : next_size(&rng, sizeof out);
      size_t before = pos;
      long n = nh__h1_parse_body(&p, buf, &pos, avail, out, room);
      if (n < 0) {
        if (p.phase != NH__H1_FAILED)
          abort();
        o.failed = 1;
        break;
      }
      if ((size_t)n > room || pos > avail || pos < before || (size_t)n > pos - before)
        abort();
      for (long i = 0; i < n; i++)
        o.body_hash = (o.body_hash ^ (uint8_t)out[i]) * 1099511628211ull;
      got += n;
    }
    o.body_bytes += got;
    if (p.phase == NH__H1_DONE) {
      if (bodiless && got != 0)
        abort();
      if (!bodiless && !p.chunked && !p.until_close && p.content_length >= 0 &&
          got != p.content_length)
        abort();
      o.responses++;
      for (size_t i = 0; i < nh_header_len(trailer); i++) {
        const char *k, *v;
        nh_header_at(trailer, i, &k, &v);
        o.trailer_hash = hash_str(hash_str(o.trailer_hash, k), v);
      }
    }
    nh_header_free(trailer);
    if (p.phase != NH__H1_DONE || !p.keep_alive)
      break;
    nh__arena_reset(&arena);
  }
  nh__arena_dispose(&arena);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  int head_request = data[0] & 1;
  uint32_t seed = data[1];
  size -= 2;
  char *buf = malloc(size);
  memcpy(buf, data + 2, size);
  outcome whole = run(buf, size, head_request, 1, seed);
  outcome cut = run(buf, size, head_request, 0, seed);
  /* How the bytes arrive changes nothing: same responses, bodies, trailers.
   * (A read that meets bad framing returns the error, not the bytes before
   * it in the same read, so after a failure the byte counts may differ.) */
  if (whole.responses != cut.responses || whole.failed != cut.failed ||
      whole.cut != cut.cut || whole.last_status != cut.last_status)
    abort();
  if (!whole.failed && (whole.body_hash != cut.body_hash || whole.body_bytes != cut.body_bytes ||
                        whole.trailer_hash != cut.trailer_hash))
    abort();
  free(buf);
  return 0;
}
