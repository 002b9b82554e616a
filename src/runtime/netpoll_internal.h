/* Between the loop and netpoll: event dispatch and deferred frees. */
#ifndef NH_RUNTIME_NETPOLL_INTERNAL_H
#define NH_RUNTIME_NETPOLL_INTERNAL_H

#include <stdint.h>

#include "nethttp/netpoll.h"

struct nh_loop;
/* Called by the loop for each epoll event of a registered nh_fd. */
void nh__netpoll_event(nh_fd *f, uint32_t events);
/* nh_fd_open for a descriptor already non-blocking and close-on-exec
 * (accept4, socket and pooled connections): no fcntl calls. */
int nh__fd_adopt(int fd, nh_fd **out);
/* Writes on f are followed at once by more data (a response head before
 * its sendfile body): send them with MSG_MORE so they share packets. */
void nh__fd_more(nh_fd *f, int more);
/* Frees nh_fd structs closed since the last call. Closing can happen while
 * an epoll batch still holds pointers to them, so the free waits until the
 * batch is done. */
void nh__netpoll_reap(struct nh_loop *l);

#endif
