/* The pprof encoder: one builder for every profile the debug pages serve
 * (CPU, mutex, block). It gathers samples by stack, names each address
 * with the runtime's symbolizer, maps it to its file from /proc/self/maps,
 * and writes profile.proto (github.com/google/pprof/proto/profile.proto)
 * by hand, gzip-compressed as `go tool pprof` reads it. */
#ifndef NH_DEBUG_PPROF_INTERNAL_H
#define NH_DEBUG_PPROF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/dynbuf.h"

typedef struct nh__pprof nh__pprof;

/* A sample value's kind: "cpu"/"nanoseconds", "contentions"/"count". */
typedef struct nh__pprof_type {
  const char *type, *unit;
} nh__pprof_type;

/* A builder for samples of ntypes values each (at most 4), measured every
 * period of period_type. NULL when out of memory. Not thread-safe; use it
 * from one fiber or thread. */
nh__pprof *nh__pprof_new(const nh__pprof_type *types, int ntypes, nh__pprof_type period_type,
                         int64_t period);
void nh__pprof_free(nh__pprof *p);
/* The profile's start (ns since the Unix epoch) and length. */
void nh__pprof_set_time(nh__pprof *p, int64_t time_ns, int64_t duration_ns);
/* Adds values to the sample of this stack (frames innermost first). When
 * leaf_is_pc, frames[0] is the address of an instruction (an interrupted
 * pc); every other frame is a return address, which names the call before
 * it. Returns 0 or NH_ENOMEM. */
int nh__pprof_add(nh__pprof *p, void *const *frames, int n, int leaf_is_pc,
                  const int64_t *values);
/* Samples added so far, by distinct stack. */
size_t nh__pprof_samples(const nh__pprof *p);
/* Encodes the profile into out (appended), gzip-compressed when gzip is
 * set. Names every address on first use (may take the symbolizer's lock
 * and read debug information). Returns 0 or NH_ENOMEM. */
int nh__pprof_encode(nh__pprof *p, int gzip, nh__dynbuf *out);
/* nh__pprof_encode on the runtime's offload pool, gzip-compressed: the
 * first lookups read debug information for a good part of a second, which
 * must not stall the serving loop. Parks the calling fiber. */
int nh__pprof_encode_offloaded(nh__pprof *p, nh__dynbuf *out);

/* ---- protobuf wire format (pprof_proto.c) ---- */
void nh__pb_varint(nh__dynbuf *b, uint64_t v);
/* Field of wire type 0 (varint). */
void nh__pb_uint(nh__dynbuf *b, int field, uint64_t v);
/* Field of wire type 2 (length-delimited). */
void nh__pb_bytes(nh__dynbuf *b, int field, const void *p, size_t n);
/* Packed repeated varints. */
void nh__pb_packed(nh__dynbuf *b, int field, const uint64_t *v, size_t n);
/* gzip of in into out; 0 or NH_ENOMEM. */
int nh__gzip(const void *in, size_t n, nh__dynbuf *out);

#endif
