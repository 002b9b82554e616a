/* Server connections, from accept to close, whatever they speak.
 *
 * A connection holds a fiber only while it has request bytes to deal with
 * (conn_serve.c); its protocol (src/http1/) reads and answers requests on
 * that fiber. This file keeps what is the server's: the loop's lists,
 * connection states and their hook, closing and its reasons, and shedding.
 *
 * Each loop keeps its connections in lists, oldest first: idle, reading
 * (new, or a head not yet complete), active and hijacked. When connections
 * or descriptors run out (admit.c), the server's oldest idle connection is
 * closed first, then the one stuck longest reading its head: slow clients
 * cannot lock out the others. Only this loop's thread touches its lists;
 * idle_since tells the other loops' acceptors how old its oldest idle one
 * is. */
#include "internal.h"
#include "tls_io.h"
#include "runtime/netpoll_internal.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- lists ---- */

/* The idle list's head changed: tell the acceptors (see idle_since). */
void nh__sconn_idle_publish(nh__srv_loop *sl) {
  nh__sconn *h = nh__sconn_of(nh__list_first(&sl->idle));
  atomic_store_explicit(&sl->idle_since, h ? h->since + 1 : 0, memory_order_relaxed);
}

/* ---- state and hooks ---- */

/* A plain add, this loop's thread being the only writer. */
void nh__sconn_gauge_add(nh__srv_loop *sl, nh_conn_state s, int64_t d) {
  if (s >= NH_CONN_NEW && s <= NH_CONN_HIJACKED)
    nh__loop_count(&sl->gauges[s - NH_CONN_NEW], d);
}

/* The user's hook, apart from the gauges: kept out of line so that the
 * common case (no hook) saves no registers, twice per keep-alive request. */
static __attribute__((noinline)) void conn_state_hook(nh__sconn *c, nh_conn_state s) {
  nh_server *srv = c->srv;
  if (c->addr_pending)
    return; /* not yet a connection the hook knows (see nh__sconn_address_final) */
  nh_conn_info info = {c->id, c->h1.remote, srv->listeners[c->listener].name, c->sl->index};
  nh_time t0 = nh_now();
  srv->cfg.conn_state(&info, s, srv->cfg.conn_state_user);
  nh_dur took = nh_now() - t0;
  if (took > srv->cfg.slow_hook_threshold) {
    NH__STAT_INC(srv, st_slow_hooks);
    NH_LOG(srv->log, NH_LOG_WARN, "slow connection-state hook", NH_LDUR("took", took),
           NH_LINT("conn", (int64_t)c->id), NH_LSTR("state", nh_conn_state_name(s)),
           NH_LSTR("hint", "the hook runs synchronously on the loop; keep it short"));
  }
}

void nh__sconn_set_state(nh__sconn *c, nh_conn_state s) {
  nh_server *srv = c->srv;
  if (c->state == s)
    return;
  nh__sconn_gauge_add(c->sl, c->state, -1);
  nh__sconn_gauge_add(c->sl, s, 1);
  c->state = s;
  if (srv->cfg.conn_state)
    conn_state_hook(c, s);
}

/* ---- closing ---- */

void nh__sconn_ctx_free(nh__sconn *c) {
  nh_ctx_free(c->ctx);
  if (c->user_ctx && c->user_ctx != c->srv->base)
    nh_ctx_free(c->user_ctx);
  c->ctx = c->user_ctx = NULL;
}

/* Count the connection under its close reason (a local failure if none was
 * noted) and say so at DEBUG. */
static void conn_count_close(nh__sconn *c) {
  nh_server *srv = c->srv;
  nh_close_reason why = c->h1.close_why ? (nh_close_reason)(c->h1.close_why - 1) : NH_CLOSE_ERROR;
  NH__STAT_INC(srv, st_closes[why]);
  if (nh_log_enabled(srv->log, NH_LOG_DEBUG))
    NH_LOG(srv->log, NH_LOG_DEBUG, "connection closed", NH_LINT("conn", (int64_t)c->id),
           NH_LSTR("remote", c->h1.remote), NH_LSTR("state", nh_conn_state_name(c->state)),
           NH_LSTR("reason", nh_close_reason_name(why)));
}

void nh__sconn_free(nh__sconn *c) {
  nh_server *srv = c->srv;
  nh__sconn_list_remove(c);
  if (nh__timer_armed(&c->timer))
    nh__timer_stop(c->sl->loop, &c->timer);
  if (c->h1.io.tls)
    nh__tls_io_abort(c);
  else if (c->h1.io.fd)
    nh_fd_close(c->h1.io.fd);
  c->h1.io.fd = NULL;
  if (c->state != NH_CONN_HIJACKED) {
    conn_count_close(c);
    nh__sconn_set_state(c, NH_CONN_CLOSED); /* the hook first: then the slot */
    atomic_fetch_sub(&srv->conns, 1);
    if (!c->closed_early)
      nh__sconn_slot_release(srv);
    nh__peer_limit_release(srv, &c->peer);
  }
  NH__STAT_INC(srv, st_closed);
  nh__sconn_ctx_free(c);
  nh__sconn_proxy_free(c);
  free(c);
}

/* Close a connection that may have a fiber working on it: the descriptor goes
 * at once (that is the point when shedding), the fiber sees NH_ECLOSED and
 * frees the rest. */
static void conn_close_now(nh__sconn *c) {
  if (!c->has_fiber) {
    nh__sconn_free(c);
    return;
  }
  nh__sconn_list_remove(c);
  if (c->ctx)
    nh_ctx_cancel(c->ctx); /* the request's context descends from it */
  nh__stream_forget_fd(&c->h1.io);
  if (c->h1.io.fd)
    nh_fd_close(c->h1.io.fd);
  c->h1.io.fd = NULL;
  if (!c->closed_early) { /* no longer takes room, though not yet freed */
    c->closed_early = 1;
    nh__sconn_slot_release(c->srv);
    nh__peer_limit_release(c->srv, &c->peer);
  }
}

int nh__sconn_evict_idle(nh__srv_loop *sl) {
  nh__list *it, *tmp;
  nh__list_each_safe(&sl->idle, it, tmp) {
    nh__sconn *c = nh__sconn_of(it);
    /* A fiber is on its way to it, or its next request is in the socket:
     * not idle any more, and closing on unread bytes would send a reset. */
    char b;
    if (c->has_fiber || !c->h1.io.fd ||
        recv(nh_fd_get(c->h1.io.fd), &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
      continue;
    NH__STAT_INC(sl->srv, st_shed_idle);
    nh__sconn_close_why(c, NH_CLOSE_SHED);
    nh__sconn_free(c); /* nothing unread, nothing unsent: the client sees a FIN */
    return 1;
  }
  return 0;
}

int nh__sconn_shed_one(nh__srv_loop *sl, int desperate) {
  nh_server *srv = sl->srv;
  if (nh__sconn_evict_idle(sl))
    return 1;
  /* Then whichever has kept the server waiting longest: a connection still
   * reading its head (new, or a slowloris), or a request whose handler waits
   * on its client (a body that trickles in, a response nobody reads). Age
   * counts from when that began, so a trickle of bytes does not make it
   * young again. Anything younger than a quarter second is spared, unless
   * the server is out of room altogether (desperate): a client that just
   * connected is most likely a normal one. */
  nh_time now = nh_now();
  nh_dur min_age = desperate ? 0 : 250 * NH_MSEC;
  nh__sconn *worst = nh__sconn_of(nh__list_first(&sl->reading)); /* oldest first */
  nh__list *it, *tmp;
  nh__list_each_safe(&sl->active, it, tmp) {
    nh__sconn *c = nh__sconn_of(it);
    if (c->h1.client_wait && (!worst || c->since < worst->since))
      worst = c;
  }
  if (!worst || now - worst->since < min_age)
    return 0;
  NH__STAT_INC(srv, st_shed_reading);
  nh__sconn_close_why(worst, NH_CLOSE_SHED);
  NH_LOG(srv->log, NH_LOG_DEBUG, "shedding the connection that kept the server waiting longest",
         NH_LSTR("remote", worst->h1.remote), NH_LDUR("age", now - worst->since),
         NH_LINT("reading_head", worst->list == &sl->reading));
  /* Reset, not a graceful close: unsent response bytes would otherwise stay
   * in the kernel for as long as the slow client takes to read them. */
  if (worst->h1.io.fd) {
    struct linger lg = {1, 0};
    setsockopt(nh_fd_get(worst->h1.io.fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  conn_close_now(worst);
  return 1;
}

void nh__sconns_close_idle(nh__srv_loop *sl) {
  nh__list *it, *tmp;
  /* HTTP/2 connections keep their fiber: it sees the shutdown when woken
   * (GOAWAY, streams finish; an idle one closes at once). */
  nh__list_each_safe(&sl->active, it, tmp) {
    nh__sconn *c = nh__sconn_of(it);
    if (c->is_h2)
      nh__h2_conn_kick(c->h2);
  }
  nh__list_each_safe(&sl->idle, it, tmp) {
    nh__sconn_close_why(nh__sconn_of(it), NH_CLOSE_SHUTDOWN);
    nh__sconn_free(nh__sconn_of(it));
  }
  /* New connections that have not sent a byte are idle too (no fiber),
   * and so are those still in the TLS handshake: no request is lost. But,
   * as Go does, only once they are a moment old: a client that just
   * connected (to a socket another process now serves too, after a
   * handover) is sending its request or handshake; it is served, then
   * closed. Shutdown calls this again until they are gone. */
  nh_time now = nh__loop_time(sl->loop);
  nh__list_each_safe(&sl->reading, it, tmp) {
    nh__sconn *c = nh__sconn_of(it);
    if ((!c->has_fiber || c->handshaking) && now - c->since < NH__NEW_CONN_GRACE &&
        atomic_load(&sl->srv->shutting_down) && !atomic_load(&sl->srv->closed))
      continue;
    if (!c->has_fiber || c->handshaking)
      nh__sconn_close_why(c, NH_CLOSE_SHUTDOWN);
    if (!c->has_fiber)
      nh__sconn_free(c);
    else if (c->handshaking)
      conn_close_now(c);
  }
}

void nh__sconns_close_all(nh__srv_loop *sl) {
  nh__sconns_close_idle(sl);
  nh__list *lists[] = {&sl->reading, &sl->active};
  for (int i = 0; i < 2; i++)
    while (!nh__list_empty(lists[i])) {
      nh__sconn *c = nh__sconn_of(nh__list_first(lists[i]));
      nh__sconn_close_why(c, NH_CLOSE_SHUTDOWN);
      conn_close_now(c);
    }
}

/* ---- accepting ---- */

void nh__sconn_accepted(nh__srv_loop *sl, int listener, int fd,
                        const struct sockaddr_storage *peer, socklen_t peer_len,
                        const nh__peer_slot *slot) {
  nh_server *srv = sl->srv;
  nh__peer_slot ps = slot ? *slot : (nh__peer_slot){{0}, 0};
  nh__sconn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    nh__sconn_slot_release(srv);
    nh__peer_limit_release(srv, &ps);
    return;
  }
  if (nh__fd_adopt(fd, &c->h1.io.fd) != NH_OK) { /* accept4 made it non-blocking */
    free(c);
    nh__sconn_slot_release(srv);
    nh__peer_limit_release(srv, &ps);
    return;
  }
  c->peer = ps;
  c->srv = srv;
  c->sl = sl;
  c->listener = listener;
  c->id = atomic_fetch_add(&srv->next_conn_id, 1) + 1;
  c->timer.slot = NH__TIMER_IDLE;
  c->state = NH_CONN_CLOSED; /* so the first set_state counts NEW */
  nh__format_addr((const struct sockaddr *)peer, peer_len, c->h1.remote, sizeof c->h1.remote);
  atomic_fetch_add(&srv->conns, 1);
  NH__STAT_INC(srv, st_accepted);
  c->user_ctx = srv->base;
  /* Counted NEW now; the hook hears of it once its address is final. */
  c->addr_pending = 1;
  nh__sconn_set_state(c, NH_CONN_NEW);
  nh__sconn_list_move(c, &sl->reading);
  if (nh__sconn_proxy_accept(c, (const struct sockaddr *)peer) != 0) {
    nh__sconn_free(c);
    return;
  }
  /* A PROXY header to read: the address is final once it is, on the
   * connection's fiber (conn_serve.c). */
  if (!c->proxy_pending && nh__sconn_address_final(c) != NH_OK) {
    nh__sconn_free(c);
    return;
  }
  /* Most clients send their request with the handshake's last packet: read
   * at once rather than waiting a loop turn for epoll to say so. */
  nh__sconn_spawn(c);
}

int nh__sconn_address_final(nh__sconn *c) {
  nh_server *srv = c->srv;
  /* The connection's address is final here: c->h1.remote is the client's
   * (the PROXY header's source when there was one). On a PROXY listener
   * the per-IP limit is taken now (elsewhere the acceptor took it), before
   * ConnContext and the hook hear of the connection: over the limit it
   * closes unseen by them. */
  c->addr_pending = 0;
  if (srv->listeners[c->listener].proxy != NH_PROXY_OFF && srv->peers) {
    struct sockaddr_storage a;
    socklen_t al;
    if (nh__sconn_client_sockaddr(c, &a, &al) == NH_OK &&
        nh__peer_limit_take(srv, (const struct sockaddr *)&a, al, &c->peer) != NH_OK) {
      NH__STAT_INC(srv, st_refused_per_ip);
      nh__sconn_close_why(c, NH_CLOSE_PER_IP);
      if (nh_log_enabled(srv->log, NH_LOG_DEBUG))
        NH_LOG(srv->log, NH_LOG_DEBUG, "connection refused: over max_conns_per_ip",
               NH_LINT("conn", (int64_t)c->id), NH_LSTR("remote", c->h1.remote));
      return NH_EBUSY;
    }
  }
  /* The user's ConnContext lives as long as the connection; the
   * connection's own cancellable context exists only while it serves (see
   * conn_serve.c), so idle connections do not pay for one. */
  if (srv->cfg.conn_context) {
    nh_conn_info info = {c->id, c->h1.remote, srv->listeners[c->listener].name, c->sl->index};
    nh_ctx *ctx = srv->cfg.conn_context(srv->base, &info, srv->cfg.conn_context_user);
    if (ctx)
      c->user_ctx = ctx;
  }
  if (srv->cfg.conn_state)
    conn_state_hook(c, NH_CONN_NEW);
  return NH_OK;
}
