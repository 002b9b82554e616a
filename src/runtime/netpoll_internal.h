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

/* An answer is expected on some descriptor within about d (a request was
 * just sent): until then the calling loop, or the plain thread's next
 * poll, checks for readiness without going to sleep. Sleeping in epoll and
 * being woken costs the kernel more than a short spin when the answer
 * comes that soon, and delays it more. d <= 0 does nothing. */
void nh__netpoll_spin(nh_dur d);

/* A loop's epoll instance, counted (netpoll_park.c): made with the loop
 * (sets l->epfd and l->poller), let go of when the loop is disposed. */
int nh__poller_new(struct nh_loop *l);
void nh__poller_detach(struct nh_loop *l);

/* Parking keeps an idle descriptor (a pooled client connection) registered
 * with its loop's epoll, so taking it again on the same loop costs no
 * system call. nh__fd_park returns the nh_fd to keep: f itself, or, when f
 * is registered with a loop other than the caller's, a fresh unregistered
 * one for the same descriptor (NULL if that allocation failed: the
 * descriptor is then closed). nh__fd_unpark makes a parked nh_fd usable by
 * the calling fiber or thread: f itself on f's own loop, else a fresh nh_fd
 * (f is taken out of its old epoll and freed by its loop once that loop's
 * current batch of events, which may still name it, is done), or NULL as
 * above. Both are callable from any thread; unparking an nh_fd that is not
 * parked returns it unchanged. nh_fd_close and nh_fd_release unpark first. */
nh_fd *nh__fd_park(nh_fd *f);
nh_fd *nh__fd_unpark(nh_fd *f);

#endif
