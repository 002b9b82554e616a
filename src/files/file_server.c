/* nh_file_server and nh_serve_file: Go's FileServer and ServeFile (its
 * serveFile: redirects, index.html, listings), opening files beneath a root
 * so a request can never reach outside it. A request holds at most one
 * descriptor at a time (the server's extra_fds_per_conn = 1). */
#include "files_internal.h"
#include "util/codec.h"
#include "util/url_internal.h"

#include <nethttp/httpdate.h>
#include <nethttp/sniff.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_server {
  int rootfd;
  char root[PATH_MAX]; /* real path, no trailing '/' (but "/" itself) */
  nh_file_server_options opts;
} file_server;

/* Open name ("/a/b", cleaned): beneath the root for a file server, as a
 * plain path for nh_serve_file. Returns a descriptor or -errno. */
static int open_name(const file_server *fs, const char *name) {
  if (fs)
    return nh__open_beneath(fs->rootfd, fs->root, name + 1);
  int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  return fd >= 0 ? fd : -errno;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

/* Go's path.Base: the last element, trailing slashes ignored. */
static const char *path_base(nh_request *r, const char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  size_t start = n;
  while (start > 0 && p[start - 1] != '/')
    start--;
  if (n == 1 && p[0] == '/')
    return "/";
  char *b = nh_request_alloc(r, n - start + 1);
  if (!b)
    return NULL;
  memcpy(b, p + start, n - start);
  b[n - start] = 0;
  return n == start ? "." : b;
}

/* A path element made safe for a relative Location: percent-encoded but
 * for unreserved characters and sub-delims, so no control character can
 * reach the header and a ':' cannot make the reference absolute. */
static const char *escape_element(nh_request *r, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  char *out = s ? nh_request_alloc(r, strlen(s) * 3 + 1) : NULL;
  if (!out)
    return NULL;
  size_t n = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        strchr("-._~!$&'()*+,;=@", c)) {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    }
  }
  out[n] = 0;
  return out;
}

static char *concat(nh_request *r, const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = nh_request_alloc(r, na + nb + 1);
  if (s) {
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
  }
  return s;
}

/* A regular file, open as fd (closed here): its precompressed sibling when
 * the option is on and the request accepts one, else the file. base names
 * the type. One descriptor at a time: the original is closed while the
 * siblings are tried, and opened again if none will do. */
static void serve_regular(nh_response_writer *w, nh_request *r, const file_server *fs,
                          const char *name, const char *base, int fd, struct stat *st) {
  if (fs && fs->opts.precompressed) {
    nh_header *h = nh_resp_header(w);
    /* The response depends on Accept-Encoding whichever one is sent. */
    if (!nh_header_has_token(h, "Vary", "Accept-Encoding"))
      nh_header_add(h, "Vary", "Accept-Encoding");
    if (nh_header_get(nh_request_header(r), "Accept-Encoding")) {
      /* The type is the original's: named now, while it is open. */
      const char *ctype = nh_file_content_type(base);
      char head[NH_SNIFF_LEN];
      if (!ctype) {
        ssize_t got = st->st_size > 0 ? pread(fd, head, sizeof head, 0) : 0;
        ctype = nh_detect_content_type(head, got > 0 ? (size_t)got : 0);
      }
      close(fd);
      struct stat sst;
      int coding;
      int sfd = nh__open_sibling(fs->rootfd, fs->root, r, name, st->st_mtime, &sst, &coding);
      if (sfd >= 0) {
        if (!nh_header_get(h, "Content-Type"))
          nh_header_set(h, "Content-Type", ctype);
        nh_header_set(h, "Content-Encoding", nh__coding_name((nh__coding)coding));
        nh__serve_coded_file(w, r, sfd, &sst);
        close(sfd);
        return;
      }
      if ((fd = open_name(fs, name)) < 0) {
        nh__file_error_errno(w, -fd);
        return;
      }
      if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) { /* replaced meanwhile */
        close(fd);
        nh_error(w, "404 page not found", 404);
        return;
      }
    }
  }
  nh__serve_open_file(w, r, base, fd, st);
  close(fd);
}

/* Go's serveFile. name is the cleaned file name ("/a/b"); url the request
 * path as the client sees it (decoded), for redirects. */
static void serve_name(nh_response_writer *w, nh_request *r, const file_server *fs,
                       const char *name, const char *url, int redirect) {
  if (ends_with(url, "/index.html")) { /* relative: works under any prefix */
    nh__local_redirect(w, r, "./");
    return;
  }
  int fd = open_name(fs, name);
  if (fd < 0) {
    nh__file_error_errno(w, -fd);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    nh__file_error_errno(w, err);
    return;
  }
  size_t ulen = strlen(url);
  int dir = S_ISDIR(st.st_mode);
  if (redirect || dir) {
    const char *to = NULL;
    if (dir && (ulen == 0 || url[ulen - 1] != '/')) {
      const char *base = escape_element(r, path_base(r, url));
      to = base ? concat(r, base, "/") : NULL;
    } else if (redirect && !dir && ulen && url[ulen - 1] == '/') {
      const char *base = path_base(r, url);
      if (base && (!strcmp(base, "/") || !strcmp(base, "."))) {
        close(fd);
        nh_error(w, "http: attempting to traverse a non-directory", 500);
        return;
      }
      base = escape_element(r, base);
      to = base ? concat(r, "../", base) : NULL;
    } else {
      goto no_redirect;
    }
    close(fd);
    if (to)
      nh__local_redirect(w, r, to);
    else
      nh__file_error_errno(w, ENOMEM);
    return;
  }
no_redirect:
  if (dir) {
    /* index.html, with the directory closed meanwhile: one descriptor at
     * a time, as extra_fds_per_conn = 1 reserves. */
    close(fd);
    char *index = concat(r, !strcmp(name, "/") ? "" : name, "/index.html");
    struct stat ist;
    int ifd = index ? open_name(fs, index) : -ENOMEM;
    if (ifd >= 0 && fstat(ifd, &ist) == 0 && S_ISREG(ist.st_mode)) {
      serve_regular(w, r, fs, index, "index.html", ifd, &ist);
      return;
    }
    if (ifd >= 0)
      close(ifd);
    if (ifd == -EMFILE || ifd == -ENFILE || ifd == -ENOMEM) {
      nh__file_error_errno(w, -ifd);
      return;
    }
    if (fs && fs->opts.no_directory_listing) {
      nh_error(w, "404 page not found", 404);
      return;
    }
    if (nh__not_modified_since(r, st.st_mtime)) {
      nh__write_not_modified(w);
      return;
    }
    if ((fd = open_name(fs, name)) < 0) {
      nh__file_error_errno(w, -fd);
      return;
    }
    if (st.st_mtime != 0) {
      char date[NH_HTTP_DATE_LEN + 1];
      nh_http_date_format((int64_t)st.st_mtime, date);
      nh_header_set(nh_resp_header(w), "Last-Modified", date);
    }
    nh__dir_list(w, r, fd, fs ? fs->opts.allow_dotfiles : 1);
    return;
  }
  if (!S_ISREG(st.st_mode)) { /* FIFOs, devices, sockets: not files to serve */
    close(fd);
    nh_error(w, "404 page not found", 404);
    return;
  }
  const char *slash = strrchr(name, '/');
  serve_regular(w, r, fs, name, slash ? slash + 1 : name, fd, &st);
}

static int has_dot_segment(const char *name) {
  for (const char *p = name; (p = strchr(p, '/')); p++)
    if (p[1] == '.')
      return 1;
  return 0;
}

static void file_server_serve(nh_response_writer *w, nh_request *r) {
  const file_server *fs = nh_request_handler_data(r);
  const char *m = nh_request_method(r);
  if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
    nh_header_set(nh_resp_header(w), "Allow", "GET, HEAD");
    nh_error(w, "405 method not allowed", 405);
    return;
  }
  const char *raw = nh_request_path(r);
  size_t cap = strlen(raw) + 2;
  char *url = nh_request_alloc(r, cap), *name = nh_request_alloc(r, cap);
  if (!url || !name) {
    nh__file_error_errno(w, ENOMEM);
    return;
  }
  if (raw[0] != '/') { /* as Go: the path is made rooted */
    url[0] = '/';
    if (nh__path_unescape(raw, url + 1, cap - 1) != 0)
      goto bad;
  } else if (nh__path_unescape(raw, url, cap) != 0) {
    goto bad;
  }
  if (nh__has_dotdot(url))
    goto bad;
  nh__clean_path(url, name);
  size_t nlen = strlen(name);
  if (nlen > 1 && name[nlen - 1] == '/')
    name[nlen - 1] = 0; /* path.Clean keeps no trailing slash */
  if (!fs->opts.allow_dotfiles && has_dot_segment(name)) {
    nh_error(w, "404 page not found", 404);
    return;
  }
  serve_name(w, r, fs, name, url, 1);
  return;
bad:
  nh_error(w, "400 Bad Request: invalid URL path", 400);
}

nh_handler nh_file_server(const char *root, const nh_file_server_options *opts) {
  file_server *fs = calloc(1, sizeof *fs);
  if (!fs) {
    errno = ENOMEM;
    return NH_HANDLER(NULL, NULL);
  }
  if (opts)
    fs->opts = *opts;
  if (!root || !realpath(root, fs->root) ||
      (fs->rootfd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    int err = root ? errno : EINVAL;
    free(fs);
    errno = err;
    return NH_HANDLER(NULL, NULL);
  }
  nh_file_content_type("warm.html"); /* read the type table now, not on a loop */
  return NH_HANDLER(file_server_serve, fs);
}

void nh_file_server_free(nh_handler h) {
  file_server *fs = h.data;
  if (!fs || h.fn != file_server_serve)
    return;
  close(fs->rootfd);
  free(fs);
}

void nh_serve_file(nh_response_writer *w, nh_request *r, const char *path) {
  const char *url = nh_request_path(r);
  /* Go's precaution: callers often build path from the request's path. */
  char *dec = nh_request_alloc(r, strlen(url) + 1);
  if (!dec || nh__path_unescape(url, dec, strlen(url) + 1) != 0 || nh__has_dotdot(dec)) {
    nh_error(w, "invalid URL path", 400);
    return;
  }
  serve_name(w, r, NULL, path, dec, 0);
}
