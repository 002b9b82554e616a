/* hello_mhd: the libmicrohttpd peer of the HTTP benchmark.
 *
 * One internal thread polling with epoll (MHD_USE_INTERNAL_POLLING_THREAD |
 * MHD_USE_EPOLL, no thread per connection), keep-alive on (MHD's default for
 * HTTP/1.1, see handler()), answering every request with the 13 bytes "hello, world\n" as
 * text/plain. The response object is built once and shared (MHD counts
 * references), as a tuned MHD server would do.
 *
 *   hello_mhd --addr 127.0.0.1:18085
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

static struct MHD_Response *hello;

/* MHD calls the handler first when the headers are in, then again once the
 * (here empty) body has been read. A response queued on the first call is an
 * "early" response: MHD then discards the rest of the request and closes the
 * connection (Connection: close). So, as MHD's own examples do, the first
 * call only marks the request and the second one answers. */
static MHD_Result_t handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                            const char *version, const char *upload_data, size_t *upload_data_size,
                            void **con_cls) {
  static int seen;
  (void)cls; (void)url; (void)method; (void)version; (void)upload_data;
  if (*con_cls == NULL) { *con_cls = &seen; return MHD_YES; }
  *upload_data_size = 0; /* a body, if any, is ignored */
  return MHD_queue_response(conn, MHD_HTTP_OK, hello);
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1:18085";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) addr = argv[++i];
    else { fprintf(stderr, "usage: %s [--addr HOST:PORT]\n", argv[0]); return 2; }
  }
  char host[64];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof host) { fprintf(stderr, "bad --addr %s\n", addr); return 2; }
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = 0;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); return 2; }

  /* The idle-memory benchmark holds 10,000 connections: MHD's default
   * connection limit (FD_SETSIZE - 4) would refuse most of them. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  unsigned limit = rl.rlim_cur > 64 ? (unsigned)(rl.rlim_cur - 32) : 16;

  hello = MHD_create_response_from_buffer(13, (void *)"hello, world\n", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(hello, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");

  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handler, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
      MHD_OPTION_CONNECTION_LIMIT, limit,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
      MHD_OPTION_END);
  if (!d) { fprintf(stderr, "MHD_start_daemon failed on %s\n", addr); return 1; }

  /* The daemon's thread does all the work; this one waits to be killed. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sig;
  sigwait(&set, &sig);
  MHD_stop_daemon(d);
  MHD_destroy_response(hello);
  return 0;
}
