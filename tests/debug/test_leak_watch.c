/* The leak watch over a real server: a fiber a handler started and left
 * parked on a channel, and a handler blocked past the threshold, are each
 * logged once with their stack and listed as leaked; an idle keep-alive
 * connection and a fiber no handler started are not. The fiber
 * high-watermark logs one summary per excursion and none within its rate
 * limit. */
#include "watch_support.h"

#include "runtime/internal.h"

#include <stdatomic.h>

static nh_chan *leak_ch, *block_ch, *other_ch;

/* Under ThreadSanitizer the library names frames by dladdr only (see
 * src/runtime/symbolize.c): static functions have no name to check, so
 * the records are checked by their other fields there. */
#if defined(__SANITIZE_THREAD__)
#define NAME(s) "" /* matches any record */
#else
#define NAME(s) s
#endif

/* Started by the /leak handler and never told to stop: the guide's
 * goroutine that survives its request. */
static void leaky_child(void *arg) {
  nh_chan_recv(arg, NULL, NH_NO_DEADLINE);
}

/* A fiber no handler started, parked just as long. */
static void other_waiter(void *arg) {
  nh_chan_recv(arg, NULL, NH_NO_DEADLINE);
}

static void app(nh_response_writer *w, nh_request *r) {
  const char *p = nh_request_path(r);
  if (!strcmp(p, "/leak")) {
    CHECK_EQ(nh_go(leaky_child, leak_ch), NH_OK);
    nh_resp_printf(w, "started");
  } else if (!strcmp(p, "/block")) {
    nh_chan_recv(block_ch, NULL, NH_NO_DEADLINE); /* not the request's context */
    nh_resp_printf(w, "released");
  } else {
    nh_resp_printf(w, "ok");
  }
}

NH_TEST(leaked_handler_fibers_are_named_once) {
  kept_log log;
  kept_init(&log);
  leak_ch = nh_chan_new(0);
  block_ch = nh_chan_new(0);
  other_ch = nh_chan_new(0);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  rc.logger = &log.lg;
  rc.long_park_threshold = 200 * NH_MSEC;
  watch_env e;
  watch_start(&e, &rc, app);
  CHECK_EQ(nh_runtime_go(e.rt, -1, other_waiter, other_ch), NH_OK);

  raw_resp r = watch_get(&e, "/leak");
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "started");
  raw_resp_free(&r);
  const char *leak_rec[] = {"a fiber started by a handler is parked long", "origin=\"GET /leak\"",
                            NAME("entry=leaky_child"), "waiting_on=\"chan receive\"", "stack=",
                            NULL};
  CHECK_SOON(kept_count(&log, leak_rec) == 1);
  char line[4096];
  kept_line(&log, "started by a handler", line, sizeof line);
  CHECK_CONTAINS(line, NAME("leaky_child+0x")); /* its own frame, in the stack */

  /* An idle keep-alive connection parks in IO wait for as long. */
  raw_conn *idle = raw_dial(e.port);
  CHECK(idle->fd >= 0);
  CHECK_EQ(raw_sends(idle->fd, "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  CHECK_EQ(raw_read(idle, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);

  /* A handler blocked past the threshold: reported in a later scan than
   * the leaked fiber, so that scan saw the leaked fiber again. */
  raw_conn *blocked = raw_dial(e.port);
  CHECK(blocked->fd >= 0);
  CHECK_EQ(raw_sends(blocked->fd, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  const char *block_rec[] = {"a handler's fiber is parked long", "label=\"GET /block\"",
                             "waiting_on=\"chan receive\"", NAME("app+0x"), NULL};
  CHECK_SOON(kept_count(&log, block_rec) == 1);
  CHECK_EQ(kept_count(&log, leak_rec), 1); /* once per park */
  const char *all_rec[] = {"leak watch:", NULL};
  CHECK_EQ(kept_count(&log, all_rec), 2); /* not other_waiter: no handler started it */
  const char *io_rec[] = {"IO wait", NULL};
  CHECK_EQ(kept_count(&log, io_rec), 0); /* the idle connection */
  nh_runtime_stats st;
  nh_runtime_stats_get(e.rt, &st);
  CHECK_EQ(st.long_parks, 2);

  /* What /debug/fibers?leaked=1 lists: the two, with where each came from. */
  nh__leaked_fiber *items;
  size_t n;
  CHECK_EQ(nh__leak_list(e.rt, -1, &items, &n), NH_OK);
  CHECK_EQ(n, 2);
  int saw_child = 0, saw_handler = 0;
  for (size_t i = 0; i < n; i++) {
    if (items[i].origin_id) {
      saw_child = 1;
#if !defined(__SANITIZE_THREAD__)
      CHECK_STR(items[i].info.entry, "leaky_child");
#endif
      CHECK_STR(items[i].origin, "GET /leak");
      CHECK(items[i].origin_id != 0);
    } else {
      saw_handler = 1;
      CHECK_STR(items[i].info.label, "GET /block");
      CHECK_EQ(items[i].origin_id, 0);
    }
    CHECK_STR(items[i].info.state, "chan receive");
    CHECK(items[i].info.waiting >= 200 * NH_MSEC);
    CHECK(items[i].info.nframes > 1);
  }
  CHECK(saw_child && saw_handler);
  free(items);
  /* With a threshold longer than they have been parked, none. */
  CHECK_EQ(nh__leak_list(e.rt, 3600 * NH_SEC, &items, &n), NH_OK);
  CHECK_EQ(n, 0);
  free(items);

  /* The page lists the same two, and only them. */
  r = watch_get(&e, "/debug/fibers?leaked=1");
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "[chan receive, ");
  CHECK_CONTAINS(r.body, "\"GET /block\":");
  CHECK_CONTAINS(r.body, "started by handler fiber ");
  CHECK_CONTAINS(r.body, " \"GET /leak\"\n");
  CHECK_CONTAINS(r.body, NAME("started as leaky_child\n"));
  CHECK(!strstr(r.body, "IO wait"));
  int fibers = !strncmp(r.body, "fiber ", 6);
  for (const char *p = r.body; (p = strstr(p, "\nfiber ")); p++)
    fibers++;
  CHECK_EQ(fibers, 2);
  raw_resp_free(&r);
  r = watch_get(&e, "/debug/fibers?leaked=1&format=json");
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "\"total\":2,");
  CHECK_CONTAINS(r.body, "\"origin\":{\"fiber\":");
  CHECK_CONTAINS(r.body, "\"label\":\"GET /leak\"}");
  raw_resp_free(&r);

  /* Released, the handler answers; the others end. */
  nh_chan_close(block_ch);
  CHECK_EQ(raw_read(blocked, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  CHECK_STR(r.body, "released");
  raw_resp_free(&r);
  nh_chan_close(leak_ch);
  nh_chan_close(other_ch);
  raw_hang_up(blocked);
  raw_hang_up(idle);
  watch_stop(&e);
  nh_chan_free(leak_ch);
  nh_chan_free(block_ch);
  nh_chan_free(other_ch);
  kept_free(&log);
}

/* ---- the high-watermark ---- */

static nh_chan *hold;

static void sleeper(void *arg) {
  nh_fiber_set_label("sleeper");
  nh_chan_recv(arg, NULL, NH_NO_DEADLINE);
}

static void start_sleepers(nh_runtime *rt, int n) {
  for (int i = 0; i < n; i++)
    CHECK_EQ(nh_runtime_go(rt, -1, sleeper, hold), NH_OK);
}

/* Sleepers parked on hold, from a dump. */
static int parked_sleepers(nh_runtime *rt) {
  nh_fiber_info *items;
  size_t n;
  nh_fiber_dump(rt, &items, &n);
  int k = 0;
  for (size_t i = 0; i < n; i++)
    k += !strcmp(items[i].label, "sleeper") && !strcmp(items[i].state, "chan receive");
  free(items);
  return k;
}

static int64_t live(nh_runtime *rt) {
  nh_runtime_stats st;
  nh_runtime_stats_get(rt, &st);
  return st.fibers_live;
}

NH_TEST(watermark_logs_once_within_its_rate_limit) {
  kept_log log;
  kept_init(&log);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  rc.logger = &log.lg;
  rc.fiber_watermark = 60;
  nh_runtime *rt = nh_runtime_new(&rc);
  CHECK(rt);
  const char *wm_rec[] = {"passed the high-watermark", NULL};

  /* At the mark, every sleeper parked: nothing (not above it). */
  hold = nh_chan_new(0);
  start_sleepers(rt, 60);
  CHECK_SOON(parked_sleepers(rt) == 60);
  CHECK_EQ(kept_count(&log, wm_rec), 0);
  /* One more: one record, naming the largest group and its size. */
  start_sleepers(rt, 1);
  CHECK_SOON(kept_count(&log, wm_rec) == 1);
  char line[8192];
  kept_line(&log, "passed the high-watermark", line, sizeof line);
  CHECK_CONTAINS(line, "watermark=60");
  CHECK_CONTAINS(line, NAME(" x [chan receive] 'sleeper' (sleeper): "));
  CHECK_CONTAINS(line, " x [chan receive] 'sleeper' (");
  CHECK_CONTAINS(line, NAME("sleeper+0x"));
  const char *top = strstr(line, "top1=\"");
  CHECK(top);
  int count = atoi(top + 6);
  CHECK(count == 60 || count == 61); /* the last may not have parked yet */
  start_sleepers(rt, 39);
  /* Above the mark for good: the watchdog keeps seeing it, logs no more. */
  CHECK(atomic_load(&rt->wm_disarmed));

  /* Down below three quarters of the mark: armed again. */
  nh_chan_close(hold);
  CHECK_SOON(live(rt) == 0);
  CHECK_SOON(!atomic_load(&rt->wm_disarmed));

  /* A second excursion within the minute: seen, and let go. (The first
   * channel is freed after the runtime, whose end orders its fibers'
   * last use of it before the free.) */
  nh_chan *first = hold;
  hold = nh_chan_new(0);
  start_sleepers(rt, 100);
  CHECK_SOON(atomic_load(&rt->wm_disarmed));
  CHECK_EQ(kept_count(&log, wm_rec), 1);
  nh_runtime_stats st;
  nh_runtime_stats_get(rt, &st);
  CHECK_EQ(st.watermark_reports, 1);

  nh_chan_close(hold);
  CHECK_SOON(live(rt) == 0);
  nh_runtime_free(rt);
  nh_chan_free(first);
  nh_chan_free(hold);
  kept_free(&log);
}

NH_TEST_MAIN()
