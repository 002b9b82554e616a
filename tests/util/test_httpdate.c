/* HTTP dates: formatting, the three parsed forms, Go's time.Parse quirks,
 * invalid input, leap years, the ends of the range, and the per-thread
 * cache behind the Date header. */
#include "harness.h"

#include <nethttp.h>
#include <time.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

static const char *fmt(int64_t t) {
  static char buf[32];
  size_t n = nh_http_date_format(t, buf);
  CHECK_EQ(n, NH_HTTP_DATE_LEN);
  CHECK_EQ(strlen(buf), NH_HTTP_DATE_LEN);
  return buf;
}

static int64_t parse_ok(const char *s) {
  int64_t t = 12345;
  int r = nh_http_date_parse(s, &t);
  if (r != NH_OK)
    NH_FAIL("nh_http_date_parse(\"%s\") = %s", s, nh_err_name(r));
  return t;
}

static void parse_bad(const char *s) {
  int64_t t = 12345;
  int r = nh_http_date_parse(s, &t);
  if (r != NH_EINVAL)
    NH_FAIL("nh_http_date_parse(\"%s\") = %d (t=%lld), want NH_EINVAL", s, r, (long long)t);
  CHECK_EQ(t, 12345); /* untouched on failure */
}

NH_TEST(format_known_dates) {
  CHECK_STR(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK_STR(fmt(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK_STR(fmt(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK_STR(fmt(2147483647), "Tue, 19 Jan 2038 03:14:07 GMT");
  CHECK_STR(fmt(2147483648LL), "Tue, 19 Jan 2038 03:14:08 GMT");
  CHECK_STR(fmt(4102444800LL), "Fri, 01 Jan 2100 00:00:00 GMT");
  CHECK_STR(fmt(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK_STR(fmt(1709164800), "Thu, 29 Feb 2024 00:00:00 GMT");
  CHECK_STR(fmt(-2208988800LL), "Mon, 01 Jan 1900 00:00:00 GMT");
  CHECK_STR(fmt(253402300799LL), "Fri, 31 Dec 9999 23:59:59 GMT");
  CHECK_STR(fmt(-62167219200LL), "Sat, 01 Jan 0000 00:00:00 GMT");
}

NH_TEST(format_clamps_to_four_digit_years) {
  CHECK_STR(fmt(253402300800LL), "Fri, 31 Dec 9999 23:59:59 GMT");
  CHECK_STR(fmt(INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
  CHECK_STR(fmt(-62167219201LL), "Sat, 01 Jan 0000 00:00:00 GMT");
  CHECK_STR(fmt(INT64_MIN), "Sat, 01 Jan 0000 00:00:00 GMT");
}

/* Cross-check against the C library for a sweep of times it handles. */
NH_TEST(format_matches_gmtime) {
  char want[64];
  for (int64_t t = -2208988800LL; t < 7258118400LL; t += 7919LL * 3607) {
    time_t tt = (time_t)t;
    struct tm tm;
    CHECK(gmtime_r(&tt, &tm));
    strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm); /* "C" locale */
    if (strcmp(fmt(t), want) != 0)
      NH_FAIL("t=%lld: got \"%s\", want \"%s\"", (long long)t, fmt(t), want);
  }
}

NH_TEST(parse_three_forms) {
  CHECK_EQ(parse_ok("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  CHECK_EQ(parse_ok("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  CHECK_EQ(parse_ok("Sun Nov  6 08:49:37 1994"), 784111777);
  CHECK_EQ(parse_ok("Wed Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
  CHECK_EQ(parse_ok("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  CHECK_EQ(parse_ok("Thursday, 01-Jan-70 00:00:00 UTC"), 0);
  CHECK_EQ(parse_ok("Thu Jan  1 00:00:00 1970"), 0);
}

NH_TEST(parse_rfc850_two_digit_years) {
  /* Go's pivot: 69-99 are 19xx, 00-68 are 20xx. */
  CHECK_EQ(parse_ok("Wednesday, 01-Jan-69 00:00:00 GMT"), -31536000);
  CHECK_EQ(parse_ok("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
  CHECK_EQ(parse_ok("Sunday, 01-Jan-68 00:00:00 GMT"), 3092601600LL);
  CHECK_EQ(parse_ok("Friday, 31-Dec-99 23:59:59 GMT"), 946684799);
}

NH_TEST(parse_go_leniencies) {
  /* Names in any case; the weekday is not checked against the date. */
  CHECK_EQ(parse_ok("sun, 06 NOV 1994 08:49:37 GMT"), 784111777);
  CHECK_EQ(parse_ok("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777);
  CHECK_EQ(parse_ok("SUNDAY, 06-nov-94 08:49:37 GMT"), 784111777);
  /* A space in the layout matches a run of spaces. */
  CHECK_EQ(parse_ok("Sun,   06 Nov  1994 08:49:37   GMT"), 784111777);
  CHECK_EQ(parse_ok("Sun Nov 6 08:49:37 1994"), 784111777);
  CHECK_EQ(parse_ok("Sun Nov    6 08:49:37 1994"), 784111777);
  /* One-digit hour; a fraction of a second is read and dropped. */
  CHECK_EQ(parse_ok("Sun, 06 Nov 1994 8:49:37 GMT"), 784111777);
  CHECK_EQ(parse_ok("Sun, 06 Nov 1994 08:49:37.999 GMT"), 784111777);
  CHECK_EQ(parse_ok("Sun Nov  6 08:49:37,5 1994"), 784111777);
  /* Go reads an RFC 850 year with atoi, so "-1" is a year: 1999. */
  CHECK_EQ(parse_ok("Friday, 01-Jan--1 00:00:00 GMT"), 915148800);
}

NH_TEST(parse_leap_years) {
  CHECK_EQ(parse_ok("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
  CHECK_EQ(parse_ok("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800);
  CHECK_EQ(parse_ok("Tue, 29 Feb 2400 00:00:00 GMT"), 13574563200LL);
  parse_bad("Thu, 29 Feb 1900 00:00:00 GMT");
  parse_bad("Mon, 29 Feb 2100 00:00:00 GMT");
  parse_bad("Wed, 29 Feb 2023 00:00:00 GMT");
  parse_bad("Fri Feb 29 00:00:00 2023");
  CHECK_EQ(parse_ok("Thu Feb 29 00:00:00 2024"), 1709164800);
}

NH_TEST(parse_range_ends) {
  CHECK_EQ(parse_ok("Sat, 01 Jan 0000 00:00:00 GMT"), -62167219200LL);
  CHECK_EQ(parse_ok("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL);
  CHECK_EQ(parse_ok("Tue, 19 Jan 2038 03:14:08 GMT"), 2147483648LL);
  CHECK_EQ(parse_ok("Sun, 07 Feb 2106 06:28:16 GMT"), 4294967296LL);
}

NH_TEST(parse_invalid) {
  const char *bad[] = {
      "",
      "GMT",
      "Sun, 06 Nov 1994 08:49:37",       /* no zone */
      "Sun, 06 Nov 1994 08:49:37 gmt",   /* the zone is a literal */
      "Sun, 06 Nov 1994 08:49:37 UTC",   /* IMF-fixdate says GMT */
      "Sun, 06 Nov 1994 08:49:37 GMT ",  /* extra text */
      "Sun, 06 Nov 1994 08:49:37 GMTx",
      " Sun, 06 Nov 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",    /* the day needs two digits */
      "Sun, 06 Nov 94 08:49:37 GMT",     /* the year needs four */
      "Sun, 06 Nov 19940 08:49:37 GMT",
      "Sun,06 Nov 1994 08:49:37 GMT",    /* a space needs at least one */
      "Sun 06 Nov 1994 08:49:37 GMT",
      "Foo, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nev 1994 08:49:37 GMT",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",
      "Sun, 32 Dec 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 08:60:00 GMT",
      "Sun, 06 Nov 1994 08:49:60 GMT",   /* no leap seconds, as in Go */
      "Sun, 06 Nov 1994 08:4:37 GMT",
      "Sun, 06 Nov 1994 08:49:3 GMT",
      "Sun, 06 Nov 1994 08:49:37. GMT",  /* a fraction needs a digit */
      "Sun, 06 Nov 1994 123:49:37 GMT",
      "Sun, 06 Nov 1994 08-49-37 GMT",
      "Sunday, 06-Nov-94 08:49:37 PST",  /* only GMT and UTC */
      "Sunday, 06-Nov-94 08:49:37 GMT+1",
      "Sunday, 06-Nov-94 08:49:37",
      "Sun, 06-Nov-94 08:49:37 GMT",     /* RFC 850 wants the long weekday */
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sunday, 06 Nov 94 08:49:37 GMT",
      "Sunday, 06-Nov-9x 08:49:37 GMT",
      "Sun Nov  6 08:49:37 94",
      "Sun Nov  6 08:49:37 1994 GMT",
      "Sun Nov 006 08:49:37 1994",
      "Sun Nov x6 08:49:37 1994",
      "1994-11-06T08:49:37Z",
      "784111777",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    parse_bad(bad[i]);
  int64_t t;
  CHECK_EQ(nh_http_date_parse(NULL, &t), NH_EINVAL);
}

NH_TEST(round_trip) {
  /* Every formatted time parses back to itself, across the whole range. */
  for (int64_t t = -62167219200LL; t <= 253402300799LL; t += 104729LL * 997) {
    int64_t back = 0;
    const char *s = fmt(t);
    CHECK_EQ(nh_http_date_parse(s, &back), NH_OK);
    if (back != t)
      NH_FAIL("\"%s\": parsed %lld, want %lld", s, (long long)back, (long long)t);
  }
  /* And each day boundary in a leap-year stretch. */
  for (int64_t t = 946684800 - 86400; t < 1104537600; t += 86400) {
    for (int64_t d = -1; d <= 0; d++) {
      int64_t back = 0;
      CHECK_EQ(nh_http_date_parse(fmt(t + d), &back), NH_OK);
      CHECK_EQ(back, t + d);
    }
  }
}

NH_TEST(now_is_cached_and_current) {
  char a[30], b[30];
  time_t before = time(NULL);
  nh_http_date_now(a);
  nh_http_date_now(b);
  time_t after = time(NULL);
  CHECK_EQ(strlen(a), NH_HTTP_DATE_LEN);
  int64_t ta, tb;
  CHECK_EQ(nh_http_date_parse(a, &ta), NH_OK);
  CHECK_EQ(nh_http_date_parse(b, &tb), NH_OK);
  /* The coarse clock may trail time() by a tick. */
  CHECK(ta >= (int64_t)before - 1 && ta <= (int64_t)after);
  CHECK(tb >= ta && tb <= (int64_t)after);
}

NH_TEST_MAIN()
