/* Listeners and the accept loop.
 *
 * nh_server_listen opens one socket per address. Each loop then accepts on
 * its own duplicate of it, in an acceptor fiber, so connections land on
 * every loop and stay there. Each new connection is admitted under the
 * server-wide max_conns first (admit.c: at the limit, the server's oldest
 * idle connection makes room). When accept fails for lack of descriptors
 * (EMFILE, ENFILE), a connection is shed the same way (else, here, the one
 * stuck longest reading its head, however young) and accept retried; with
 * nothing to shed it backs off like Go: 5 ms, doubling to 1 s, with a log
 * line. Before that, the accept hook and the per-IP limit may refuse a
 * connection: it is closed at once, nothing read (accept_hook.c,
 * per_ip.c). */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

void nh__format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    snprintf(buf, cap, "%s:%d", host, ntohs(in->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    snprintf(buf, cap, "[%s]:%d", host, ntohs(in6->sin6_port));
  } else if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    snprintf(buf, cap, "%s", len > (socklen_t)offsetof(struct sockaddr_un, sun_path) && un->sun_path[0]
                                 ? un->sun_path
                                 : "@");
  } else {
    snprintf(buf, cap, "?");
  }
}

void nh__listener_describe(nh__listener *l) {
  const struct sockaddr *sa = (const struct sockaddr *)&l->addr;
  nh__format_addr(sa, l->addr_len, l->name, sizeof l->name);
  if (sa->sa_family == AF_INET)
    l->wildcard = ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
  else if (sa->sa_family == AF_INET6)
    l->wildcard = IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  else
    l->wildcard = 0;
}

/* "host:port", ":port", "[v6]:port", "unix:/path" -> a bound, listening
 * socket. */
int nh__listener_open(nh__listener *l, const char *addr, int reuseport) {
  memset(l, 0, sizeof *l);
  if (!strncmp(addr, "unix:", 5)) {
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(addr + 5) >= sizeof un.sun_path)
      return NH_EINVAL;
    strcpy(un.sun_path, addr + 5);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return -errno;
    unlink(un.sun_path); /* a stale socket file from a previous run */
    if (bind(fd, (struct sockaddr *)&un, sizeof un) < 0 || listen(fd, 4096) < 0) {
      int e = -errno;
      close(fd);
      return e;
    }
    l->fd = fd;
    l->family = AF_UNIX;
    memcpy(&l->addr, &un, sizeof un);
    l->addr_len = sizeof un;
    return NH_OK;
  }
  const char *colon = strrchr(addr, ':');
  if (!colon)
    return NH_EINVAL;
  char host[256];
  size_t hlen = (size_t)(colon - addr);
  if (hlen >= sizeof host)
    return NH_EINVAL;
  memcpy(host, addr, hlen);
  host[hlen] = 0;
  if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
    memmove(host, host + 1, hlen - 2);
    host[hlen - 2] = 0;
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res;
  /* ":port" listens on every address, IPv6 and IPv4 (a dual-stack socket). */
  if (host[0] == 0)
    hints.ai_family = AF_INET6;
  if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) != 0)
    return NH_EINVAL;
  int err = NH_EINVAL;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = -errno;
      continue;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      err = -errno;
      close(fd);
      continue;
    }
    if (ai->ai_family == AF_INET6 && host[0] == 0)
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) {
      l->fd = fd;
      l->family = ai->ai_family;
      l->addr_len = sizeof l->addr;
      getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len);
      freeaddrinfo(res);
      return NH_OK;
    }
    err = -errno;
    close(fd);
  }
  freeaddrinfo(res);
  return err;
}

typedef struct acceptor {
  nh__srv_loop *sl;
  nh_fd *fd;
  int listener; /* index in srv->listeners */
  int tcp;
  nh_wg *wg; /* answers from other loops that make room (admit.c) */
} acceptor;

static void accept_loop(void *arg) {
  acceptor *a = arg;
  nh__srv_loop *sl = a->sl;
  nh_server *srv = sl->srv;
  nh_fiber_set_label("accept");
  nh_fiber_set_ctx(srv->base);
  nh_dur backoff = 0;
  unsigned burst = 0;
  while (!atomic_load(&srv->shutting_down) && !atomic_load(&srv->closed)) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = nh_fd_accept(a->fd, (struct sockaddr *)&peer, &plen, NH_NO_DEADLINE);
    if (fd >= 0) {
      backoff = 0;
      if (a->tcp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      if (srv->cfg.accept_hook &&
          nh__accept_hook_refuses(sl, a->listener, fd, &peer, plen)) {
        nh__accept_refuse(srv, fd, &peer, plen, "hook");
        continue;
      }
      /* The per-IP limit is taken where the client's address is final:
       * here, or on a PROXY listener once the header is read, on the
       * connection's fiber (nh__sconn_address_final). */
      nh__peer_slot ps = {{0}, 0};
      if (srv->listeners[a->listener].proxy == NH_PROXY_OFF &&
          nh__peer_limit_take(srv, (const struct sockaddr *)&peer, plen, &ps) != NH_OK) {
        NH__STAT_INC(srv, st_refused_per_ip);
        nh__accept_refuse(srv, fd, &peer, plen, "per_ip");
        continue;
      }
      /* At the connection limit, make room rather than refuse: the new
       * connection is more likely a normal client than the oldest idle or
       * stalled one. It is refused only when the server stops. */
      if (!nh__sconn_admit(sl, a->wg)) {
        nh__peer_limit_release(srv, &ps);
        close(fd);
        continue;
      }
      nh__sconn_accepted(sl, a->listener, fd, &peer, plen, &ps);
      /* In a burst, let the new connections read their requests before
       * accepting more: otherwise the next accepts find them unread and
       * young, and a flood could shed a normal client before it is heard. */
      if (++burst % 16 == 0)
        nh_yield();
      continue;
    }
    if (fd == NH_ECLOSED || fd == NH_ECANCELED)
      break;
    NH__STAT_INC(srv, st_accept_errors);
    if ((fd == NH_EMFILE || fd == NH_ENFILE) &&
        (nh__sconn_make_room(sl, a->wg) || nh__sconn_shed_one(sl, 1)))
      continue; /* a descriptor is free again */
    backoff = backoff ? backoff * 2 : 5 * NH_MSEC;
    if (backoff > NH_SEC)
      backoff = NH_SEC;
    NH_LOG(srv->log, NH_LOG_ERROR, "accept error; retrying", NH_LSTR("error", nh_strerror(fd)),
           NH_LDUR("delay", backoff), NH_LINT("loop", sl->index));
    if (nh_sleep(backoff) != NH_OK)
      break;
  }
  nh_wg_free(a->wg);
  free(a);
  nh_wg_done(srv->acceptors);
}

static void start_on_loop(nh_loop *l, void *arg) {
  nh__srv_loop *sl = arg;
  nh_server *srv = sl->srv;
  for (int i = 0; i < srv->nlisteners; i++) {
    int fd = sl->accept_dups[i];
    nh_fd *f;
    acceptor *a = malloc(sizeof *a);
    nh_wg *wg = a ? nh_wg_new() : NULL;
    if (!wg || nh_fd_open(fd, &f) != NH_OK) { /* nh_fd_open closes fd when it fails */
      if (!wg)
        close(fd);
      nh_wg_free(wg);
      free(a);
      NH_LOG(srv->log, NH_LOG_ERROR, "cannot start accepting on a loop", NH_LINT("loop", sl->index));
      nh_wg_done(srv->acceptors);
      continue;
    }
    a->sl = sl;
    a->fd = f;
    a->listener = i;
    a->tcp = srv->listeners[i].family != AF_UNIX;
    a->wg = wg;
    sl->accept_fds[sl->naccept++] = f;
    if (nh__fiber_spawn(l, accept_loop, a) != NH_OK) {
      nh_wg_free(wg);
      free(a);
      nh_wg_done(srv->acceptors);
    }
  }
  free(sl->accept_dups);
  sl->accept_dups = NULL;
}

static void close_dups(nh_server *srv) {
  for (int i = 0; i < srv->nloops; i++) {
    nh__srv_loop *sl = &srv->loops[i];
    for (int j = 0; sl->accept_dups && j < srv->nlisteners; j++)
      if (sl->accept_dups[j] >= 0)
        close(sl->accept_dups[j]);
    free(sl->accept_dups);
    sl->accept_dups = NULL;
  }
}

/* Each loop's duplicates of the listeners are made here, on the caller's
 * thread, so that running out of descriptors is nh_server_start's error
 * rather than a loop that silently never accepts. */
int nh__acceptors_start(nh_server *srv) {
  for (int i = 0; i < srv->nloops; i++) {
    nh__srv_loop *sl = &srv->loops[i];
    sl->accept_fds = calloc((size_t)srv->nlisteners, sizeof(nh_fd *));
    sl->accept_dups = malloc((size_t)srv->nlisteners * sizeof(int));
    if (!sl->accept_fds || !sl->accept_dups) {
      close_dups(srv);
      return NH_ENOMEM;
    }
    for (int j = 0; j < srv->nlisteners; j++)
      sl->accept_dups[j] = -1;
    for (int j = 0; j < srv->nlisteners; j++)
      if ((sl->accept_dups[j] = fcntl(srv->listeners[j].fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        int e = -errno;
        close_dups(srv);
        return e;
      }
  }
  nh_wg_add(srv->acceptors, (long)srv->nloops * srv->nlisteners);
  for (int i = 0; i < srv->nloops; i++) {
    nh__srv_loop *sl = &srv->loops[i];
    if (nh__loop_post(sl->loop, start_on_loop, sl) == NH_OK)
      continue;
    NH_LOG(srv->log, NH_LOG_ERROR, "cannot start accepting on a loop", NH_LINT("loop", i));
    for (int j = 0; j < srv->nlisteners; j++) {
      close(sl->accept_dups[j]);
      nh_wg_done(srv->acceptors);
    }
    free(sl->accept_dups);
    sl->accept_dups = NULL;
  }
  return NH_OK;
}

void nh__acceptors_stop(nh__srv_loop *sl) {
  for (int i = 0; i < sl->naccept; i++)
    nh_fd_close(sl->accept_fds[i]); /* the acceptor wakes with NH_ECLOSED */
  sl->naccept = 0;
}
