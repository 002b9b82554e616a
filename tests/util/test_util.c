/* Durations, error names, log formats. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

NH_TEST(duration_parse) {
  nh_dur d;
  CHECK_EQ(nh_dur_parse("250ms", &d), NH_OK);
  CHECK_EQ(d, 250 * NH_MSEC);
  CHECK_EQ(nh_dur_parse("5s", &d), NH_OK);
  CHECK_EQ(d, 5 * NH_SEC);
  CHECK_EQ(nh_dur_parse("1h30m", &d), NH_OK);
  CHECK_EQ(d, 90 * NH_MINUTE);
  CHECK_EQ(nh_dur_parse("1.5s", &d), NH_OK);
  CHECK_EQ(d, 1500 * NH_MSEC);
  CHECK_EQ(nh_dur_parse("0", &d), NH_OK);
  CHECK_EQ(d, 0);
  CHECK_EQ(nh_dur_parse("10us", &d), NH_OK);
  CHECK_EQ(d, 10 * NH_USEC);
  CHECK_EQ(nh_dur_parse("10\xc2\xb5s", &d), NH_OK);
  CHECK_EQ(d, 10 * NH_USEC);
  CHECK_EQ(nh_dur_parse("-2m", &d), NH_OK);
  CHECK_EQ(d, -2 * NH_MINUTE);
  CHECK_EQ(nh_dur_parse("5", &d), NH_EINVAL); /* a unit is required */
  CHECK_EQ(nh_dur_parse("", &d), NH_EINVAL);
  CHECK_EQ(nh_dur_parse("ms", &d), NH_EINVAL);
  CHECK_EQ(nh_dur_parse("5x", &d), NH_EINVAL);
  CHECK_EQ(nh_dur_parse("99999999999h", &d), NH_ERANGE);
}

NH_TEST(duration_format) {
  char b[32];
  CHECK_STR(nh_dur_format(0, b, sizeof b), "0s");
  CHECK_STR(nh_dur_format(250 * NH_MSEC, b, sizeof b), "250ms");
  CHECK_STR(nh_dur_format(1500 * NH_MSEC, b, sizeof b), "1.5s");
  CHECK_STR(nh_dur_format(5 * NH_MINUTE, b, sizeof b), "5m0s");
  CHECK_STR(nh_dur_format(NH_HOUR + 2 * NH_MINUTE + 3 * NH_SEC, b, sizeof b), "1h2m3s");
  CHECK_STR(nh_dur_format(1500, b, sizeof b), "1.5\xc2\xb5s");
  CHECK_STR(nh_dur_format(999, b, sizeof b), "999ns");
  CHECK_STR(nh_dur_format(-NH_SEC, b, sizeof b), "-1s");
}

NH_TEST(deadline_after) {
  CHECK_EQ(nh_deadline_after(NH_NO_TIMEOUT), NH_NO_DEADLINE);
  CHECK_EQ(nh_deadline_after(INT64_MAX), NH_NO_DEADLINE);
  nh_time t = nh_now();
  nh_time d = nh_deadline_after(NH_SEC);
  CHECK(d >= t + NH_SEC && d < t + 2 * NH_SEC);
}

NH_TEST(error_names) {
  CHECK_STR(nh_err_name(NH_ETIMEDOUT), "NH_ETIMEDOUT");
  CHECK_STR(nh_strerror(NH_ETIMEDOUT), "timed out");
  CHECK_STR(nh_err_name(NH_ECLOSED), "NH_ECLOSED");
  CHECK_STR(nh_strerror(NH_OK), "success");
  CHECK_STR(nh_err_name(12345), "NH_E?");
  CHECK(strlen(nh_strerror(-EDOM)) > 0); /* unlisted errno: strerror */
  CHECK_EQ(NH_ECANCELED, -ECANCELED);
}

NH_TEST(log_text_and_json) {
  nh_log_field f[] = {NH_LSTR("path", "/a b"), NH_LINT("status", 404), NH_LDUR("took", 1500 * NH_MSEC),
                      NH_LSTR("q", "say \"hi\"\n"), NH_LLOC("caller", "/src/app.c", 42),
                      NH_LDUR("short", 1234567), NH_LLOC("where", NULL, 0)};
  nh_log_record rec = {NH_LOG_WARN, 0, "bad request", f, 7, "/x/server.c", 12};
  char buf[512];
  nh_log_format_text(&rec, buf, sizeof buf);
  CHECK_STR(buf, "1970-01-01T00:00:00.000Z WARN \"bad request\" path=\"/a b\" status=404 took=1.5s "
                 "q=\"say \\\"hi\\\"\\n\" caller=app.c:42 short=1.234567ms where=? "
                 "source=server.c:12\n");
  /* JSON: a location is one string, a duration a number of milliseconds. */
  nh_log_format_json(&rec, buf, sizeof buf);
  CHECK_STR(buf, "{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"WARN\",\"msg\":\"bad request\","
                 "\"path\":\"/a b\",\"status\":404,\"took_ms\":1500,\"q\":\"say \\\"hi\\\"\\n\","
                 "\"caller\":\"app.c:42\",\"short_ms\":1.234567,\"where\":\"?\","
                 "\"source\":\"server.c:12\"}\n");
  /* Truncation keeps a JSON line well-formed. */
  char small[40];
  size_t n = nh_log_format_json(&rec, small, sizeof small);
  CHECK(n < sizeof small);
  CHECK_STR(small + n - 2, "}\n");
}

NH_TEST(log_levels_filter) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  nh_logger *lg = nh_logger_json_new(mem, NH_LOG_WARN);
  NH_LOG(lg, NH_LOG_INFO, "hidden");
  NH_LOG(lg, NH_LOG_ERROR, "shown", NH_LINT("n", 1));
  CHECK(!nh_log_enabled(lg, NH_LOG_DEBUG));
  CHECK(nh_log_enabled(lg, NH_LOG_ERROR));
  fclose(mem);
  CHECK(!strstr(out, "hidden"));
  CHECK_CONTAINS(out, "\"msg\":\"shown\",\"n\":1");
  CHECK_CONTAINS(out, "\"source\":\"test_util.c:");
  free(out);
  nh_logger_free(lg);
}

NH_TEST_MAIN()
