/* Netpoll over real sockets: parking reads and writes, deadlines,
 * cancellation, close under a waiter, accept/connect, sendfile, and the
 * same calls from a plain thread. */
#include "harness.h"
#include "support.h"

#include "runtime/internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <nethttp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

static void pair(nh_fd **a, nh_fd **b) {
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CHECK_EQ(nh_fd_open(sv[0], a), NH_OK);
  CHECK_EQ(nh_fd_open(sv[1], b), NH_OK);
}

/* ---- a parked read woken by cancel, at once ---- */
typedef struct cancel_case {
  nh_ctx *ctx;
  nh_fd *rd;
  int result;
  nh_time woke;
} cancel_case;

static void parked_reader(void *arg) {
  cancel_case *c = arg;
  nh_fiber_set_ctx(c->ctx);
  char b[8];
  c->result = (int)nh_fd_read(c->rd, b, sizeof b, NH_NO_DEADLINE);
  c->woke = nh_now();
}

static void cancel_from_fiber_main(void *arg) {
  nh_dur *latency = arg;
  nh_fd *a, *b;
  pair(&a, &b);
  cancel_case c = {.rd = a};
  CHECK_EQ(nh_ctx_with_cancel(NULL, &c.ctx), NH_OK);
  nh_wg *done = nh_wg_new();
  nh_wg_add(done, 1);
  run_on(nh_runtime_current(), parked_reader, &c, done); /* loop 0 */
  CHECK_EQ(wait_parked(nh_runtime_current(), "IO wait: read", 1), 1);
  nh_time t0 = nh_now();
  nh_ctx_cancel(c.ctx); /* from a fiber of another loop */
  nh_wg_wait(done, NH_NO_DEADLINE);
  *latency = c.woke - t0;
  CHECK_EQ(c.result, NH_ECANCELED);
  CHECK(c.woke >= t0);
  nh_wg_free(done);
  nh_ctx_free(c.ctx);
  nh_fd_close(a);
  nh_fd_close(b);
}

NH_TEST(parked_read_woken_by_cancel_promptly) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 2;
  nh_runtime *rt = nh_runtime_new(&cfg);
  nh_dur lat[11];
  for (int i = 0; i < 11; i++) {
    nh_dur l = 0;
    nh_wg *done = nh_wg_new();
    nh_wg_add(done, 1);
    /* The canceller runs on loop 1, the reader on loop 0. */
    run_on_args *a = malloc(sizeof *a);
    *a = (run_on_args){cancel_from_fiber_main, &l, done};
    nh_runtime_go(rt, 1, run_on_entry, a);
    nh_wg_wait(done, NH_NO_DEADLINE);
    nh_wg_free(done);
    lat[i] = l;
  }
  nh_runtime_free(rt);
  for (int i = 0; i < 11; i++)
    for (int j = i + 1; j < 11; j++)
      if (lat[j] < lat[i]) {
        nh_dur t = lat[i];
        lat[i] = lat[j];
        lat[j] = t;
      }
  fprintf(stderr, "cancel-to-wake latency: median %lld us, worst %lld us\n",
          (long long)(lat[5] / NH_USEC), (long long)(lat[10] / NH_USEC));
  /* The read has no deadline: only the cancel can wake it, and it does
   * directly, not at some later tick. The wake path itself is tens of
   * microseconds; the best of 11 tries has it even when other processes
   * hold the cores (the others measure the machine's scheduling). */
  CHECK(lat[0] < 5 * NH_MSEC);
  CHECK(lat[10] < 2 * NH_SEC);
}

/* Same, cancelled from a plain thread. */
typedef struct thread_cancel {
  cancel_case c;
  nh_time t0;
  nh_runtime *rt;
} thread_cancel;

static void *cancel_thread(void *arg) {
  thread_cancel *s = arg;
  CHECK_EQ(wait_parked(s->rt, "IO wait: read", 1), 1);
  s->t0 = nh_now();
  nh_ctx_cancel(s->c.ctx);
  return NULL;
}

NH_TEST(parked_read_woken_by_cancel_from_thread) {
  nh_runtime *rt = nh_runtime_new(NULL);
  thread_cancel s = {.rt = rt};
  nh_fd *a, *b;
  pair(&a, &b);
  s.c.rd = a;
  nh_ctx_with_cancel(NULL, &s.c.ctx);
  nh_wg *done = nh_wg_new();
  nh_wg_add(done, 1);
  run_on(rt, parked_reader, &s.c, done);
  pthread_t th;
  pthread_create(&th, NULL, cancel_thread, &s);
  nh_wg_wait(done, NH_NO_DEADLINE);
  pthread_join(th, NULL);
  CHECK_EQ(s.c.result, NH_ECANCELED);
  /* Only the cancel can wake a read without deadline; how soon is the
   * fiber-to-fiber case above (here an upper sanity bound). */
  CHECK(s.c.woke >= s.t0 && s.c.woke - s.t0 < 2 * NH_SEC);
  nh_runtime_free(rt);
  nh_wg_free(done);
  nh_ctx_free(s.c.ctx);
  nh_fd_close(a);
  nh_fd_close(b);
}

/* ---- deadlines, close under a waiter, data flow ---- */
static void deadline_main(void *arg) {
  (void)arg;
  nh_leak_baseline *bl = nh_leak_baseline_take(NULL);
  nh_fd *a, *b;
  pair(&a, &b);
  char buf[16];
  nh_time t0 = nh_now();
  CHECK_EQ(nh_fd_read(a, buf, sizeof buf, nh_deadline_after(30 * NH_MSEC)), NH_ETIMEDOUT);
  nh_dur took = nh_now() - t0;
  CHECK(took >= 30 * NH_MSEC && took < 3 * NH_SEC); /* its deadline ended it */
  /* A context deadline bounds the same read. */
  nh_ctx *ctx;
  nh_ctx_with_timeout(NULL, 20 * NH_MSEC, &ctx);
  nh_fiber_set_ctx(ctx);
  CHECK_EQ(nh_fd_read(a, buf, sizeof buf, NH_NO_DEADLINE), NH_ETIMEDOUT);
  CHECK_EQ(nh_ctx_err(ctx), NH_ETIMEDOUT);
  nh_fiber_set_ctx(NULL);
  nh_ctx_free(ctx);
  /* Data still flows afterwards. */
  CHECK_EQ(nh_fd_write(b, "hello", 5, NH_NO_DEADLINE), 5);
  CHECK_EQ(nh_fd_read(a, buf, sizeof buf, nh_deadline_after(NH_SEC)), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  nh_fd_close(a);
  nh_fd_close(b);
  CHECK_EQ(nh_leak_check(bl, NH_SEC, NULL), NH_OK);
}

NH_TEST(read_deadlines) { CHECK_EQ(nh_run(NULL, deadline_main, NULL), NH_OK); }

typedef struct closer {
  nh_fd *f;
  int result;
} closer;
static void blocked_reader(void *arg) {
  closer *c = arg;
  char b[4];
  c->result = (int)nh_fd_read(c->f, b, sizeof b, NH_NO_DEADLINE);
}

static void close_main(void *arg) {
  (void)arg;
  nh_fd *a, *b;
  pair(&a, &b);
  closer c = {a, 1};
  nh_go(blocked_reader, &c);
  nh_sleep(5 * NH_MSEC);
  nh_fd_close(a);
  for (int i = 0; i < 1000 && c.result == 1; i++)
    nh_sleep(5 * NH_MSEC);
  CHECK_EQ(c.result, NH_ECLOSED);
  nh_fd_close(b);
}

NH_TEST(close_wakes_parked_reader) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  CHECK_EQ(nh_run(&cfg, close_main, NULL), NH_OK);
}

/* ---- TCP over loopback: accept, connect, a big write in pieces ---- */
enum { BIG = 8 * 1024 * 1024 };
typedef struct tcp_case {
  nh_fd *listener;
  int port;
  long received;
  unsigned sum_rx, sum_tx;
} tcp_case;

static void tcp_server(void *arg) {
  tcp_case *t = arg;
  int c = nh_fd_accept(t->listener, NULL, NULL, nh_deadline_after(5 * NH_SEC));
  CHECK(c >= 0);
  nh_fd *conn;
  CHECK_EQ(nh_fd_open(c, &conn), NH_OK);
  char *buf = malloc(65536);
  for (;;) {
    ssize_t n = nh_fd_read(conn, buf, 65536, nh_deadline_after(5 * NH_SEC));
    CHECK(n >= 0);
    if (n == 0)
      break;
    for (ssize_t i = 0; i < n; i++)
      t->sum_rx = t->sum_rx * 31 + (unsigned char)buf[i];
    t->received += n;
    nh_sleep(0); /* read slowly enough that the writer must park */
  }
  free(buf);
  nh_fd_close(conn);
}

static void tcp_main(void *arg) {
  tcp_case *t = arg;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(listen(ls, 16), 0);
  socklen_t len = sizeof sa;
  getsockname(ls, (struct sockaddr *)&sa, &len);
  CHECK_EQ(nh_fd_open(ls, &t->listener), NH_OK);
  nh_wg *done = nh_wg_new();
  nh_wg_add(done, 1);
  run_on(nh_runtime_current(), tcp_server, t, done);

  nh_fd *cl;
  CHECK_EQ(nh_fd_open(socket(AF_INET, SOCK_STREAM, 0), &cl), NH_OK);
  CHECK_EQ(nh_fd_connect(cl, (struct sockaddr *)&sa, sizeof sa, nh_deadline_after(NH_SEC)), NH_OK);
  char *big = malloc(BIG);
  for (int i = 0; i < BIG; i++) {
    big[i] = (char)(i * 7 + (i >> 13));
    t->sum_tx = t->sum_tx * 31 + (unsigned char)big[i];
  }
  struct iovec iov[3] = {{big, 1000}, {big + 1000, BIG / 2}, {big + 1000 + BIG / 2, BIG / 2 - 1000}};
  CHECK_EQ(nh_fd_writev(cl, iov, 3, nh_deadline_after(10 * NH_SEC)), BIG);
  nh_fd_close(cl);
  nh_wg_wait(done, NH_NO_DEADLINE);
  nh_wg_free(done);
  free(big);
  nh_fd_close(t->listener);
  /* Connecting to a closed port is refused, not hung. */
  nh_fd *cl2;
  nh_fd_open(socket(AF_INET, SOCK_STREAM, 0), &cl2);
  CHECK_EQ(nh_fd_connect(cl2, (struct sockaddr *)&sa, sizeof sa, nh_deadline_after(NH_SEC)),
           NH_ECONNREFUSED);
  nh_fd_close(cl2);
}

NH_TEST(tcp_accept_connect_big_writev) {
  tcp_case t = {0};
  CHECK_EQ(nh_run(NULL, tcp_main, &t), NH_OK);
  CHECK_EQ(t.received, BIG);
  CHECK_EQ(t.sum_rx, t.sum_tx);
}

/* ---- sendfile ---- */
enum { FILE_SIZE = 300000, SKIP = 1000 };
static char file_data[FILE_SIZE], got[FILE_SIZE];
static long gotn;

static void drainer(void *p) {
  nh_fd *f = p;
  while (gotn < FILE_SIZE - SKIP) {
    ssize_t n = nh_fd_read(f, got + gotn, sizeof got - (size_t)gotn, nh_deadline_after(NH_SEC));
    CHECK(n > 0);
    gotn += n;
  }
}

static void sendfile_main(void *arg) {
  (void)arg;
  char path[] = "/tmp/nh-sendfile-XXXXXX";
  int file = mkstemp(path);
  unlink(path);
  for (size_t i = 0; i < FILE_SIZE; i++)
    file_data[i] = (char)(i % 251);
  CHECK_EQ(write(file, file_data, FILE_SIZE), FILE_SIZE);
  nh_fd *a, *b;
  pair(&a, &b);
  off_t off = SKIP;
  /* The socket buffer is smaller than the file, so sendfile must park while
   * another fiber drains the other end. */
  nh_go(drainer, b);
  CHECK_EQ(nh_fd_sendfile(a, file, &off, FILE_SIZE - SKIP, nh_deadline_after(5 * NH_SEC)),
           FILE_SIZE - SKIP);
  CHECK_EQ(off, FILE_SIZE);
  while (gotn < FILE_SIZE - SKIP)
    nh_sleep(NH_MSEC);
  CHECK(memcmp(got, file_data + SKIP, FILE_SIZE - SKIP) == 0);
  close(file);
  nh_fd_close(a);
  nh_fd_close(b);
}

NH_TEST(sendfile_parks_until_sent) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  CHECK_EQ(nh_run(&cfg, sendfile_main, NULL), NH_OK);
}

/* ---- plain thread: same API, blocking in poll ---- */
NH_TEST(plain_thread_blocking_io) {
  nh_fd *a, *b;
  pair(&a, &b);
  char buf[8];
  nh_time t0 = nh_now();
  CHECK_EQ(nh_fd_read(a, buf, sizeof buf, nh_deadline_after(20 * NH_MSEC)), NH_ETIMEDOUT);
  CHECK(nh_now() - t0 >= 20 * NH_MSEC);
  CHECK_EQ(nh_fd_write(b, "abc", 3, NH_NO_DEADLINE), 3);
  CHECK_EQ(nh_fd_read(a, buf, sizeof buf, NH_NO_DEADLINE), 3);
  nh_fd_close(a);
  nh_fd_close(b);
}

/* ---- on_readable: an idle descriptor waits with no fiber ---- */
typedef struct idle_case {
  nh_fd *f;
  atomic_int fired;
  int live_fibers_while_idle;
} idle_case;

static void on_data(nh_fd *f, void *arg) {
  idle_case *c = arg;
  CHECK(!nh_in_fiber());
  CHECK(f == c->f);
  atomic_fetch_add(&c->fired, 1);
}


static void idle_main(void *arg) {
  idle_case *c = arg;
  nh_fd *b;
  pair(&c->f, &b);
  CHECK_EQ(nh_fd_on_readable(c->f, on_data, c), NH_OK);
  nh_sleep(10 * NH_MSEC);
  CHECK_EQ(atomic_load(&c->fired), 0);
  nh_fd_write(b, "x", 1, NH_NO_DEADLINE);
  nh_sleep(10 * NH_MSEC);
  CHECK_EQ(atomic_load(&c->fired), 1);
  /* One-shot: more data without re-arming fires nothing. */
  nh_fd_write(b, "y", 1, NH_NO_DEADLINE);
  nh_sleep(10 * NH_MSEC);
  CHECK_EQ(atomic_load(&c->fired), 1);
  nh_fd_close(c->f);
  nh_fd_close(b);
}

NH_TEST(on_readable_callback_without_fiber) {
  idle_case c = {0};
  CHECK_EQ(nh_run(NULL, idle_main, &c), NH_OK);
}

/* Closing a registered descriptor takes it out of its loop's epoll even
 * when another descriptor names the same socket (a dup, or the copies a
 * child holds between fork and exec): otherwise the epoll would go on
 * reporting events for the freed record. */
static void close_with_a_copy(void *arg) {
  int *out = arg;
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  nh_fd *f;
  CHECK_EQ(nh_fd_open(sv[0], &f), NH_OK);
  char b;
  CHECK_EQ(nh_fd_read(f, &b, 1, nh_deadline_after(NH_MSEC)), NH_ETIMEDOUT); /* registers */
  int epfd = nh__loop_current()->epfd;
  CHECK_EQ(epoll_has(epfd, sv[0]), 1);
  int copy = dup(sv[0]);
  int fd = sv[0];
  nh_fd_close(f);
  out[0] = epoll_has(epfd, fd);
  close(copy);
  close(sv[1]);
}

NH_TEST(close_leaves_epoll_while_a_copy_stays_open) {
  int registered = -1;
  CHECK_EQ(nh_run(NULL, close_with_a_copy, &registered), NH_OK);
  CHECK_EQ(registered, 0);
}

NH_TEST_MAIN()
