/* The scheduler trace's records (runtime/trace.h): a wake across loops is
 * recorded by the waker's loop and by the woken one, and joined to the
 * run it caused; a full buffer drops and counts; with the trace off the
 * loops write nothing. */
#include "harness.h"

#include <nethttp.h>
#include <stdatomic.h>

#include "runtime/trace.h"

static nh_runtime *new_rt(int loops) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = loops;
  nh_runtime *rt = nh_runtime_new(&cfg);
  CHECK(rt);
  return rt;
}

#define EACH_REC(b, r)                                                                            \
  for (const nh__trace_rec *r = (const nh__trace_rec *)(b)->data;                                 \
       (const char *)r < (b)->data + (b)->len;                                                    \
       r = (const nh__trace_rec *)((const char *)r + r->size))

typedef struct pair {
  nh_chan *ch;
  nh_wg *wg;
  _Atomic uint64_t receiver, sender;
} pair;

static void receiver(void *arg) {
  pair *p = arg;
  nh_fiber_set_label("receiver");
  atomic_store(&p->receiver, nh_fiber_id());
  void *v;
  CHECK_EQ(nh_chan_recv(p->ch, &v, NH_NO_DEADLINE), NH_OK);
  /* The run the wake caused ends here, while the trace still runs (it
   * stops once both fibers are done). */
  nh_sleep(NH_MSEC);
  nh_wg_done(p->wg);
}

static void sender(void *arg) {
  pair *p = arg;
  atomic_store(&p->sender, nh_fiber_id());
  nh_sleep(20 * NH_MSEC); /* the receiver, on the other loop, parks first */
  CHECK_EQ(nh_chan_send(p->ch, (void *)1, NH_NO_DEADLINE), NH_OK);
  nh_wg_done(p->wg);
}

NH_TEST(cross_loop_wake_is_recorded_by_both_loops) {
  nh_runtime *rt = new_rt(2);
  nh_time t0;
  CHECK_EQ(nh__trace_start(rt, 1 << 20, &t0), NH_OK);
  CHECK_EQ(nh__trace_start(rt, 1 << 20, &t0), NH_EBUSY); /* one at a time */
  pair p = {.ch = nh_chan_new(0), .wg = nh_wg_new()};
  nh_wg_add(p.wg, 2);
  CHECK_EQ(nh_runtime_go(rt, 1, receiver, &p), NH_OK);
  CHECK_EQ(nh_runtime_go(rt, 0, sender, &p), NH_OK);
  CHECK_EQ(nh_wg_wait(p.wg, NH_NO_DEADLINE), NH_OK);
  nh__trace_stop(rt); /* from a plain thread: blocks until both loops answer */
  nh_time t1 = nh_now();
  uint64_t rid = atomic_load(&p.receiver), sid = atomic_load(&p.sender);

  /* Loop 0 (the sender's) holds the remote wake, by the sender. */
  const nh__trace_buf *b0 = nh__trace_buf_of(rt, 0), *b1 = nh__trace_buf_of(rt, 1);
  CHECK(b0 && b1);
  uint64_t gen = 0;
  int remote = 0;
  EACH_REC(b0, r) {
    CHECK((nh_time)r->ts >= t0 && (nh_time)(r->ts + r->dur) <= t1);
    if (r->kind == NH__TR_WAKE_REMOTE && r->fiber == rid) {
      CHECK_EQ(r->by, sid);
      CHECK_EQ(r->loop, 1);
      gen = r->arg;
      remote++;
    }
  }
  CHECK_EQ(remote, 1);
  /* Loop 1 (the receiver's): it parked, was woken from its inbox, and its
   * next run carries the same wake. */
  int parked = 0, woken = 0, ran = 0;
  EACH_REC(b1, r) {
    CHECK((nh_time)r->ts >= t0 && (nh_time)(r->ts + r->dur) <= t1);
    if (r->fiber != rid)
      continue;
    if (r->kind == NH__TR_PARK && !strcmp(r->ptr, "chan receive"))
      parked++;
    if (r->kind == NH__TR_WAKE && !woken) { /* then the sleep's timer wakes it */
      CHECK(parked);
      CHECK_EQ(r->cause, NH__TR_BY_INBOX);
      CHECK_EQ(r->arg, gen);
      woken++;
    }
    if (r->kind == NH__TR_RUN && woken && !ran && (r->cause & NH__TR_WOKEN)) {
      CHECK_EQ(r->arg, gen);
      CHECK_STR((const char *)(r + 1), "receiver");
      ran++;
    }
  }
  CHECK_EQ(parked, 1);
  CHECK_EQ(woken, 1);
  CHECK_EQ(ran, 1);
  CHECK_EQ(b0->dropped + b1->dropped, 0);
  nh__trace_end();
  nh_chan_free(p.ch);
  nh_wg_free(p.wg);
  nh_runtime_free(rt);
}

static void yielder(void *arg) {
  for (int i = 0; i < 1000; i++)
    nh_yield();
  nh_wg_done(arg);
}

static void run_yielder(nh_runtime *rt) {
  nh_wg *wg = nh_wg_new();
  nh_wg_add(wg, 1);
  CHECK_EQ(nh_runtime_go(rt, 0, yielder, wg), NH_OK);
  CHECK_EQ(nh_wg_wait(wg, NH_NO_DEADLINE), NH_OK);
  nh_wg_free(wg);
}

NH_TEST(full_buffer_drops_and_counts) {
  nh_runtime *rt = new_rt(1);
  nh_time t0;
  CHECK_EQ(nh__trace_start(rt, 4096, &t0), NH_OK);
  run_yielder(rt); /* 1000 runs, each a record of 64 bytes or more */
  nh__trace_stop(rt);
  const nh__trace_buf *b = nh__trace_buf_of(rt, 0);
  CHECK(b->len > 0 && b->len <= b->cap);
  uint64_t kept = 0;
  EACH_REC(b, r) {
    CHECK(r->size >= sizeof *r && r->size % 8 == 0);
    kept++;
  }
  CHECK(kept < 1000);
  CHECK(b->dropped > 0);
  CHECK(kept + b->dropped >= 1000);
  nh__trace_end();
  nh_runtime_free(rt);
}

NH_TEST(off_records_nothing) {
  nh_runtime *rt = new_rt(1);
  nh_time t0;
  CHECK_EQ(nh__trace_start(rt, 1 << 20, &t0), NH_OK);
  run_yielder(rt);
  nh__trace_stop(rt);
  nh__trace_end();
  uint64_t written = nh__trace_written(rt);
  size_t len = nh__trace_buf_of(rt, 0)->len;
  CHECK(written >= 1000);
  run_yielder(rt);
  CHECK_EQ(nh__trace_written(rt), written);
  CHECK_EQ(nh__trace_buf_of(rt, 0)->len, len);
  nh_runtime_free(rt);
}

NH_TEST_MAIN()
