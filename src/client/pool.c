/* The connection pool: connections kept for the next request, per host
 * key, with a cap in all and per host. Two kinds (the protocol's ops say
 * which): an exclusive connection (HTTP/1) is listed only while idle, taken
 * out for a request and put back when its response body is done, newest
 * reused first (so the oldest expire); a shared one (several streams at
 * once) stays listed from its dial to its close, and a take lends it out
 * as long as its protocol says it can take another request, counting its
 * streams. The list is in idle_since order, oldest first; a shared
 * connection in use is not idle and is skipped by expiry and eviction.
 *
 * The key holds scheme, host, port, proxy and the TLS configuration's
 * identity, so connections made under different trust are never shared.
 * An idle exclusive connection keeps its nh_fd parked: still registered with the
 * loop that last used it, so the next request from that loop costs no
 * epoll_ctl, while a fiber of another loop or a plain thread can still take
 * it (netpoll then moves it), and expiring or evicting it needs no loop.
 * Idle connections expire lazily: every take
 * and put closes those that outlived idle_conn_timeout, and one the server
 * closed while it sat idle is noticed (EOF pending) before it is handed
 * out. A shared connection's descriptor belongs to its protocol (whose
 * own fiber reads it), so the pool neither parks nor checks it. */
#include "internal.h"
#include "runtime/netpoll_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

nh__host *nh__host_get(nh_transport *t, const char *key, const char *host, int port) {
  pthread_mutex_lock(&t->mu);
  nh__host *h = t->hosts;
  while (h && strcmp(h->key, key) != 0)
    h = h->next;
  if (!h && (h = calloc(1, sizeof *h))) {
    h->key = strdup(key);
    nh__trace_host_port(h->host_port, host, port);
    h->dial_sem = nh_sem_new(0);
    h->shared = t->cfg.http_version == NH_HTTP_2;
    if (t->cfg.max_conns_per_host > 0)
      h->limit = nh_sem_new(t->cfg.max_conns_per_host);
    if (!h->key || !h->dial_sem || (t->cfg.max_conns_per_host > 0 && !h->limit)) {
      free(h->key);
      nh_sem_free(h->dial_sem);
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

static nh__cconn *of_node(nh__list *n) { return nh__container_of(n, nh__cconn, node); }

static void unlist(nh_transport *t, nh__cconn *c) {
  nh__list_remove(&c->node);
  t->idle--;
  c->host->idle--;
}

static void list_back(nh_transport *t, nh__cconn *c) {
  nh__list_push_back(&t->pool, &c->node);
  t->idle++;
  c->host->idle++;
}

void nh__cconn_discard(nh__cconn *c) {
  nh_transport *t = c->t;
  pthread_mutex_lock(&t->mu);
  c->host->open--;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_sub(&t->st_open, 1);
  if (c->reset_on_close && c->fd) {
    /* Bytes of a body cut short may sit unsent behind a server that no
     * longer reads: a plain close would leave them (and the FIN after
     * them) queued for good. Reset instead: the server learns at once. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(nh_fd_get(c->fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  if (c->ops)
    c->ops->detach(c);
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
  free(c->proxy_auth);
  free(c);
}

/* A listed connection no stream uses. */
static int unused(const nh__cconn *c) { return c->streams == 0; }

/* Unlink expired idle connections (t->mu held) onto *dead. now: 0 to
 * read the clock only if an idle connection is listed (a pool of shared
 * connections in use has none). */
static void collect_expired(nh_transport *t, nh_time now, nh__list *dead) {
  nh_dur ttl = t->cfg.idle_conn_timeout;
  if (ttl == NH_NO_TIMEOUT)
    return;
  /* Oldest first: stop at the first idle one still young. */
  nh__list *it, *tmp;
  nh__list_each_safe(&t->pool, it, tmp) {
    nh__cconn *c = of_node(it);
    if (!unused(c))
      continue; /* a shared connection in use */
    if (!now)
      now = nh_now();
    if (now - c->idle_since < ttl)
      break;
    unlist(t, c);
    atomic_fetch_add(&t->st_closed_idle, 1);
    nh__list_push_back(dead, &c->node);
  }
}

static void discard_list(nh__list *dead) {
  nh__list *it;
  while ((it = nh__list_first(dead))) {
    nh__list_remove(it);
    nh__cconn_discard(of_node(it));
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

/* An exclusive connection just taken out: checked, and its descriptor
 * made usable by the caller. NULL if it turned out closed (discarded). */
static nh__cconn *claim(nh__cconn *got, int can_retry) {
  if ((!can_retry || nh_now() - got->idle_since >= FRESH_IDLE) && idle_conn_dead(got)) {
    nh__cconn_discard(got);
    return NULL;
  }
  nh_fd *f = nh__fd_unpark(got->fd);
  if (!f) { /* the descriptor is closed already */
    got->fd = NULL;
    nh__cconn_discard(got);
    return NULL;
  }
  if (f != got->fd && got->tls)
    nh_tls_set_fd(got->tls, f);
  got->fd = f;
  return got;
}

nh__cconn *nh__pool_take(nh_transport *t, nh__host *h, int can_retry) {
  for (;;) {
    nh__list dead;
    nh__list_init(&dead);
    nh__cconn *got = NULL;
    pthread_mutex_lock(&t->mu);
    collect_expired(t, 0, &dead);
    /* Newest first. */
    for (nh__list *it = t->pool.prev, *prev; it != &t->pool; it = prev) {
      prev = it->prev;
      nh__cconn *c = of_node(it);
      if (c->host != h || c->broken)
        continue;
      if (!c->ops->can_take(c)) {
        if (c->ops->shared && unused(c)) { /* no stream and none to come (GOAWAY, dead) */
          unlist(t, c);
          nh__list_push_back(&dead, &c->node);
        }
        continue;
      }
      if (!c->ops->shared)
        unlist(t, c);
      c->streams++;
      got = c;
      break;
    }
    pthread_mutex_unlock(&t->mu);
    discard_list(&dead);
    if (!got || got->ops->shared)
      return got;
    if ((got = claim(got, can_retry)))
      return got;
  }
}

nh__cconn *nh__pool_take_or_dial(nh_transport *t, nh__host *h, int can_retry, nh_time deadline) {
  for (;;) {
    unsigned gen = atomic_load(&h->dial_gen); /* written under t->mu */
    nh__cconn *c = nh__pool_take(t, h, can_retry);
    if (c)
      return c;
    pthread_mutex_lock(&t->mu);
    if (atomic_load(&h->dial_gen) != gen) { /* a dial ended since the look: look again */
      pthread_mutex_unlock(&t->mu);
      continue;
    }
    if (h->shared && h->dialing > 0) {
      h->dial_waiters++;
      pthread_mutex_unlock(&t->mu);
      /* A wake-up meant for a waiter that left only costs a look. */
      if (nh_sem_acquire(h->dial_sem, deadline) == NH_OK)
        continue;
      pthread_mutex_lock(&t->mu); /* out of time: dial, and fail on the deadline */
    }
    h->dialing++;
    pthread_mutex_unlock(&t->mu);
    return NULL;
  }
}

void nh__pool_dial_begin(nh_transport *t, nh__host *h) {
  pthread_mutex_lock(&t->mu);
  h->dialing++;
  pthread_mutex_unlock(&t->mu);
}

void nh__pool_dial_end(nh_transport *t, nh__host *h, nh__cconn *c) {
  pthread_mutex_lock(&t->mu);
  h->dialing--;
  atomic_fetch_add(&h->dial_gen, 1);
  if (c && c->ops->shared)
    h->shared = 1;
  int n = h->dial_waiters;
  h->dial_waiters = 0;
  pthread_mutex_unlock(&t->mu);
  while (n-- > 0)
    nh_sem_release(h->dial_sem);
}

void nh__pool_opened(nh__cconn *c) {
  nh_transport *t = c->t;
  pthread_mutex_lock(&t->mu);
  c->streams = 1;
  if (c->ops->shared)
    list_back(t, c);
  pthread_mutex_unlock(&t->mu);
}

/* The oldest connection no stream uses, or NULL (t->mu held). */
static nh__cconn *oldest_unused(nh_transport *t) {
  for (nh__list *it = t->pool.next; it != &t->pool; it = it->next)
    if (unused(of_node(it)))
      return of_node(it);
  return NULL;
}

/* An exclusive connection back from a request: listed, or closed if it
 * cannot be kept. */
static void put_exclusive(nh__cconn *c) {
  nh_transport *t = c->t;
  nh__host *h = c->host;
  if (c->broken) { /* its protocol cannot go on: closed, not a pool matter */
    nh__cconn_discard(c);
    return;
  }
  nh__list dead;
  nh__list_init(&dead);
  int keep = !t->cfg.disable_keepalives;
  c->idle_since = nh_now();
  nh_fd *f = keep ? nh__fd_park(c->fd) : c->fd;
  if (f != c->fd && c->tls && f)
    nh_tls_set_fd(c->tls, f);
  c->fd = f;
  if (!f)
    keep = 0;
  pthread_mutex_lock(&t->mu);
  c->streams = 0;
  collect_expired(t, c->idle_since, &dead);
  if (keep && h->idle >= t->cfg.max_idle_conns_per_host)
    keep = 0;
  nh__cconn *old;
  if (keep && t->idle >= t->cfg.max_idle_conns && (old = oldest_unused(t))) {
    unlist(t, old); /* full: the oldest makes room */
    nh__list_push_back(&dead, &old->node);
  }
  if (keep)
    list_back(t, c);
  pthread_mutex_unlock(&t->mu);
  if (!keep)
    atomic_fetch_add(&t->st_closed_full, 1);
  discard_list(&dead);
  if (!keep)
    nh__cconn_discard(c);
}

/* A shared connection's stream ended: once broken and unused, it goes. */
static void release_shared(nh__cconn *c) {
  nh_transport *t = c->t;
  int gone = 0;
  pthread_mutex_lock(&t->mu);
  if (--c->streams == 0) {
    if (c->broken) {
      if (nh__list_linked(&c->node))
        unlist(t, c);
      gone = 1;
    } else { /* idle from now: to the back, in idle_since order */
      c->idle_since = nh_now();
      nh__list_remove(&c->node);
      nh__list_push_back(&t->pool, &c->node);
    }
  }
  pthread_mutex_unlock(&t->mu);
  if (gone)
    nh__cconn_discard(c);
}

void nh__pool_release(nh__cconn *c) {
  if (c->ops->shared)
    release_shared(c);
  else
    put_exclusive(c);
}

void nh_transport_close_idle(nh_transport *t) {
  nh__list dead;
  nh__list_init(&dead);
  pthread_mutex_lock(&t->mu);
  nh__list *it, *tmp;
  nh__list_each_safe(&t->pool, it, tmp) {
    nh__cconn *c = of_node(it);
    if (!unused(c))
      continue; /* a shared connection in use: it closes when broken */
    unlist(t, c);
    nh__list_push_back(&dead, &c->node);
  }
  pthread_mutex_unlock(&t->mu);
  discard_list(&dead);
}
