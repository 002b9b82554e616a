/* nethttp/time.h — durations, deadlines and the monotonic clock.
 *
 * A duration is an int64_t count of nanoseconds (nh_dur). A deadline is an
 * absolute point on the monotonic clock in nanoseconds (nh_time).
 * NH_NO_TIMEOUT is the one explicit way to say "no limit" for a duration;
 * NH_NO_DEADLINE is its absolute counterpart. Zero is a real zero. */
#ifndef NETHTTP_TIME_H
#define NETHTTP_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t nh_dur;  /* nanoseconds */
typedef int64_t nh_time; /* monotonic nanoseconds */

#define NH_NSEC ((nh_dur)1)
#define NH_USEC ((nh_dur)1000)
#define NH_MSEC ((nh_dur)1000000)
#define NH_SEC ((nh_dur)1000000000)
#define NH_MINUTE (60 * NH_SEC)
#define NH_HOUR (60 * NH_MINUTE)

/* NH_NO_TIMEOUT disables a timeout on purpose. */
#define NH_NO_TIMEOUT ((nh_dur)-1)
/* NH_NO_DEADLINE is a deadline that never comes. */
#define NH_NO_DEADLINE ((nh_time)INT64_MAX)

/* nh_now returns the monotonic clock in nanoseconds. Thread-safe. */
NH_API nh_time nh_now(void);

/* nh_deadline_after turns a duration into a deadline from now;
 * NH_NO_TIMEOUT (or any negative) gives NH_NO_DEADLINE. */
NH_API nh_time nh_deadline_after(nh_dur d);

/* nh_dur_parse parses a Go-style duration ("250ms", "5s", "1h30m", "1.5s",
 * "0"). Units: ns, us, µs, ms, s, m, h. Returns 0 or NH_EINVAL. */
NH_API int nh_dur_parse(const char *s, nh_dur *out);

/* nh_dur_format writes a Go-style rendering of d ("1.5s", "250ms",
 * "5m0s") into buf and returns buf. */
NH_API char *nh_dur_format(nh_dur d, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
