/* Client requests: method, URL, header and a body source. A body is bytes,
 * a file, or a reader; it can be replayed (for 307/308 redirects and for a
 * retry on a stale connection) when it is bytes or a file, or a reader that
 * gave a rewind function (Go's GetBody). */
#include "internal.h"
#include "util/dynbuf.h"
#include "util/url_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

nh_client_request *nh_client_request_new(const char *method, const char *url) {
  nh_url *u = NULL;
  if (!method || !*method || !url || nh_url_parse(url, &u) != NH_OK)
    return NULL;
  if ((strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0) || !u->host ||
      !*u->host) {
    nh_url_free(u);
    return NULL;
  }
  nh_client_request *req = malloc(sizeof *req);
  if (req)
    memset(req, 0, offsetof(nh_client_request, header_map)); /* the rest is set up below */
  if (!req || !(req->method = strdup(method))) {
    free(req);
    nh_url_free(u);
    return NULL;
  }
  nh__arena_init(&req->header_arena, req->header_first, sizeof req->header_first);
  nh__header_init(&req->header_map, &req->header_arena);
  req->header = &req->header_map;
  req->url = u;
  req->fd = -1;
  req->length = 0;
  return req;
}

static void body_clear(nh_client_request *req) {
  if (req->borrowed_body) { /* the first request of the chain owns it */
    req->bytes = NULL;
    req->fd = -1;
    req->borrowed_body = 0;
  }
  free(req->bytes);
  req->bytes = NULL;
  req->nbytes = 0;
  if (req->fd >= 0)
    close(req->fd);
  req->fd = -1;
  req->read = NULL;
  req->rewind = NULL;
  req->arg = NULL;
  req->body = BODY_NONE;
  req->length = 0;
  req->body_started = 0;
}

void nh_client_request_free(nh_client_request *req) {
  if (!req)
    return;
  body_clear(req);
  nh_url_free(req->url);
  free(req->url_str);
  free(req->uri_str);
  nh__arena_dispose(&req->header_arena);
  free(req->method);
  free(req);
}

const char *nh__creq_url_string(nh_client_request *req) {
  if (!req->url_str)
    req->url_str = nh_url_string(req->url);
  return req->url_str;
}

const char *nh__creq_request_uri(nh_client_request *req) {
  if (!req->uri_str) {
    nh__dynbuf b;
    nh__dynbuf_init(&b, NH__DYNBUF_NOCAP);
    nh__url_put_request_uri(&b, req->url);
    if (b.err) {
      nh__dynbuf_free(&b);
      return NULL;
    }
    req->uri_str = nh__dynbuf_take(&b, NULL);
  }
  return req->uri_str;
}

nh_header *nh_client_request_header(nh_client_request *req) { return req->header; }
void nh_client_request_set_ctx(nh_client_request *req, nh_ctx *ctx) { req->ctx = ctx; }

int nh_client_request_set_body(nh_client_request *req, const void *data, size_t len) {
  body_clear(req);
  req->bytes = malloc(len ? len : 1);
  if (!req->bytes)
    return NH_ENOMEM;
  if (len)
    memcpy(req->bytes, data, len);
  req->nbytes = len;
  req->length = (int64_t)len;
  req->body = BODY_BYTES;
  return NH_OK;
}

int nh_client_request_set_body_string(nh_client_request *req, const char *s) {
  return nh_client_request_set_body(req, s, strlen(s));
}

int nh_client_request_set_body_file(nh_client_request *req, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return NH_EINVAL;
  }
  body_clear(req);
  req->fd = fd;
  req->length = st.st_size;
  req->body = BODY_FILE;
  return NH_OK;
}

int nh_client_request_set_body_reader(nh_client_request *req, nh_body_read_fn read,
                                      nh_body_rewind_fn rewind, void *arg, int64_t length) {
  if (!read)
    return NH_EINVAL;
  body_clear(req);
  req->read = read;
  req->rewind = rewind;
  req->arg = arg;
  req->length = length < 0 ? -1 : length;
  req->body = BODY_READER;
  return NH_OK;
}

int nh__creq_replayable(const nh_client_request *req) {
  return req->body != BODY_READER || req->rewind || !req->body_started;
}

int nh__creq_rewind(nh_client_request *req) {
  if (!req->body_started)
    return NH_OK;
  if (req->body == BODY_READER) {
    if (!req->rewind)
      return NH_ENOTSUP;
    int e = req->rewind(req->arg);
    if (e)
      return e;
  }
  req->body_started = 0;
  return NH_OK;
}

/* Bytes and files are read by position (*off), so a replay starts over by
 * resetting it; a reader keeps its own position. */
ssize_t nh__creq_body_read(nh_client_request *req, void *buf, size_t cap, off_t *off) {
  req->body_started = 1;
  switch (req->body) {
  case BODY_BYTES: {
    size_t left = req->nbytes - (size_t)*off;
    size_t n = left < cap ? left : cap;
    memcpy(buf, req->bytes + *off, n);
    *off += (off_t)n;
    return (ssize_t)n;
  }
  case BODY_FILE: {
    ssize_t n = pread(req->fd, buf, cap, *off);
    if (n < 0)
      return -errno;
    *off += n;
    return n;
  }
  case BODY_READER:
    return req->read(req->arg, buf, cap);
  default:
    return 0;
  }
}
