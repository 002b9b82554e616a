/* The test server's own checks: its leak report is about that server only
 * (two test servers may run at once), names each leftover by what it is,
 * and a test server never closed is reported when the process exits. */
#include "harness.h"
#include "rawclient.h"

#include <nethttp.h>
#include <nethttp/httptest.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

static void ok(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "ok"); }

/* A keep-alive connection to port that has had one answer and stays open. */
static raw_conn *open_kept(int port) {
  raw_conn *c = calloc(1, sizeof *c);
  c->fd = raw_connect(port);
  raw_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(c, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  return c;
}

static void close_kept(raw_conn *c) {
  close(c->fd);
  free(c);
}

/* "127.0.0.1:PORT" of one end of a socket. */
static void end_of(int fd, int peer, char *buf, size_t cap) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  CHECK_EQ(peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                : getsockname(fd, (struct sockaddr *)&a, &len),
           0);
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  snprintf(buf, cap, "%s:%u", host, ntohs(a.sin_port));
}

/* Closing one of two test servers that run at once, while the other still
 * has open connections (made after the first one's baseline): the first
 * one's check is clean and it returns OK, which also frees its runtime
 * (ASan's leak check at exit would see it otherwise). */
NH_TEST(overlapping_test_servers_check_only_their_own) {
  nh_test_server *a = nh_test_server_new(ok, NULL, 1);
  nh_test_server *b = nh_test_server_new(ok, NULL, 1);
  raw_conn *to_a = open_kept(nh_test_server_port(a));
  raw_conn *to_b1 = open_kept(nh_test_server_port(b));
  raw_conn *to_b2 = open_kept(nh_test_server_port(b));
  close_kept(to_a);

  char *report = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&report, &len);
  CHECK_EQ(nh_test_server_close(a, mem), NH_OK);
  fclose(mem);
  CHECK_STR(report, "");
  free(report);

  /* b still serves its open connections. */
  raw_sends(to_b1->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_resp r;
  CHECK_EQ(raw_read(to_b1, &r, 0), 0);
  CHECK_EQ(r.status, 200);
  raw_resp_free(&r);
  close_kept(to_b1);
  close_kept(to_b2);
  CHECK_EQ(nh_test_server_close(b, NULL), NH_OK);
}

/* A connection the handler took and never closed is reported by its two
 * ends, and only it: the other test server's connection is not. */
static atomic_int kept_fd = -1;
static void keep_socket(nh_response_writer *w, nh_request *r) {
  int fd;
  CHECK_EQ(nh_resp_hijack(w, &fd, NULL, NULL), NH_OK);
  atomic_store(&kept_fd, fd);
}

NH_TEST(leaked_connection_is_named_by_its_ends) {
  nh_test_server *a = nh_test_server_new(keep_socket, NULL, 1);
  nh_test_server *b = nh_test_server_new(ok, NULL, 1);
  raw_conn *to_b = open_kept(nh_test_server_port(b));
  int client = raw_connect(nh_test_server_port(a));
  raw_sends(client, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 5000 && atomic_load(&kept_fd) < 0; i++)
    usleep(1000);
  CHECK(atomic_load(&kept_fd) >= 0);
  /* Close forgets the hijacked socket (shutting it down); the descriptor
   * itself is still open: the leak. */
  nh_server_close(nh_test_server_server(a));

  char server_end[64], client_end[64], want[160], b_end[64];
  end_of(client, 1, server_end, sizeof server_end);
  end_of(client, 0, client_end, sizeof client_end);
  snprintf(want, sizeof want, "leaked socket %s -> %s (descriptor %d)", server_end, client_end,
           atomic_load(&kept_fd));
  end_of(to_b->fd, 0, b_end, sizeof b_end);

  char *report = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&report, &len);
  CHECK_EQ(nh_test_server_close(a, mem), NH_EBUSY);
  fclose(mem);
  fprintf(stderr, "%s", report);
  CHECK_CONTAINS(report, want);
  CHECK(!strstr(report, "socket:["));
  CHECK(!strstr(report, b_end)); /* b's connection is not a's leak */
  CHECK(!strstr(report, "leaked fiber"));
  free(report);

  close(atomic_load(&kept_fd));
  close(client);
  close_kept(to_b);
  CHECK_EQ(nh_test_server_close(b, NULL), NH_OK);
}

/* A test server never closed is named at exit, with the file:line that
 * made it. The process that forgets it is a child, whose stderr is read. */
NH_TEST(never_closed_test_server_is_reported_at_exit) {
  int err[2];
  CHECK_EQ(pipe(err), 0);
  int line = 0;
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    line = __LINE__ + 1;
    nh_test_server *forgotten = nh_test_server_new(ok, NULL, 1);
    if (!forgotten)
      _exit(3);
    fprintf(stderr, "made %s %d\n", nh_test_server_url(forgotten), line);
    exit(0);
  }
  close(err[1]);
  char out[16384];
  size_t n = 0;
  for (;;) {
    struct pollfd p = {err[0], POLLIN, 0};
    CHECK(poll(&p, 1, 20000) == 1);
    ssize_t k = read(err[0], out + n, sizeof out - 1 - n);
    if (k <= 0 || (n += (size_t)k) == sizeof out - 1)
      break;
  }
  out[n] = 0;
  close(err[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  fprintf(stderr, "child said:\n%s", out);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 3);
  /* The child told us its URL and the line it made the server at. */
  const char *made = strstr(out, "made ");
  CHECK(made);
  char url[64], want[320];
  CHECK_EQ(sscanf(made, "made %63s %d", url, &line), 2);
  CHECK(!strncmp(url, "http://127.0.0.1:", 17));
  snprintf(want, sizeof want, "nethttp: test server %s made at %s:%d was never closed", url,
           __FILE__, line);
  CHECK_CONTAINS(out, want);
}

NH_TEST_MAIN()
