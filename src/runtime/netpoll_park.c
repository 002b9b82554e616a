/* Parked descriptors: idle connections that stay registered with their
 * loop's epoll while they wait in a pool.
 *
 * Releasing a pooled connection from epoll when it goes idle and adding it
 * back when it is used again costs two epoll_ctl calls per request, a large
 * share of a keep-alive client's CPU. A parked nh_fd keeps its registration
 * instead, and the fiber of the same loop that takes it next uses it as it
 * is. Any other taker (a fiber of another loop, a plain thread, the
 * transport's cleanup after the runtime is gone) takes the descriptor out of
 * the old epoll and gets a fresh nh_fd: the old struct can still be named by
 * the batch of events its loop is dispatching, so that loop frees it after
 * the batch (the graves), or the taker frees it when the loop no longer
 * exists. The poller is counted so its epoll descriptor stays valid for
 * that removal even after its loop was disposed. */
#include "internal.h"
#include "netpoll_fd.h"
#include "netpoll_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

int nh__poller_new(nh_loop *l) {
  nh__poller *p = calloc(1, sizeof *p);
  if (!p)
    return NH_ENOMEM;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) {
    int e = -errno;
    free(p);
    return e;
  }
  atomic_init(&p->refs, 1); /* the loop's */
  pthread_mutex_init(&p->mu, NULL);
  p->loop = l;
  l->poller = p;
  l->epfd = p->epfd;
  return NH_OK;
}

static void poller_unref(nh__poller *p) {
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
    return;
  close(p->epfd); /* the last parked descriptor has left it */
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static void free_graves(nh_fd *g) {
  while (g) {
    nh_fd *next = g->reap_next;
    free(g);
    g = next;
  }
}

static nh_fd *take_graves(nh__poller *p) {
  pthread_mutex_lock(&p->mu);
  nh_fd *g = p->graves;
  p->graves = NULL;
  atomic_store_explicit(&p->has_graves, 0, memory_order_relaxed);
  pthread_mutex_unlock(&p->mu);
  return g;
}

void nh__poller_reap(nh_loop *l) {
  if (atomic_load_explicit(&l->poller->has_graves, memory_order_acquire))
    free_graves(take_graves(l->poller));
}

void nh__poller_detach(nh_loop *l) {
  nh__poller *p = l->poller;
  pthread_mutex_lock(&p->mu);
  p->loop = NULL; /* from now on, takers free what they leave */
  pthread_mutex_unlock(&p->mu);
  free_graves(take_graves(p));
  l->poller = NULL;
  l->epfd = -1;
  poller_unref(p);
}

nh_fd *nh__fd_park(nh_fd *f) {
  if (!f->registered || f->parked_on)
    return f; /* never registered: anyone can take it as it is */
  nh_loop *l = nh__loop_current();
  if (l == f->loop) {
    f->parked_on = l->poller;
    atomic_fetch_add_explicit(&l->poller->refs, 1, memory_order_relaxed);
    return f;
  }
  /* Idle now but not on its own loop: leave that loop's epoll at once. */
  int fd = nh_fd_release(f);
  nh_fd *fresh;
  return fd >= 0 && nh__fd_adopt(fd, &fresh) == NH_OK ? fresh : NULL;
}

nh_fd *nh__fd_unpark(nh_fd *f) {
  nh__poller *p = f->parked_on;
  if (!p)
    return f;
  nh_loop *l = nh__loop_current();
  if (l && l->poller == p) { /* its own loop: use it as it is */
    f->parked_on = NULL;
    poller_unref(p); /* never the last reference: the loop holds one */
    return f;
  }
  int fd = f->fd;
  epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
  pthread_mutex_lock(&p->mu);
  int loop_alive = p->loop != NULL;
  if (loop_alive) { /* its loop frees it after the current batch */
    f->reap_next = p->graves;
    p->graves = f;
    atomic_store_explicit(&p->has_graves, 1, memory_order_release);
  }
  pthread_mutex_unlock(&p->mu);
  if (!loop_alive)
    free(f);
  poller_unref(p);
  nh_fd *fresh;
  return nh__fd_adopt(fd, &fresh) == NH_OK ? fresh : NULL;
}
