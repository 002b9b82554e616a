/* Fiber dumps: what every live fiber is doing, like Go's goroutine dump.
 *
 * Each loop lists its own fibers on its own thread (posted as a message), so
 * no fiber is read while it runs. The requester waits at most a second: a
 * loop that does not answer is stalled, and that is itself the news. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_name(const nh_fiber *f) {
  switch (f->state) {
  case NH__F_RUNNING:
    return "running";
  case NH__F_RUNNABLE:
    return "runnable";
  case NH__F_PARKED:
    return f->wait_reason ? f->wait_reason : "parked";
  default:
    return "dead";
  }
}

/* On loop l's thread: its own fibers into slot. */
static void collect(nh_loop *l, void *slot, const void *arg) {
  (void)arg;
  nh__gather_list *out = slot; /* of nh_fiber_info */
  size_t n = (size_t)l->nlive, i = 0;
  nh_fiber_info *items = n ? calloc(n, sizeof *items) : NULL;
  nh_time now = nh_now();
  for (nh__list *node = l->live.next; node != &l->live && items && i < n; node = node->next, i++) {
    nh_fiber *f = nh__container_of(node, nh_fiber, live_node);
    nh_fiber_info *it = &items[i];
    it->id = f->id;
    it->loop = l->index;
    it->state = state_name(f);
    it->waiting = f->state == NH__F_PARKED ? now - f->parked_at : 0;
    memcpy(it->label, f->label, sizeof it->label);
    it->label[sizeof it->label - 1] = 0;
    it->entry_pc = (void *)f->fn; /* named by the requester: see name_entries */
    if (f->state != NH__F_RUNNING)
      it->nframes = nh__fiber_frames(f, it->frames, (int)(sizeof it->frames / sizeof it->frames[0]));
  }
  out->items = items;
  out->n = i;
}

/* Symbolizing is slow the first time (the debug information is read
 * then), so it happens here on the requester's side, never on a loop,
 * where it would hold up every fiber and look like a stall. Most fibers
 * share a few entry functions: the last few names are kept. */
static void name_entries(nh_fiber_info *items, size_t n) {
  enum { KEEP = 8 };
  void *pcs[KEEP] = {0};
  const char *names[KEEP] = {0};
  int next = 0;
  for (size_t i = 0; i < n; i++) {
    nh_fiber_info *it = &items[i];
    int k = 0;
    while (k < KEEP && (!names[k] || pcs[k] != it->entry_pc))
      k++;
    if (k < KEEP) {
      memcpy(it->entry, names[k], sizeof it->entry);
      continue;
    }
    nh__symbol_name(it->entry_pc, it->entry, sizeof it->entry, 0);
    pcs[next] = it->entry_pc;
    names[next] = it->entry;
    next = (next + 1) % KEEP;
  }
}

static int by_id(const void *a, const void *b) {
  const nh_fiber_info *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

int nh_fiber_dump(nh_runtime *rt, nh_fiber_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!rt)
    rt = nh_runtime_current();
  if (!rt)
    return NH_EINVAL;
  int e = nh__loops_gather_list(rt, collect, NULL, 0, sizeof **out, (void **)out, n, NH_SEC);
  if (*out) {
    qsort(*out, *n, sizeof **out, by_id);
    name_entries(*out, *n);
  }
  return e;
}

int nh_fiber_dump_write(nh_runtime *rt, FILE *out) {
  nh_fiber_info *items;
  size_t n;
  int r = nh_fiber_dump(rt, &items, &n);
  for (size_t i = 0; i < n; i++) {
    nh_fiber_info *it = &items[i];
    char d[32] = "";
    if (it->waiting > 0) {
      d[0] = ',';
      d[1] = ' ';
      nh_dur_format(it->waiting, d + 2, sizeof d - 2);
    }
    fprintf(out, "fiber %llu [%s%s] loop %d \"%s\" (%s):\n", (unsigned long long)it->id,
            it->state, d, it->loop, it->label, it->entry);
    for (int k = 0; k < it->nframes; k++) {
      char name[160];
      nh_frame_name(it->frames[k], name, sizeof name);
      fprintf(out, "    %s\n", name);
    }
    fputc('\n', out);
  }
  if (r == NH_ESTALL)
    fprintf(out, "(some loops did not answer within 1s: stalled)\n");
  free(items);
  return r;
}
