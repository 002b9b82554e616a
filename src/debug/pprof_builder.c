/* The pprof builder: samples by stack, locations by address, functions by
 * name, the string table, mappings from /proc/self/maps, and the encoding
 * of it all as one profile.proto message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/errors.h"
#include "nethttp/offload.h"
#include "pprof_internal.h"
#include "runtime/internal.h"

enum { MAX_TYPES = 4 };

/* An open-addressing map of 64-bit keys (never 0) to indexes. */
typedef struct imap {
  uint64_t *keys;
  size_t *vals;
  size_t cap, len;
} imap;

static uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return k;
}

static int imap_grow(imap *m) {
  size_t ncap = m->cap ? m->cap * 2 : 256;
  uint64_t *keys = calloc(ncap, sizeof *keys);
  size_t *vals = calloc(ncap, sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return NH_ENOMEM;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      size_t j = mix(m->keys[i]) & (ncap - 1);
      while (keys[j])
        j = (j + 1) & (ncap - 1);
      keys[j] = m->keys[i];
      vals[j] = m->vals[i];
    }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = ncap;
  return 0;
}

/* The slot of key: *found tells whether it holds key already. */
static size_t *imap_slot(imap *m, uint64_t key, int *found) {
  if ((m->len + 1) * 2 > m->cap && imap_grow(m))
    return NULL;
  size_t j = mix(key) & (m->cap - 1);
  while (m->keys[j] && m->keys[j] != key)
    j = (j + 1) & (m->cap - 1);
  *found = m->keys[j] == key;
  if (!*found) {
    m->keys[j] = key;
    m->len++;
  }
  return &m->vals[j];
}

static void imap_free(imap *m) {
  free(m->keys);
  free(m->vals);
}

typedef struct location {
  uint64_t addr;
  uint64_t mapping; /* 1-based id, 0: none */
  uint64_t function; /* 1-based id, 0: not named */
  int64_t line;
} location;

typedef struct function {
  uint64_t name, file; /* string indexes */
} function;

typedef struct mapping {
  uint64_t start, limit, offset, file; /* file: a string index */
  int named, unnamed;                  /* its locations, by whether named */
  int lined;                           /* ... and with a file and line */
} mapping;

typedef struct sample {
  uint64_t *locs; /* location ids, innermost first */
  size_t nlocs;
  int64_t values[MAX_TYPES];
} sample;

#define GROW(arr, len, cap)                                                    \
  ((len) < (cap) ? 0                                                           \
                 : ((cap) = (cap) ? (cap) * 2 : 64,                            \
                    (arr) = reallocarray_or_free((arr), (cap), sizeof *(arr)), \
                    (arr) ? 0 : NH_ENOMEM))

static void *reallocarray_or_free(void *p, size_t n, size_t size) {
  void *q = realloc(p, n * size);
  if (!q)
    free(p);
  return q;
}

struct nh__pprof {
  nh__pprof_type types[MAX_TYPES];
  int ntypes;
  nh__pprof_type period_type;
  int64_t period, time_ns, duration_ns;
  char **strs;
  size_t nstrs, cstrs;
  imap str_index; /* hash of the string -> index + 1 candidates chain-free */
  location *locs;
  size_t nlocs, clocs;
  imap loc_index; /* address key -> location index */
  function *funcs;
  size_t nfuncs, cfuncs;
  imap func_index;
  mapping *maps;
  size_t nmaps, cmaps;
  sample *samples;
  size_t nsamples, csamples;
  imap sample_index;
  int failed;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ull;
  }
  return h ? h : 1;
}

/* The string's index in the table (0 is ""), added on first use. Strings
 * of equal hash are told apart by probing the next key. */
static uint64_t str_id(nh__pprof *p, const char *s) {
  if (!s || !*s)
    return 0;
  size_t n = strlen(s);
  uint64_t h = hash_bytes(s, n, 1469598103934665603ull);
  for (;;) {
    int found;
    size_t *v = imap_slot(&p->str_index, h, &found);
    if (!v) {
      p->failed = 1;
      return 0;
    }
    if (!found) {
      char *copy = strdup(s);
      if (!copy || GROW(p->strs, p->nstrs, p->cstrs)) {
        free(copy);
        p->failed = 1;
        return 0;
      }
      p->strs[p->nstrs] = copy;
      *v = p->nstrs;
      return p->nstrs++;
    }
    if (strcmp(p->strs[*v], s) == 0)
      return *v;
    h = mix(h + 1) | 1; /* a collision: the next candidate key */
  }
}

/* Executable mappings of the process, in /proc/self/maps order (the
 * program first). */
static void read_mappings(nh__pprof *p) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (!f)
    return;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi, off;
    char perms[8], path[4000];
    path[0] = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %3999[^\n]", &lo, &hi, perms, &off, path) < 4)
      continue;
    if (perms[2] != 'x')
      continue;
    if (GROW(p->maps, p->nmaps, p->cmaps)) {
      p->failed = 1;
      break;
    }
    const char *name = path;
    while (*name == ' ')
      name++;
    p->maps[p->nmaps++] = (mapping){.start = lo, .limit = hi, .offset = off, .file = str_id(p, name)};
  }
  fclose(f);
}

nh__pprof *nh__pprof_new(const nh__pprof_type *types, int ntypes, nh__pprof_type period_type,
                         int64_t period) {
  if (ntypes < 1 || ntypes > MAX_TYPES)
    return NULL;
  nh__pprof *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->strs = calloc(64, sizeof *p->strs);
  p->cstrs = 64;
  if (!p->strs || !(p->strs[0] = strdup(""))) {
    nh__pprof_free(p);
    return NULL;
  }
  p->nstrs = 1;
  memcpy(p->types, types, (size_t)ntypes * sizeof *types);
  p->ntypes = ntypes;
  p->period_type = period_type;
  p->period = period;
  read_mappings(p);
  if (p->failed) {
    nh__pprof_free(p);
    return NULL;
  }
  return p;
}

void nh__pprof_free(nh__pprof *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nstrs; i++)
    free(p->strs[i]);
  free(p->strs);
  for (size_t i = 0; i < p->nsamples; i++)
    free(p->samples[i].locs);
  free(p->samples);
  free(p->locs);
  free(p->funcs);
  free(p->maps);
  imap_free(&p->str_index);
  imap_free(&p->loc_index);
  imap_free(&p->func_index);
  imap_free(&p->sample_index);
  free(p);
}

void nh__pprof_set_time(nh__pprof *p, int64_t time_ns, int64_t duration_ns) {
  p->time_ns = time_ns;
  p->duration_ns = duration_ns;
}

size_t nh__pprof_samples(const nh__pprof *p) { return p->nsamples; }

/* The location id of an address (1-based), added on first use; named at
 * encode time. */
static uint64_t loc_id(nh__pprof *p, uint64_t addr) {
  int found;
  size_t *v = imap_slot(&p->loc_index, addr ? addr : 1, &found);
  if (!v)
    return 0;
  if (!found) {
    if (GROW(p->locs, p->nlocs, p->clocs))
      return 0;
    p->locs[p->nlocs] = (location){.addr = addr};
    *v = p->nlocs++;
  }
  return *v + 1;
}

int nh__pprof_add(nh__pprof *p, void *const *frames, int n, int leaf_is_pc,
                  const int64_t *values) {
  if (p->failed)
    return NH_ENOMEM;
  uint64_t ids[64];
  if (n > 64)
    n = 64;
  uint64_t key = 1469598103934665603ull;
  for (int i = 0; i < n; i++) {
    /* A return address points after its call: name the call itself. */
    uint64_t a = (uint64_t)(uintptr_t)frames[i];
    if ((i > 0 || !leaf_is_pc) && a)
      a--;
    if (!(ids[i] = loc_id(p, a)))
      return (p->failed = 1), NH_ENOMEM;
    key = hash_bytes(&ids[i], sizeof ids[i], key);
  }
  /* The sample of this stack: probe past keys of other stacks. */
  for (;;) {
    int found;
    size_t *v = imap_slot(&p->sample_index, key, &found);
    if (!v)
      return (p->failed = 1), NH_ENOMEM;
    if (!found) {
      uint64_t *locs = malloc((size_t)(n ? n : 1) * sizeof *locs);
      if (!locs || GROW(p->samples, p->nsamples, p->csamples)) {
        free(locs);
        return (p->failed = 1), NH_ENOMEM;
      }
      memcpy(locs, ids, (size_t)n * sizeof *locs);
      sample *s = &p->samples[p->nsamples];
      *s = (sample){.locs = locs, .nlocs = (size_t)n};
      for (int t = 0; t < p->ntypes; t++)
        s->values[t] = values[t];
      *v = p->nsamples++;
      return 0;
    }
    sample *s = &p->samples[*v];
    if (s->nlocs == (size_t)n && memcmp(s->locs, ids, (size_t)n * sizeof *ids) == 0) {
      for (int t = 0; t < p->ntypes; t++)
        s->values[t] += values[t];
      return 0;
    }
    key = mix(key + 1) | 1;
  }
}

static uint64_t mapping_of(nh__pprof *p, uint64_t addr) {
  for (size_t i = 0; i < p->nmaps; i++)
    if (addr >= p->maps[i].start && addr < p->maps[i].limit)
      return i + 1;
  return 0;
}

static uint64_t func_id(nh__pprof *p, const char *name, const char *file) {
  uint64_t n = str_id(p, name), f = str_id(p, file);
  int found;
  size_t *v = imap_slot(&p->func_index, (n << 32 | f) + 1, &found);
  if (!v)
    return 0;
  if (!found) {
    if (GROW(p->funcs, p->nfuncs, p->cfuncs))
      return 0;
    p->funcs[p->nfuncs] = (function){n, f};
    *v = p->nfuncs++;
  }
  return *v + 1;
}

/* Names a location from the symbolizer's "name+0xoff (file.c:12)". Its
 * fallbacks, "module+0xoff" and a bare address, name no function. */
static void name_location(nh__pprof *p, location *l) {
  char buf[512];
  l->mapping = mapping_of(p, l->addr);
  nh__symbol_name((const void *)(uintptr_t)l->addr, buf, sizeof buf, 1);
  size_t len = strcspn(buf, "+ ");
  char file[256] = "";
  int64_t line = 0;
  const char *paren = strstr(buf, " (");
  if (paren) {
    const char *colon = strrchr(paren, ':');
    if (colon && colon > paren + 2 && (size_t)(colon - paren - 2) < sizeof file) {
      memcpy(file, paren + 2, (size_t)(colon - paren - 2));
      file[colon - paren - 2] = 0;
      line = strtoll(colon + 1, NULL, 10);
    }
  }
  buf[len] = 0;
  int named = len > 0 && strncmp(buf, "0x", 2) != 0;
  if (named && l->mapping) {
    /* dladdr's fallback names the module, not a function. */
    const char *path = p->strs[p->maps[l->mapping - 1].file];
    const char *base = strrchr(path, '/');
    if (strcmp(buf, base ? base + 1 : path) == 0)
      named = 0;
  }
  if (l->mapping) {
    if (named)
      p->maps[l->mapping - 1].named++;
    else
      p->maps[l->mapping - 1].unnamed++;
  }
  if (named) {
    l->function = func_id(p, buf, file);
    l->line = line;
    if (l->mapping && file[0] && line > 0)
      p->maps[l->mapping - 1].lined++;
  }
}

static void put_value_type(nh__dynbuf *out, int field, nh__pprof *p, nh__pprof_type t) {
  nh__dynbuf m;
  nh__dynbuf_init(&m, NH__DYNBUF_NOCAP);
  nh__pb_uint(&m, 1, str_id(p, t.type));
  nh__pb_uint(&m, 2, str_id(p, t.unit));
  nh__pb_bytes(out, field, nh__dynbuf_ptr(&m), m.len);
  if (m.err)
    p->failed = 1;
  nh__dynbuf_free(&m);
}

/* Field numbers are profile.proto's. */
static void encode(nh__pprof *p, nh__dynbuf *b) {
  nh__dynbuf m;
  nh__dynbuf_init(&m, NH__DYNBUF_NOCAP);
  for (size_t i = 0; i < p->nlocs; i++)
    name_location(p, &p->locs[i]);
  for (int t = 0; t < p->ntypes; t++)
    put_value_type(b, 1, p, p->types[t]);
  for (size_t i = 0; i < p->nsamples; i++) {
    sample *s = &p->samples[i];
    uint64_t vals[MAX_TYPES];
    for (int t = 0; t < p->ntypes; t++)
      vals[t] = (uint64_t)s->values[t];
    nh__dynbuf_reset(&m);
    nh__pb_packed(&m, 1, s->locs, s->nlocs);
    nh__pb_packed(&m, 2, vals, (size_t)p->ntypes);
    nh__pb_bytes(b, 2, nh__dynbuf_ptr(&m), m.len);
  }
  for (size_t i = 0; i < p->nmaps; i++) {
    mapping *mp = &p->maps[i];
    /* Named: pprof need not look for the file to name addresses. A few
     * addresses no symbol covers (PLT stubs) do not count against it: told
     * that the mapping is not named, pprof renames all of it from the
     * binary, and its addr2line names no function of an LTO build. */
    int full = mp->named && mp->unnamed * 20 <= mp->named;
    int lines = full && mp->lined == mp->named;
    nh__dynbuf_reset(&m);
    nh__pb_uint(&m, 1, i + 1);
    nh__pb_uint(&m, 2, mp->start);
    nh__pb_uint(&m, 3, mp->limit);
    nh__pb_uint(&m, 4, mp->offset);
    nh__pb_uint(&m, 5, mp->file);
    nh__pb_uint(&m, 7, full);
    nh__pb_uint(&m, 8, lines);
    nh__pb_uint(&m, 9, lines);
    nh__pb_bytes(b, 3, nh__dynbuf_ptr(&m), m.len);
  }
  for (size_t i = 0; i < p->nlocs; i++) {
    location *l = &p->locs[i];
    nh__dynbuf_reset(&m);
    nh__pb_uint(&m, 1, i + 1);
    if (l->mapping)
      nh__pb_uint(&m, 2, l->mapping);
    nh__pb_uint(&m, 3, l->addr);
    if (l->function) {
      nh__dynbuf ln;
      nh__dynbuf_init(&ln, NH__DYNBUF_NOCAP);
      nh__pb_uint(&ln, 1, l->function);
      nh__pb_uint(&ln, 2, (uint64_t)l->line);
      nh__pb_bytes(&m, 4, nh__dynbuf_ptr(&ln), ln.len);
      if (ln.err)
        p->failed = 1;
      nh__dynbuf_free(&ln);
    }
    nh__pb_bytes(b, 4, nh__dynbuf_ptr(&m), m.len);
  }
  for (size_t i = 0; i < p->nfuncs; i++) {
    nh__dynbuf_reset(&m);
    nh__pb_uint(&m, 1, i + 1);
    nh__pb_uint(&m, 2, p->funcs[i].name);
    nh__pb_uint(&m, 3, p->funcs[i].name);
    nh__pb_uint(&m, 4, p->funcs[i].file);
    nh__pb_bytes(b, 5, nh__dynbuf_ptr(&m), m.len);
  }
  /* The period type's strings go in before the table is written. */
  uint64_t pt = str_id(p, p->period_type.type), pu = str_id(p, p->period_type.unit);
  for (size_t i = 0; i < p->nstrs; i++)
    nh__pb_bytes(b, 6, p->strs[i], strlen(p->strs[i]));
  nh__pb_uint(b, 9, (uint64_t)p->time_ns);
  nh__pb_uint(b, 10, (uint64_t)p->duration_ns);
  nh__dynbuf_reset(&m);
  nh__pb_uint(&m, 1, pt);
  nh__pb_uint(&m, 2, pu);
  nh__pb_bytes(b, 11, nh__dynbuf_ptr(&m), m.len);
  nh__pb_uint(b, 12, (uint64_t)p->period);
  if (m.err)
    p->failed = 1;
  nh__dynbuf_free(&m);
}

int nh__pprof_encode(nh__pprof *p, int gzip, nh__dynbuf *out) {
  if (p->failed)
    return NH_ENOMEM;
  nh__dynbuf raw;
  nh__dynbuf_init(&raw, NH__DYNBUF_NOCAP);
  encode(p, &raw);
  int e = raw.err ? raw.err : p->failed ? NH_ENOMEM : 0;
  if (!e) {
    if (gzip)
      e = nh__gzip(nh__dynbuf_ptr(&raw), raw.len, out);
    else
      e = nh__dynbuf_add(out, nh__dynbuf_ptr(&raw), raw.len);
  }
  nh__dynbuf_free(&raw);
  return e;
}

typedef struct encode_job {
  nh__pprof *p;
  nh__dynbuf *out;
} encode_job;

static int encode_job_run(void *arg) {
  encode_job *j = arg;
  return nh__pprof_encode(j->p, 1, j->out);
}

int nh__pprof_encode_offloaded(nh__pprof *p, nh__dynbuf *out) {
  encode_job j = {p, out};
  /* Not cancellable: j lives on this stack until the job returns. */
  return nh_offload(nh_ctx_background(), encode_job_run, &j);
}
