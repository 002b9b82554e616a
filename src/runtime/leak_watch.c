/* The leak watch: what Go's guide asks of a production server, done by
 * the runtime itself.
 *
 *  - A fiber high-watermark: the watchdog's thread compares the live fiber
 *    count (a sum of per-loop counters) with fiber_watermark on every tick.
 *    Past it, one WARN record with the fibers grouped by identical stack,
 *    the largest groups first. One record per excursion above the mark:
 *    the next needs the count to fall below three quarters of the mark
 *    first, and an excursion that starts within a minute of the last
 *    record is let go silently, so a server that hovers around the mark
 *    logs once, not on every tick.
 *  - Long parks: a fiber the server runs a handler on, or one a handler
 *    started with nh_go (directly or through other fibers), parked for
 *    long_park_threshold on anything but socket I/O is the guide's leaked
 *    goroutine: blocked on a channel or a lock that nothing will ever
 *    signal, not watching the request's context. Every scan interval the
 *    watchdog posts a scan to each loop, which walks its own fibers and
 *    logs each new one with its stack, once per park.
 *
 * Neither touches the request path: the server's only part is a flag set
 * around the handler call, and nh_go copies a label when a handler starts
 * a fiber. Socket waits are left out on purpose: an idle keep-alive
 * connection, a WebSocket reader or a long upload park on I/O for minutes
 * and their timeouts already bound them. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATERMARK_EVERY (60 * NH_SEC) /* at most one record a minute */
#define WATERMARK_TICK (100 * NH_MSEC)
#define TOP_GROUPS 5
#define DEFAULT_LONG_PARK (60 * NH_SEC)

/* ---- marks ---- */

void nh__fiber_handler_enter(void) {
  nh_fiber *f = nh__fiber_current();
  if (f)
    f->in_handler = 1;
}

void nh__fiber_handler_leave(void) {
  nh_fiber *f = nh__fiber_current();
  if (f)
    f->in_handler = 0;
}

void nh__leak_watch_inherit(const nh_fiber *parent, nh_fiber *child) {
  if (parent->in_handler) {
    child->origin_id = parent->id;
    memcpy(child->origin, parent->label, sizeof child->origin);
  } else if (parent->origin_id) {
    child->origin_id = parent->origin_id;
    memcpy(child->origin, parent->origin, sizeof child->origin);
  } else {
    return;
  }
  child->origin[sizeof child->origin - 1] = 0;
}

/* ---- what counts as a leak ---- */

static int io_wait(const char *reason) { return reason && !strncmp(reason, "IO wait", 7); }

/* Loop thread of f. */
static int suspect(const nh_fiber *f, nh_time now, nh_dur min_park) {
  return f->state == NH__F_PARKED && (f->in_handler || f->origin_id) && !io_wait(f->wait_reason) &&
         now - f->parked_at >= min_park;
}

static void fill_info(nh_loop *l, nh_fiber *f, nh_time now, nh_fiber_info *it) {
  memset(it, 0, sizeof *it);
  it->id = f->id;
  it->loop = l->index;
  it->state = f->wait_reason ? f->wait_reason : "parked";
  it->waiting = now - f->parked_at;
  memcpy(it->label, f->label, sizeof it->label);
  it->label[sizeof it->label - 1] = 0;
  nh__symbol_name((const void *)f->fn, it->entry, sizeof it->entry, 0);
  it->nframes = nh__fiber_frames(f, it->frames, (int)(sizeof it->frames / sizeof it->frames[0]));
}

/* "a+0x1 <- b+0x2 <- ..." */
static void stack_text(void *const *frames, int n, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int k = 0; k < n && len + 1 < cap; k++) {
    char name[160];
    nh_frame_name(frames[k], name, sizeof name);
    int w = snprintf(buf + len, cap - len, "%s%s", k ? " <- " : "", name);
    if (w < 0)
      break;
    len += (size_t)w;
  }
}

/* ---- long parks: the scan each loop runs ---- */

static void report_long_park(nh_loop *l, nh_fiber *f, nh_time now) {
  nh_fiber_info it;
  fill_info(l, f, now, &it);
  char stack[4096]; /* the loop's own thread stack, not a fiber's */
  stack_text(it.frames, it.nframes, stack, sizeof stack);
  /* Counted first: whoever reads the record sees the count include it. */
  atomic_fetch_add_explicit(&l->rt->long_parks, 1, memory_order_relaxed);
  nh_logger *lg = nh__rt_logger(l->rt);
  if (f->origin_id)
    NH_LOG(lg, NH_LOG_WARN, "leak watch: a fiber started by a handler is parked long",
           NH_LINT("fiber", it.id), NH_LSTR("label", it.label), NH_LINT("origin_fiber", f->origin_id),
           NH_LSTR("origin", f->origin), NH_LSTR("waiting_on", it.state),
           NH_LDUR("parked_for", it.waiting), NH_LSTR("entry", it.entry), NH_LSTR("stack", stack),
           NH_LSTR("hint", "wait on the request's context (nh_request_ctx) or with a deadline"));
  else
    NH_LOG(lg, NH_LOG_WARN, "leak watch: a handler's fiber is parked long",
           NH_LINT("fiber", it.id), NH_LSTR("label", it.label), NH_LSTR("waiting_on", it.state),
           NH_LDUR("parked_for", it.waiting), NH_LSTR("entry", it.entry), NH_LSTR("stack", stack),
           NH_LSTR("hint", "wait on the request's context (nh_request_ctx) or with a deadline"));
}

static void scan(nh_loop *l, void *arg) {
  (void)arg;
  nh_dur min_park = l->rt->cfg.long_park_threshold;
  nh_time now = nh_now();
  for (nh__list *n = l->live.next; n != &l->live; n = n->next) {
    nh_fiber *f = nh__container_of(n, nh_fiber, live_node);
    if (!suspect(f, now, min_park) || f->long_park_gen == f->park_gen + 1)
      continue;
    f->long_park_gen = f->park_gen + 1; /* once per park */
    report_long_park(l, f, now);
  }
}

static nh_dur scan_every(const nh_runtime *rt) {
  nh_dur d = rt->cfg.long_park_threshold / 4;
  return d < 10 * NH_MSEC ? 10 * NH_MSEC : d > NH_SEC ? NH_SEC : d;
}

/* ---- the watermark ---- */

typedef struct wm_report {
  nh_runtime *rt;
  int64_t live, mark;
} wm_report;

static int by_stack(const void *a, const void *b) {
  const nh_fiber_info *x = a, *y = b;
  int c = strcmp(x->state, y->state);
  if (c)
    return c;
  if (x->nframes != y->nframes)
    return x->nframes - y->nframes;
  return memcmp(x->frames, y->frames, (size_t)x->nframes * sizeof x->frames[0]);
}

typedef struct group {
  size_t first, count;
} group;

static int by_count(const void *a, const void *b) {
  const group *x = a, *y = b;
  return x->count < y->count ? 1 : x->count > y->count ? -1 : (x->first > y->first) - (x->first < y->first);
}

/* Runs on a fiber of loop 0: the dump parks while each loop lists its
 * fibers, which the watchdog's thread must not wait for. */
static void watermark_report(void *p) {
  wm_report *m = p;
  nh_fiber_set_label("leak watch: watermark report");
  nh_fiber_info *items;
  size_t n;
  nh_fiber_dump(m->rt, &items, &n);
  group *groups = n ? calloc(n, sizeof *groups) : NULL;
  size_t ng = 0;
  if (groups) {
    /* Not this fiber: it is the report, not the news. */
    uint64_t self = nh_fiber_id();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
      if (items[i].id != self)
        items[kept++] = items[i];
    n = kept;
    qsort(items, n, sizeof *items, by_stack);
    for (size_t i = 0; i < n; i++) {
      if (!ng || by_stack(&items[groups[ng - 1].first], &items[i]))
        groups[ng++] = (group){i, 0};
      groups[ng - 1].count++;
    }
    qsort(groups, ng, sizeof *groups, by_count);
  }
  /* On the heap: a fiber's stack may be as small as 16 KiB. */
  char (*text)[1536] = malloc(TOP_GROUPS * sizeof *text);
  nh_log_field fields[4 + TOP_GROUPS];
  size_t nf = 0;
  fields[nf++] = NH_LINT("live", m->live);
  fields[nf++] = NH_LINT("watermark", m->mark);
  fields[nf++] = NH_LINT("listed", (int64_t)n);
  fields[nf++] = NH_LINT("stacks", (int64_t)ng);
  static const char *const keys[TOP_GROUPS] = {"top1", "top2", "top3", "top4", "top5"};
  for (size_t g = 0; text && g < ng && g < TOP_GROUPS; g++) {
    const nh_fiber_info *it = &items[groups[g].first];
    char stack[1024];
    stack_text(it->frames, it->nframes < 10 ? it->nframes : 10, stack, sizeof stack);
    snprintf(text[g], sizeof text[g], "%zu x [%s] '%s' (%s): %s", groups[g].count, it->state,
             it->label, it->entry, stack);
    fields[nf++] = NH_LSTR(keys[g], text[g]);
  }
  nh_log_write(nh__rt_logger(m->rt), NH_LOG_WARN, __FILE__, __LINE__,
               "leak watch: live fibers passed the high-watermark", fields, nf);
  free(text);
  free(groups);
  free(items);
  free(m);
}

static void watermark_check(nh_runtime *rt, nh_time now) {
  int64_t mark = rt->cfg.fiber_watermark;
  int64_t live = NH__LOOPS_SUM(rt, fibers_live);
  if (atomic_load_explicit(&rt->wm_disarmed, memory_order_relaxed)) {
    if (live < mark - mark / 4)
      atomic_store_explicit(&rt->wm_disarmed, 0, memory_order_relaxed);
    return;
  }
  if (live <= mark)
    return;
  /* One excursion above the mark, one record at most: an excursion that
   * starts within a minute of the last record is let go silently. */
  atomic_store_explicit(&rt->wm_disarmed, 1, memory_order_relaxed);
  if (rt->wm_last && now - rt->wm_last < WATERMARK_EVERY)
    return;
  wm_report *m = malloc(sizeof *m);
  if (!m)
    return;
  *m = (wm_report){rt, live, mark};
  if (nh_runtime_go(rt, 0, watermark_report, m) != NH_OK) {
    free(m);
    return;
  }
  rt->wm_last = now;
  atomic_fetch_add_explicit(&rt->watermark_reports, 1, memory_order_relaxed);
}

/* ---- the watchdog's part ---- */

nh_dur nh__leak_watch_tick_every(const nh_runtime *rt) {
  nh_dur t = 0;
  if (rt->cfg.long_park_threshold > 0)
    t = scan_every(rt);
  if (rt->cfg.fiber_watermark > 0 && (!t || t > WATERMARK_TICK))
    t = WATERMARK_TICK;
  return t;
}

static int stopping(const nh_runtime *rt) {
  for (int i = 0; i < rt->nloops; i++)
    if (atomic_load_explicit(&rt->loops[i].stop, memory_order_relaxed))
      return 1;
  return 0;
}

void nh__leak_watch_tick(nh_runtime *rt, nh_time now) {
  if (stopping(rt))
    return;
  if (rt->cfg.fiber_watermark > 0)
    watermark_check(rt, now);
  if (rt->cfg.long_park_threshold > 0 && now >= rt->next_scan) {
    rt->next_scan = now + scan_every(rt);
    for (int i = 0; i < rt->nloops; i++)
      nh__loop_post(&rt->loops[i], scan, NULL);
  }
}

/* ---- the list for /debug/fibers?leaked=1 ---- */

static void list_on_loop(nh_loop *l, void *p, const void *arg) {
  nh__gather_list *s = p; /* of nh__leaked_fiber */
  nh_dur min_park = *(const nh_dur *)arg;
  nh_time now = nh_now();
  size_t cap = 0;
  for (nh__list *n = l->live.next; n != &l->live; n = n->next) {
    nh_fiber *f = nh__container_of(n, nh_fiber, live_node);
    if (!suspect(f, now, min_park))
      continue;
    if (s->n == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      nh__leaked_fiber *grown = realloc(s->items, ncap * sizeof *grown);
      if (!grown)
        break;
      s->items = grown;
      cap = ncap;
    }
    nh__leaked_fiber *it = (nh__leaked_fiber *)s->items + s->n++;
    fill_info(l, f, now, &it->info);
    it->origin_id = f->origin_id;
    memcpy(it->origin, f->origin, sizeof it->origin);
    it->origin[sizeof it->origin - 1] = 0;
  }
}

static int by_id(const void *a, const void *b) {
  const nh__leaked_fiber *x = a, *y = b;
  return x->info.id < y->info.id ? -1 : x->info.id > y->info.id;
}

int nh__leak_list(nh_runtime *rt, nh_dur min_park, nh__leaked_fiber **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!rt)
    rt = nh_runtime_current();
  if (!rt)
    return NH_EINVAL;
  if (min_park < 0)
    min_park = rt->cfg.long_park_threshold > 0 ? rt->cfg.long_park_threshold : DEFAULT_LONG_PARK;
  nh__leaked_fiber *all = NULL;
  int r = nh__loops_gather_list(rt, list_on_loop, &min_park, sizeof min_park, sizeof *all,
                                (void **)&all, n, NH_SEC);
  if (all)
    qsort(all, *n, sizeof *all, by_id);
  *out = all;
  return r;
}
