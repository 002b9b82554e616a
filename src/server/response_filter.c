/* A filter between a handler and its response writer (hooks.h): set and
 * ended here; response.c hands the handler's calls to it. */
#include "exchange.h"
#include "hooks.h"

int nh__resp_set_filter(nh_response_writer *w, const nh__resp_filter *f, void *st) {
  if (!nh__resp_alive(w, "nh__resp_set_filter", NULL, 0) || !f)
    return NH_EINVAL;
  if (w->filter)
    return NH_EBUSY;
  if (w->committed || w->hijacked)
    return NH_ENOTSUP;
  w->filter = f;
  w->filter_st = st;
  return NH_OK;
}

int nh__resp_end_filter(nh_response_writer *w) {
  if (!w->filter || w->in_filter)
    return NH_OK;
  w->in_filter = 1;
  int r = w->filter->finish(w->filter_st, w);
  w->in_filter = 0;
  w->filter = NULL;
  return r;
}
