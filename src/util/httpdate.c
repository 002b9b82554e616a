/* HTTP dates (provisional). */
#include "nethttp/httpdate.h"
#include <string.h>
#include <time.h>
size_t nh_http_date_format(int64_t s, char out[30]) {
  time_t t = (time_t)s; struct tm tm; gmtime_r(&t, &tm);
  return strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
void nh_http_date_now(char out[30]) {
  static __thread time_t last; static __thread char cached[30];
  time_t now = time(NULL);
  if (now != last) { nh_http_date_format(now, cached); last = now; }
  memcpy(out, cached, 30);
}
