/* The watchdog names the fiber that holds a loop. */
#include "harness.h"
#include "support.h"

#include <nethttp.h>
#include <unistd.h>

void hog_handler(void *arg); /* not static: the report names it */
void hog_handler(void *arg) {
  (void)arg;
  nh_fiber_set_label("GET /slow-report");
  usleep(400 * 1000); /* blocks the loop thread: what nh_offload is for */
}

static void polite(void *arg) {
  for (int i = 0; i < 50; i++)
    nh_sleep(2 * NH_MSEC);
}

static void stall_main(void *arg) {
  (void)arg;
  nh_go(polite, NULL);
  nh_sleep(10 * NH_MSEC);
  nh_go(hog_handler, NULL);
  nh_sleep(500 * NH_MSEC);
}

NH_TEST(watchdog_reports_stalled_loop_with_fiber) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  cfg.logger = &cap->base;
  cfg.watchdog_threshold = 100 * NH_MSEC;
  nh_runtime *rt = nh_runtime_new(&cfg);
  nh_wg *done = nh_wg_new();
  nh_wg_add(done, 1);
  run_on(rt, stall_main, NULL, done);
  nh_wg_wait(done, NH_NO_DEADLINE);
  nh_runtime_stats st;
  nh_runtime_stats_get(rt, &st);
  nh_runtime_free(rt);
  nh_wg_free(done);
  char *text = capture_log_text(cap);
  fprintf(stderr, "%s", text);
  /* Once per stall, not once per tick. (A machine busy with other tests
   * can starve the loop thread and cause other reports: count ours.) */
  CHECK(st.stalls >= 1);
  int ours = 0;
  for (const char *p = text; (p = strstr(p, "entry=hog_handler")); p++)
    ours++;
  CHECK_EQ(ours, 1);
  CHECK_CONTAINS(text, "loop stalled: a fiber ran without parking");
  CHECK_CONTAINS(text, "label=\"GET /slow-report\"");
  CHECK_CONTAINS(text, "entry=hog_handler");
  CHECK_CONTAINS(text, "loop=0");
  free(text);
  capture_log_free(cap);
}

/* Well-behaved fibers produce no report: each runs 1 ms and yields, for
 * 4 s in all, four times the threshold, so a loop that did not count a
 * yield as a turn would be reported. The threshold (1 s) is far above a
 * busy machine's scheduling delays, which a 100 ms one is not. */
static void busy_but_polite(void *arg) {
  for (int i = 0; i < 1000; i++) {
    usleep(1000);
    nh_yield();
  }
}

static void polite_main(void *arg) {
  for (int i = 0; i < 4; i++)
    nh_go(busy_but_polite, NULL);
}

NH_TEST(watchdog_quiet_when_fibers_park) {
  capture_log *cap = capture_log_new(NH_LOG_DEBUG);
  nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
  cfg.loops = 1;
  cfg.logger = &cap->base;
  cfg.watchdog_threshold = NH_SEC;
  CHECK_EQ(nh_run(&cfg, polite_main, NULL), NH_OK);
  char *text = capture_log_text(cap);
  CHECK(!strstr(text, "loop stalled"));
  free(text);
  capture_log_free(cap);
}

NH_TEST_MAIN()
