/* /debug/fibers: every fiber of the runtime, as Go's
 * /debug/pprof/goroutine shows goroutines.
 *
 *   (default, ?debug=1)  fibers grouped by identical stack, most common
 *                        first, each group with its count (debug=1);
 *   ?debug=2             one by one: id, park reason and how long, loop,
 *                        label, stack, entry function;
 *   ?leaked=1            only the fibers the leak watch suspects (a
 *                        handler's fiber, or one a handler started, parked
 *                        on anything but socket I/O for the runtime's
 *                        long_park_threshold), one by one, each with the
 *                        handler that started it;
 *   ?format=json, or Accept: application/json: the same as JSON.
 *
 * The dump itself (nh_fiber_dump) is taken by each loop on its own thread
 * while this fiber waits, so a busy runtime is read consistently. Frames
 * are symbolized once per distinct address: a server with 100,000 fibers
 * has far fewer distinct frames. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug_internal.h"
#include "nethttp/errors.h"
#include "nethttp/form.h"
#include "nethttp/json.h"
#include "runtime/internal.h"

/* pc -> symbol name, open addressing, for one page. */
typedef struct sym_cache {
  void **pcs;
  char **names;
  size_t cap, n;
} sym_cache;

static size_t pc_hash(void *pc, size_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)pc * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 20) & (cap - 1);
}

static int cache_grow(sym_cache *c) {
  size_t cap = c->cap ? c->cap * 2 : 256;
  void **pcs = calloc(cap, sizeof *pcs);
  char **names = calloc(cap, sizeof *names);
  if (!pcs || !names) {
    free(pcs);
    free(names);
    return -1;
  }
  for (size_t i = 0; i < c->cap; i++)
    if (c->pcs[i]) {
      size_t k = pc_hash(c->pcs[i], cap);
      while (pcs[k])
        k = (k + 1) & (cap - 1);
      pcs[k] = c->pcs[i];
      names[k] = c->names[i];
    }
  free(c->pcs);
  free(c->names);
  c->pcs = pcs;
  c->names = names;
  c->cap = cap;
  return 0;
}

static const char *sym(sym_cache *c, void *pc) {
  static __thread char fallback[160];
  if ((c->n + 1) * 2 > c->cap && cache_grow(c) != 0) {
    nh_frame_name(pc, fallback, sizeof fallback);
    return fallback;
  }
  size_t k = pc_hash(pc, c->cap);
  while (c->pcs[k] && c->pcs[k] != pc)
    k = (k + 1) & (c->cap - 1);
  if (!c->pcs[k]) {
    char name[160];
    nh_frame_name(pc, name, sizeof name);
    if (!(c->names[k] = strdup(name))) {
      snprintf(fallback, sizeof fallback, "%s", name);
      return fallback;
    }
    c->pcs[k] = pc;
    c->n++;
  }
  return c->names[k];
}

static void cache_free(sym_cache *c) {
  for (size_t i = 0; i < c->cap; i++)
    free(c->names[i]);
  free(c->pcs);
  free(c->names);
}

/* How long a fiber has been parked, in words: "2 seconds", "4 minutes"
 * (Go's dump says minutes; below one, seconds say more). Whole units,
 * rounded down, so the words never claim more than happened. */
static void waited_words(nh_dur d, char *buf, size_t cap) {
  long long s = (long long)(d / NH_SEC);
  if (s >= 60)
    snprintf(buf, cap, "%lld minute%s", s / 60, s / 60 == 1 ? "" : "s");
  else
    snprintf(buf, cap, "%lld second%s", s, s == 1 ? "" : "s");
}

static int parked(const nh_fiber_info *f) {
  return strcmp(f->state, "running") != 0 && strcmp(f->state, "runnable") != 0;
}

static json_t *stack_json(sym_cache *c, const nh_fiber_info *f) {
  json_t *a = json_array();
  for (int k = 0; k < f->nframes; k++)
    json_array_append_new(a, json_string(sym(c, f->frames[k])));
  return a;
}

/* ---- debug=1: grouped by stack ---- */

static int stack_cmp(const nh_fiber_info *x, const nh_fiber_info *y) {
  if (x->nframes != y->nframes)
    return x->nframes < y->nframes ? -1 : 1;
  return memcmp(x->frames, y->frames, (size_t)x->nframes * sizeof x->frames[0]);
}

static int by_stack(const void *a, const void *b) {
  const nh_fiber_info *x = *(nh_fiber_info *const *)a, *y = *(nh_fiber_info *const *)b;
  int c = stack_cmp(x, y);
  return c ? c : (x->id < y->id ? -1 : x->id > y->id);
}

typedef struct group {
  nh_fiber_info **members; /* into the sorted array; members[0] has the lowest id */
  size_t count;
} group;

static int by_count(const void *a, const void *b) {
  const group *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return x->members[0]->id < y->members[0]->id ? -1 : x->members[0]->id > y->members[0]->id;
}

/* Groups of identical stacks, most common first. *order and *groups are
 * malloc'd (free both). Returns the number of groups, or -1. */
static long group_fibers(nh_fiber_info *items, size_t n, nh_fiber_info ***order, group **groups) {
  *order = malloc((n ? n : 1) * sizeof **order);
  *groups = malloc((n ? n : 1) * sizeof **groups);
  if (!*order || !*groups)
    return -1;
  for (size_t i = 0; i < n; i++)
    (*order)[i] = &items[i];
  qsort(*order, n, sizeof **order, by_stack);
  long ng = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || stack_cmp((*order)[i - 1], (*order)[i]) != 0)
      (*groups)[ng++] = (group){&(*order)[i], 0};
    (*groups)[ng - 1].count++;
  }
  qsort(*groups, (size_t)ng, sizeof **groups, by_count);
  return ng;
}

static void grouped_text(nh_response_writer *w, sym_cache *c, const group *g, long ng, size_t n) {
  nh_resp_printf(w, "fiber profile: total %zu\n", n);
  for (long i = 0; i < ng; i++) {
    const nh_fiber_info *f = g[i].members[0];
    nh_resp_printf(w, "%zu @", g[i].count);
    for (int k = 0; k < f->nframes; k++)
      nh_resp_printf(w, " %p", f->frames[k]);
    nh_resp_printf(w, "\n# state: %s\n", f->state);
    for (int k = 0; k < f->nframes; k++)
      nh_resp_printf(w, "#\t%p\t%s\n", f->frames[k], sym(c, f->frames[k]));
    if (!f->nframes)
      nh_resp_printf(w, "#\t(no stack: running)\n");
    nh_resp_printf(w, "\n");
  }
}

static json_t *grouped_json(sym_cache *c, const group *g, long ng, size_t n) {
  json_t *groups = json_array();
  for (long i = 0; i < ng; i++) {
    const nh_fiber_info *f = g[i].members[0];
    json_t *ids = json_array();
    for (size_t k = 0; k < g[i].count; k++)
      json_array_append_new(ids, json_integer((json_int_t)g[i].members[k]->id));
    json_array_append_new(groups, json_pack("{s:I,s:s,s:o,s:o}", "count", (json_int_t)g[i].count,
                                            "state", f->state, "stack", stack_json(c, f), "ids",
                                            ids));
  }
  return json_pack("{s:I,s:o}", "total", (json_int_t)n, "groups", groups);
}

/* ---- debug=2: one by one ---- */

/* origins (NULL but with ?leaked=1): where each fiber came from. */
static void each_text(nh_response_writer *w, sym_cache *c, const nh_fiber_info *items, size_t n,
                      const nh__leaked_fiber *origins) {
  for (size_t i = 0; i < n; i++) {
    const nh_fiber_info *f = &items[i];
    char words[48] = "";
    if (parked(f)) {
      words[0] = ',';
      words[1] = ' ';
      waited_words(f->waiting, words + 2, sizeof words - 2);
    }
    nh_resp_printf(w, "fiber %" PRIu64 " [%s%s] loop %d \"%s\":\n", f->id, f->state, words, f->loop,
                   f->label);
    for (int k = 0; k < f->nframes; k++)
      nh_resp_printf(w, "\t%s\n", sym(c, f->frames[k]));
    nh_resp_printf(w, "started as %s\n", f->entry);
    if (origins && origins[i].origin_id)
      nh_resp_printf(w, "started by handler fiber %" PRIu64 " \"%s\"\n", origins[i].origin_id,
                     origins[i].origin);
    nh_resp_printf(w, "\n");
  }
}

static json_t *each_json(sym_cache *c, const nh_fiber_info *items, size_t n,
                         const nh__leaked_fiber *origins) {
  json_t *fibers = json_array();
  for (size_t i = 0; i < n; i++) {
    const nh_fiber_info *f = &items[i];
    char words[48] = "";
    if (parked(f))
      waited_words(f->waiting, words, sizeof words);
    json_t *one = json_pack("{s:I,s:i,s:s,s:s,s:b,s:I,s:s,s:s,s:o}", "id", (json_int_t)f->id, "loop",
                          f->loop, "label", f->label, "state", f->state, "parked", parked(f),
                          "parked_ns", (json_int_t)(parked(f) ? f->waiting : 0), "parked_for",
                          words, "entry", f->entry, "stack", stack_json(c, f));
    if (one && origins && origins[i].origin_id)
      json_object_set_new(one, "origin", json_pack("{s:I,s:s}", "fiber",
                                                   (json_int_t)origins[i].origin_id, "label",
                                                   origins[i].origin));
    json_array_append_new(fibers, one);
  }
  return json_pack("{s:I,s:o}", "total", (json_int_t)n, "fibers", fibers);
}

void nh__debug_fibers(nh__debug *d, nh_response_writer *w, nh_request *r) {
  const char *level = nh_request_form_value(r, "debug");
  int each = level && atoi(level) >= 2;
  int json = nh__debug_wants_json(r);
  nh_runtime *rt = nh__debug_runtime(d);
  const char *leaked_arg = nh_request_form_value(r, "leaked");
  int leaked = leaked_arg && atoi(leaked_arg) == 1;
  nh_fiber_info *items = NULL;
  nh__leaked_fiber *origins = NULL;
  size_t n = 0;
  int e = !rt ? NH_EINVAL : leaked ? nh__leak_list(rt, -1, &origins, &n) : nh_fiber_dump(rt, &items, &n);
  if (leaked && n && (e == NH_OK || e == NH_ESTALL)) {
    items = malloc(n * sizeof *items);
    for (size_t i = 0; items && i < n; i++)
      items[i] = origins[i].info;
    if (!items)
      e = NH_ENOMEM;
  }
  if (leaked)
    each = 1; /* few, and each with its origin */
  if (e != NH_OK && e != NH_ESTALL) {
    free(origins);
    free(items);
    nh_error(w, nh_strerror(e), 500);
    return;
  }
  int stalled = e == NH_ESTALL;
  sym_cache cache = {0};
  nh_fiber_info **order = NULL;
  group *groups = NULL;
  long ng = each ? 0 : group_fibers(items, n, &order, &groups);
  if (ng < 0) {
    nh_error(w, nh_strerror(NH_ENOMEM), 500);
  } else if (json) {
    json_t *v = each ? each_json(&cache, items, n, origins) : grouped_json(&cache, groups, ng, n);
    if (v) {
      json_object_set_new(v, "stalled", json_boolean(stalled));
      nh_resp_json(w, 200, v);
      json_decref(v);
    } else {
      nh_error(w, nh_strerror(NH_ENOMEM), 500);
    }
  } else {
    nh_header_set(nh_resp_header(w), "Content-Type", "text/plain; charset=utf-8");
    if (each)
      each_text(w, &cache, items, n, origins);
    else
      grouped_text(w, &cache, groups, ng, n);
    if (stalled)
      nh_resp_printf(w, "(some loops did not answer within 1s: stalled)\n");
  }
  cache_free(&cache);
  free(order);
  free(groups);
  free(items);
  free(origins);
}
