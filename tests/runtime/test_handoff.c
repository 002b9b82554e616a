/* Cross-thread hand-off: plain threads giving work to loops and back. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <pthread.h>
#include <stdatomic.h>

/* Four plain threads each hand PER_THREAD fibers to the runtime's loops; every
 * fiber runs exactly once, on a loop thread. */
static atomic_long ran, ran_on_loop;
static void handed(void *arg) {
  atomic_fetch_add(&ran, 1);
  if (nh_in_fiber() && nh_runtime_current() == arg)
    atomic_fetch_add(&ran_on_loop, 1);
}

/* ThreadSanitizer maps a trace per live fiber: fewer at once under it. */
#if defined(__SANITIZE_THREAD__)
enum { PER_THREAD = 250 };
#else
enum { PER_THREAD = 2000 };
#endif

static void *spawner(void *arg) {
  for (int i = 0; i < PER_THREAD; i++)
    CHECK_EQ(nh_runtime_go(arg, -1, handed, arg), NH_OK);
  return NULL;
}

NH_TEST(threads_hand_fibers_to_loops) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 2;
  nh_runtime *rt = nh_runtime_new(&cfg);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, spawner, rt);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  CHECK_EQ(nh_runtime_go(rt, 2, handed, rt), NH_EINVAL); /* no such loop */
  nh_runtime_free(rt); /* waits for every fiber */
  CHECK_EQ(atomic_load(&ran), 4 * PER_THREAD);
  CHECK_EQ(atomic_load(&ran_on_loop), 4 * PER_THREAD);
}

/* A request/response ping-pong between a plain thread and a fiber over two
 * channels: each side parks (fiber) or blocks (thread) in turn. */
typedef struct pingpong {
  nh_chan *to_fiber, *to_thread;
} pingpong;

static void echo_fiber(void *arg) {
  pingpong *p = arg;
  void *v;
  while (nh_chan_recv(p->to_fiber, &v, NH_NO_DEADLINE) == NH_OK)
    CHECK_EQ(nh_chan_send(p->to_thread, (void *)((long)v + 1), NH_NO_DEADLINE), NH_OK);
}

NH_TEST(thread_fiber_ping_pong) {
  nh_runtime *rt = nh_runtime_new(NULL);
  pingpong p = {nh_chan_new(0), nh_chan_new(0)};
  nh_runtime_go(rt, -1, echo_fiber, &p);
  long v = 0;
  nh_time t0 = nh_now();
  for (int i = 0; i < 5000; i++) {
    CHECK_EQ(nh_chan_send(p.to_fiber, (void *)v, nh_deadline_after(5 * NH_SEC)), NH_OK);
    void *r;
    CHECK_EQ(nh_chan_recv(p.to_thread, &r, nh_deadline_after(5 * NH_SEC)), NH_OK);
    CHECK_EQ((long)r, v + 1);
    v = (long)r;
  }
  fprintf(stderr, "thread<->fiber round trip: %lld ns\n", (long long)((nh_now() - t0) / 5000));
  nh_chan_close(p.to_fiber);
  nh_runtime_free(rt);
  nh_chan_free(p.to_fiber);
  nh_chan_free(p.to_thread);
  CHECK_EQ(v, 5000);
}

NH_TEST_MAIN()
