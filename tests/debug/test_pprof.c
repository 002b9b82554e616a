/* The pprof pages over real sockets: a CPU profile taken under load and
 * read by `go tool pprof`, one profile at a time (409), bad or too long
 * durations (400), no SIGPROF while no profile runs, and contention
 * profiles that name the lock handlers fought over. */
#include "harness.h"
#include "pprof_support.h"
#include "runtime/profile.h"
#include "server/rawclient.h"

#include <nethttp.h>
#include <nethttp/debug.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>

static nh_handler debug_h;
static nh_mutex *contended;

/* The CPU burner the profile must find: about 3 ms of work per call. */
__attribute__((noinline)) uint64_t pprof_test_busy_loop(void) {
  volatile uint64_t x = 0;
  nh_time end = nh_now() + 3 * NH_MSEC;
  do {
    for (int i = 0; i < 4096; i++)
      x = x * 6364136223846793005ull + 1442695040888963407ull;
  } while (nh_now() < end);
  return x;
}

__attribute__((noinline)) void pprof_test_burn_handler(nh_response_writer *w) {
  uint64_t x = pprof_test_busy_loop();
  nh_resp_printf(w, "burnt %llu\n", (unsigned long long)(x & 1));
}

/* Holds the lock a few ms so the other handlers wait on it. */
__attribute__((noinline)) void pprof_test_contended_lock(nh_response_writer *w) {
  nh_mutex_lock(contended);
  nh_sleep(3 * NH_MSEC);
  nh_mutex_unlock(contended);
  nh_resp_write_string(w, "held\n");
}

static void serve(nh_response_writer *w, nh_request *r) {
  const char *path = nh_request_path(r);
  if (strcmp(path, "/burn") == 0)
    pprof_test_burn_handler(w);
  else if (strcmp(path, "/contend") == 0)
    pprof_test_contended_lock(w);
  else
    nh_handler_serve(debug_h, w, r);
}

static nh_test_server *start(nh_dur write_timeout) {
  debug_h = nh_debug_handler(NULL);
  CHECK(debug_h.fn);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  if (write_timeout)
    cfg.write_timeout = write_timeout;
  nh_test_server *ts = nh_test_server_new(serve, &cfg, 2);
  CHECK(ts);
  return ts;
}

static void stop(nh_test_server *ts) {
  CHECK_EQ(nh_test_server_close(ts, stderr), 0);
  nh_debug_handler_free(debug_h);
}

static raw_resp get(int port, const char *target) {
  char req[256];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
  return raw_roundtrip(port, req);
}

/* ---- load: keep-alive clients asking for target until told to stop ---- */

typedef struct load {
  int port;
  const char *target;
  int max; /* 0: until stop */
  atomic_int stop;
  atomic_int ok, failed;
} load;

static void *load_run(void *arg) {
  load *l = arg;
  raw_conn *c = raw_dial(l->port);
  char req[128];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", l->target);
  for (int i = 0; !atomic_load(&l->stop) && (!l->max || i < l->max); i++) {
    raw_resp r;
    if (c->fd < 0 || raw_sends(c->fd, req) != 0 || raw_read(c, &r, 0) != 0) {
      atomic_fetch_add(&l->failed, 1);
      break;
    }
    atomic_fetch_add(r.status == 200 ? &l->ok : &l->failed, 1);
    raw_resp_free(&r);
  }
  raw_hang_up(c);
  return NULL;
}

/* ---- a profile fetched by a thread ---- */

typedef struct fetch {
  int port;
  const char *target;
  raw_resp resp;
  atomic_int done;
} fetch;

static void *fetch_run(void *arg) {
  fetch *f = arg;
  f->resp = get(f->port, f->target);
  atomic_store(&f->done, 1);
  return NULL;
}

/* Sum of flat% of the -top rows whose name is an address, and of all. */
static void top_fractions(const char *top, double *unnamed, double *all) {
  *unnamed = *all = 0;
  const char *line = strstr(top, "flat%");
  while (line && (line = strchr(line, '\n'))) {
    line++;
    char flat[32], cum[32], name[256];
    float flatp, sump, cump;
    if (sscanf(line, "%31s %f%% %f%% %31s %f%% %255s", flat, &flatp, &sump, cum, &cump, name) != 6)
      continue;
    *all += flatp;
    if (strncmp(name, "0x", 2) == 0)
      *unnamed += flatp;
  }
}

NH_TEST(cpu_profile_under_load_read_by_go_pprof) {
  if (!have_go())
    NH_SKIP("go is not installed");
  nh_test_server *ts = start(0);
  int port = nh_test_server_port(ts);
  load l = {.port = port, .target = "/burn"};
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, load_run, &l), 0);
  CHECK_SOON(atomic_load(&l.ok) >= 4); /* load is running */
  raw_resp r = get(port, "/debug/pprof/profile?seconds=2");
  int ok_during = atomic_load(&l.ok);
  atomic_store(&l.stop, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "application/octet-stream");
  CHECK(r.blen > 100);
  CHECK_EQ(atomic_load(&l.failed), 0); /* no request failed meanwhile */
  CHECK(ok_during > 10);
  char path[64];
  CHECK_EQ(write_temp(r.body, r.blen, path), 0);
  raw_resp_free(&r);
  int st;
  char *top = go_pprof("-top -nodecount=100000 -nodefraction=0 -edgefraction=0", path, &st);
  CHECK(top);
  fprintf(stderr, "%s\n", top);
  CHECK_EQ(st, 0);
  CHECK_CONTAINS(top, "Type: cpu");
  CHECK_CONTAINS(top, "pprof_test_busy_loop");
  /* The walk went from the busy loop up the fiber's stack to the
   * handler that called it. */
  CHECK_CONTAINS(top, "pprof_test_burn_handler");
  double unnamed, all;
  top_fractions(top, &unnamed, &all);
  CHECK(all > 90);
  CHECK(unnamed < all / 2); /* most samples symbolized */
  free(top);
  unlink(path);
  stop(ts);
}

NH_TEST(second_profile_while_one_runs_gets_409) {
  nh_test_server *ts = start(0);
  int port = nh_test_server_port(ts);
  fetch f = {.port = port, .target = "/debug/pprof/profile?seconds=3"};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, fetch_run, &f), 0);
  CHECK_SOON(nh__cpuprof_running());
  raw_resp r = get(port, "/debug/pprof/profile?seconds=1");
  CHECK_EQ(r.status, 409);
  CHECK_STR(raw_header(&r, "X-Go-Pprof"), "1");
  raw_resp_free(&r);
  CHECK(!atomic_load(&f.done)); /* the first one still runs */
  pthread_join(th, NULL);
  CHECK_EQ(f.resp.status, 200);
  raw_resp_free(&f.resp);
  /* Once it ended, the next profile may run. */
  CHECK(!nh__cpuprof_running());
  r = get(port, "/debug/pprof/profile?seconds=1");
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  stop(ts);
}

NH_TEST(bad_or_too_long_seconds_get_400) {
  nh_test_server *ts = start(5 * NH_SEC);
  int port = nh_test_server_port(ts);
  static const char *bad[] = {"0", "-1", "abc", "1.5", "", "2x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char target[64];
    snprintf(target, sizeof target, "/debug/pprof/profile?seconds=%s", bad[i]);
    raw_resp r = get(port, target);
    CHECK_EQ(r.status, 400);
    raw_resp_free(&r);
  }
  /* At or past the write timeout (5 s), as Go refuses it. */
  static const char *too_long[] = {"5", "6", "3600"};
  for (size_t i = 0; i < sizeof too_long / sizeof *too_long; i++) {
    char target[64];
    snprintf(target, sizeof target, "/debug/pprof/profile?seconds=%s", too_long[i]);
    raw_resp r = get(port, target);
    CHECK_EQ(r.status, 400);
    CHECK_CONTAINS(r.body, "profile duration exceeds server's WriteTimeout");
    raw_resp_free(&r);
  }
  CHECK(!nh__cpuprof_running());
  /* Just under it is a profile. */
  raw_resp r = get(port, "/debug/pprof/profile?seconds=1");
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  stop(ts);
}

/* Burns ms of this thread's CPU time. */
static void burn_cpu(int ms) {
  struct timespec t0, t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  volatile uint64_t x = 0;
  do {
    for (int i = 0; i < 100000; i++)
      x += (uint64_t)i;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static int timer_disarmed(void) {
  struct itimerval it;
  CHECK_EQ(getitimer(ITIMER_PROF, &it), 0);
  return !it.it_value.tv_sec && !it.it_value.tv_usec && !it.it_interval.tv_sec &&
         !it.it_interval.tv_usec;
}

NH_TEST(no_sigprof_while_no_profile_runs) {
  nh_test_server *ts = start(0);
  int port = nh_test_server_port(ts);
  /* Before any profile: no timer, and 300 ms of CPU bring no signal (with
   * no handler installed yet, one would end the process). */
  CHECK(timer_disarmed());
  uint64_t s0 = nh__cpuprof_signals();
  burn_cpu(300);
  CHECK_EQ(nh__cpuprof_signals(), s0);
  /* During a profile, signals come with CPU time. */
  fetch f = {.port = port, .target = "/debug/pprof/profile?seconds=1"};
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, fetch_run, &f), 0);
  CHECK_SOON(nh__cpuprof_running());
  while (!atomic_load(&f.done))
    burn_cpu(20);
  pthread_join(th, NULL);
  CHECK_EQ(f.resp.status, 200);
  raw_resp_free(&f.resp);
  uint64_t s1 = nh__cpuprof_signals();
  CHECK(s1 > s0);
  /* After it: disarmed again, and CPU time brings no more signals. */
  CHECK(timer_disarmed());
  burn_cpu(300);
  CHECK_EQ(nh__cpuprof_signals(), s1);
  stop(ts);
}

NH_TEST(contention_profiles_name_the_contended_lock) {
  if (!have_go())
    NH_SKIP("go is not installed");
  contended = nh_mutex_new();
  nh_test_server *ts = start(0);
  int port = nh_test_server_port(ts);
  /* Off by default: waits leave no sample. */
  CHECK_EQ(nh_set_mutex_profile_fraction(-1), 0);
  CHECK_EQ(nh_set_block_profile_rate(-1), 0);
  enum { CLIENTS = 6 };
  load l = {.port = port, .target = "/contend", .max = 5};
  pthread_t th[CLIENTS];
  for (int i = 0; i < CLIENTS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, load_run, &l), 0);
  for (int i = 0; i < CLIENTS; i++)
    pthread_join(th[i], NULL);
  CHECK_EQ(atomic_load(&l.failed), 0);
  raw_resp r = get(port, "/debug/pprof/mutex");
  CHECK_EQ(r.status, 200);
  char path[64];
  CHECK_EQ(write_temp(r.body, r.blen, path), 0);
  raw_resp_free(&r);
  int st;
  char *raw = go_pprof("-raw", path, &st);
  CHECK_EQ(st, 0);
  CHECK_CONTAINS(raw, "contentions/count delay/nanoseconds");
  CHECK(!strstr(raw, "pprof_test_contended_lock"));
  free(raw);
  unlink(path);

  /* On: every wait recorded. */
  nh_set_mutex_profile_fraction(1);
  nh_set_block_profile_rate(1);
  atomic_store(&l.ok, 0);
  for (int i = 0; i < CLIENTS; i++)
    CHECK_EQ(pthread_create(&th[i], NULL, load_run, &l), 0);
  for (int i = 0; i < CLIENTS; i++)
    pthread_join(th[i], NULL);
  nh_set_mutex_profile_fraction(0);
  nh_set_block_profile_rate(0);
  CHECK_EQ(atomic_load(&l.failed), 0);
  CHECK_EQ(atomic_load(&l.ok), CLIENTS * 5);
  static const char *pages[] = {"/debug/pprof/mutex", "/debug/pprof/block"};
  for (int i = 0; i < 2; i++) {
    r = get(port, pages[i]);
    CHECK_EQ(r.status, 200);
    CHECK_STR(raw_header(&r, "Content-Type"), "application/octet-stream");
    CHECK_EQ(write_temp(r.body, r.blen, path), 0);
    raw_resp_free(&r);
    char *top = go_pprof("-top -nodecount=100000 -nodefraction=0", path, &st);
    fprintf(stderr, "%s:\n%s\n", pages[i], top);
    CHECK_EQ(st, 0);
    CHECK_CONTAINS(top, "Type: delay");
    /* The waiter's stack: the lock call and the handler that made it. */
    CHECK_CONTAINS(top, "nh_mutex_lock"); /* nh_mutex_lock_slow where the fast path is inlined */
    CHECK_CONTAINS(top, "pprof_test_contended_lock");
    CHECK(!strstr(top, "nh__wait_prof_end")); /* the recording is not shown */
    free(top);
    char *counts = go_pprof("-top -sample_index=contentions", path, &st);
    CHECK_EQ(st, 0);
    CHECK_CONTAINS(counts, "Type: contentions");
    free(counts);
    unlink(path);
  }
  stop(ts);
  nh_mutex_free(contended);
}

NH_TEST_MAIN()
