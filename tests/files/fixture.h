/* A temporary tree served by nh_file_server on a test server, for the
 * file server's tests, and one request to it over a raw socket. Needs
 * harness.h (CHECK). */
#ifndef NH_TESTS_FILES_FIXTURE_H
#define NH_TESTS_FILES_FIXTURE_H

#include "server/rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

typedef struct fixture {
  char base[64]; /* holds root/ and what a test puts beside it */
  char root[128];
  nh_handler files;
  nh_test_server *ts;
  int port;
} fixture;

/* Makes f->base from tmpl (ending in XXXXXX) and f->root inside it. */
static inline void fixture_dirs(fixture *f, const char *tmpl) {
  snprintf(f->base, sizeof f->base, "%s", tmpl);
  CHECK(mkdtemp(f->base));
  snprintf(f->root, sizeof f->root, "%s/root", f->base);
  CHECK(mkdir(f->root, 0755) == 0);
}

/* Writes dir/name with n bytes of data, modified at mtime. */
static inline void fixture_put(const char *dir, const char *name, const void *data, size_t n,
                               time_t mtime) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, data, n) == (ssize_t)n);
  close(fd);
  struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
  CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

/* Serves f->root with opts (NULL: defaults) on a new test server. */
static inline void fixture_serve(fixture *f, const nh_file_server_options *opts) {
  f->files = nh_file_server(f->root, opts);
  CHECK(f->files.fn != NULL);
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler_data = f->files.data;
  cfg.extra_fds_per_conn = 1;
  f->ts = nh_test_server_new(f->files.fn, &cfg, 1);
  CHECK(f->ts);
  f->port = nh_test_server_port(f->ts);
}

/* Stops the server and removes the tree. */
static inline void fixture_free(fixture *f) {
  CHECK_EQ(nh_test_server_close(f->ts, NULL), NH_OK);
  nh_file_server_free(f->files);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->base);
  CHECK(system(cmd) == 0);
  free(f);
}

/* One request on a new connection: method, raw path, extra header lines
 * ("K: v\r\n..."). */
static inline raw_resp fixture_req(int port, const char *method, const char *path,
                                   const char *headers) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, path,
           headers ? headers : "");
  return raw_roundtrip(port, buf);
}

#endif
