/* Per-loop timers: a binary min-heap of deadlines. Each timer remembers its
 * slot, so start and stop are O(log n) and a stopped timer costs nothing
 * afterwards. Every request arms and disarms a few (read-header, idle,
 * write), so this path is kept allocation-free once the heap has grown. */
#include "internal.h"
#include "trace.h"

#include <stdlib.h>

static void place(nh__heap *h, size_t i, nh__timer *t) {
  h->items[i] = t;
  t->slot = i;
}

static void sift_up(nh__heap *h, size_t i) {
  nh__timer *t = h->items[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->items[parent]->when <= t->when)
      break;
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(nh__heap *h, size_t i) {
  nh__timer *t = h->items[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->len)
      break;
    if (c + 1 < h->len && h->items[c + 1]->when < h->items[c]->when)
      c++;
    if (t->when <= h->items[c]->when)
      break;
    place(h, i, h->items[c]);
    i = c;
  }
  place(h, i, t);
}

static void heap_remove(nh__heap *h, size_t i) {
  h->items[i]->slot = NH__TIMER_IDLE;
  h->len--;
  if (i == h->len)
    return;
  nh__timer *moved = h->items[h->len];
  place(h, i, moved);
  sift_down(h, i);
  sift_up(h, moved->slot);
}

void nh__timer_start(nh_loop *l, nh__timer *t, nh_time when) {
  nh__heap *h = &l->timers;
  if (nh__timer_armed(t)) {
    t->when = when;
    sift_down(h, t->slot);
    sift_up(h, t->slot);
    return;
  }
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    nh__timer **items = realloc(h->items, cap * sizeof *items);
    if (!items)
      abort(); /* a timer that silently never fires would hang a connection */
    h->items = items;
    h->cap = cap;
  }
  t->when = when;
  place(h, h->len++, t);
  sift_up(h, t->slot);
  nh__loop_count(&l->timers_armed, 1);
}

void nh__timer_stop(nh_loop *l, nh__timer *t) {
  if (!nh__timer_armed(t))
    return;
  heap_remove(&l->timers, t->slot);
  nh__loop_count(&l->timers_armed, -1);
}

nh_time nh__timers_run(nh_loop *l, nh_time now) {
  nh__heap *h = &l->timers;
  while (h->len && h->items[0]->when <= now) {
    nh__timer *t = h->items[0];
    heap_remove(h, 0);
    nh__loop_count(&l->timers_armed, -1);
    if (nh__tracing())
      nh__trace_timer(l, (const void *)t->cb);
    t->cb(t); /* may start or stop other timers, or re-arm itself */
  }
  return h->len ? h->items[0]->when : NH_NO_DEADLINE;
}

void nh__heap_dispose(nh__heap *h) {
  free(h->items);
  h->items = NULL;
  h->len = h->cap = 0;
}
