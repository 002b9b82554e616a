/* nethttp/fileserver.h — static files (Go's http.FileServer, ServeFile and
 * ServeContent).
 *
 *   nh_handler files = nh_file_server("/srv/www", NULL);
 *   ... route "/" to files ...
 *   nh_file_server_free(files);
 *
 * Responses follow Go's serveContent: Range requests (one range: 206 with
 * Content-Range; several: multipart/byteranges; none satisfiable: 416 with
 * "Content-Range: bytes * /SIZE" without the space), conditional requests in
 * RFC 9110 order (If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since, then If-Range) answering 304 or 412, Last-Modified,
 * Accept-Ranges: bytes, Content-Type from the extension (/etc/mime.types
 * when present, a built-in table otherwise) or else sniffed from the first
 * 512 bytes. Bodies go out with sendfile(2), ranges and parts too.
 *
 * Where this differs from Go, on purpose:
 *  - A Range header that is not "bytes=..." or is malformed is ignored
 *    (200 with the whole body, as RFC 9110 section 14.2 allows) instead of
 *    416; "bytes=-0" is unsatisfiable (416) instead of an empty 206.
 *  - More than NH_FILE_MAX_RANGES ranges, like ranges that add up to more
 *    than the file (Go's rule), are ignored: 200 with the whole body.
 *  - The file server answers only GET and HEAD (405 with Allow otherwise).
 *  - The file server and nh_serve_file send a strong ETag in nginx's form,
 *    "<mtime hex>-<size hex>", unless the handler set one; it does not
 *    depend on the inode, so replicas of the same tree agree.
 *
 * Safety of nh_file_server (a request can never leave the root):
 *  - The path is percent-decoded; a bad escape, a NUL byte or an encoded
 *    slash (%2F) is refused with 400, and so is any ".." segment, decoded
 *    or not (Go's ServeFile rule; Go's FileServer cleans them away).
 *  - "." segments and repeated slashes are cleaned as Go's path.Clean does,
 *    so "//etc/passwd" names ROOT/etc/passwd.
 *  - Files are opened relative to the root with openat2(RESOLVE_BENEATH |
 *    RESOLVE_NO_MAGICLINKS): symlinks are followed only while they stay
 *    under the root. A symlink the kernel refuses (absolute, or leading
 *    out) is then resolved with realpath and served only if its target lies
 *    under the root; where openat2 is missing (ENOSYS, seccomp), every
 *    file is checked that way. A symlink pointing out answers 404.
 *  - Dotfiles: any segment starting with '.' (".git", ".env") answers 404
 *    and is left out of listings unless allow_dotfiles is set.
 *
 * Errors: 404 for what is missing (or refused as above), 403 when the
 * permission is denied, 503 with Retry-After: 1 when the process or the
 * system is out of descriptors (EMFILE, ENFILE) or memory. */
#ifndef NETHTTP_FILESERVER_H
#define NETHTTP_FILESERVER_H

#include <sys/types.h>
#include <time.h>

#include "nethttp/export.h"
#include "nethttp/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ranges beyond this many in one request make the Range header ignored. */
#define NH_FILE_MAX_RANGES 64

/* Zero is the default for every field; NULL options are all defaults. */
typedef struct nh_file_server_options {
  int no_directory_listing; /* a directory without index.html: 404, not a
                               listing */
  int allow_dotfiles;       /* serve and list names starting with '.' */
  /* Serve a precompressed sibling (nginx's gzip_static): for "x.js", the
   * file "x.js.br", "x.js.zst" or "x.js.gz" that the request's
   * Accept-Encoding accepts best (q-values; a tie goes to br, then zstd,
   * then gzip), with Content-Encoding, the original's Content-Type, and the
   * sibling's own ETag, Last-Modified and Content-Length; conditional
   * requests and Range apply to it. A sibling is skipped when it is not a
   * regular file, lies outside the root (a symlink out), or is older than
   * the original (left behind by an edit). The original must exist: a
   * sibling alone is 404. Every file response then has "Vary:
   * Accept-Encoding". Off by default: each request costs an open per
   * accepted coding, and the siblings must be kept in step with the
   * originals by whoever deploys them. */
  int precompressed;
} nh_file_server_options;

/* nh_file_server returns a handler serving the tree under root (Go's
 * FileServer(Dir(root))): index.html for a directory, else a sorted
 * listing with every name HTML- and URL-escaped; "/dir" redirects to
 * "dir/", ".../index.html" to "./", "/file/" to "../file" (relative
 * Locations with the query kept, as Go; the name percent-encoded, so a
 * control character or a ':' in it cannot change the Location's meaning). root must be an existing
 * directory; it is resolved once. A handler with fn NULL on error (errno
 * set). Free with nh_file_server_free after the server is gone. */
NH_API nh_handler nh_file_server(const char *root, const nh_file_server_options *opts);
NH_API void nh_file_server_free(nh_handler h);

/* nh_serve_file answers with the file or directory at path, trusted as
 * given (Go's ServeFile): not confined to any root, but a request whose
 * path has a ".." segment is refused with 400, and one ending in
 * "/index.html" redirects to "./". */
NH_API void nh_serve_file(nh_response_writer *w, nh_request *r, const char *path);

/* nh_serve_content answers with size bytes of fd from offset 0 (Go's
 * ServeContent): name only picks the Content-Type by its extension;
 * modtime (0 = unknown) gives Last-Modified and the date conditions; an
 * ETag set on the response beforehand takes part in If-Match,
 * If-None-Match and If-Range. fd is only read (pread, sendfile), never
 * closed or moved. */
NH_API void nh_serve_content(nh_response_writer *w, nh_request *r, const char *name,
                             time_t modtime, int fd, off_t size);

/* nh_file_content_type returns the type for a file name's extension
 * ("a.html" -> "text/html; charset=utf-8"), or NULL when unknown. Text
 * types get "; charset=utf-8" as in Go's mime package. Thread-safe. */
NH_API const char *nh_file_content_type(const char *name);

#ifdef __cplusplus
}
#endif
#endif
