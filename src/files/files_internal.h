/* Internal pieces of the file server, each in a file of its own. */
#ifndef NH_FILES_INTERNAL_H
#define NH_FILES_INTERNAL_H

#include <nethttp/fileserver.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* One byte range of a representation: start and length, both in bytes. */
typedef struct nh__byte_range {
  int64_t start, length;
} nh__byte_range;

/* Outcome of nh__parse_range. */
enum {
  NH__RANGE_NONE = 0,     /* no usable Range: send the whole body */
  NH__RANGE_OK = 1,       /* *n ranges in out */
  NH__RANGE_NO_OVERLAP = 2 /* syntactically fine, none satisfiable: 416 */
};

/* nh__parse_range reads a Range header value for a body of size bytes into
 * up to max ranges (Go's parseRange). Malformed values and other units
 * give NH__RANGE_NONE; so do more than max ranges. */
int nh__parse_range(const char *s, int64_t size, nh__byte_range *out, int max, int *n);

/* Precondition outcome (RFC 9110 section 13.2.2, Go's checkPreconditions). */
enum { NH__PRECOND_GO = 0, NH__PRECOND_304 = 304, NH__PRECOND_412 = 412 };

/* nh__check_preconditions evaluates the conditional headers of r against
 * etag (may be NULL) and modtime (0 = unknown). On NH__PRECOND_GO,
 * *use_range says whether a Range header still applies (If-Range). */
int nh__check_preconditions(nh_request *r, const char *etag, time_t modtime, int *use_range);
/* If-Modified-Since alone (directory listings): 1 when not modified. */
int nh__not_modified_since(nh_request *r, time_t modtime);

/* nh__etag_format writes the nginx-style strong ETag of st into out. */
void nh__etag_format(const struct stat *st, char out[48]);

/* Plain-text errors are nh_error's (Go's http.Error, nethttp/server.h). */
/* The status for an errno from opening or reading a file. */
void nh__file_error_errno(nh_response_writer *w, int err);
/* 304 as Go's writeNotModified: drops representation headers. */
void nh__write_not_modified(nh_response_writer *w);
/* A relative redirect (Go's localRedirect), the request's query kept. */
void nh__local_redirect(nh_response_writer *w, nh_request *r, const char *location);

/* Directory listing of the open directory dirfd (consumed). */
void nh__dir_list(nh_response_writer *w, nh_request *r, int dirfd, int show_dotfiles);

/* Serve an open regular file (fd, st) with the ETag set, as the file
 * server and nh_serve_file do after opening. */
void nh__serve_open_file(nh_response_writer *w, nh_request *r, const char *name, int fd,
                         const struct stat *st);

/* Serve an open precompressed sibling (fd, st) as the response's coded
 * representation: Content-Type and Content-Encoding set by the caller, its
 * own ETag, Last-Modified and Content-Length, conditions and ranges
 * evaluated against it. */
void nh__serve_coded_file(nh_response_writer *w, nh_request *r, int fd, const struct stat *st);

/* The precompressed sibling (name + ".br", ".zst" or ".gz") of the
 * regular file name (mtime: the original's) that r accepts best, opened
 * beneath the root: its descriptor with *st and *coding filled in, or -1
 * when none will do (not accepted, absent, not a regular file, outside
 * the root, older than the original). */
int nh__open_sibling(int rootfd, const char *root, nh_request *r, const char *name,
                     time_t mtime, struct stat *st, int *coding);

/* nh__open_beneath opens rel (relative, "" for the root itself) under the
 * root directory rootfd whose real path is root, read-only; never a file
 * outside it. Returns the descriptor or -errno (-ENOENT for an escape). */
int nh__open_beneath(int rootfd, const char *root, const char *rel);

/* Percent-decode a URL path into out (cap bytes). 0, or -1 for a bad
 * escape, NUL byte, encoded slash or a result too long. */
int nh__path_unescape(const char *in, char *out, size_t cap);
/* 1 if a '/'-separated path has a ".." segment. */
int nh__has_dotdot(const char *path);

#endif
