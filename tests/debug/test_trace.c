/* /debug/trace over real sockets: a trace taken while requests run is
 * Chrome trace-event JSON with one named track per loop, labelled fiber
 * runs, epoll waits, parks, wakes and wake arrows, all inside the traced
 * window and never overlapping on a track; a second trace while one runs
 * gets 409 (and the loop serving the first keeps serving); bad seconds
 * get 400; with no trace running the loops record nothing. */
#include "harness.h"
#include "server/rawclient.h"

#include <jansson.h>
#include <nethttp.h>
#include <nethttp/debug.h>
#include <nethttp/httptest.h>
#include <stdatomic.h>

#include "runtime/trace.h"

static nh_handler dbg;

static void child_send(void *arg) {
  nh_sleep(NH_MSEC); /* the parent is parked in recv by then */
  nh_chan_send(arg, (void *)1, NH_NO_DEADLINE);
}

/* /debug/...: the debug pages; /chan: a fiber woken by another fiber;
 * anything else: a short sleep (a timer wake), then "ok". */
static void serve(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strncmp(p, "/debug/", 7)) {
    dbg.fn(w, r);
    return;
  }
  if (!strcmp(p, "/chan")) {
    nh_chan *ch = nh_chan_new(0);
    void *v = NULL;
    if (ch && nh_go(child_send, ch) == NH_OK)
      nh_chan_recv(ch, &v, NH_NO_DEADLINE);
    nh_chan_free(ch);
    nh_resp_write(w, v ? "chan" : "none", 4);
    return;
  }
  nh_sleep(NH_MSEC);
  nh_resp_write(w, "ok", 2);
}

static nh_test_server *start(int loops) {
  dbg = nh_debug_handler(NULL);
  CHECK(dbg.fn);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler_data = dbg.data;
  cfg.write_timeout = 10 * NH_SEC;
  nh_test_server *ts = nh_test_server_new(serve, &cfg, loops);
  CHECK(ts);
  return ts;
}

static void stop(nh_test_server *ts) {
  CHECK_EQ(nh_test_server_close(ts, NULL), NH_OK);
  nh_debug_handler_free(dbg);
}

/* ---- load: keep-alive clients alternating /work and /chan ---- */

typedef struct load {
  int port;
  atomic_int stop;
  atomic_int done; /* responses received */
  atomic_int failed;
  pthread_t th[3];
} load;

static void *load_main(void *arg) {
  load *ld = arg;
  raw_conn *c = raw_dial(ld->port);
  for (int i = 0; !atomic_load(&ld->stop); i++) {
    raw_resp r;
    const char *req = i % 2 ? "GET /chan HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /work HTTP/1.1\r\nHost: x\r\n\r\n";
    if (raw_sends(c->fd, req) != 0 || raw_read(c, &r, 0) != 0 || r.status != 200) {
      atomic_fetch_add(&ld->failed, 1);
      break;
    }
    raw_resp_free(&r);
    atomic_fetch_add(&ld->done, 1);
  }
  raw_hang_up(c);
  return NULL;
}

static void load_start(load *ld, int port) {
  memset(ld, 0, sizeof *ld);
  ld->port = port;
  for (int i = 0; i < 3; i++)
    CHECK(pthread_create(&ld->th[i], NULL, load_main, ld) == 0);
  while (atomic_load(&ld->done) < 30) /* every client is under way */
    usleep(1000);
}

static void load_stop(load *ld) {
  atomic_store(&ld->stop, 1);
  for (int i = 0; i < 3; i++)
    pthread_join(ld->th[i], NULL);
  CHECK_EQ(atomic_load(&ld->failed), 0);
}

/* ---- reading the trace ---- */

static json_t *get_trace(int port, const char *query, int *status) {
  char req[256];
  snprintf(req, sizeof req, "GET /debug/trace%s HTTP/1.1\r\nHost: x\r\n\r\n", query);
  raw_resp r = raw_roundtrip(port, req);
  *status = r.status;
  json_t *j = NULL;
  if (r.status == 200) {
    CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
    json_error_t err;
    j = json_loadb(r.body, r.blen, 0, &err);
    if (!j)
      NH_FAIL("trace is not JSON: %s (line %d)", err.text, err.line);
    const char *keep = getenv("NH_TEST_TRACE_OUT"); /* to look at it */
    if (keep) {
      FILE *f = fopen(keep, "w");
      if (f) {
        fwrite(r.body, 1, r.blen, f);
        fclose(f);
      }
    }
  }
  raw_resp_free(&r);
  return j;
}

static const char *str_of(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : "";
}

static double num_of(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  CHECK(json_is_number(v));
  return json_number_value(v);
}

typedef struct slice {
  int tid;
  double ts, end;
} slice;

static int slice_cmp(const void *a, const void *b) {
  const slice *x = a, *y = b;
  if (x->tid != y->tid)
    return x->tid - y->tid;
  return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* What a trace of `loops` loops under load must show. */
static void check_trace(json_t *j, int loops) {
  CHECK_STR(str_of(j, "displayTimeUnit"), "ns");
  json_t *meta = json_object_get(j, "metadata");
  CHECK(json_is_object(meta));
  double window = num_of(meta, "window_us");
  CHECK(window >= 1e6); /* seconds=1 */
  CHECK_EQ((long long)num_of(meta, "loops"), loops);
  CHECK(json_is_number(json_object_get(meta, "dropped_events")));

  json_t *evs = json_object_get(j, "traceEvents");
  CHECK(json_is_array(evs));
  size_t n = json_array_size(evs);
  int track_tid[8], ntracks = 0;
  slice *sl = calloc(n, sizeof *sl);
  size_t nsl = 0;
  int runs_work = 0, runs_chan = 0, polls = 0, park_sleep = 0, park_chan = 0, spawn_io = 0;
  int wake_fiber = 0, wake_timer = 0, timers = 0, turns = 0;
  json_t *flow_s = json_array(), *flow_f = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(evs, i);
    const char *ph = str_of(e, "ph"), *name = str_of(e, "name");
    if (!strcmp(ph, "M")) {
      if (!strcmp(name, "thread_name")) {
        char want[32];
        snprintf(want, sizeof want, "loop %d", ntracks);
        CHECK_STR(str_of(json_object_get(e, "args"), "name"), want);
        CHECK(ntracks < 8);
        track_tid[ntracks++] = (int)num_of(e, "tid");
      }
      continue;
    }
    int tid = (int)num_of(e, "tid"), known = 0;
    for (int k = 0; k < ntracks; k++)
      known |= track_tid[k] == tid;
    CHECK(known); /* every event sits on a named loop track */
    double ts = num_of(e, "ts");
    CHECK(ts >= 0 && ts <= window);
    json_t *args = json_object_get(e, "args");
    if (!strcmp(ph, "X")) {
      double dur = num_of(e, "dur");
      CHECK(dur >= 0 && ts + dur <= window + 1e-3);
      sl[nsl++] = (slice){tid, ts, ts + dur};
      runs_work += !strcmp(name, "GET /work");
      runs_chan += !strcmp(name, "GET /chan");
      polls += !strcmp(name, "epoll_wait") && json_is_integer(json_object_get(args, "events"));
    } else if (!strcmp(ph, "i")) {
      if (!strcmp(name, "park")) {
        park_sleep += !strcmp(str_of(args, "reason"), "sleep");
        park_chan += !strcmp(str_of(args, "reason"), "chan receive");
      } else if (!strcmp(name, "wake")) {
        const char *by = str_of(args, "by");
        wake_fiber += !strncmp(by, "fiber ", 6);
        wake_timer += !strcmp(by, "timer");
      } else if (!strcmp(name, "spawn")) {
        /* A connection's fiber starts when its socket becomes readable. */
        spawn_io += !strcmp(str_of(args, "by"), "I/O ready");
        wake_fiber += !strncmp(str_of(args, "by"), "fiber ", 6); /* /chan's child */
      }
      timers += !strcmp(name, "timer");
      turns += !strcmp(name, "loop turn");
    } else if (!strcmp(ph, "s")) {
      json_array_append(flow_s, json_object_get(e, "id"));
    } else if (!strcmp(ph, "f")) {
      json_array_append(flow_f, json_object_get(e, "id"));
    }
  }
  CHECK_EQ(ntracks, loops);
  CHECK(runs_work > 0 && runs_chan > 0);
  CHECK(polls > 0);
  CHECK(park_sleep > 0 && park_chan > 0);
  CHECK(wake_fiber > 0 && wake_timer > 0 && spawn_io > 0);
  CHECK(timers > 0 && turns > 0);
  /* Arrows: a fiber's wake of another (the /chan child) to its run. */
  int matched = 0;
  for (size_t i = 0; i < json_array_size(flow_s); i++)
    for (size_t k = 0; k < json_array_size(flow_f) && !matched; k++)
      matched = json_equal(json_array_get(flow_s, i), json_array_get(flow_f, k));
  CHECK(matched);
  json_decref(flow_s);
  json_decref(flow_f);
  /* One loop does one thing at a time: its slices never overlap. */
  qsort(sl, nsl, sizeof *sl, slice_cmp);
  for (size_t i = 1; i < nsl; i++)
    if (sl[i].tid == sl[i - 1].tid && sl[i].ts < sl[i - 1].end - 5e-4)
      NH_FAIL("slices overlap on track %d: [%.3f, %.3f] and [%.3f, %.3f]", sl[i].tid,
              sl[i - 1].ts, sl[i - 1].end, sl[i].ts, sl[i].end);
  free(sl);
}

NH_TEST(trace_under_load_is_chrome_json_per_loop) {
  nh_test_server *ts = start(2);
  int port = nh_test_server_port(ts);
  load ld;
  load_start(&ld, port);
  int before = atomic_load(&ld.done), status;
  json_t *j = get_trace(port, "?seconds=1", &status);
  CHECK_EQ(status, 200);
  CHECK(atomic_load(&ld.done) > before); /* served meanwhile */
  check_trace(j, 2);
  json_decref(j);
  /* Off again: more requests, and not one record more. */
  nh_runtime *rt = nh_test_server_runtime(ts);
  uint64_t written = nh__trace_written(rt);
  CHECK(written > 0);
  int now = atomic_load(&ld.done);
  while (atomic_load(&ld.done) < now + 100)
    usleep(1000);
  CHECK_EQ(nh__trace_written(rt), written);
  load_stop(&ld);
  stop(ts);
}

typedef struct bg_trace {
  int port, status;
  json_t *j;
} bg_trace;

static void *bg_trace_main(void *arg) {
  bg_trace *b = arg;
  b->j = get_trace(b->port, "?seconds=1.5", &b->status);
  return NULL;
}

/* One loop: while the first trace parks its fiber, the same loop answers
 * the second trace (409) and ordinary requests. */
NH_TEST(concurrent_trace_gets_409_and_the_loop_keeps_serving) {
  nh_test_server *ts = start(1);
  int port = nh_test_server_port(ts);
  load ld;
  load_start(&ld, port);
  bg_trace b = {.port = port};
  pthread_t th;
  CHECK(pthread_create(&th, NULL, bg_trace_main, &b) == 0);
  while (!nh__trace_busy())
    usleep(1000);
  int status;
  json_t *second = get_trace(port, "?seconds=1", &status);
  CHECK_EQ(status, 409);
  CHECK(second == NULL);
  int mid = atomic_load(&ld.done);
  while (atomic_load(&ld.done) < mid + 20 && nh__trace_busy())
    usleep(1000);
  CHECK(nh__trace_busy()); /* 20 requests served while the trace ran */
  pthread_join(th, NULL);
  CHECK_EQ(b.status, 200);
  CHECK(json_is_object(b.j));
  CHECK(num_of(json_object_get(b.j, "metadata"), "window_us") >= 1.5e6);
  json_decref(b.j);
  CHECK(!nh__trace_busy());
  /* And the next one may run. */
  json_t *third = get_trace(port, "?seconds=0.2", &status);
  CHECK_EQ(status, 200);
  json_decref(third);
  load_stop(&ld);
  stop(ts);
}

NH_TEST(bad_seconds_get_400) {
  nh_test_server *ts = start(1);
  int port = nh_test_server_port(ts);
  nh_runtime *rt = nh_test_server_runtime(ts);
  const char *bad[] = {"?seconds=abc", "?seconds=0",  "?seconds=-1", "?seconds=61",
                       "?seconds=nan", "?seconds=1x", "?seconds=10" /* the write timeout */,
                       "?seconds=30" /* beyond it */};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int status;
    json_t *j = get_trace(port, bad[i], &status);
    if (status != 400)
      NH_FAIL("%s: status %d, want 400", bad[i], status);
    CHECK(j == NULL);
  }
  CHECK(!nh__trace_busy());
  CHECK_EQ(nh__trace_written(rt), 0); /* none started */
  stop(ts);
}

NH_TEST_MAIN()
