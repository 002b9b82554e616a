/* Hijacked connections.
 *
 * After a hijack the server keeps a record of the socket (on the loop's
 * hijacked list) to wait for it at shutdown and shut it down at close. The
 * socket belongs to the handler's fiber and to the fibers it starts with
 * nh_go afterwards (nh__owned). When one of them panics, the connection is
 * in an unknown state: it is shut down for everyone, and closed if no other
 * owner is left, so no socket is left open that nobody holds. */
#include "internal.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>


/* Is the hijacked descriptor still the socket it was (not closed by its
 * owner, its number not reused)? */
static int hijacked_still_open(const nh__sconn *c) {
  struct stat st;
  return c->hijack_ino && fstat(c->hijack_fd, &st) == 0 && st.st_ino == c->hijack_ino;
}

static void unwatch(nh__sconn *c) {
  if (!c->watched)
    return;
  c->watched = 0;
  if (c->watch.websocket)
    atomic_fetch_sub(&c->srv->websockets_open, 1);
}

/* Off the loop's list and out of the gauge; its watcher told. */
static void hijacked_unlist(nh__sconn *c) {
  if (c->forgotten)
    return;
  if (c->watched) {
    nh__hijack_watch w = c->watch;
    unwatch(c);
    if (w.forgotten)
      w.forgotten(w.arg);
  }
  nh__sconn_list_remove(c);
  nh__sconn_gauge_add(c->sl, NH_CONN_HIJACKED, -1);
  nh__sconn_ctx_free(c);
  c->forgotten = 1;
}

/* The server is done with the record: it goes now, or when its last owner
 * ends (hijack_released). */
static void hijacked_forget(nh__sconn *c) {
  hijacked_unlist(c);
  if (!c->own.owners)
    free(c);
}

static void hijack_owner_panicked(nh__owned *o, int last) {
  nh__sconn *c = nh__container_of(o, nh__sconn, own);
  if (!hijacked_still_open(c)) {
    c->hijack_ino = 0;
    if (last)
      hijacked_unlist(c); /* hijack_released frees it next */
    return;
  }
  if (!c->forgotten)
    NH_LOG(c->srv->log, NH_LOG_WARN,
           last ? "closing a hijacked connection: its owner panicked"
                : "shutting down a hijacked connection: one of its owners panicked",
           NH_LSTR("remote", c->h1.remote), NH_LINT("conn", (int64_t)c->id));
  shutdown(c->hijack_fd, SHUT_RDWR); /* the other owners read the end */
  if (!last)
    return;
  if (c->hijack_tls)
    nh_tls_abort(c->hijack_tls);
  else
    close(c->hijack_fd);
  c->hijack_ino = 0;
  c->hijack_tls = NULL;
  hijacked_unlist(c); /* hijack_released frees it next */
}

static void hijack_released(nh__owned *o) {
  nh__sconn *c = nh__container_of(o, nh__sconn, own);
  if (c->forgotten)
    free(c);
}

void nh__sconn_hijacked(nh__sconn *c, int fd, nh_tls_conn *tls) {
  nh_server *srv = c->srv;
  struct stat st;
  c->hijack_fd = fd;
  c->hijack_ino = fstat(fd, &st) == 0 ? st.st_ino : 0;
  c->hijack_tls = tls;
  nh__sconn_set_state(c, NH_CONN_HIJACKED);
  atomic_fetch_sub(&srv->conns, 1);
  nh__sconn_slot_release(srv); /* its owner's now, out of max_conns */
  nh__peer_limit_release(srv, &c->peer); /* and out of max_conns_per_ip */
  NH__STAT_INC(srv, st_hijacked);
  NH__STAT_INC(srv, st_closes[NH_CLOSE_HIJACKED]);
  nh__sconn_list_move(c, &c->sl->hijacked);
  c->own.panicked = hijack_owner_panicked;
  c->own.released = hijack_released;
  nh__fiber_own(&c->own); /* if the fiber owns too much, shutdown still waits */
}

void nh__sconns_end_hijacked(nh__srv_loop *sl, int shut) {
  while (!nh__list_empty(&sl->hijacked)) {
    nh__sconn *c = nh__sconn_of(nh__list_first(&sl->hijacked));
    if (shut && hijacked_still_open(c))
      shutdown(c->hijack_fd, SHUT_RDWR);
    hijacked_forget(c);
  }
}

void nh__sconns_reap_hijacked(nh__srv_loop *sl) {
  int64_t open = 0;
  nh__list *it, *tmp;
  nh__list_each_safe(&sl->hijacked, it, tmp) {
    nh__sconn *c = nh__sconn_of(it);
    if (hijacked_still_open(c))
      open++;
    else
      hijacked_forget(c);
  }
  atomic_fetch_add(&sl->srv->hijacked_open, open);
}

/* ---- watched hijacked connections (hijack.h) ---- */

static void tell_going_away(nh__sconn *c) {
  if (!c->watched || c->going_away_told || !c->watch.going_away)
    return;
  c->going_away_told = 1;
  c->watch.going_away(c->watch.arg, atomic_load(&c->srv->going_away_deadline));
}

nh__sconn *nh__resp_hijack_watch(nh_response_writer *w, const nh__hijack_watch *watch) {
  nh__sconn *c = w && w->s ? w->s->conn : NULL;
  if (!c || !w->hijacked || c->state != NH_CONN_HIJACKED || c->forgotten || c->watched)
    return NULL;
  c->watch = *watch;
  c->watched = 1;
  if (watch->websocket)
    atomic_fetch_add(&c->srv->websockets_open, 1);
  /* A shutdown's message to this loop either runs after this (and finds
   * c listed) or ran before (and going_away was set before it was sent). */
  if (atomic_load(&c->srv->going_away))
    tell_going_away(c);
  return c;
}

void nh__hijack_unwatch(nh__sconn *c) {
  if (c)
    unwatch(c);
}

void nh__sconns_going_away(nh__srv_loop *sl) {
  nh__list *it, *tmp;
  nh__list_each_safe(&sl->hijacked, it, tmp) tell_going_away(nh__sconn_of(it));
}
