/* /debug/pprof/profile?seconds=N: a CPU profile of the whole process for N
 * seconds (30 by default), in pprof format (Go's net/http/pprof Profile).
 * The serving fiber parks meanwhile; its loop keeps serving. */
#include <stdlib.h>
#include <time.h>

#include "debug_internal.h"
#include "pprof_internal.h"
#include "runtime/profile.h"
#include "server/exchange.h"

enum { HZ = 100 };

static void pprof_error(nh_response_writer *w, int status, const char *msg) {
  nh_header_set(nh_resp_header(w), "X-Go-Pprof", "1");
  nh_header_del(nh_resp_header(w), "Content-Disposition");
  nh_error(w, msg, status);
}

/* seconds, or -1 when it is not a positive whole number. */
static long parse_seconds(const char *s) {
  if (!s)
    return 30;
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v <= 0 || v > 24 * 3600)
    return -1;
  return v;
}

static void add_sample(void *arg, void *const *frames, int n) {
  static const int64_t one_period[2] = {1, NH_SEC / HZ};
  nh__pprof_add(arg, frames, n, 1, one_period);
}

void nh__debug_pprof_profile(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)d;
  long sec = parse_seconds(nh_request_query_value(r, "seconds"));
  if (sec < 0) {
    pprof_error(w, 400, "seconds must be a positive whole number");
    return;
  }
  /* As Go: a profile must end before the server gives up writing it. */
  nh_dur wt = r->s->env ? r->s->env->write_timeout : 0;
  if (wt > 0 && (nh_dur)sec * NH_SEC >= wt) {
    pprof_error(w, 400, "profile duration exceeds server's WriteTimeout");
    return;
  }
  struct timespec start;
  clock_gettime(CLOCK_REALTIME, &start);
  nh_time t0 = nh_now();
  int e = nh__cpuprof_start(HZ, (nh_dur)sec * NH_SEC);
  if (e == NH_EBUSY) {
    pprof_error(w, 409, "Could not enable CPU profiling: cpu profiling already in use");
    return;
  }
  if (e) {
    pprof_error(w, 500, "Could not enable CPU profiling");
    return;
  }
  /* Until the time is up or the client goes away. */
  nh_ctx *wait = NULL;
  if (nh_ctx_with_timeout(nh_request_ctx(r), (nh_dur)sec * NH_SEC, &wait) == 0) {
    nh_ctx_wait(wait);
    nh_ctx_free(wait);
  } else {
    nh_sleep((nh_dur)sec * NH_SEC);
  }
  static const nh__pprof_type types[2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  nh__pprof *p = nh__pprof_new(types, 2, (nh__pprof_type){"cpu", "nanoseconds"}, NH_SEC / HZ);
  nh__cpuprof_stop(p ? add_sample : NULL, p, NULL);
  if (!p) {
    pprof_error(w, 500, "out of memory");
    return;
  }
  nh__pprof_set_time(p, (int64_t)start.tv_sec * NH_SEC + start.tv_nsec, nh_now() - t0);
  nh__dynbuf out;
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  e = nh__pprof_encode_offloaded(p, &out);
  nh__pprof_free(p);
  if (e) {
    nh__dynbuf_free(&out);
    pprof_error(w, 500, "out of memory");
    return;
  }
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Content-Type", "application/octet-stream");
  nh_header_set(h, "Content-Disposition", "attachment; filename=\"profile\"");
  nh_resp_write(w, nh__dynbuf_ptr(&out), out.len);
  nh__dynbuf_free(&out);
}
