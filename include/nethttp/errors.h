/* nethttp/errors.h — one error type for the whole library.
 *
 * Every function that can fail returns 0 (NH_OK) or a negative NH_E* code.
 * System errors are -errno, as libuv does; nethttp's own conditions live in
 * a range of their own below -4000 so they never collide with errno values.
 * The whole list is one X-macro so nh_strerror() and nh_err_name() can never
 * fall out of step with the enum. */
#ifndef NETHTTP_ERRORS_H
#define NETHTTP_ERRORS_H

#include <errno.h>

#include "nethttp/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define NH_ERRNO_MAP(X)                                                      \
  X(EPERM, -EPERM, "operation not permitted")                                \
  X(ENOENT, -ENOENT, "no such file or directory")                            \
  X(EINTR, -EINTR, "interrupted system call")                                \
  X(EIO, -EIO, "i/o error")                                                  \
  X(EBADF, -EBADF, "bad file descriptor")                                    \
  X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                     \
  X(ENOMEM, -ENOMEM, "out of memory")                                        \
  X(EACCES, -EACCES, "permission denied")                                    \
  X(EBUSY, -EBUSY, "resource busy")                                          \
  X(EEXIST, -EEXIST, "already exists")                                       \
  X(EINVAL, -EINVAL, "invalid argument")                                     \
  X(ENFILE, -ENFILE, "file table overflow")                                  \
  X(EMFILE, -EMFILE, "too many open files")                                  \
  X(ENOSPC, -ENOSPC, "no space left on device")                              \
  X(EPIPE, -EPIPE, "broken pipe")                                            \
  X(ERANGE, -ERANGE, "result too large")                                     \
  X(ENOSYS, -ENOSYS, "function not implemented")                             \
  X(ENOTSUP, -ENOTSUP, "operation not supported")                            \
  X(EADDRINUSE, -EADDRINUSE, "address already in use")                       \
  X(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                  \
  X(ENETUNREACH, -ENETUNREACH, "network is unreachable")                     \
  X(ECONNABORTED, -ECONNABORTED, "connection aborted")                       \
  X(ECONNRESET, -ECONNRESET, "connection reset by peer")                     \
  X(ENOTCONN, -ENOTCONN, "socket is not connected")                          \
  X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                      \
  X(ECONNREFUSED, -ECONNREFUSED, "connection refused")                       \
  X(EHOSTUNREACH, -EHOSTUNREACH, "host is unreachable")                      \
  X(EALREADY, -EALREADY, "operation already in progress")                    \
  X(EINPROGRESS, -EINPROGRESS, "operation in progress")                      \
  X(ECANCELED, -ECANCELED, "operation canceled")                             \
  X(ECLOSED, -4001, "use of closed descriptor or object")                    \
  X(ENOTFIBER, -4002, "call needs a fiber and none is running")              \
  X(EPANIC, -4003, "fiber panicked")                                         \
  X(ESTALL, -4004, "loop stalled")                                           \
  X(EEOF, -4005, "end of stream")                                            \
  X(EFULL, -4006, "queue is full")                                           \
  X(ESHUTDOWN, -4007, "shut down")                                           \
  X(ESERVERCLOSED, -4008, "server closed")                                   \
  X(EBODYTOOLARGE, -4009, "request body too large")                          \
  X(EHIJACKED, -4010, "connection has been hijacked")                        \
  X(EBADREQUEST, -4011, "malformed HTTP request")                            \
  X(ECONFLICT, -4012, "conflicts with an earlier registration")              \
  X(EBADFORM, -4013, "malformed form or query")                              \
  X(ENOFILE, -4014, "no such form file")                                     \
  X(EBADJSON, -4015, "malformed JSON")                                       \
  X(EBADRESPONSE, -4016, "malformed HTTP response")                          \
  X(ETOOMANYREDIRECTS, -4017, "stopped after too many redirects")            \
  X(ENOHOST, -4018, "no such host")                                          \
  X(ETLS, -4040, "TLS protocol error")                                       \
  X(ECERT, -4041, "TLS certificate verification failed")

typedef enum nh_err {
  NH_OK = 0,
#define NH__ERR_ENUM(name, value, msg) NH_##name = (value),
  NH_ERRNO_MAP(NH__ERR_ENUM)
#undef NH__ERR_ENUM
} nh_err;

/* nh_strerror returns a static, human-readable message for an NH_E* code
 * (or for any -errno). Never NULL; thread-safe. */
NH_API const char *nh_strerror(int err);

/* nh_err_name returns the symbolic name ("NH_ETIMEDOUT") of a code, or
 * "NH_E?" for an unknown one. Static storage; thread-safe. */
NH_API const char *nh_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
