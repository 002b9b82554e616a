/* TCP dialing: resolve, then connect, Go's net.Dialer style.
 *
 * On a fiber the attempts race (RFC 8305, simplified): families
 * interleaved, the next attempt starts when the previous one fails or after
 * the fallback delay, the first connection wins and the others are
 * cancelled, their sockets closed. Each attempt is a fiber of the caller's
 * loop, so the winning nh_fd belongs to that loop. On a plain thread the
 * addresses are tried one after another, each with its share of the time
 * left, as Go does without a dual-stack race. */
#include "net_internal.h"
#include "runtime/netpoll_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nethttp/ctx.h"
#include "nethttp/errors.h"
#include "nethttp/runtime.h"
#include "nethttp/sync.h"

#define DEFAULT_KEEP_ALIVE (15 * NH_SEC) /* Go's net.Dialer default */
#define DEFAULT_FALLBACK (300 * NH_MSEC) /* Go's Happy Eyeballs delay */
#define SANE_MIN_ATTEMPT (2 * NH_SEC)    /* Go's partialDeadline floor */

int nh__connect_addr(const nh_addr *a, int port, nh_time deadline, nh_fd **out) {
  nh_addr to = *a;
  if (to.u.sa.sa_family == AF_INET)
    to.u.in4.sin_port = htons((uint16_t)port);
  else
    to.u.in6.sin6_port = htons((uint16_t)port);
  int s = socket(to.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -errno;
  nh_fd *f;
  int e = nh__fd_adopt(s, &f); /* made non-blocking above */
  if (e)
    return e;
  e = nh_fd_connect(f, &to.u.sa, to.len, deadline);
  if (e) {
    nh_fd_close(f);
    return e;
  }
  *out = f;
  return NH_OK;
}

void nh__interleave_families(nh_addr_list *l) {
  if (l->count < 3)
    return; /* nothing to reorder */
  nh_addr *tmp = malloc(l->count * sizeof *tmp);
  if (!tmp)
    return; /* the resolver's order is still a valid order */
  int first = l->addrs[0].u.sa.sa_family;
  size_t n = l->count, pi = 0, si = 0, k = 0;
  /* pi walks the first family, si the other; take one of each in turn. */
  for (int turn = 0; k < n; turn ^= 1) {
    size_t *idx = turn == 0 ? &pi : &si;
    while (*idx < n && (l->addrs[*idx].u.sa.sa_family == first) != (turn == 0))
      (*idx)++;
    if (*idx < n)
      tmp[k++] = l->addrs[(*idx)++];
  }
  memcpy(l->addrs, tmp, n * sizeof *tmp);
  free(tmp);
}

static void set_conn_options(nh_fd *f, nh_dur keep_alive) {
  int fd = nh_fd_get(f), one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (keep_alive == NH_NO_TIMEOUT || keep_alive < 0)
    return;
  int secs = (int)((keep_alive ? keep_alive : DEFAULT_KEEP_ALIVE) / NH_SEC);
  if (secs < 1)
    secs = 1;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof secs);
}

/* ---- plain thread: one address after another ---- */

static nh_time partial_deadline(nh_time deadline, size_t remaining) {
  if (deadline == NH_NO_DEADLINE)
    return deadline;
  nh_time now = nh_now();
  nh_dur left = deadline - now;
  if (left <= 0)
    return deadline;
  nh_dur share = left / (nh_dur)remaining;
  if (share < SANE_MIN_ATTEMPT)
    share = left < SANE_MIN_ATTEMPT ? left : SANE_MIN_ATTEMPT;
  return now + share;
}

static int dial_serial(const nh_addr_list *l, int port, nh_time deadline, nh_fd **out) {
  int first_err = 0;
  for (size_t i = 0; i < l->count; i++) {
    if (deadline != NH_NO_DEADLINE && nh_now() >= deadline)
      return NH_ETIMEDOUT;
    int e = nh__connect_addr(&l->addrs[i], port, partial_deadline(deadline, l->count - i), out);
    if (e == NH_OK)
      return NH_OK;
    if (!first_err)
      first_err = e;
  }
  return first_err;
}

/* ---- fiber: racing attempts ---- */

/* Shared by the dialing fiber and its attempts, all on one loop (so plain
 * counters suffice); freed by whoever leaves last. */
typedef struct race {
  int refs;
  int done;         /* the dialer has its answer: late winners close */
  nh_chan *results; /* finished attempts; capacity = all of them */
  nh_ctx *ctx;      /* cancels every attempt */
  nh_time deadline;
  int port;
} race;

typedef struct attempt {
  race *r;
  nh_addr addr;
  nh_fd *fd;
  int err;
} attempt;

static void race_release(race *r) {
  if (--r->refs > 0)
    return;
  nh_chan_free(r->results);
  nh_ctx_free(r->ctx);
  free(r);
}

static void attempt_run(void *arg) {
  attempt *a = arg;
  race *r = a->r;
  nh_fiber_set_ctx(r->ctx);
  a->err = nh__connect_addr(&a->addr, r->port, r->deadline, &a->fd);
  nh_fiber_set_ctx(NULL);
  if (r->done || nh_chan_try_send(r->results, a) != 0) {
    if (a->err == NH_OK)
      nh_fd_close(a->fd);
    free(a);
  }
  race_release(r);
}

static int start_attempt(race *r, const nh_addr *addr) {
  attempt *a = calloc(1, sizeof *a);
  if (!a)
    return NH_ENOMEM;
  a->r = r;
  a->addr = *addr;
  r->refs++;
  int e = nh_go(attempt_run, a);
  if (e) {
    r->refs--;
    free(a);
  }
  return e;
}

static int dial_race(const nh_addr_list *l, int port, nh_time deadline, nh_dur delay, nh_fd **out) {
  race *r = calloc(1, sizeof *r);
  if (!r)
    return NH_ENOMEM;
  r->refs = 1;
  r->deadline = deadline;
  r->port = port;
  r->results = nh_chan_new(l->count);
  if (!r->results || nh_ctx_with_cancel(nh_fiber_ctx(), &r->ctx) != 0) {
    nh_chan_free(r->results);
    free(r);
    return NH_ENOMEM;
  }
  size_t started = 0, pending = 0;
  int first_err = 0, rc = 0;
  nh_time next_start = nh_now();
  for (;;) {
    if (started < l->count && (pending == 0 || nh_now() >= next_start)) {
      int e = start_attempt(r, &l->addrs[started++]);
      if (e) {
        if (!first_err)
          first_err = e;
      } else {
        pending++;
      }
      next_start = nh_now() + delay;
      continue;
    }
    if (pending == 0) {
      rc = first_err;
      break;
    }
    nh_time wake = started < l->count && next_start < deadline ? next_start : deadline;
    void *v;
    int e = nh_chan_recv(r->results, &v, wake);
    if (e == NH_ETIMEDOUT && wake < deadline && nh_ctx_err(nh_fiber_ctx()) == 0)
      continue; /* time to start the next attempt */
    if (e) {
      rc = e;
      break;
    }
    attempt *a = v;
    pending--;
    if (a->err == NH_OK) {
      *out = a->fd;
      free(a);
      break;
    }
    if (!first_err)
      first_err = a->err;
    free(a);
    next_start = nh_now(); /* a failure starts the next one at once */
  }
  r->done = 1;
  nh_ctx_cancel(r->ctx);
  void *v;
  while (nh_chan_try_recv(r->results, &v) == 0) { /* finished, not yet seen */
    attempt *a = v;
    if (a->err == NH_OK)
      nh_fd_close(a->fd);
    free(a);
  }
  race_release(r);
  return rc;
}

int nh_dial_tcp(const char *host, int port, nh_time deadline, const nh_dial_options *opt,
                nh_fd **out) {
  *out = NULL;
  static const nh_dial_options defaults = {0};
  if (!opt)
    opt = &defaults;
  if (port <= 0 || port > 65535)
    return NH_EINVAL;
  nh_addr_list *l;
  int e = nh_resolve_with(opt->resolver, host, opt->family, deadline, &l);
  if (opt->resolved)
    opt->resolved(opt->resolved_arg, e);
  if (e)
    return e;
  nh__interleave_families(l);
  nh_fd *f = NULL;
  if (l->count == 1 || !nh_in_fiber())
    e = dial_serial(l, port, deadline, &f);
  else
    e = dial_race(l, port, deadline,
                  opt->fallback_delay > 0 ? opt->fallback_delay : DEFAULT_FALLBACK, &f);
  nh_addr_list_free(l);
  if (e)
    return e;
  set_conn_options(f, opt->keep_alive);
  *out = f;
  return NH_OK;
}
