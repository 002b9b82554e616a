/* What fiber stacks cost (for /debug/heap): each loop counts its own
 * fibers' stacks on its own thread, the only one that may walk them.
 * Mapped is the reservation (stack, guard); touched is what the kernel
 * really holds for the usable part, asked with mincore, page by page. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int64_t touched(const nh_fiber *f, unsigned char *vec, size_t page) {
  if (!f->stack_lo || f->trimmed)
    return 0; /* a trimmed stack gave its pages back */
  if (mincore(f->stack_lo, f->stack_size, vec) != 0)
    return 0;
  int64_t n = 0;
  for (size_t i = 0; i < f->stack_size / page; i++)
    n += vec[i] & 1;
  return n * (int64_t)page;
}

static void add(nh__stack_usage *u, const nh_fiber *f, unsigned char *vec, size_t page) {
  if (!f->map_base)
    return;
  u->mapped_bytes += (int64_t)f->map_size;
  u->touched_bytes += touched(f, vec, page);
}

static void count_loop(nh_loop *l, void *slot, const void *arg) {
  (void)arg;
  nh__stack_usage *u = slot;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *vec = malloc(l->rt->cfg.stack_size / page + 1);
  if (!vec)
    return;
  for (nh__list *n = l->live.next; n != &l->live; n = n->next) {
    nh_fiber *f = nh__container_of(n, nh_fiber, live_node);
    u->live++;
    add(u, f, vec, page);
  }
  for (nh_fiber *f = l->pool; f; f = f->pool_next) {
    u->pooled++;
    u->pooled_trimmed += f->trimmed;
    add(u, f, vec, page);
  }
  for (nh_fiber *f = l->spare; f; f = f->pool_next)
    u->spare++;
  free(vec);
}

int nh__stack_usage_get(nh_runtime *rt, nh__stack_usage *out) {
  memset(out, 0, sizeof *out);
  nh__stack_usage *slots = calloc((size_t)rt->nloops, sizeof *slots);
  if (!slots)
    return NH_ENOMEM;
  int r = nh__loops_gather(rt, count_loop, NULL, 0, slots, sizeof *slots, NULL, NH_SEC);
  for (int i = 0; i < rt->nloops; i++) {
    out->live += slots[i].live;
    out->pooled += slots[i].pooled;
    out->pooled_trimmed += slots[i].pooled_trimmed;
    out->spare += slots[i].spare;
    out->mapped_bytes += slots[i].mapped_bytes;
    out->touched_bytes += slots[i].touched_bytes;
  }
  out->stack_size = (int64_t)rt->cfg.stack_size;
  free(slots);
  return r;
}
