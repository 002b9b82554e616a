/* /debug/trace?seconds=N: a scheduler trace of the runtime for N seconds
 * (default 1, fractions allowed, at most 60 and less than the server's
 * write timeout), as Chrome trace-event JSON that Perfetto
 * (ui.perfetto.dev) and chrome://tracing open.
 *
 * The serving fiber parks while the loops record (runtime/trace.h), then
 * turns the trace off and streams the records out in chunks: one thread
 * track per loop ("loop N"), complete events ("X") for fiber runs and
 * epoll waits, instant events ("i") for parks, wakes, timers and loop
 * turns, and flow arrows from a waking fiber to the run of the fiber it
 * woke. Timestamps are microseconds from the start of the trace. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug_internal.h"
#include "nethttp/offload.h"
#include "nethttp/url.h"
#include "runtime/internal.h"
#include "runtime/trace.h"
#include "server/exchange.h"

#define TRACE_MAX_SECONDS 60.0
#define TRACE_BUF_BYTES ((size_t)8 << 20) /* per loop: ~100,000 records */
#define OUT_CHUNK 32768

/* ---- names of code addresses ----
 * The distinct addresses (fiber entries, timer callbacks: a few dozen) are
 * gathered first and named together on the offload pool: the symbolizer's
 * first lookup reads the program's debug information, far too long to
 * hold a loop for. */

#define SYMS 128

typedef struct sym_cache {
  const void *addr[SYMS];
  char name[SYMS][96];
  int n, named;
} sym_cache;

static void sym_want(sym_cache *c, const void *addr) {
  if (!addr)
    return;
  for (int i = c->n - 1; i >= 0; i--)
    if (c->addr[i] == addr)
      return;
  if (c->n < SYMS)
    c->addr[c->n++] = addr;
}

static int sym_resolve(void *arg) {
  sym_cache *c = arg;
  for (int i = 0; i < c->n; i++)
    nh__symbol_name(c->addr[i], c->name[i], sizeof c->name[i], 0);
  return NH_OK;
}

static const char *sym_name(sym_cache *c, const void *addr, char *tmp, size_t cap) {
  for (int i = 0; c->named && i < c->n; i++)
    if (c->addr[i] == addr)
      return c->name[i];
  snprintf(tmp, cap, "%p", addr);
  return tmp;
}

/* ---- the output, written in chunks ---- */

typedef struct out {
  nh_response_writer *w;
  size_t len;
  int failed; /* a write failed: the client is gone, stop formatting */
  sym_cache syms;
  char buf[OUT_CHUNK + 1024];
} out;

/* Hands a chunk to the writer, then lets the loop's other fibers run:
 * formatting a large trace must not hold the loop. */
static void out_flush(out *o) {
  if (o->len && !o->failed && nh_resp_write(o->w, o->buf, o->len) < 0)
    o->failed = 1;
  o->len = 0;
  nh_yield();
}

#define OUT_LIT(o, lit) out_raw((o), (lit), sizeof(lit) - 1)

static void out_raw(out *o, const char *s, size_t n) {
  while (n) {
    size_t room = sizeof o->buf - o->len;
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->len, s, k);
    o->len += k;
    s += k;
    n -= k;
    if (o->len >= OUT_CHUNK)
      out_flush(o);
  }
}

__attribute__((format(printf, 2, 3))) static void out_fmt(out *o, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0)
    out_raw(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* s as a JSON string. Labels hold request paths, which are anyone's bytes:
 * bytes beyond ASCII are written as \u00XX so the output is always valid
 * UTF-8. */
static void out_str(out *o, const char *s) {
  OUT_LIT(o, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      out_raw(o, e, 2);
    } else if (*p < 0x20 || *p >= 0x7f) {
      out_fmt(o, "\\u%04x", *p);
    } else {
      out_raw(o, (const char *)p, 1);
    }
  }
  OUT_LIT(o, "\"");
}

/* ns after base as microseconds, exactly (no rounding: slices that touch
 * stay touching). */
static void out_us(out *o, const char *key, uint64_t ns) {
  out_fmt(o, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
          (unsigned long long)(ns % 1000));
}

/* ---- flows: wake (start) to the run it caused (end) ---- */

typedef struct flow {
  uint64_t key;
  uint64_t ts;
  int tid;
} flow;

static uint64_t flow_key(uint64_t fiber, uint64_t gen) { return fiber * 65536 + (gen & 0xffff); }

static int flow_cmp(const void *a, const void *b) {
  uint64_t x = ((const flow *)a)->key, y = ((const flow *)b)->key;
  return x < y ? -1 : x > y;
}

static int flow_has(const flow *v, size_t n, uint64_t key) {
  flow k = {.key = key};
  return n && bsearch(&k, v, n, sizeof *v, flow_cmp) != NULL;
}

typedef struct flows {
  flow *starts, *ends;
  size_t nstarts, nends;
} flows;

static int flow_push(flow **v, size_t *n, size_t *cap, flow f) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 1024;
    flow *nv = realloc(*v, c * sizeof *nv);
    if (!nv)
      return NH_ENOMEM;
    *v = nv;
    *cap = c;
  }
  (*v)[(*n)++] = f;
  return NH_OK;
}

#define EACH_REC(b, r)                                                                            \
  for (const nh__trace_rec *r = (const nh__trace_rec *)(b)->data;                                 \
       (const char *)r < (b)->data + (b)->len;                                                    \
       r = (const nh__trace_rec *)((const char *)r + r->size))

/* The wakes done by a fiber (the arrow's tail sits in its run) and the
 * runs that follow a wake. Without memory, no arrows. */
static void flows_collect(nh_runtime *rt, flows *fl, sym_cache *syms) {
  size_t cs = 0, ce = 0;
  int oom = 0;
  for (int i = 0; i < rt->nloops; i++) {
    const nh__trace_buf *b = nh__trace_buf_of(rt, i);
    if (!b)
      continue;
    EACH_REC(b, r) {
      if (r->kind == NH__TR_TIMER || (r->kind == NH__TR_RUN && !*(const char *)(r + 1)))
        sym_want(syms, r->ptr);
      if (oom)
        continue;
      if ((r->kind == NH__TR_WAKE || r->kind == NH__TR_WAKE_REMOTE || r->kind == NH__TR_SPAWN) &&
          r->by)
        oom = flow_push(&fl->starts, &fl->nstarts, &cs, (flow){flow_key(r->fiber, r->arg), r->ts, i + 1});
      else if (r->kind == NH__TR_RUN && (r->cause & NH__TR_WOKEN))
        oom = flow_push(&fl->ends, &fl->nends, &ce, (flow){flow_key(r->fiber, r->arg), r->ts, i + 1});
    }
  }
  if (oom)
    fl->nstarts = fl->nends = 0;
  /* An idle trace has no wakes: no array to sort (qsort wants one). */
  if (fl->nstarts)
    qsort(fl->starts, fl->nstarts, sizeof *fl->starts, flow_cmp);
  if (fl->nends)
    qsort(fl->ends, fl->nends, sizeof *fl->ends, flow_cmp);
}

/* ---- the events ---- */

static const char *wake_cause(int cause) {
  switch (cause) {
  case NH__TR_BY_IO:
    return "I/O ready";
  case NH__TR_BY_TIMER:
    return "timer";
  case NH__TR_BY_INBOX:
    return "another thread";
  default:
    return "scheduler";
  }
}

static void event_head(out *o, const char *ph, const char *cat, int pid, int tid, uint64_t ts) {
  out_fmt(o, ",\n{\"ph\":\"%s\",\"cat\":\"%s\",\"pid\":%d,\"tid\":%d", ph, cat, pid, tid);
  out_us(o, "ts", ts);
}

static void write_record(out *o, const nh__trace_rec *r, uint64_t base, int pid, int tid,
                         sym_cache *syms, const flows *fl) {
  uint64_t ts = r->ts - base;
  switch (r->kind) {
  case NH__TR_RUN: {
    const char *label = (const char *)(r + 1);
    event_head(o, "X", "fiber", pid, tid, ts);
    out_us(o, "dur", r->dur);
    OUT_LIT(o, ",\"name\":");
    if (label[0]) {
      out_str(o, label);
    } else {
      char name[160], tmp[32];
      snprintf(name, sizeof name, "fiber %llu %s", (unsigned long long)r->fiber,
               r->ptr ? sym_name(syms, r->ptr, tmp, sizeof tmp) : "");
      out_str(o, name);
    }
    out_fmt(o, ",\"args\":{\"fiber\":%llu}}", (unsigned long long)r->fiber);
    uint64_t key = flow_key(r->fiber, r->arg);
    if ((r->cause & NH__TR_WOKEN) && flow_has(fl->starts, fl->nstarts, key)) {
      event_head(o, "f", "wake", pid, tid, ts);
      out_fmt(o, ",\"bp\":\"e\",\"name\":\"wake\",\"id\":%llu}", (unsigned long long)key);
    }
    break;
  }
  case NH__TR_POLL:
    event_head(o, "X", "poll", pid, tid, ts);
    out_us(o, "dur", r->dur);
    out_fmt(o, ",\"name\":\"epoll_wait\",\"args\":{\"events\":%llu}}", (unsigned long long)r->arg);
    break;
  case NH__TR_PARK:
    event_head(o, "i", "park", pid, tid, ts);
    out_fmt(o, ",\"s\":\"t\",\"name\":\"park\",\"args\":{\"fiber\":%llu,\"reason\":",
            (unsigned long long)r->fiber);
    out_str(o, r->ptr ? (const char *)r->ptr : "");
    OUT_LIT(o, "}}");
    break;
  case NH__TR_WAKE:
  case NH__TR_WAKE_REMOTE:
  case NH__TR_SPAWN:
    event_head(o, "i", "wake", pid, tid, ts);
    out_fmt(o, ",\"s\":\"t\",\"name\":\"%s\",\"args\":{\"fiber\":%llu",
            r->kind == NH__TR_WAKE    ? "wake"
            : r->kind == NH__TR_SPAWN ? "spawn"
                                      : "wake other loop",
            (unsigned long long)r->fiber);
    if (r->kind == NH__TR_WAKE_REMOTE)
      out_fmt(o, ",\"loop\":%u", (unsigned)r->loop);
    if (r->by)
      out_fmt(o, ",\"by\":\"fiber %llu\"}}", (unsigned long long)r->by);
    else
      out_fmt(o, ",\"by\":\"%s\"}}",
              r->kind == NH__TR_WAKE_REMOTE ? "scheduler" : wake_cause(r->cause));
    break;
  case NH__TR_TURN:
    event_head(o, "i", "loop", pid, tid, ts);
    out_fmt(o, ",\"s\":\"t\",\"name\":\"loop turn\",\"args\":{\"turn\":%llu}}",
            (unsigned long long)r->arg);
    break;
  case NH__TR_TIMER:
    event_head(o, "i", "timer", pid, tid, ts);
    OUT_LIT(o, ",\"s\":\"t\",\"name\":\"timer\",\"args\":{\"callback\":");
    char tmp[32];
    out_str(o, r->ptr ? sym_name(syms, r->ptr, tmp, sizeof tmp) : "");
    OUT_LIT(o, "}}");
    break;
  }
}

/* The arrows' tails, each once, where its head exists. */
static void write_flow_starts(out *o, const flows *fl, uint64_t base, int pid) {
  for (size_t i = 0; i < fl->nstarts; i++) {
    const flow *s = &fl->starts[i];
    if ((i && fl->starts[i - 1].key == s->key) || !flow_has(fl->ends, fl->nends, s->key))
      continue;
    event_head(o, "s", "wake", pid, s->tid, s->ts - base);
    out_fmt(o, ",\"name\":\"wake\",\"id\":%llu}", (unsigned long long)s->key);
  }
}

static void write_trace(out *o, nh_runtime *rt, nh_time t0, nh_time t1, double seconds) {
  int pid = (int)getpid();
  uint64_t base = (uint64_t)t0;
  sym_cache *syms = &o->syms;
  flows fl = {0};
  flows_collect(rt, &fl, syms);
  /* Background context: syms must outlive the job, so wait for it. */
  syms->named = nh_offload(nh_ctx_background(), sym_resolve, syms) == NH_OK;
  out_fmt(o, "{\"traceEvents\":[\n{\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"name\":\"process_name\","
             "\"args\":{\"name\":\"nethttp\"}}",
          pid);
  uint64_t dropped = 0, records = 0;
  for (int i = 0; i < rt->nloops; i++) {
    out_fmt(o, ",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\","
               "\"args\":{\"name\":\"loop %d\"}}",
            pid, i + 1, i);
    out_fmt(o, ",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_sort_index\","
               "\"args\":{\"sort_index\":%d}}",
            pid, i + 1, i);
  }
  for (int i = 0; i < rt->nloops && !o->failed; i++) {
    const nh__trace_buf *b = nh__trace_buf_of(rt, i);
    if (!b)
      continue;
    dropped += b->dropped;
    EACH_REC(b, r) {
      write_record(o, r, base, pid, i + 1, syms, &fl);
      records++;
      if (o->failed)
        break;
    }
  }
  write_flow_starts(o, &fl, base, pid);
  OUT_LIT(o, "\n],\"displayTimeUnit\":\"ns\",\"metadata\":{\"clock\":\"monotonic\"");
  out_fmt(o, ",\"start_ns\":%lld", (long long)t0);
  out_us(o, "window_us", (uint64_t)(t1 - t0));
  out_fmt(o, ",\"seconds\":%g,\"loops\":%d,\"records\":%llu,\"dropped_events\":%llu,"
             "\"dropped_by_loop\":[",
          seconds, rt->nloops, (unsigned long long)records, (unsigned long long)dropped);
  for (int i = 0; i < rt->nloops; i++) {
    const nh__trace_buf *b = nh__trace_buf_of(rt, i);
    out_fmt(o, "%s%llu", i ? "," : "", (unsigned long long)(b ? b->dropped : 0));
  }
  OUT_LIT(o, "]}}\n");
  out_flush(o);
  free(fl.starts);
  free(fl.ends);
}

/* ---- the page ---- */

/* The write timeout of the server that carries r (0: none known). */
static nh_dur write_timeout_of(const nh_request *r) {
  if (r->magic != NH__REQ_MAGIC || !r->s || !r->s->env)
    return 0;
  return r->s->env->write_timeout;
}

/* seconds from the query: 0 and *seconds, or the reason it is refused. */
static const char *parse_seconds(nh_request *r, double *seconds) {
  const char *v = nh_request_query_value(r, "seconds");
  *seconds = 1;
  if (!v || !*v)
    return NULL;
  char *end;
  double s = strtod(v, &end);
  if (*end || !isfinite(s) || s <= 0)
    return "seconds must be a positive number";
  if (s > TRACE_MAX_SECONDS)
    return "seconds must be at most 60";
  *seconds = s;
  return NULL;
}

void nh__debug_trace(nh__debug *d, nh_response_writer *w, nh_request *r) {
  nh_runtime *rt = nh__debug_runtime(d);
  double seconds;
  const char *bad = parse_seconds(r, &seconds);
  if (bad) {
    nh_error(w, bad, 400);
    return;
  }
  nh_dur wt = write_timeout_of(r);
  if (wt > 0 && seconds * (double)NH_SEC >= (double)wt) {
    nh_error(w, "profile duration exceeds server's WriteTimeout", 400);
    return;
  }
  if (!rt) {
    nh_error(w, "no runtime to trace", 500);
    return;
  }
  nh_time t0;
  int e = nh__trace_start(rt, TRACE_BUF_BYTES, &t0);
  if (e == NH_EBUSY) {
    nh_error(w, "a trace is already running", 409);
    return;
  }
  if (e) {
    nh_error(w, "out of memory", 500);
    return;
  }
  int slept = nh_sleep((nh_dur)(seconds * (double)NH_SEC)); /* parks; ends early if the client goes */
  nh__trace_stop(rt);
  nh_time t1 = nh_now();
  if (slept == NH_OK) {
    out *o = malloc(sizeof *o);
    if (o) {
      o->w = w;
      o->len = 0;
      o->failed = 0;
      o->syms.n = o->syms.named = 0;
      nh_header *h = nh_resp_header(w);
      nh_header_set(h, "Content-Type", "application/json");
      nh_header_set(h, "Content-Disposition", "attachment; filename=\"trace.json\"");
      nh_header_set(h, "X-Content-Type-Options", "nosniff");
      write_trace(o, rt, t0, t1, seconds);
      free(o);
    } else {
      nh_error(w, "out of memory", 500);
    }
  }
  nh__trace_end();
}
