/* The connection pool: idle keep-alive connections, per host key, newest
 * reused first (so the oldest expire), with a cap in all and per host.
 *
 * The key holds scheme, host, port, proxy and the TLS configuration's
 * identity, so connections made under different trust are never shared.
 * A pooled connection keeps its nh_fd parked: still registered with the
 * loop that last used it, so the next request from that loop costs no
 * epoll_ctl, while a fiber of another loop or a plain thread can still take
 * it (netpoll then moves it), and expiring or evicting it needs no loop.
 * Idle connections expire lazily: every take
 * and put closes those that outlived idle_conn_timeout, and one the server
 * closed while it sat idle is noticed (EOF pending) before it is handed
 * out. */
#include "internal.h"
#include "runtime/netpoll_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

nh__host *nh__host_get(nh_transport *t, const char *key) {
  pthread_mutex_lock(&t->mu);
  nh__host *h = t->hosts;
  while (h && strcmp(h->key, key) != 0)
    h = h->next;
  if (!h && (h = calloc(1, sizeof *h))) {
    h->key = strdup(key);
    if (t->cfg.max_conns_per_host > 0)
      h->limit = nh_sem_new(t->cfg.max_conns_per_host);
    if (!h->key || (t->cfg.max_conns_per_host > 0 && !h->limit)) {
      free(h->key);
      nh_sem_free(h->limit);
      free(h);
      h = NULL;
    } else {
      h->next = t->hosts;
      t->hosts = h;
    }
  }
  pthread_mutex_unlock(&t->mu);
  return h;
}

static void idle_unlink(nh_transport *t, nh__cconn *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    t->idle_head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    t->idle_tail = c->prev;
  c->prev = c->next = NULL;
  t->idle--;
  c->host->idle--;
}

void nh__conn_discard(nh__cconn *c) {
  nh_transport *t = c->t;
  pthread_mutex_lock(&t->mu);
  c->host->open--;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_sub(&t->st_open, 1);
  if (c->cut_short && c->fd) {
    /* Bytes of a body cut short may sit unsent behind a server that no
     * longer reads: a plain close would leave them (and the FIN after
     * them) queued for good. Reset instead: the server learns at once. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(nh_fd_get(c->fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  if (c->tls) { /* the TLS stream owns the descriptor */
    nh_fd *f = c->fd ? nh__fd_unpark(c->fd) : NULL;
    if (f) {
      nh_tls_set_fd(c->tls, f);
      nh_tls_abort(c->tls);
    }
  } else {
    nh_fd_close(c->fd);
  }
  if (c->host->limit)
    nh_sem_release(c->host->limit);
  nh__arena_dispose(&c->arena);
  free(c->proxy_auth);
  free(c->buf);
  free(c);
}

/* Unlink expired idle connections (t->mu held) onto *dead. */
static void collect_expired(nh_transport *t, nh_time now, nh__cconn **dead) {
  nh_dur ttl = t->cfg.idle_conn_timeout;
  if (ttl == NH_NO_TIMEOUT)
    return;
  /* Oldest first: stop at the first one still young. */
  while (t->idle_head && now - t->idle_head->idle_since >= ttl) {
    nh__cconn *c = t->idle_head;
    idle_unlink(t, c);
    atomic_fetch_add(&t->st_closed_idle, 1);
    c->next = *dead;
    *dead = c;
  }
}

static void discard_list(nh__cconn *dead) {
  while (dead) {
    nh__cconn *c = dead;
    dead = c->next;
    c->next = NULL;
    nh__conn_discard(c);
  }
}

/* Did the server close (or write to) this idle connection? Either way it
 * cannot carry a new request. */
static int idle_conn_dead(const nh__cconn *c) {
  char b;
  ssize_t n = recv(nh_fd_get(c->fd), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0 && c->tls)
    return 0; /* a TLS record (a session ticket, or a close_notify the
                 request will meet and then retry) */
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* Servers close idle keep-alive connections after seconds, not within
 * moments of an answer: a connection idle for less than this is trusted
 * without a look (a request that meets a closed one anyway is retried when
 * it can be). */
#define FRESH_IDLE (250 * NH_MSEC)

nh__cconn *nh__pool_take(nh_transport *t, nh__host *h, int can_retry) {
  for (;;) {
    nh__cconn *dead = NULL, *got = NULL;
    pthread_mutex_lock(&t->mu);
    collect_expired(t, nh_now(), &dead);
    for (nh__cconn *c = t->idle_tail; c; c = c->prev)
      if (c->host == h) {
        idle_unlink(t, c);
        got = c;
        break;
      }
    pthread_mutex_unlock(&t->mu);
    discard_list(dead);
    if (!got)
      return NULL;
    if ((!can_retry || nh_now() - got->idle_since >= FRESH_IDLE) && idle_conn_dead(got)) {
      nh__conn_discard(got);
      continue;
    }
    nh_fd *f = nh__fd_unpark(got->fd);
    if (!f) { /* the descriptor is closed already */
      got->fd = NULL;
      nh__conn_discard(got);
      continue;
    }
    if (f != got->fd && got->tls)
      nh_tls_set_fd(got->tls, f);
    got->fd = f;
    return got;
  }
}

void nh__pool_put(nh__cconn *c) {
  nh_transport *t = c->t;
  nh__host *h = c->host;
  nh__cconn *dead = NULL;
  int keep = !t->cfg.disable_keepalives;
  c->idle_since = nh_now();
  c->len = c->pos = 0;
  nh__arena_reset(&c->arena);
  nh_fd *f = nh__fd_park(c->fd);
  if (f != c->fd && c->tls && f)
    nh_tls_set_fd(c->tls, f);
  c->fd = f;
  if (!f)
    keep = 0;
  pthread_mutex_lock(&t->mu);
  collect_expired(t, c->idle_since, &dead);
  if (keep && h->idle >= t->cfg.max_idle_conns_per_host)
    keep = 0;
  if (keep && t->idle >= t->cfg.max_idle_conns && t->idle_head) {
    nh__cconn *old = t->idle_head; /* full: the oldest makes room */
    idle_unlink(t, old);
    old->next = dead;
    dead = old;
  }
  if (keep) {
    c->prev = t->idle_tail;
    c->next = NULL;
    if (t->idle_tail)
      t->idle_tail->next = c;
    else
      t->idle_head = c;
    t->idle_tail = c;
    t->idle++;
    h->idle++;
  } else {
    atomic_fetch_add(&t->st_closed_full, 1);
  }
  pthread_mutex_unlock(&t->mu);
  discard_list(dead);
  if (!keep)
    nh__conn_discard(c);
}

void nh_transport_close_idle(nh_transport *t) {
  pthread_mutex_lock(&t->mu);
  nh__cconn *all = t->idle_head;
  for (nh__cconn *c = all; c; c = c->next)
    c->host->idle--;
  t->idle_head = t->idle_tail = NULL;
  t->idle = 0;
  pthread_mutex_unlock(&t->mu);
  discard_list(all);
}
