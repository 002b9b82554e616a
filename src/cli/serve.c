/* nethttp serve [DIR] — a production file server: GET and HEAD of files
 * under DIR, index.html for directories, JSON access logs, graceful
 * shutdown on SIGINT/SIGTERM.
 *
 * A request can never leave DIR: the path is percent-decoded, ".." segments
 * and NUL bytes are refused, and the file actually opened is checked with
 * realpath to lie under DIR (so symlinks pointing out are refused too). */
#include "flags.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nethttp/httpdate.h>

typedef struct file_server {
  char root[PATH_MAX];
  size_t root_len;
  nh_logger *log;
} file_server;

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decode %XX; refuse bad escapes, NUL and ".." segments. */
static int clean_path(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (const char *p = in; *p; p++) {
    char c = *p;
    if (c == '%') {
      int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
      if (lo < 0)
        return -1;
      c = (char)(hi * 16 + lo);
      p += 2;
    }
    if (c == 0 || n + 1 >= cap)
      return -1;
    out[n++] = c;
  }
  out[n] = 0;
  for (char *seg = out; seg;) {
    char *next = strchr(seg, '/');
    size_t len = next ? (size_t)(next - seg) : strlen(seg);
    if (len == 2 && seg[0] == '.' && seg[1] == '.')
      return -1;
    seg = next ? next + 1 : NULL;
  }
  return 0;
}

static const char *type_by_extension(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"}, {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},               {".gif", "image/gif"},
      {".webp", "image/webp"},               {".ico", "image/vnd.microsoft.icon"},
      {".pdf", "application/pdf"},           {".wasm", "application/wasm"},
      {".xml", "text/xml; charset=utf-8"},   {".mp4", "video/mp4"},
  };
  const char *dot = strrchr(path, '.');
  if (!dot || strchr(dot, '/'))
    return NULL;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (!strcasecmp(dot, types[i].ext))
      return types[i].type;
  return NULL;
}

static void fail(nh_response_writer *w, int status, const char *text) {
  nh_header_set(nh_resp_header(w), "Content-Type", "text/plain; charset=utf-8");
  nh_header_set(nh_resp_header(w), "X-Content-Type-Options", "nosniff");
  nh_resp_write_header(w, status);
  nh_resp_write_string(w, text);
}

/* An error opening a file, as a status: the file's absence is a 404, but
 * a server out of descriptors is a 503 (try again), not "not found". */
static void fail_errno(nh_response_writer *w, int err) {
  if (err == EMFILE || err == ENFILE || err == ENOMEM) {
    nh_header_set(nh_resp_header(w), "Retry-After", "1");
    fail(w, 503, "503 service unavailable: out of resources\n");
  } else if (err == EACCES || err == EPERM) {
    fail(w, 403, "403 forbidden\n");
  } else {
    fail(w, 404, "404 page not found\n");
  }
}

static void serve_file(nh_response_writer *w, nh_request *r) {
  file_server *fs = nh_request_handler_data(r);
  const char *m = nh_request_method(r);
  if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
    nh_header_set(nh_resp_header(w), "Allow", "GET, HEAD");
    fail(w, 405, "405 method not allowed\n");
    return;
  }
  char rel[PATH_MAX], full[PATH_MAX * 2], real[PATH_MAX];
  if (clean_path(nh_request_path(r), rel, sizeof rel) != 0) {
    fail(w, 400, "400 bad request: invalid path\n");
    return;
  }
  snprintf(full, sizeof full, "%s%s", fs->root, rel);
  struct stat st;
  if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
    size_t len = strlen(rel);
    if (len == 0 || rel[len - 1] != '/') { /* as Go: directories end in / */
      char loc[PATH_MAX + 2];
      snprintf(loc, sizeof loc, "%s/", nh_request_path(r));
      nh_header_set(nh_resp_header(w), "Location", loc);
      nh_resp_write_header(w, 301);
      return;
    }
    strncat(full, "index.html", sizeof full - strlen(full) - 1);
  }
  if (!realpath(full, real)) {
    fail_errno(w, errno);
    return;
  }
  if (strncmp(real, fs->root, fs->root_len) != 0 ||
      (real[fs->root_len] != '/' && real[fs->root_len] != 0)) {
    fail(w, 404, "404 page not found\n"); /* outside the root: as if absent */
    return;
  }
  int fd = open(real, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail_errno(w, errno);
    return;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    fail(w, 404, "404 page not found\n");
    return;
  }
  char date[32];
  nh_http_date_format(st.st_mtime, date);
  nh_header *h = nh_resp_header(w);
  nh_header_set(h, "Last-Modified", date);
  const char *type = type_by_extension(real);
  if (type)
    nh_header_set(h, "Content-Type", type);
  nh_resp_sendfile(w, fd, 0, (size_t)st.st_size);
  close(fd);
}

/* Access log around the handler. */
static void logged(nh_response_writer *w, nh_request *r) {
  file_server *fs = nh_request_handler_data(r);
  nh_time t0 = nh_now();
  serve_file(w, r);
  NH_LOG(fs->log, NH_LOG_INFO, "request", NH_LSTR("method", nh_request_method(r)),
         NH_LSTR("path", nh_request_path(r)), NH_LINT("status", nh_resp_status(w)),
         NH_LINT("bytes", nh_resp_written(w)), NH_LDUR("duration", nh_now() - t0),
         NH_LSTR("remote", nh_request_remote_addr(r)));
}

static void serve_usage(FILE *out) {
  fprintf(out, "usage: nethttp serve [DIR] [flags]\n\nServes the files under DIR (default .).\n\n");
  server_flags_usage(out);
}

int cmd_serve(int argc, char **argv) {
  server_flags f;
  server_flags_init(&f, ":8080");
  const char *dir = ".";
  for (int i = 1; i < argc; i++) {
    int r = server_flags_parse(&f, argc, argv, &i);
    if (r < 0)
      return 2;
    if (r > 0)
      continue;
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      serve_usage(stdout);
      return 0;
    }
    if (argv[i][0] == '-') {
      fprintf(stderr, "nethttp serve: unknown flag %s\n", argv[i]);
      serve_usage(stderr);
      return 2;
    }
    dir = argv[i];
  }
  file_server fs;
  if (!realpath(dir, fs.root)) {
    fprintf(stderr, "nethttp serve: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  fs.root_len = strlen(fs.root);
  if (fs.root_len == 1) /* "/" itself: every path is under it */
    fs.root_len = 0;
  fs.log = server_flags_logger(&f);
  nh_log_set_default(fs.log);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = f.threads;
  rc.logger = fs.log;
  nh_runtime *rt = nh_runtime_new(&rc);
  f.cfg.handler = logged;
  f.cfg.extra_fds_per_conn = 1; /* the file being sent */
  f.cfg.handler_data = &fs;
  f.cfg.logger = fs.log;
  nh_server *srv = rt ? nh_server_new(rt, &f.cfg) : NULL;
  if (!srv) {
    fprintf(stderr, "nethttp serve: could not start\n");
    return 1;
  }
  NH_LOG(fs.log, NH_LOG_INFO, "nethttp serve", NH_LSTR("dir", fs.root), NH_LSTR("addr", f.addr));
  int r = nh_server_run(srv, f.addr, f.shutdown_timeout);
  if (r != NH_OK && r != NH_ETIMEDOUT)
    NH_LOG(fs.log, NH_LOG_ERROR, "serve failed", NH_LSTR("addr", f.addr), NH_LSTR("error", nh_strerror(r)));
  nh_server_free(srv);
  nh_runtime_free(rt);
  nh_log_set_default(NULL);
  nh_logger_free(fs.log);
  return r == NH_OK ? 0 : 1;
}
