/* Netpoll: descriptors whose blocking calls park the calling fiber.
 *
 * Every call first tries the system call. Only when it returns EAGAIN does
 * the fiber park, as the descriptor's reader or writer, until the loop's
 * epoll reports it ready, a deadline or the fiber's context ends, or another
 * fiber closes it. Descriptors are registered once, edge-triggered for both
 * directions, on first need; a descriptor that never blocks never touches
 * epoll. Off-fiber the same calls wait in poll(2). */
#include "internal.h"
#include "netpoll_internal.h"
#include "netpoll_fd.h"
#include "sanitizer.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The read and send of every request go through syscall(2): glibc's read
 * and send are thread-cancellation points and pay two atomic operations on
 * the thread per call for it, and nethttp never cancels a thread. Sanitizer
 * builds keep the libc calls, which the sanitizers intercept to check the
 * buffers and to see the synchronisation. */
#if defined(NH_ASAN) || defined(NH_TSAN)
#define sys_read read
#define sys_send send
#else
static inline ssize_t sys_read(int fd, void *buf, size_t n) {
  return syscall(SYS_read, fd, buf, n);
}
static inline ssize_t sys_send(int fd, const void *buf, size_t n, int flags) {
  return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}
#endif

/* Marks a waiter whose descriptor was closed under it (in w->granted). */
#define CLOSED_UNDER_WAITER (-1)

/* Closed nh_fd structs waiting for the end of the epoll batch, per thread
 * (each loop reaps its own; plain threads free at once). */
static __thread nh_fd *reap_list;

int nh_fd_open(int fd, nh_fd **out) {
  /* Set on failure too: a caller's pointer is never left unset (the
   * compiler cannot tell that -errno is never 0, and says so). */
  *out = NULL;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return nh__fd_adopt(fd, out);
}

int nh__fd_adopt(int fd, nh_fd **out) {
  nh_fd *f = calloc(1, sizeof *f);
  if (!f) {
    close(fd);
    return NH_ENOMEM;
  }
  f->fd = fd;
  *out = f;
  return NH_OK;
}

int nh_fd_get(const nh_fd *f) { return f->fd; }

static int fd_register(nh_fd *f, nh_loop *l) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = f};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, f->fd, &ev) != 0)
    return -errno;
  f->registered = 1;
  f->loop = l;
  return NH_OK;
}

/* Closing: wake parked fibers with NH_ECLOSED (telling them, through their
 * own waiter, not to touch f again), detach from epoll, free later. */
static void fd_retire(nh_fd *f) {
  nh__waiter *ws[2] = {f->rd, f->wr};
  f->rd = f->wr = NULL;
  f->on_readable = NULL;
  f->on_hangup = NULL;
  f->closed = 1;
  for (int i = 0; i < 2; i++)
    if (ws[i]) {
      ws[i]->granted = CLOSED_UNDER_WAITER;
      nh__waiter_wake(ws[i], NH_ECLOSED);
    }
  if (f->registered && nh__loop_current() == f->loop) {
    f->reap_next = reap_list;
    reap_list = f;
  } else {
    free(f);
  }
}

void nh_fd_close(nh_fd *f) {
  if (!f || !(f = nh__fd_unpark(f)))
    return;
  /* close alone drops the registration only if no other descriptor names
   * the same socket, and a child between fork and exec (a process the
   * program spawns) holds copies of them all: the epoll would go on
   * reporting events for a record freed after this batch. (Off its loop,
   * which may be gone, the record is freed at once anyway.) */
  if (f->registered && nh__loop_current() == f->loop)
    epoll_ctl(f->loop->epfd, EPOLL_CTL_DEL, f->fd, NULL);
  close(f->fd);
  f->fd = -1;
  fd_retire(f);
}

int nh_fd_release(nh_fd *f) {
  if (!(f = nh__fd_unpark(f)))
    return NH_ENOMEM;
  int fd = f->fd;
  if (f->registered)
    epoll_ctl(f->loop->epfd, EPOLL_CTL_DEL, fd, NULL);
  f->fd = -1;
  fd_retire(f);
  return fd;
}

void nh__netpoll_reap(nh_loop *l) {
  nh__poller_reap(l);
  while (reap_list) {
    nh_fd *f = reap_list;
    reap_list = f->reap_next;
    free(f);
  }
}

void nh__netpoll_event(nh_fd *f, uint32_t ev) {
  if (f->closed)
    return;
  if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && f->wr) {
    nh__waiter *w = f->wr;
    f->wr = NULL;
    nh__waiter_wake(w, NH_OK);
  }
  if ((ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && f->on_hangup) {
    f->on_hangup(f, f->on_hangup_arg); /* may not close f */
    if (f->closed)
      return;
  }
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
    f->rd_edge = 1; /* edge-triggered: remember it for whoever reads next */
    /* A FIN that came with the last bytes gives no edge after the read that
     * takes them, though that read was short: remember it for good. */
    if (ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
      f->rd_hup = 1;
    if (f->rd) {
      nh__waiter *w = f->rd;
      f->rd = NULL;
      nh__waiter_wake(w, NH_OK);
    }
    if (f->on_readable) {
      void (*cb)(nh_fd *, void *) = f->on_readable;
      f->on_readable = NULL;
      cb(f, f->on_readable_arg); /* may close f: nothing after this */
    }
  }
}

/* Plain threads: spin until then in poll_wait (nh__netpoll_spin). */
static __thread nh_time thread_spin_until;

void nh__netpoll_spin(nh_dur d) {
  if (d <= 0)
    return;
  nh_loop *l = nh__loop_current();
  nh_time until = nh_now() + d; /* not the loop's clock: the request's send took time */
  if (!l)
    thread_spin_until = until;
  else if (until > l->spin_until)
    l->spin_until = until;
}

/* Readable on a plain thread: noted as an epoll edge would be, so a
 * reader that skips its read when no edge came since its last one (TLS
 * streams: nh_tls_read_pending) reads now. */
static int poll_ready(nh_fd *f, const struct pollfd *p) {
  if (p->revents & (POLLIN | POLLHUP | POLLERR))
    f->rd_edge = 1;
  return NH_OK;
}

static int poll_wait(nh_fd *f, int what, nh_time deadline) {
  struct pollfd p = {.fd = f->fd,
                     .events = (short)((what & NH_FD_READ ? POLLIN : 0) | (what & NH_FD_WRITE ? POLLOUT : 0))};
  nh_time spin_until = thread_spin_until < deadline ? thread_spin_until : deadline;
  thread_spin_until = 0; /* one spin per nh__netpoll_spin */
  while (nh_now() < spin_until)
    if (poll(&p, 1, 0) > 0)
      return poll_ready(f, &p);
  for (;;) {
    int ms = -1;
    if (deadline != NH_NO_DEADLINE) {
      nh_dur d = deadline - nh_now();
      if (d <= 0)
        return NH_ETIMEDOUT;
      ms = (int)((d + NH_MSEC - 1) / NH_MSEC);
    }
    int n = poll(&p, 1, ms);
    if (n > 0)
      return poll_ready(f, &p);
    if (n < 0 && errno != EINTR)
      return -errno;
  }
}

int nh_fd_wait(nh_fd *f, int what, nh_time deadline) {
  if (f->closed)
    return NH_ECLOSED;
  nh_fiber *cur = nh__fiber_current();
  if (!cur)
    return poll_wait(f, what, deadline);
  if (!f->registered) {
    int e = fd_register(f, cur->loop);
    if (e)
      return e;
  } else if (f->loop != cur->loop) {
    return NH_EINVAL; /* descriptors do not migrate between loops */
  }
  /* Waiting for either direction puts one waiter in both slots: the first
   * event wakes it, and a second wake of the same park counts for nothing. */
  int rd = (what & NH_FD_READ) != 0, wr = (what & NH_FD_WRITE) != 0;
  if ((rd && f->rd) || (wr && f->wr))
    return NH_EBUSY; /* two fibers reading (or writing) one descriptor */
  nh__waiter w;
  nh__waiter_init(&w);
  if (rd)
    f->rd = &w;
  if (wr)
    f->wr = &w;
  int r = nh__waiter_park(&w, rd && wr ? "IO wait: read or write" : rd ? "IO wait: read" : "IO wait: write",
                          deadline, NULL);
  if (w.granted == CLOSED_UNDER_WAITER)
    return NH_ECLOSED; /* f is gone */
  if (f->rd == &w)
    f->rd = NULL;
  if (f->wr == &w)
    f->wr = NULL;
  return r;
}

static int attach_here(nh_fd *f);

int nh_fd_on_readable(nh_fd *f, void (*cb)(nh_fd *f, void *arg), void *arg) {
  int e = attach_here(f);
  if (e)
    return e;
  f->on_readable = cb;
  f->on_readable_arg = arg;
  return NH_OK;
}

/* Registers f with the calling thread's loop if needed. */
static int attach_here(nh_fd *f) {
  nh_loop *l = nh__loop_current();
  if (!l)
    return NH_ENOTFIBER;
  if (!f->registered)
    return fd_register(f, l);
  return f->loop == l ? NH_OK : NH_EINVAL;
}

int nh_fd_on_hangup(nh_fd *f, void (*cb)(nh_fd *f, void *arg), void *arg) {
  int e = attach_here(f);
  if (e)
    return e;
  f->on_hangup = cb;
  f->on_hangup_arg = arg;
  return NH_OK;
}

int nh_fd_read_pending(const nh_fd *f) { return f->rd_edge || f->rd_hup; }

ssize_t nh_fd_try_read(nh_fd *f, void *buf, size_t n) {
  f->rd_edge = 0; /* anything arriving from now on is a new edge */
  for (;;) {
    ssize_t r = sys_read(f->fd, buf, n);
    if (r >= 0)
      return r;
    if (errno != EINTR)
      return errno == EWOULDBLOCK ? NH_EAGAIN : -errno;
  }
}

ssize_t nh_fd_try_write(nh_fd *f, const void *buf, size_t n) {
  for (;;) {
    ssize_t w = f->not_socket ? write(f->fd, buf, n) : sys_send(f->fd, buf, n, MSG_NOSIGNAL);
    if (w >= 0)
      return w;
    if (errno == ENOTSOCK && !f->not_socket) {
      f->not_socket = 1;
      continue;
    }
    if (errno != EINTR)
      return errno == EWOULDBLOCK ? NH_EAGAIN : -errno;
  }
}

/* The blocking calls stay whole functions even under link-time
 * optimisation, so a fiber dump of a release build names the call a fiber
 * waits in (nh_fd_read, nh_fd_write), as it does in a debug build. */
#ifdef __clang__
#define NAMED_IN_DUMPS __attribute__((noinline))
#else
#define NAMED_IN_DUMPS __attribute__((noipa))
#endif

NAMED_IN_DUMPS ssize_t nh_fd_read(nh_fd *f, void *buf, size_t n, nh_time deadline) {
  for (;;) {
    if (f->closed)
      return NH_ECLOSED;
    ssize_t r = nh_fd_try_read(f, buf, n);
    if (r != NH_EAGAIN)
      return r;
    int e = nh_fd_wait(f, NH_FD_READ, deadline);
    if (e)
      return e;
  }
}

void nh__fd_more(nh_fd *f, int more) { f->more = more; }

ssize_t nh_fd_writev(nh_fd *f, const struct iovec *iov_in, int iovcnt, nh_time deadline) {
  struct iovec local[64];
  struct iovec *iov = local;
  if (iovcnt > 64) {
    iov = malloc((size_t)iovcnt * sizeof *iov);
    if (!iov)
      return NH_ENOMEM;
  }
  memcpy(iov, iov_in, (size_t)iovcnt * sizeof *iov);
  ssize_t total = 0;
  int i = 0;
  ssize_t result = 0;
  while (i < iovcnt) {
    if (f->closed) {
      result = NH_ECLOSED;
      break;
    }
    int cnt = iovcnt - i > IOV_MAX ? IOV_MAX : iovcnt - i;
    ssize_t w;
    if (!f->not_socket) { /* send(msg): MSG_NOSIGNAL, no SIGPIPE */
      int flags = MSG_NOSIGNAL | (f->more ? MSG_MORE : 0);
      if (cnt == 1) { /* one buffer: send spares the kernel a message header */
        w = sys_send(f->fd, iov[i].iov_base, iov[i].iov_len, flags);
      } else {
        struct msghdr mh = {.msg_iov = iov + i, .msg_iovlen = (size_t)cnt};
        w = sendmsg(f->fd, &mh, flags);
      }
      if (w < 0 && errno == ENOTSOCK) {
        f->not_socket = 1;
        continue;
      }
    } else {
      w = writev(f->fd, iov + i, cnt);
    }
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN) {
        result = -errno;
        break;
      }
      int e = nh_fd_wait(f, NH_FD_WRITE, deadline);
      if (e) {
        result = e;
        break;
      }
      continue;
    }
    total += w;
    while (i < iovcnt && (size_t)w >= iov[i].iov_len) {
      w -= (ssize_t)iov[i].iov_len;
      i++;
    }
    if (i < iovcnt) {
      iov[i].iov_base = (char *)iov[i].iov_base + w;
      iov[i].iov_len -= (size_t)w;
    }
  }
  if (iov != local)
    free(iov);
  return result < 0 ? result : total;
}

NAMED_IN_DUMPS ssize_t nh_fd_write(nh_fd *f, const void *buf, size_t n, nh_time deadline) {
  struct iovec iov = {(void *)buf, n};
  return nh_fd_writev(f, &iov, 1, deadline);
}

ssize_t nh_fd_sendfile(nh_fd *f, int in_fd, off_t *offset, size_t count, nh_time deadline) {
  size_t done = 0;
  while (done < count) {
    if (f->closed)
      return NH_ECLOSED;
    ssize_t w = sendfile(f->fd, in_fd, offset, count - done);
    if (w > 0) {
      done += (size_t)w;
      continue;
    }
    if (w == 0)
      break; /* the file is shorter than asked */
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    int e = nh_fd_wait(f, NH_FD_WRITE, deadline);
    if (e)
      return e;
  }
  return (ssize_t)done;
}

int nh_fd_accept(nh_fd *f, struct sockaddr *addr, socklen_t *len, nh_time deadline) {
  for (;;) {
    if (f->closed)
      return NH_ECLOSED;
    int c = accept4(f->fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0)
      return c;
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (errno != EAGAIN)
      return -errno;
    int e = nh_fd_wait(f, NH_FD_READ, deadline);
    if (e)
      return e;
  }
}

int nh_fd_connect(nh_fd *f, const struct sockaddr *addr, socklen_t len, nh_time deadline) {
  int r;
  do
    r = connect(f->fd, addr, len);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return NH_OK;
  if (errno != EINPROGRESS)
    return -errno;
  int e = nh_fd_wait(f, NH_FD_WRITE, deadline);
  if (e)
    return e;
  int err = 0;
  socklen_t elen = sizeof err;
  if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
    return -errno;
  return err ? -err : NH_OK;
}
