/* Log records: the text and JSON formats, truncation, level filtering. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

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
  CHECK_CONTAINS(out, "\"source\":\"test_log.c:");
  free(out);
  nh_logger_free(lg);
}

NH_TEST_MAIN()
