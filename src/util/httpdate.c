/* HTTP dates: civil-date arithmetic (Howard Hinnant's days_from_civil and
 * civil_from_days, exact for the proleptic Gregorian calendar) instead of
 * timegm/gmtime, and a small layout interpreter that follows the rules of
 * Go's time.Parse for the three layouts http.ParseTime tries. The Date
 * header is formatted once per second per thread. */
#include "nethttp/httpdate.h"
#include "nethttp/errors.h"

#include <string.h>
#include <time.h>

static const char wday_names[7][10] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
static const char mon_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a civil date (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

static unsigned days_in(unsigned m, int64_t y) {
  static const unsigned char n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define MIN_UNIX (-62167219200LL)
#define MAX_UNIX (253402300799LL)

static char *put2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

size_t nh_http_date_format(int64_t t, char out[30]) {
  if (t < MIN_UNIX)
    t = MIN_UNIX;
  if (t > MAX_UNIX)
    t = MAX_UNIX;
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int wd = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
  char *p = out;
  memcpy(p, wday_names[wd], 3);
  p += 3;
  *p++ = ',';
  *p++ = ' ';
  p = put2(p, d);
  *p++ = ' ';
  memcpy(p, mon_names[m - 1], 3);
  p += 3;
  *p++ = ' ';
  p = put2(p, (unsigned)(y / 100));
  p = put2(p, (unsigned)(y % 100));
  *p++ = ' ';
  p = put2(p, (unsigned)(secs / 3600));
  *p++ = ':';
  p = put2(p, (unsigned)(secs / 60 % 60));
  *p++ = ':';
  p = put2(p, (unsigned)(secs % 60));
  memcpy(p, " GMT", 5);
  return NH_HTTP_DATE_LEN;
}

/* ---- parsing ----
 * Layout codes: %a short weekday, %A long weekday, %d two-digit day,
 * %e day with an optional leading space and one or two digits, %b short
 * month, %Y four-digit year, %y two-digit year, %H hour of one or two
 * digits, %M and %S two-digit minute and second, %Z a zone (GMT or UTC).
 * Any other byte is a literal, and a space matches one or more spaces. */
static const char *const layouts[] = {
    "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate, Go's http.TimeFormat */
    "%A, %d-%b-%y %H:%M:%S %Z",  /* RFC 850, Go's time.RFC850 */
    "%a %b %e %H:%M:%S %Y",      /* ANSI C asctime(), Go's time.ANSIC */
};

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Go's lookup: the first name that prefixes s, ASCII case-insensitively. */
static int lookup(const char **sp, const char *names, size_t stride, size_t count, size_t len) {
  const char *s = *sp;
  for (size_t i = 0; i < count; i++) {
    const char *name = names + i * stride;
    size_t n = len ? len : strlen(name);
    size_t j = 0;
    while (j < n && s[j] && lower((unsigned char)s[j]) == lower((unsigned char)name[j]))
      j++;
    if (j == n) {
      *sp = s + n;
      return (int)i;
    }
  }
  return -1;
}

/* Go's getnum: one or two digits; fixed requires two. */
static int getnum(const char **sp, int fixed) {
  const char *s = *sp;
  if (!is_digit(s[0]))
    return -1;
  if (!is_digit(s[1])) {
    if (fixed)
      return -1;
    *sp = s + 1;
    return s[0] - '0';
  }
  *sp = s + 2;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

static int parse_layout(const char *lay, const char *s, int64_t *out) {
  int64_t year = 0;
  int mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  while (*lay) {
    if (*lay == ' ') { /* Go's skip: one or more spaces, or the end */
      if (*s && *s != ' ')
        return NH_EINVAL;
      while (*lay == ' ')
        lay++;
      while (*s == ' ')
        s++;
      continue;
    }
    if (*lay != '%') {
      if (*s != *lay)
        return NH_EINVAL;
      s++;
      lay++;
      continue;
    }
    char code = lay[1];
    lay += 2;
    switch (code) {
    case 'a':
      if (lookup(&s, &wday_names[0][0], sizeof wday_names[0], 7, 3) < 0)
        return NH_EINVAL;
      break;
    case 'A':
      if (lookup(&s, &wday_names[0][0], sizeof wday_names[0], 7, 0) < 0)
        return NH_EINVAL;
      break;
    case 'b':
      mon = lookup(&s, &mon_names[0][0], sizeof mon_names[0], 12, 3) + 1;
      if (mon == 0)
        return NH_EINVAL;
      break;
    case 'e':
      if (*s == ' ')
        s++;
      /* fall through */
    case 'd':
      day = getnum(&s, code == 'd');
      if (day < 0)
        return NH_EINVAL;
      break;
    case 'Y':
      for (int i = 0; i < 4; i++)
        if (!is_digit(s[i]))
          return NH_EINVAL;
      year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
      s += 4;
      break;
    case 'y': {
      /* Go's atoi on exactly two bytes, so a sign is allowed: "-1" is -1. */
      int neg = 0;
      const char *p = s;
      if (!s[0] || !s[1])
        return NH_EINVAL;
      if (*p == '-' || *p == '+')
        neg = *p++ == '-';
      int v = 0;
      for (; p < s + 2; p++) {
        if (!is_digit(*p))
          return NH_EINVAL;
        v = v * 10 + (*p - '0');
      }
      v = neg ? -v : v;
      year = v >= 69 ? 1900 + v : 2000 + v;
      s += 2;
      break;
    }
    case 'H':
      hour = getnum(&s, 0);
      if (hour < 0 || hour >= 24)
        return NH_EINVAL;
      break;
    case 'M':
      min = getnum(&s, 1);
      if (min < 0 || min >= 60)
        return NH_EINVAL;
      break;
    case 'S':
      sec = getnum(&s, 1);
      if (sec < 0 || sec >= 60)
        return NH_EINVAL;
      /* Go accepts a fraction the layout does not ask for. */
      if ((s[0] == '.' || s[0] == ',') && is_digit(s[1])) {
        s += 2;
        while (is_digit(*s))
          s++;
      }
      break;
    case 'Z':
      if (strncmp(s, "GMT", 3) != 0 && strncmp(s, "UTC", 3) != 0)
        return NH_EINVAL;
      s += 3;
      break;
    default:
      return NH_EINVAL;
    }
  }
  if (*s) /* extra text */
    return NH_EINVAL;
  if (day < 1 || (unsigned)day > days_in((unsigned)mon, year))
    return NH_EINVAL;
  *out = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec;
  return NH_OK;
}

int nh_http_date_parse(const char *s, int64_t *unix_seconds) {
  if (!s || !unix_seconds)
    return NH_EINVAL;
  for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
    int64_t t;
    if (parse_layout(layouts[i], s, &t) == NH_OK) {
      *unix_seconds = t;
      return NH_OK;
    }
  }
  return NH_EINVAL;
}

static int64_t now_seconds(void) {
#ifdef CLOCK_REALTIME_COARSE
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0)
    return (int64_t)ts.tv_sec;
#endif
  return (int64_t)time(NULL);
}

void nh_http_date_now(char out[30]) {
  static _Thread_local int64_t cached_sec = INT64_MIN;
  static _Thread_local char cached[NH_HTTP_DATE_LEN + 1];
  int64_t now = now_seconds();
  if (now != cached_sec) {
    nh_http_date_format(now, cached);
    cached_sec = now;
  }
  memcpy(out, cached, NH_HTTP_DATE_LEN + 1);
}
