/* Fiber dump and leak check. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fibers below are not static so that dumps can name their entry. */

typedef struct scene {
  nh_mutex *m;
  nh_chan *ch;
  nh_fd *rd, *wr;
  nh_ctx *stop;
} scene;

void sleeper(void *arg);
void sleeper(void *arg) {
  scene *s = arg;
  nh_fiber_set_label("sleeper");
  nh_fiber_set_ctx(s->stop);
  nh_sleep(10 * NH_SEC);
}
void locker(void *arg);
void locker(void *arg) {
  scene *s = arg;
  nh_fiber_set_label("locker");
  nh_mutex_lock(s->m);
  nh_mutex_unlock(s->m);
}
void receiver(void *arg);
void receiver(void *arg) {
  scene *s = arg;
  nh_fiber_set_label("receiver");
  void *v;
  nh_chan_recv(s->ch, &v, NH_NO_DEADLINE);
}
void reader(void *arg);
void reader(void *arg) {
  scene *s = arg;
  nh_fiber_set_label("conn 127.0.0.1:5555");
  char b[4];
  nh_fd_read(s->rd, b, sizeof b, NH_NO_DEADLINE);
}

static const nh_fiber_info *find(const nh_fiber_info *items, size_t n, const char *label) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(items[i].label, label))
      return &items[i];
  return NULL;
}

static void dump_main(void *arg) {
  (void)arg;
  nh_leak_baseline *start = nh_leak_baseline_take(NULL);
  nh_leak_baseline *bl = nh_leak_baseline_take(NULL);
  scene s = {nh_mutex_new(), nh_chan_new(0), NULL, NULL, NULL};
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  nh_fd_open(sv[0], &s.rd);
  nh_fd_open(sv[1], &s.wr);
  nh_ctx_with_cancel(NULL, &s.stop);
  nh_mutex_lock(s.m);
  nh_runtime *rt = nh_runtime_current();
  nh_runtime_go(rt, 1, sleeper, &s); /* another loop */
  nh_go(locker, &s);
  nh_go(receiver, &s);
  nh_go(reader, &s);
  /* Each of the four parked where it should, then at least 30 ms more:
   * the dump's waiting time counts from the park. */
  CHECK_EQ(wait_parked(rt, "sleep", 1), 1);
  CHECK_EQ(wait_parked(rt, "mutex", 1), 1);
  CHECK_EQ(wait_parked(rt, "chan receive", 1), 1);
  CHECK_EQ(wait_parked(rt, "IO wait: read", 1), 1);
  nh_sleep(30 * NH_MSEC);

  nh_fiber_info *items;
  size_t n;
  CHECK_EQ(nh_fiber_dump(rt, &items, &n), NH_OK);
  CHECK_EQ(n, 5);
  const nh_fiber_info *f;
  CHECK((f = find(items, n, "sleeper")));
  CHECK_STR(f->state, "sleep");
  CHECK_EQ(f->loop, 1);
  CHECK(f->waiting >= 30 * NH_MSEC);
  CHECK_STR(f->entry, "sleeper");
  CHECK(f->nframes >= 3);
  CHECK((f = find(items, n, "locker")));
  CHECK_STR(f->state, "mutex");
  CHECK((f = find(items, n, "receiver")));
  CHECK_STR(f->state, "chan receive");
  CHECK((f = find(items, n, "conn 127.0.0.1:5555")));
  CHECK_STR(f->state, "IO wait: read");
  free(items);

  /* The text form, as a /debug/fibers page would show it. */
  char *text = NULL;
  size_t tlen = 0;
  FILE *mem = open_memstream(&text, &tlen);
  nh_fiber_dump_write(rt, mem);
  fclose(mem);
  CHECK_CONTAINS(text, "[sleep, ");
  CHECK_CONTAINS(text, "loop 1 \"sleeper\" (sleeper):");
  CHECK_CONTAINS(text, "[IO wait: read, ");
  CHECK_CONTAINS(text, "nh_fd_read+0x");
  free(text);

  /* The leak check sees all four and the two descriptors. */
  char *report = NULL;
  size_t rlen = 0;
  mem = open_memstream(&report, &rlen);
  CHECK_EQ(nh_leak_check(bl, 20 * NH_MSEC, mem), NH_EBUSY);
  fclose(mem);
  fprintf(stderr, "%s", report);
  CHECK_CONTAINS(report, "leaked fiber 'sleeper' parked in sleep for ");
  CHECK_CONTAINS(report, "loop 1, started at sleeper)");
  CHECK_CONTAINS(report, "leaked fiber 'conn 127.0.0.1:5555' parked in IO wait: read for ");
  CHECK_CONTAINS(report, "leaked fiber 'locker' parked in mutex");
  /* The socket pair by what it is, not by its inode. */
  CHECK_CONTAINS(report, "leaked socket unix:(unnamed) -> unix:(unnamed) (descriptor ");
  CHECK(!strstr(report, "socket:["));
  free(report);

  /* Clean up: afterwards nothing is left since the start of this test. */
  nh_ctx_cancel(s.stop);
  nh_mutex_unlock(s.m);
  nh_chan_close(s.ch);
  nh_fd_close(s.wr); /* the reader sees end of stream */
  /* The reader ends before its descriptor is closed: wait until this
   * fiber is the only one left. */
  nh_runtime_stats st;
  for (int i = 0; i < 1000; i++) {
    nh_runtime_stats_get(rt, &st);
    if (st.fibers_live <= 1)
      break;
    nh_sleep(5 * NH_MSEC);
  }
  nh_fd_close(s.rd);
  nh_ctx_free(s.stop);
  nh_chan_free(s.ch);
  nh_mutex_free(s.m);
  CHECK_EQ(nh_leak_check(start, 5 * NH_SEC, NULL), NH_OK);
}

NH_TEST(dump_shows_states_and_leak_check_names_leftovers) {
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 2;
  CHECK_EQ(nh_run(&cfg, dump_main, NULL), NH_OK);
}

/* A deliberately leaked fiber is caught; cleaning it up makes the check pass. */
static void leaked(void *arg) {
  nh_fiber_set_label("forgotten worker");
  nh_fiber_set_ctx(arg);
  nh_sleep(60 * NH_SEC);
}

static void leak_main(void *arg) {
  nh_leak_baseline *b = nh_leak_baseline_take(NULL);
  nh_leak_baseline *again = nh_leak_baseline_take(NULL); /* a check frees its baseline */
  nh_ctx *ctx;
  nh_ctx_with_cancel(NULL, &ctx);
  nh_go(leaked, ctx);
  char *report = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&report, &len);
  CHECK_EQ(nh_leak_check(b, 50 * NH_MSEC, mem), NH_EBUSY);
  fclose(mem);
  CHECK_CONTAINS(report, "leaked fiber 'forgotten worker' parked in sleep for ");
  free(report);
  /* Stopping the worker is what the check asked for: now it passes. */
  nh_ctx_cancel(ctx);
  nh_ctx_free(ctx);
  CHECK_EQ(nh_leak_check(again, 5 * NH_SEC, NULL), NH_OK);
}

NH_TEST(leak_check_catches_leaked_fiber) { CHECK_EQ(nh_run(NULL, leak_main, NULL), NH_OK); }

/* Taken on a plain thread, the baseline is the process's: what a test case
 * leaves behind in any form is named (the harness checks every case so). */
static void *parked_thread(void *arg) {
  int fd = *(int *)arg;
  char b;
  return (void *)(long)read(fd, &b, 1); /* until the other end closes */
}

void forgotten_fiber(void *arg);
void forgotten_fiber(void *arg) {
  nh_fiber_set_label("left running");
  nh_fiber_set_ctx(arg);
  nh_sleep(60 * NH_SEC);
}

NH_TEST(process_leak_check_names_runtimes_threads_children) {
  nh_leak_baseline *b = nh_leak_baseline_take(NULL);
  nh_leak_baseline *again = nh_leak_baseline_take(NULL);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  nh_runtime *rt = nh_runtime_new(&cfg);
  nh_ctx *stop;
  nh_ctx_with_cancel(NULL, &stop);
  CHECK_EQ(nh_runtime_go(rt, 0, forgotten_fiber, stop), NH_OK);
  CHECK_EQ(wait_parked(rt, "sleep", 1), 1);
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, parked_thread, &sv[0]), 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char c;
    close(sv[1]);
    read(sv[0], &c, 1); /* until the parent closes its end */
    _exit(0);
  }
  char *report = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&report, &len);
  CHECK_EQ(nh_leak_check(b, 50 * NH_MSEC, mem), NH_EBUSY);
  fclose(mem);
  fprintf(stderr, "%s", report);
  CHECK_CONTAINS(report, "the process did not return to its baseline");
  CHECK_CONTAINS(report, "leaked runtime (1 loops");
  CHECK_CONTAINS(report, "leaked fiber 'left running' parked in sleep for ");
  CHECK_CONTAINS(report, "started at forgotten_fiber)");
  CHECK_CONTAINS(report, "thread(s) beyond the baseline");
  CHECK_CONTAINS(report, "leaked child process");
  CHECK_CONTAINS(report, "leaked socket unix:(unnamed) -> unix:(unnamed) (descriptor ");
  free(report);
  /* Cleaning all of it up is what the check asked for: now it passes. */
  nh_ctx_cancel(stop);
  nh_runtime_free(rt);
  nh_ctx_free(stop);
  close(sv[1]); /* the thread and the child see the end of stream */
  pthread_join(th, NULL);
  CHECK_EQ(waitpid(child, NULL, 0), child);
  close(sv[0]);
  CHECK_EQ(nh_leak_check(again, 5 * NH_SEC, NULL), NH_OK);
}

NH_TEST_MAIN()
