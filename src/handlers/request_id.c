/* Request IDs and the request-scoped logger (the guide's pattern 1). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "server/hooks.h"
#include "wrap.h"

#define MAX_ID 128

typedef struct id_wrap {
  nh__wrap base;
  nh_logger *log;
} id_wrap;

/* A logger that adds request_id to each record, then hands it to parent. */
typedef struct request_logger {
  nh_logger base;
  nh_logger *parent;
  const char *id;
} request_logger;

static void request_logger_write(nh_logger *lg, const nh_log_record *rec) {
  request_logger *rl = (request_logger *)lg;
  nh_log_field fields[64];
  size_t n = rec->nfields < 63 ? rec->nfields : 63;
  fields[0] = NH_LSTR("request_id", rl->id);
  memcpy(fields + 1, rec->fields, n * sizeof *fields);
  nh_log_record r2 = *rec;
  r2.fields = fields;
  r2.nfields = n + 1;
  if (r2.level >= rl->parent->min_level)
    rl->parent->write(rl->parent, &r2);
}

static int valid_id(const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("-_.:+/=@", c)) || n >= MAX_ID)
      return 0;
  }
  return n > 0;
}

/* Random enough to be unique, and cheap: a per-thread splitmix64 stream
 * seeded once from the kernel. */
static uint64_t next_random(void) {
  static _Thread_local uint64_t state;
  static _Thread_local int seeded;
  if (!seeded) {
    if (getrandom(&state, sizeof state, 0) != sizeof state)
      state = (uint64_t)nh_now() ^ (uint64_t)(uintptr_t)&state;
    seeded = 1;
  }
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void new_uuid(char out[37]) {
  uint64_t a = next_random(), b = next_random();
  a = (a & ~0xf000ull) | 0x4000ull;                   /* version 4 */
  b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant 10 */
  snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
           (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
           (unsigned long long)(b & 0xffffffffffffull));
}

/* The request's slots, keyed by these addresses (this file's own). */
static const char id_key, logger_key;

static void id_serve(nh__wrap *self, nh_response_writer *w, nh_request *r) {
  id_wrap *x = (id_wrap *)self;
  const char *in = nh_header_get(nh_request_header(r), "X-Request-Id");
  char made[37];
  const char *id = in && valid_id(in) ? in : (new_uuid(made), made);
  char *copy = nh_request_strdup(r, id);
  request_logger *rl = nh_request_alloc(r, sizeof *rl);
  if (copy && rl) {
    rl->parent = x->log ? x->log : nh__request_server_logger(r);
    rl->id = copy;
    rl->base.write = request_logger_write;
    rl->base.min_level = rl->parent->min_level;
    rl->base.user = rl;
    nh__request_ext_set(r, &id_key, copy);
    nh__request_ext_set(r, &logger_key, rl);
    nh_header_set(nh_resp_header(w), "X-Request-Id", copy);
  }
  /* The ID stays for the rest of the request: an access log outside this
   * wrapper still reports it after next returns. */
  nh_handler_serve(x->base.next, w, r);
}

nh_handler nh_with_request_id(nh_handler next, nh_logger *base) {
  id_wrap *x = nh__wrap_new(sizeof *x, next, id_serve, NULL);
  if (x)
    x->log = base;
  return nh__wrap_handler(x);
}

nh_handler nh_mw_request_id(nh_handler next, const void *logger) {
  return nh_with_request_id(next, (nh_logger *)logger);
}

const char *nh_request_id(nh_request *r) { return nh__request_ext_get(r, &id_key); }

nh_logger *nh_request_logger(nh_request *r) {
  nh_logger *lg = nh__request_ext_get(r, &logger_key);
  return lg ? lg : nh__request_server_logger(r);
}
