/* Durations: Go-style parsing and printing, and deadlines from them. */
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

NH_TEST_MAIN()
