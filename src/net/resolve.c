/* Name resolution with c-ares, parking only the calling fiber.
 *
 * Each lookup gets its own channel and an epoll instance holding the
 * channel's sockets (c-ares reports them through its socket-state
 * callback). The epoll descriptor is itself pollable, so one nh_fd_wait on
 * it parks the fiber (or blocks the thread in poll) until any of the
 * sockets is ready or c-ares' next retransmission is due. A channel per
 * lookup keeps lookups independent of loops and threads; docs/net.md gives
 * the cost. */
#include "net_internal.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "nethttp/ctx.h"
#include "nethttp/errors.h"
#include "nethttp/runtime.h"

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_init_once(void) { ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); }

void nh_addr_list_free(nh_addr_list *l) { free(l); }

char *nh_addr_format(const nh_addr *a, char *buf, size_t cap) {
  const void *src = a->u.sa.sa_family == AF_INET6 ? (const void *)&a->u.in6.sin6_addr
                                                  : (const void *)&a->u.in4.sin_addr;
  if (!inet_ntop(a->u.sa.sa_family, src, buf, (socklen_t)cap) && cap)
    buf[0] = '\0';
  return buf;
}

static nh_addr_list *list_new(size_t n) {
  nh_addr_list *l = calloc(1, sizeof *l + n * sizeof(nh_addr));
  return l;
}

static void list_add(nh_addr_list *l, const struct sockaddr *sa, socklen_t len) {
  for (size_t i = 0; i < l->count; i++) /* hosts file and DNS may repeat */
    if (l->addrs[i].len == len && memcmp(&l->addrs[i].u, sa, len) == 0)
      return;
  nh_addr *a = &l->addrs[l->count++];
  memcpy(&a->u, sa, len);
  a->len = len;
}

/* IP literals: "1.2.3.4", "::1", "[::1]", "fe80::1%eth0". Returns 1 when host
 * is one (result in *rc), 0 when it is a name. */
static int resolve_literal(const char *host, int family, nh_addr_list **out, int *rc) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    host++;
    n -= 2;
  }
  if (n >= sizeof buf)
    return 0;
  memcpy(buf, host, n);
  buf[n] = '\0';
  struct sockaddr_in in4 = {.sin_family = AF_INET};
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
  const struct sockaddr *sa;
  socklen_t len;
  if (inet_pton(AF_INET, buf, &in4.sin_addr) == 1) {
    sa = (const struct sockaddr *)&in4;
    len = sizeof in4;
  } else {
    char *zone = strchr(buf, '%');
    if (zone)
      *zone++ = '\0';
    if (inet_pton(AF_INET6, buf, &in6.sin6_addr) != 1)
      return 0;
    if (zone) {
      unsigned idx = if_nametoindex(zone);
      in6.sin6_scope_id = idx ? idx : (unsigned)strtoul(zone, NULL, 10);
    }
    sa = (const struct sockaddr *)&in6;
    len = sizeof in6;
  }
  if (family != AF_UNSPEC && family != sa->sa_family) {
    *rc = NH_ENOHOST; /* no address of the asked family */
    return 1;
  }
  nh_addr_list *l = list_new(1);
  if (!l) {
    *rc = NH_ENOMEM;
    return 1;
  }
  list_add(l, sa, len);
  *out = l;
  *rc = NH_OK;
  return 1;
}

/* "localhost" and "*.localhost" are loopback without asking anyone
 * (RFC 6761 6.3), whatever the hosts file or DNS would say. */
static int is_localhost(const char *host) {
  size_t n = strlen(host);
  if (n && host[n - 1] == '.')
    n--; /* fully qualified */
  if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
    return 1;
  return n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0;
}

static int resolve_localhost(int family, nh_addr_list **out) {
  nh_addr_list *l = list_new(2);
  if (!l)
    return NH_ENOMEM;
  if (family != AF_INET6) {
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    list_add(l, (struct sockaddr *)&in4, sizeof in4);
  }
  if (family != AF_INET) {
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    list_add(l, (struct sockaddr *)&in6, sizeof in6);
  }
  *out = l;
  return NH_OK;
}

typedef struct lookup {
  int epfd;     /* the channel's sockets, level-triggered */
  int sock_err; /* a socket could not be watched */
  int done;
  int status;
  struct ares_addrinfo *res;
} lookup;

static void on_sock_state(void *data, ares_socket_t s, int readable, int writable) {
  lookup *lk = data;
  if (!readable && !writable) {
    epoll_ctl(lk->epfd, EPOLL_CTL_DEL, s, NULL);
    return;
  }
  struct epoll_event ev = {.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u),
                           .data.fd = s};
  if (epoll_ctl(lk->epfd, EPOLL_CTL_MOD, s, &ev) != 0 &&
      (errno != ENOENT || epoll_ctl(lk->epfd, EPOLL_CTL_ADD, s, &ev) != 0))
    lk->sock_err = -errno;
}

static int on_sock_create(ares_socket_t s, int type, void *data) {
  (void)type;
  (void)data;
  fcntl(s, F_SETFD, FD_CLOEXEC); /* c-ares does not ask for it */
  return ARES_SUCCESS;
}

static void on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  (void)timeouts;
  lookup *lk = arg;
  lk->done = 1;
  lk->status = status;
  lk->res = res;
}

static int map_status(int st) {
  switch (st) {
  case ARES_SUCCESS:
    return NH_OK;
  case ARES_ENOTFOUND:
  case ARES_ENODATA:
  case ARES_ENONAME:
  case ARES_EBADNAME:
  case ARES_EBADFAMILY:
    return NH_ENOHOST;
  case ARES_ETIMEOUT:
    return NH_ETIMEDOUT;
  case ARES_ENOMEM:
    return NH_ENOMEM;
  case ARES_ECANCELLED:
  case ARES_EDESTRUCTION:
    return NH_ECANCELED;
  default:
    return NH_EIO; /* refused, server failure, malformed answers... */
  }
}

static int make_channel(const nh_resolver_config *cfg, lookup *lk, ares_channel *ch) {
  struct ares_options o;
  memset(&o, 0, sizeof o);
  int mask = ARES_OPT_SOCK_STATE_CB;
  o.sock_state_cb = on_sock_state;
  o.sock_state_cb_data = lk;
  if (cfg && cfg->try_timeout > 0) {
    mask |= ARES_OPT_TIMEOUTMS;
    o.timeout = (int)((cfg->try_timeout + NH_MSEC - 1) / NH_MSEC);
  }
  if (cfg && cfg->tries > 0) {
    mask |= ARES_OPT_TRIES;
    o.tries = cfg->tries;
  }
  char lookups[] = "b";
  if (cfg && cfg->no_hosts_file) {
    mask |= ARES_OPT_LOOKUPS;
    o.lookups = lookups;
  }
  int st = ares_init_options(ch, &o, mask);
  if (st != ARES_SUCCESS)
    return st == ARES_ENOMEM ? NH_ENOMEM : NH_EIO;
  ares_set_socket_configure_callback(*ch, on_sock_create, NULL);
  if (cfg && cfg->servers && (st = ares_set_servers_ports_csv(*ch, cfg->servers)) != ARES_SUCCESS) {
    ares_destroy(*ch);
    return st == ARES_ENOMEM ? NH_ENOMEM : NH_EINVAL;
  }
  return NH_OK;
}

/* Hands every ready socket to c-ares; with none ready, lets it run its
 * retransmission timers. */
static void process_ready(ares_channel ch, int epfd) {
  struct epoll_event evs[16];
  int n = epoll_wait(epfd, evs, 16, 0);
  if (n <= 0) {
    ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    return;
  }
  for (int i = 0; i < n; i++) {
    uint32_t e = evs[i].events;
    int fd = evs[i].data.fd;
    ares_process_fd(ch, (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
                    (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD);
  }
}

/* Runs the channel until the lookup completes, the deadline passes or the
 * fiber's context ends. */
static int drive(ares_channel ch, lookup *lk, nh_fd *ep, nh_time deadline) {
  while (!lk->done) {
    if (lk->sock_err)
      return lk->sock_err;
    struct timeval tv;
    nh_time wake = deadline;
    if (ares_timeout(ch, NULL, &tv)) {
      nh_time t = nh_now() + (nh_dur)tv.tv_sec * NH_SEC + (nh_dur)tv.tv_usec * NH_USEC;
      if (t < wake)
        wake = t;
    }
    int e = nh_fd_wait(ep, NH_FD_READ, wake);
    if (e == NH_ETIMEDOUT && wake < deadline && nh_now() < deadline &&
        nh_ctx_err(nh_fiber_ctx()) == 0)
      e = NH_OK; /* c-ares' own timer, not ours */
    if (e)
      return e;
    process_ready(ch, lk->epfd);
  }
  return NH_OK;
}

static int to_list(const struct ares_addrinfo *res, int family, nh_addr_list **out) {
  size_t n = 0;
  for (const struct ares_addrinfo_node *a = res ? res->nodes : NULL; a; a = a->ai_next)
    n++;
  nh_addr_list *l = list_new(n);
  if (!l)
    return NH_ENOMEM;
  for (const struct ares_addrinfo_node *a = res ? res->nodes : NULL; a; a = a->ai_next) {
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
        (family != AF_UNSPEC && a->ai_family != family))
      continue;
    socklen_t len =
        a->ai_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (a->ai_addrlen < len)
      continue;
    nh_addr tmp;
    memcpy(&tmp.u, a->ai_addr, len);
    if (a->ai_family == AF_INET)
      tmp.u.in4.sin_port = 0;
    else
      tmp.u.in6.sin6_port = 0;
    list_add(l, &tmp.u.sa, len);
  }
  if (l->count == 0) {
    free(l);
    return NH_ENOHOST;
  }
  *out = l;
  return NH_OK;
}

int nh_resolve_with(const nh_resolver_config *cfg, const char *host, int family, nh_time deadline,
                    nh_addr_list **out) {
  *out = NULL;
  if (!host || !*host || (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
    return NH_EINVAL;
  int rc;
  if (resolve_literal(host, family, out, &rc))
    return rc;
  if (is_localhost(host))
    return resolve_localhost(family, out);
  if ((rc = nh_ctx_err(nh_fiber_ctx())) != 0)
    return rc;
  if (deadline != NH_NO_DEADLINE && nh_now() >= deadline)
    return NH_ETIMEDOUT;
  pthread_once(&ares_once, ares_init_once);
  if (ares_init_status != ARES_SUCCESS)
    return NH_EIO;

  lookup lk = {.epfd = epoll_create1(EPOLL_CLOEXEC)};
  if (lk.epfd < 0)
    return -errno;
  nh_fd *ep;
  if ((rc = nh_fd_open(lk.epfd, &ep)) != 0)
    return rc;
  ares_channel ch;
  if ((rc = make_channel(cfg, &lk, &ch)) != 0) {
    nh_fd_close(ep);
    return rc;
  }
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_ENVHOSTS; /* CARES_HOSTS may name another hosts file */
  ares_getaddrinfo(ch, host, NULL, &hints, on_result, &lk);
  rc = drive(ch, &lk, ep, deadline);
  ares_destroy(ch); /* ends an unfinished query (callback: EDESTRUCTION) */
  nh_fd_close(ep);
  if (rc == NH_OK)
    rc = map_status(lk.status);
  if (rc == NH_OK)
    rc = to_list(lk.res, family, out);
  if (lk.res)
    ares_freeaddrinfo(lk.res);
  return rc;
}

int nh_resolve(const char *host, int family, nh_time deadline, nh_addr_list **out) {
  return nh_resolve_with(NULL, host, family, deadline, out);
}
