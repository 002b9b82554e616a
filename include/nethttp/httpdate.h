/* nethttp/httpdate.h — HTTP dates (Date, Last-Modified, If-Modified-Since).
 *
 * Servers write IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", Go's
 * http.TimeFormat) and read it plus the two obsolete forms Go's
 * http.ParseTime reads. All of it is done by hand on integers: no locale,
 * no time zone, no timegm. */
#ifndef NETHTTP_HTTPDATE_H
#define NETHTTP_HTTPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Length of an IMF-fixdate, without its NUL; buffers need one more byte. */
#define NH_HTTP_DATE_LEN 29

/* nh_http_date_format writes unix_seconds (UTC) as IMF-fixdate into out,
 * NUL-terminated, and returns NH_HTTP_DATE_LEN. The year must have four
 * digits, so times before 0000-01-01 or after 9999-12-31 23:59:59 are
 * clamped to those bounds. Thread-safe. */
NH_API size_t nh_http_date_format(int64_t unix_seconds, char out[30]);

/* nh_http_date_parse reads s, a NUL-terminated string in one of the three
 * forms of RFC 9110 section 5.6.7, as Go's http.ParseTime (time.Parse) does:
 *   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
 *   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT" (years 69-99 are 19xx,
 *                00-68 are 20xx)
 *   ANSI C       "Sun Nov  6 08:49:37 1994"
 * Like Go: day and month names are matched case-insensitively, the weekday
 * is not checked against the date, a space matches a run of spaces, the
 * hour may have one digit and a fraction of a second (".123") is accepted
 * and dropped. Unlike Go, the RFC 850 zone must be GMT or UTC (Go takes any
 * zone name and gives it an offset that depends on the machine's zone).
 * Stores the time in *unix_seconds and returns 0, or returns NH_EINVAL
 * (leaving *unix_seconds alone) for anything else, including impossible
 * dates such as 31 Nov. Thread-safe. */
NH_API int nh_http_date_parse(const char *s, int64_t *unix_seconds);

/* nh_http_date_now writes the current time as IMF-fixdate into out, the
 * value for a response's Date header. Each thread formats once per second
 * and copies its cached text otherwise. Thread-safe. */
NH_API void nh_http_date_now(char out[30]);

#ifdef __cplusplus
}
#endif
#endif
