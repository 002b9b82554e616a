/* /debug/pprof/mutex and /debug/pprof/block: where fibers and threads
 * waited on nethttp's mutexes, semaphores, channels and wait groups, and
 * for how long, in pprof format (Go's mutex and block profiles). Empty
 * until a rate is set: nh_set_mutex_profile_fraction,
 * nh_set_block_profile_rate. */
#include <time.h>

#include "debug_internal.h"
#include "pprof_internal.h"
#include "runtime/profile.h"

typedef struct scaled {
  nh__pprof *p;
  int64_t scale;
} scaled;

static void add_entry(void *arg, void *const *frames, int n, int64_t count, int64_t delay) {
  scaled *s = arg;
  int64_t v[2] = {count * s->scale, delay * s->scale};
  nh__pprof_add(s->p, frames, n, 0, v);
}

static void serve(nh_response_writer *w, enum nh__wait_table which, const char *name) {
  static const nh__pprof_type types[2] = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  nh__pprof *p = nh__pprof_new(types, 2, (nh__pprof_type){"contentions", "count"}, 1);
  if (!p) {
    nh_error(w, "out of memory", 500);
    return;
  }
  /* The table is copied into the builder under its lock; names are looked
   * up after, at encode time. */
  scaled s = {p, 1};
  int64_t rate = nh__wait_prof_each(which, NULL, NULL);
  /* Go scales the mutex profile's samples back up by the fraction; the
   * block profile's are left as sampled. */
  if (which == NH__WAITS_MUTEX && rate > 1)
    s.scale = rate;
  nh__wait_prof_each(which, add_entry, &s);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  nh__pprof_set_time(p, (int64_t)now.tv_sec * NH_SEC + now.tv_nsec, 0);
  nh__dynbuf out;
  nh__dynbuf_init(&out, NH__DYNBUF_NOCAP);
  int e = nh__pprof_encode_offloaded(p, &out);
  nh__pprof_free(p);
  if (e) {
    nh__dynbuf_free(&out);
    nh_error(w, "out of memory", 500);
    return;
  }
  char disp[64];
  snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
  nh_header_set(nh_resp_header(w), "Content-Type", "application/octet-stream");
  nh_header_set(nh_resp_header(w), "Content-Disposition", disp);
  nh_resp_write(w, nh__dynbuf_ptr(&out), out.len);
  nh__dynbuf_free(&out);
}

void nh__debug_pprof_mutex(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)d, (void)r;
  serve(w, NH__WAITS_MUTEX, "mutex");
}

void nh__debug_pprof_block(nh__debug *d, nh_response_writer *w, nh_request *r) {
  (void)d, (void)r;
  serve(w, NH__WAITS_BLOCK, "block");
}
