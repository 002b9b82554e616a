/* nethttp/netpoll.h — descriptors whose blocking calls park the fiber.
 *
 * An nh_fd wraps a non-blocking descriptor. On a fiber, a call that would
 * block registers the descriptor with its loop's epoll (edge-triggered, once)
 * and parks until it is ready, its deadline passes (NH_ETIMEDOUT), the
 * fiber's context ends (NH_ECANCELED) or the nh_fd is closed by another fiber
 * of its loop (NH_ECLOSED). On a plain thread the same calls block that
 * thread in poll(2), so clients work from a CLI's main as well.
 *
 * An nh_fd belongs to the loop of the fiber that opened it; use it only from
 * fibers of that loop (or only from one plain thread). Deadlines are absolute
 * (nh_deadline_after); NH_NO_DEADLINE waits as long as the context allows. */
#ifndef NETHTTP_NETPOLL_H
#define NETHTTP_NETPOLL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "nethttp/export.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_fd nh_fd;

/* nh_fd_open takes ownership of fd, makes it non-blocking and close-on-exec.
 * Returns 0 or NH_ENOMEM / -errno (fd is closed and *out is NULL on
 * failure). */
NH_API int nh_fd_open(int fd, nh_fd **out);

/* nh_fd_close wakes any fiber parked on f with NH_ECLOSED, closes the
 * descriptor and frees f. NULL does nothing. */
NH_API void nh_fd_close(nh_fd *f);

/* nh_fd_release frees f without closing the descriptor, which it returns
 * (still non-blocking). Used to hand a connection to other code (hijack). */
NH_API int nh_fd_release(nh_fd *f);

NH_API int nh_fd_get(const nh_fd *f);

/* Reads up to n bytes: returns the count (0 at end of stream) or an error. */
NH_API ssize_t nh_fd_read(nh_fd *f, void *buf, size_t n, nh_time deadline);

/* Writes all n bytes (or all iov) unless an error comes first; returns the
 * total written or an error (bytes already sent are not undone). */
NH_API ssize_t nh_fd_write(nh_fd *f, const void *buf, size_t n, nh_time deadline);
NH_API ssize_t nh_fd_writev(nh_fd *f, const struct iovec *iov, int iovcnt, nh_time deadline);

/* Sends count bytes of in_fd from *offset (advanced) with sendfile(2). */
NH_API ssize_t nh_fd_sendfile(nh_fd *f, int in_fd, off_t *offset, size_t count, nh_time deadline);

/* Accepts a connection: returns a new non-blocking close-on-exec descriptor
 * (not wrapped) or an error. addr/len may be NULL. */
NH_API int nh_fd_accept(nh_fd *f, struct sockaddr *addr, socklen_t *len, nh_time deadline);

/* Connects a socket descriptor; returns 0 or an error (NH_ECONNREFUSED...). */
NH_API int nh_fd_connect(nh_fd *f, const struct sockaddr *addr, socklen_t len, nh_time deadline);

/* Waits until readable (NH_FD_READ) or writable (NH_FD_WRITE), or either
 * (NH_FD_READ | NH_FD_WRITE: which one is not told, try both). Returns 0
 * or an error. */
#define NH_FD_READ 1
#define NH_FD_WRITE 2
NH_API int nh_fd_wait(nh_fd *f, int what, nh_time deadline);

/* nh_fd_on_readable arranges for cb(f, arg) to run once on f's loop, outside
 * any fiber, when f next becomes readable (or is hung up). The descriptor is
 * edge-triggered: call it after a read returned NH_EAGAIN or after all
 * available input was consumed. This is how idle keep-alive connections wait
 * without holding a fiber. nh_fd_on_readable(f, NULL, NULL) cancels it.
 * Must be called on f's loop; returns 0, NH_ENOTFIBER off a loop, -errno. */
NH_API int nh_fd_on_readable(nh_fd *f, void (*cb)(nh_fd *f, void *arg), void *arg);

/* nh_fd_on_hangup calls cb(f, arg) on f's loop, outside any fiber, when the
 * peer closes or resets the connection (EPOLLRDHUP/HUP/ERR), until cleared
 * with NULL. The server uses it to cancel a request whose client left while
 * its handler runs. Same rules as nh_fd_on_readable. */
NH_API int nh_fd_on_hangup(nh_fd *f, void (*cb)(nh_fd *f, void *arg), void *arg);

/* nh_fd_read_pending tells whether input may have arrived since the last
 * read attempt (a readiness edge came while nobody waited for it), or the
 * peer has shut down its side (a read returns its remaining bytes, then 0,
 * without a new edge). With a
 * short last read and no pending edge, a read would return NH_EAGAIN: the
 * server skips that system call before letting a connection go idle. */
NH_API int nh_fd_read_pending(const nh_fd *f);

/* Non-parking single attempts: NH_EAGAIN when not ready. nh_fd_try_write
 * may write fewer than n bytes (the count is returned); it never raises
 * SIGPIPE (NH_EPIPE instead). */
NH_API ssize_t nh_fd_try_read(nh_fd *f, void *buf, size_t n);
NH_API ssize_t nh_fd_try_write(nh_fd *f, const void *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
