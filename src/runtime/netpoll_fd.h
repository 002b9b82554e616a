/* The insides of an nh_fd and of a loop's poller, shared by netpoll.c (I/O
 * and events) and netpoll_park.c (idle descriptors kept registered). */
#ifndef NH_RUNTIME_NETPOLL_FD_H
#define NH_RUNTIME_NETPOLL_FD_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"
#include "netpoll_internal.h"

/* A loop's epoll instance, counted: the loop holds one reference and every
 * parked descriptor one more, so the epoll descriptor outlives the loop
 * while descriptors registered with it sit in a pool. */
typedef struct nh__poller {
  atomic_int refs;
  int epfd;
  pthread_mutex_t mu; /* guards loop and graves */
  nh_loop *loop;      /* NULL once the loop is gone */
  nh_fd *graves;      /* parked nh_fd structs left by other threads */
  atomic_int has_graves;
} nh__poller;

struct nh_fd {
  int fd;
  int registered;
  int closed;
  int not_socket; /* a pipe or file: writev, not sendmsg */
  int rd_edge;    /* readable edge seen since the last read attempt */
  int rd_hup;     /* the peer shut its side down: input ends (sticky) */
  int more;       /* the next write is followed at once by more (MSG_MORE) */
  nh_loop *loop;   /* set on first registration */
  nh__poller *parked_on; /* idle in a pool, still registered (holds a ref) */
  nh__waiter *rd;  /* parked reader, if any */
  nh__waiter *wr;  /* parked writer, if any */
  void (*on_readable)(nh_fd *f, void *arg);
  void *on_readable_arg;
  void (*on_hangup)(nh_fd *f, void *arg);
  void *on_hangup_arg;
  nh_fd *reap_next;
};

/* Frees the nh_fd structs other threads left with the poller of l. */
void nh__poller_reap(nh_loop *l);

#endif
