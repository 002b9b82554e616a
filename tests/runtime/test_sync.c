/* Fiber sync shared across loops and plain threads: mutex, semaphore,
 * wait group, channel. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <pthread.h>
#include <stdatomic.h>

static nh_runtime *rt4(void) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 4;
  return nh_runtime_new(&cfg);
}

/* ---- mutex: 4 loops x 50 fibers x 200 increments, yielding inside ---- */
typedef struct mx {
  nh_mutex *m;
  long counter;
  int inside;
  nh_wg *wg;
} mx;
static mx MX;

static void incrementer(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) {
    nh_mutex_lock(MX.m);
    CHECK_EQ(MX.inside++, 0);
    long v = MX.counter;
    if (i % 16 == 0)
      nh_yield(); /* hold the lock across a park */
    MX.counter = v + 1;
    MX.inside--;
    nh_mutex_unlock(MX.m);
  }
  nh_wg_done(MX.wg);
}

NH_TEST(mutex_across_loops) {
  nh_runtime *rt = rt4();
  MX.m = nh_mutex_new();
  MX.wg = nh_wg_new();
  nh_wg_add(MX.wg, 200);
  for (int i = 0; i < 200; i++)
    nh_runtime_go(rt, -1, incrementer, NULL);
  /* A plain thread takes part too. */
  for (int i = 0; i < 1000; i++) {
    nh_mutex_lock(MX.m);
    MX.counter++;
    nh_mutex_unlock(MX.m);
  }
  CHECK_EQ(nh_wg_wait(MX.wg, nh_deadline_after(30 * NH_SEC)), NH_OK);
  CHECK_EQ(MX.counter, 200 * 200 + 1000);
  CHECK_EQ(nh_mutex_trylock(MX.m), NH_OK);
  CHECK_EQ(nh_mutex_trylock(MX.m), NH_EBUSY);
  nh_mutex_unlock(MX.m);
  nh_runtime_free(rt);
  nh_mutex_free(MX.m);
  nh_wg_free(MX.wg);
}

/* ---- mutex: short holds, many parties, no yield: its fast path and the
 * hand-over to queued waiters race; a lost wake-up hangs here ---- */
typedef struct sh {
  nh_mutex *m;
  long counter;
  atomic_int inside;
  nh_wg *wg;
} sh;
static sh SH;

static void short_holds(int n) {
  for (int i = 0; i < n; i++) {
    nh_mutex_lock(SH.m);
    CHECK_EQ(atomic_fetch_add(&SH.inside, 1), 0);
    SH.counter++;
    atomic_fetch_sub(&SH.inside, 1);
    nh_mutex_unlock(SH.m);
  }
}
static void short_holds_fiber(void *arg) {
  (void)arg;
  short_holds(5000);
  nh_wg_done(SH.wg);
}
static void *short_holds_thread(void *arg) {
  (void)arg;
  short_holds(20000);
  return NULL;
}

NH_TEST(mutex_short_holds_from_threads_and_fibers) {
  nh_runtime *rt = rt4();
  SH.m = nh_mutex_new();
  SH.wg = nh_wg_new();
  nh_wg_add(SH.wg, 32);
  for (int i = 0; i < 32; i++)
    nh_runtime_go(rt, -1, short_holds_fiber, NULL);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, short_holds_thread, NULL);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  CHECK_EQ(nh_wg_wait(SH.wg, nh_deadline_after(60 * NH_SEC)), NH_OK);
  CHECK_EQ(SH.counter, 32L * 5000 + 4L * 20000);
  nh_runtime_free(rt);
  nh_mutex_free(SH.m);
  nh_wg_free(SH.wg);
}

/* ---- semaphore: the in-flight limiter; never more than 3 inside ---- */
typedef struct lim {
  nh_sem *s;
  atomic_int inside, peak, rejected, served;
  nh_wg *wg;
} lim;
static lim L;

static void limited(void *arg) {
  long patient = (long)arg;
  int r = nh_sem_acquire(L.s, nh_deadline_after(patient ? 5 * NH_SEC : NH_MSEC));
  if (r == NH_OK) {
    int now = atomic_fetch_add(&L.inside, 1) + 1;
    int p = atomic_load(&L.peak);
    while (now > p && !atomic_compare_exchange_weak(&L.peak, &p, now))
      ;
    nh_sleep(5 * NH_MSEC);
    atomic_fetch_sub(&L.inside, 1);
    atomic_fetch_add(&L.served, 1);
    nh_sem_release(L.s);
  } else {
    CHECK_EQ(r, NH_ETIMEDOUT);
    atomic_fetch_add(&L.rejected, 1);
  }
  nh_wg_done(L.wg);
}

NH_TEST(semaphore_limits_in_flight) {
  nh_runtime *rt = rt4();
  L.s = nh_sem_new(3);
  L.wg = nh_wg_new();
  nh_wg_add(L.wg, 60);
  for (long i = 0; i < 60; i++)
    nh_runtime_go(rt, -1, limited, (void *)(long)(i % 3 != 0)); /* a third impatient */
  CHECK_EQ(nh_wg_wait(L.wg, nh_deadline_after(30 * NH_SEC)), NH_OK);
  CHECK(atomic_load(&L.peak) <= 3);
  CHECK_EQ(atomic_load(&L.peak), 3);
  CHECK(atomic_load(&L.served) >= 40);
  CHECK(atomic_load(&L.rejected) > 0);
  CHECK_EQ(atomic_load(&L.served) + atomic_load(&L.rejected), 60);
  CHECK_EQ(nh_sem_available(L.s), 3);
  CHECK_EQ(nh_sem_try_acquire(L.s), NH_OK);
  nh_sem_release(L.s);
  nh_runtime_free(rt);
  nh_sem_free(L.s);
  nh_wg_free(L.wg);
}

/* ---- wait group: a wait with a deadline, and shutdown-style waiting ---- */
static void slow_worker(void *arg) {
  nh_sleep(30 * NH_MSEC);
  nh_wg_done(arg);
}

static void wg_main(void *arg) {
  (void)arg;
  nh_wg *wg = nh_wg_new();
  nh_wg_add(wg, 5);
  for (int i = 0; i < 5; i++)
    nh_go(slow_worker, wg);
  CHECK_EQ(nh_wg_wait(wg, nh_deadline_after(5 * NH_MSEC)), NH_ETIMEDOUT);
  CHECK_EQ(nh_wg_wait(wg, nh_deadline_after(5 * NH_SEC)), NH_OK);
  CHECK_EQ(nh_wg_wait(wg, nh_deadline_after(0)), NH_OK); /* zero: immediate */
  nh_wg_free(wg);
}

NH_TEST(wait_group) { CHECK_EQ(nh_run(NULL, wg_main, NULL), NH_OK); }

/* ---- channel: buffered FIFO across loops, unbuffered rendezvous, close ---- */
enum { ITEMS = 20000 };
typedef struct chq {
  nh_chan *ch;
  long sum;
  long last[4];
  int order_ok;
  nh_wg *wg;
} chq;
static chq Q;

static void producer(void *arg) {
  long id = (long)arg;
  for (long i = 1; i <= ITEMS; i++)
    CHECK_EQ(nh_chan_send(Q.ch, (void *)(id << 32 | i), NH_NO_DEADLINE), NH_OK);
  nh_wg_done(Q.wg);
}

NH_TEST(channel_fifo_across_loops) {
  nh_runtime *rt = rt4();
  Q.ch = nh_chan_new(16);
  Q.order_ok = 1;
  Q.wg = nh_wg_new();
  nh_wg_add(Q.wg, 4);
  for (long p = 0; p < 4; p++)
    nh_runtime_go(rt, (int)p, producer, (void *)p);
  nh_wg *producers = Q.wg;
  /* The one consumer is this plain thread, mixing worlds on purpose. */
  void *v;
  long got = 0;
  while (got < 4L * ITEMS) {
    CHECK_EQ(nh_chan_recv(Q.ch, &v, nh_deadline_after(10 * NH_SEC)), NH_OK);
    long id = (long)v >> 32, i = (long)v & 0xffffffff;
    if (i != Q.last[id] + 1)
      Q.order_ok = 0;
    Q.last[id] = i;
    Q.sum += i;
    got++;
  }
  CHECK_EQ(nh_wg_wait(producers, nh_deadline_after(10 * NH_SEC)), NH_OK);
  CHECK(Q.order_ok);
  CHECK_EQ(Q.sum, 4L * ITEMS * (ITEMS + 1) / 2);
  nh_chan_close(Q.ch);
  CHECK_EQ(nh_chan_recv(Q.ch, &v, NH_NO_DEADLINE), NH_ECLOSED);
  CHECK_EQ(nh_chan_send(Q.ch, NULL, NH_NO_DEADLINE), NH_ECLOSED);
  nh_runtime_free(rt);
  nh_chan_free(Q.ch);
  nh_wg_free(producers);
}

static void rendezvous_main(void *arg) {
  (void)arg;
  nh_chan *ch = nh_chan_new(0);
  CHECK_EQ(nh_chan_try_send(ch, (void *)1), NH_EFULL); /* nobody receiving */
  void *v;
  CHECK_EQ(nh_chan_try_recv(ch, &v), NH_EAGAIN);
  CHECK_EQ(nh_chan_recv(ch, &v, nh_deadline_after(5 * NH_MSEC)), NH_ETIMEDOUT);
  /* A buffered value survives close; then NH_ECLOSED. */
  nh_chan *b = nh_chan_new(2);
  CHECK_EQ(nh_chan_try_send(b, (void *)7), NH_OK);
  nh_chan_close(b);
  CHECK_EQ(nh_chan_recv(b, &v, NH_NO_DEADLINE), NH_OK);
  CHECK_EQ((long)v, 7);
  CHECK_EQ(nh_chan_recv(b, &v, NH_NO_DEADLINE), NH_ECLOSED);
  nh_chan_free(b);
  nh_chan_free(ch);
}

NH_TEST(channel_rendezvous_and_close) { CHECK_EQ(nh_run(NULL, rendezvous_main, NULL), NH_OK); }

/* A receiver parked on a channel is woken by close with NH_ECLOSED. */
static int closed_result = 1;
static void parked_receiver(void *arg) {
  void *v;
  closed_result = nh_chan_recv(arg, &v, NH_NO_DEADLINE);
}
static void close_wake_main(void *arg) {
  (void)arg;
  nh_chan *ch = nh_chan_new(1);
  nh_go(parked_receiver, ch);
  nh_sleep(5 * NH_MSEC);
  nh_chan_close(ch);
  nh_sleep(5 * NH_MSEC);
  nh_chan_free(ch);
}

NH_TEST(channel_close_wakes_receiver) {
  CHECK_EQ(nh_run(NULL, close_wake_main, NULL), NH_OK);
  CHECK_EQ(closed_result, NH_ECLOSED);
}

NH_TEST_MAIN()
