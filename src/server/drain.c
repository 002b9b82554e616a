/* Draining: the time between the start of a shutdown and the closing of
 * the listeners (the preStop pattern).
 *
 * A load balancer or a Kubernetes endpoint list learns that an instance is
 * going away only by probing it: if the listeners closed at once, clients
 * already routed here would find the port closed until the next probe. So
 * nh_server_shutdown first marks the server draining (its readiness
 * handler answers 503 from then on), serves as usual for drain_delay, and
 * only then stops accepting. The wait is on a channel that nh_server_close
 * (or a shutdown that skips the delay) closes, so it ends at once then. */
#include "internal.h"

int nh_server_draining(const nh_server *srv) {
  return atomic_load(&((nh_server *)srv)->draining);
}

void nh__drain_cut(nh_server *srv) {
  if (!atomic_exchange(&srv->drain_cut_closed, 1))
    nh_chan_close(srv->drain_cut);
}

void nh__drain_begin(nh_server *srv, nh_time deadline, int skip_delay) {
  nh_dur delay = srv->cfg.drain_delay > 0 ? srv->cfg.drain_delay : 0;
  pthread_mutex_lock(&srv->mu);
  int first = !atomic_load(&srv->draining);
  if (first) {
    atomic_store(&srv->draining, 1);
    /* Never started: nothing is served, nothing to wait for. */
    atomic_store(&srv->drain_until, srv->started ? nh_now() + delay : 0);
  }
  nh_time until = atomic_load(&srv->drain_until);
  pthread_mutex_unlock(&srv->mu);
  if (skip_delay) {
    nh__drain_cut(srv); /* a wait in another call ends too: it goes on */
    return;
  }
  int cut = until > deadline;
  if (cut)
    until = deadline; /* the deadline bounds the whole shutdown */
  if (until <= nh_now())
    return;
  if (first && cut)
    NH_LOG(srv->log, NH_LOG_INFO, "draining", NH_LDUR("delay", delay),
           NH_LDUR("until_deadline", until - nh_now()));
  else if (first)
    NH_LOG(srv->log, NH_LOG_INFO, "draining", NH_LDUR("delay", delay));
  void *v;
  /* Only a close ends the channel's wait before its deadline: nothing is
   * ever sent on it. A fiber's cancelled context ends it too. */
  while (nh_chan_recv(srv->drain_cut, &v, until) == NH_OK)
    ;
}

int nh_server_shutdown(nh_server *srv, nh_time deadline) {
  return nh__server_shutdown(srv, deadline, 0);
}
