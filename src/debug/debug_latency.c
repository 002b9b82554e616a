/* The request-duration histogram the live page reads (see
 * nh__debug_latency_get in debug_internal.h). The servers keep no such
 * histogram, so there is nothing to report: the page says so on its
 * latency chart rather than draw figures measured some other way. This is
 * the one place to read the servers' histogram from when they keep one. */
#include <string.h>

#include "debug_internal.h"

void nh__debug_latency_get(const nh__debug *d, nh__debug_latency *out) {
  (void)d;
  memset(out, 0, sizeof *out);
}
