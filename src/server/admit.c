/* Admission: max_conns is one limit for the whole server.
 *
 * srv->open counts the connections that hold a descriptor, on every loop.
 * An acceptor takes a slot for a new connection with a compare-and-swap
 * below the limit (once per connection, never per request), and a slot is
 * given back when a descriptor closes (conn.c), so the count never exceeds
 * the limit, whichever loops accept at once.
 *
 * At the limit the new connection is served by making room, as nginx
 * reuses its idle keep-alive connections:
 *   1. The server's oldest idle keep-alive connection is closed. Each loop
 *      publishes when its oldest idle one went idle (idle_since); the
 *      acceptor tries the loops oldest first. A connection is touched only
 *      by its own loop's thread, so on another loop the acceptor posts the
 *      eviction there and waits for the answer (that loop runs it between
 *      its fibers, promptly). Meanwhile the connection may have woken up
 *      for its next request: that loop then closes its next idle one, or
 *      answers that it has none, and the next loop is tried.
 *   2. Nothing idle anywhere: the slow clients of each loop (the one stuck
 *      longest reading its head, or whose handler waits longest on it;
 *      nh__sconn_shed_one spares those younger than a quarter second).
 *   3. Nothing to close: the acceptor waits, 1 ms doubling to 50 ms, and
 *      tries again. The new client waits for a slot, as behind Go's
 *      netutil.LimitListener, and the connections after it wait in the
 *      listen queue; no one is refused or reset.
 * Another acceptor may take the slot a closing freed before this one does;
 * then this one makes room again: every round closes a connection, so it
 * ends when the server has nothing left to close, in step 3. */
#include "internal.h"


static int slot_take(nh_server *srv) {
  int64_t n = atomic_load_explicit(&srv->open, memory_order_relaxed);
  while (n < srv->cfg.max_conns)
    if (atomic_compare_exchange_weak_explicit(&srv->open, &n, n + 1, memory_order_acquire,
                                              memory_order_relaxed))
      return 1;
  return 0;
}

enum { EVICT_IDLE, EVICT_SLOW };

typedef struct evict_msg {
  nh__srv_loop *sl;
  int kind;
  int closed; /* the answer */
  nh_wg *wg;  /* the asking acceptor's */
} evict_msg;

static int evict_here(nh__srv_loop *sl, int kind) {
  return kind == EVICT_IDLE ? nh__sconn_evict_idle(sl) : nh__sconn_shed_one(sl, 0);
}

/* On the target loop's thread, outside any fiber. */
static void evict_there(nh_loop *l, void *arg) {
  (void)l;
  evict_msg *m = arg;
  nh_wg *wg = m->wg;
  m->closed = evict_here(m->sl, m->kind);
  nh_wg_done(wg); /* m, on the asker's stack, is gone from here on */
}

/* Close a connection of loop target from loop self; 1 if one was closed. */
static int evict_on(nh__srv_loop *self, nh__srv_loop *target, int kind, nh_wg *wg) {
  if (target == self)
    return evict_here(self, kind);
  evict_msg m = {target, kind, 0, wg};
  nh_wg_add(wg, 1);
  if (nh__loop_post(target->loop, evict_there, &m) != NH_OK) {
    nh_wg_done(wg);
    return 0;
  }
  /* The message lives on this stack: wait for the answer whatever
   * happens, so no cancellation may end the wait early. */
  nh_ctx *ctx = nh_fiber_ctx();
  nh_fiber_set_ctx(NULL);
  nh_wg_wait(wg, NH_NO_DEADLINE);
  nh_fiber_set_ctx(ctx);
  return m.closed;
}

int nh__sconn_make_room(nh__srv_loop *sl, nh_wg *wg) {
  nh_server *srv = sl->srv;
  int n = srv->nloops;
  /* Step 1, the loops with an idle connection, oldest first. */
  int64_t since[n];
  for (int i = 0; i < n; i++)
    since[i] = atomic_load_explicit(&srv->loops[i].idle_since, memory_order_relaxed);
  for (;;) {
    int best = -1;
    for (int i = 0; i < n; i++)
      if (since[i] && (best < 0 || since[i] < since[best]))
        best = i;
    if (best < 0)
      break;
    since[best] = 0; /* each loop once a round */
    if (evict_on(sl, &srv->loops[best], EVICT_IDLE, wg))
      return 1;
  }
  /* Step 2: this loop's slow clients, then the others'. */
  for (int k = 0; k < n; k++)
    if (evict_on(sl, &srv->loops[(sl->index + k) % n], EVICT_SLOW, wg))
      return 1;
  return 0;
}

int nh__sconn_admit(nh__srv_loop *sl, nh_wg *wg) {
  nh_server *srv = sl->srv;
  nh_dur pause = NH_MSEC;
  while (!slot_take(srv)) {
    if (atomic_load(&srv->shutting_down) || atomic_load(&srv->closed))
      return 0;
    if (nh__sconn_make_room(sl, wg)) {
      pause = NH_MSEC;
      continue;
    }
    /* Step 3. The sleep also lets this loop's fibers run: a connection
     * that woke up here goes on to its request, or idle again. */
    if (nh_sleep(pause) != NH_OK)
      return 0; /* the server's context ended: it is closing */
    pause = pause * 2 > 50 * NH_MSEC ? 50 * NH_MSEC : pause * 2;
  }
  return 1;
}
