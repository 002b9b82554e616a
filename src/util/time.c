/* The monotonic clock and Go-style duration text. */
#include "nethttp/errors.h"
#include "nethttp/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

nh_time nh_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (nh_time)ts.tv_sec * NH_SEC + ts.tv_nsec;
}

nh_time nh_deadline_after(nh_dur d) {
  if (d < 0)
    return NH_NO_DEADLINE;
  nh_time now = nh_now();
  if (d > NH_NO_DEADLINE - now)
    return NH_NO_DEADLINE;
  return now + d;
}

/* Units longest-suffix first so "ms" is not read as "m" then "s". */
static const struct {
  const char *suffix;
  nh_dur unit;
} units[] = {
    {"ns", NH_NSEC}, {"us", NH_USEC}, {"\xc2\xb5s", NH_USEC}, {"ms", NH_MSEC},
    {"s", NH_SEC},   {"m", NH_MINUTE}, {"h", NH_HOUR},
};

int nh_dur_parse(const char *s, nh_dur *out) {
  if (!s || !*s)
    return NH_EINVAL;
  int neg = 0;
  if (*s == '-' || *s == '+')
    neg = (*s++ == '-');
  if (strcmp(s, "0") == 0) {
    *out = 0;
    return NH_OK;
  }
  double total = 0;
  int parts = 0;
  while (*s) {
    if (!((*s >= '0' && *s <= '9') || *s == '.'))
      return NH_EINVAL;
    double whole = 0, frac = 0, scale = 1;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
      whole = whole * 10 + (*s++ - '0');
      digits++;
    }
    if (*s == '.') {
      s++;
      while (*s >= '0' && *s <= '9') {
        scale /= 10;
        frac += (*s++ - '0') * scale;
        digits++;
      }
    }
    if (!digits)
      return NH_EINVAL;
    nh_dur unit = 0;
    size_t best = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t n = strlen(units[i].suffix);
      if (n > best && strncmp(s, units[i].suffix, n) == 0) {
        best = n;
        unit = units[i].unit;
      }
    }
    if (!best)
      return NH_EINVAL; /* a unit is required, as in Go */
    s += best;
    total += (whole + frac) * (double)unit;
    parts++;
    if (total > 9.2e18)
      return NH_ERANGE;
  }
  if (!parts)
    return NH_EINVAL;
  *out = (nh_dur)(neg ? -total : total);
  return NH_OK;
}

/* Trim trailing zeros of a fractional part in place: "1.500" -> "1.5". */
static void trim_fraction(char *p) {
  char *dot = strchr(p, '.');
  if (!dot)
    return;
  char *end = p + strlen(p) - 1;
  while (end > dot && *end == '0')
    *end-- = 0;
  if (end == dot)
    *end = 0;
}

char *nh_dur_format(nh_dur d, char *buf, size_t cap) {
  if (cap == 0)
    return buf;
  const char *sign = d < 0 ? "-" : "";
  unsigned long long u = d < 0 ? (unsigned long long)(-(d + 1)) + 1 : (unsigned long long)d;
  char num[48];
  if (u == 0) {
    snprintf(buf, cap, "0s");
  } else if (u < (unsigned long long)NH_USEC) {
    snprintf(buf, cap, "%s%lluns", sign, u);
  } else if (u < (unsigned long long)NH_MSEC) {
    snprintf(num, sizeof num, "%llu.%03llu", u / 1000, u % 1000);
    trim_fraction(num);
    snprintf(buf, cap, "%s%s\xc2\xb5s", sign, num);
  } else if (u < (unsigned long long)NH_SEC) {
    snprintf(num, sizeof num, "%llu.%06llu", u / 1000000, u % 1000000);
    trim_fraction(num);
    snprintf(buf, cap, "%s%sms", sign, num);
  } else {
    unsigned long long h = u / (unsigned long long)NH_HOUR;
    unsigned long long m = u / (unsigned long long)NH_MINUTE % 60;
    unsigned long long ns = u % (unsigned long long)NH_MINUTE;
    snprintf(num, sizeof num, "%llu.%09llu", ns / 1000000000ULL, ns % 1000000000ULL);
    trim_fraction(num);
    if (h)
      snprintf(buf, cap, "%s%lluh%llum%ss", sign, h, m, num);
    else if (m)
      snprintf(buf, cap, "%s%llum%ss", sign, m, num);
    else
      snprintf(buf, cap, "%s%ss", sign, num);
  }
  return buf;
}
