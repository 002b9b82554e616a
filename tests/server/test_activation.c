/* Sockets passed at start by systemd's protocol (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES), taken by name and all at once, served over real
 * sockets; and two servers on one port with SO_REUSEPORT.
 *
 * The environment is read once per process, so each scenario runs in a
 * child process of its own (forked before any runtime exists), which
 * places its sockets on descriptors 3, 4... as systemd would. */
#include "harness.h"
#include "rawclient.h"

#include <fcntl.h>
#include <nethttp.h>
#include <sys/wait.h>

static void one(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "one"); }
static void two(nh_response_writer *w, nh_request *r) { nh_resp_write_string(w, "two"); }

static nh_server *server(nh_runtime *rt, nh_handler_fn h) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  cfg.handler = h;
  nh_server *srv = nh_server_new(rt, &cfg);
  CHECK(srv);
  return srv;
}

static int tcp_listener(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(listen(fd, 64), 0);
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  return ntohs(sa.sin_port);
}

/* The body a GET on a new connection to port gets ("" when none). */
static void body_of(int port, char *out, size_t cap) {
  raw_resp r = raw_roundtrip(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_EQ(r.status, 200);
  snprintf(out, cap, "%s", r.body ? r.body : "");
  raw_resp_free(&r);
}

/* Moves fd above the low descriptors, then (place) to target, as
 * systemd passes sockets from 3. In the child of a scenario, whatever the
 * test process inherited there (ctest's descriptors) is unused and may go. */
static int lift(int fd) {
  int high = fcntl(fd, F_DUPFD, 64);
  CHECK(high >= 0);
  close(fd);
  return high;
}

static int place(int high, int target) {
  CHECK_EQ(dup2(high, target), target);
  close(high);
  return target;
}

/* Runs fn in a child process; the case fails if the child does. */
static void in_child(void (*fn)(void)) {
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    fn();
    fflush(NULL);
    _exit(0);
  }
  int st = 0;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st));
  CHECK_EQ(WEXITSTATUS(st), 0);
}

static void by_name_and_auto(void) {
  /* web on 3 and 6, admin on 4, a datagram socket on 5. */
  int fds[4];
  for (int i = 0; i < 4; i++) /* all lifted first: none is in another's place */
    fds[i] = lift(i == 2 ? socket(AF_INET, SOCK_DGRAM, 0) : tcp_listener());
  for (int i = 0; i < 4; i++)
    fds[i] = place(fds[i], 3 + i);
  int web1 = fds[0], admin = fds[1], dgram = fds[2], web2 = fds[3];
  CHECK(web1 == 3 && admin == 4 && dgram == 5 && web2 == 6);
  int pweb1 = port_of(web1), padmin = port_of(admin), pweb2 = port_of(web2);
  char pid[32];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  setenv("LISTEN_PID", pid, 1);
  setenv("LISTEN_FDS", "4", 1);
  setenv("LISTEN_FDNAMES", "web:admin:dgram:web", 1);

  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server *s1 = server(rt, one), *s2 = server(rt, two);
  CHECK_EQ(nh_server_listen_activated(s1, "web", NULL), 2);
  /* Read once, then gone, as sd_listen_fds(1) leaves it. */
  CHECK(!getenv("LISTEN_PID"));
  CHECK(!getenv("LISTEN_FDS"));
  CHECK(!getenv("LISTEN_FDNAMES"));
  CHECK_EQ(nh_listen_fds_count(), 4);
  for (int fd = 3; fd <= 6; fd++)
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  CHECK_EQ(nh_server_listen_activated(s1, "missing", NULL), NH_ENOENT);
  CHECK_EQ(nh_server_listen_activated(s1, "web", NULL), NH_ENOENT); /* served already */
  CHECK_EQ(nh_server_listen_activated(s2, "dgram", NULL), NH_EINVAL); /* not listening */
  /* auto: every socket not served yet; the datagram one is refused again. */
  CHECK_EQ(nh_server_listen_activated(s2, "auto", NULL), 1);
  CHECK_EQ(nh_server_start(s1), NH_OK);
  CHECK_EQ(nh_server_start(s2), NH_OK);
  char b[64];
  body_of(pweb1, b, sizeof b);
  CHECK_STR(b, "one");
  body_of(pweb2, b, sizeof b);
  CHECK_STR(b, "one");
  body_of(padmin, b, sizeof b);
  CHECK_STR(b, "two");
  CHECK_EQ(nh_server_shutdown(s1, nh_deadline_after(5 * NH_SEC)), NH_OK);
  CHECK_EQ(nh_server_shutdown(s2, nh_deadline_after(5 * NH_SEC)), NH_OK);
  nh_server_free(s1);
  nh_server_free(s2);
  nh_runtime_free(rt);
  /* The servers closed what they took; the refused socket is left. */
  CHECK(fcntl(web1, F_GETFD) < 0 && fcntl(admin, F_GETFD) < 0 && fcntl(web2, F_GETFD) < 0);
  CHECK(fcntl(dgram, F_GETFD) >= 0);
  close(dgram);
}

NH_TEST(activated_sockets_by_name_and_auto) { in_child(by_name_and_auto); }

static void other_pid(void) {
  int fd = place(lift(tcp_listener()), 3);
  char pid[32];
  snprintf(pid, sizeof pid, "%ld", (long)getppid()); /* meant for another process */
  setenv("LISTEN_PID", pid, 1);
  setenv("LISTEN_FDS", "1", 1);
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server *srv = server(rt, one);
  CHECK_EQ(nh_server_listen_activated(srv, "auto", NULL), NH_ENOENT);
  CHECK_EQ(nh_listen_fds_count(), 0);
  CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS"));
  CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC)); /* not ours: untouched */
  nh_server_free(srv);
  nh_runtime_free(rt);
  close(fd);
}

NH_TEST(sockets_of_another_pid_are_not_taken) { in_child(other_pid); }

static void none_passed(void) {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server *srv = server(rt, one);
  CHECK_EQ(nh_server_listen_activated(srv, "auto", NULL), NH_ENOENT);
  CHECK_EQ(nh_server_listen_activated(srv, "web", NULL), NH_ENOENT);
  CHECK_EQ(nh_server_handover_child(), 0);
  nh_server_free(srv);
  nh_runtime_free(rt);
}

NH_TEST(no_sockets_passed_is_an_error) { in_child(none_passed); }

/* SO_REUSEPORT: a second server binds the port the first one listens on,
 * and the kernel spreads new connections across both; without the option
 * the port is in use. */
NH_TEST(reuseport_lets_two_servers_share_a_port) {
  nh_runtime *rt = nh_runtime_new(NULL);
  nh_server *s1 = server(rt, one), *s2 = server(rt, two), *s3 = server(rt, two);
  nh_listen_options o = {.reuseport = 1};
  CHECK_EQ(nh_server_listen_with(s1, "127.0.0.1:0", &o), NH_OK);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", nh_server_port(s1));
  CHECK_EQ(nh_server_listen_with(s2, addr, &o), NH_OK);
  CHECK_EQ(nh_server_listen(s3, addr), NH_EADDRINUSE);
  CHECK_EQ(nh_server_start(s1), NH_OK);
  CHECK_EQ(nh_server_start(s2), NH_OK);
  int got_one = 0, got_two = 0;
  for (int i = 0; i < 400 && !(got_one && got_two); i++) {
    char b[64];
    body_of(nh_server_port(s1), b, sizeof b);
    got_one |= !strcmp(b, "one");
    got_two |= !strcmp(b, "two");
  }
  CHECK(got_one && got_two);
  CHECK_EQ(nh_server_shutdown(s1, nh_deadline_after(5 * NH_SEC)), NH_OK);
  CHECK_EQ(nh_server_shutdown(s2, nh_deadline_after(5 * NH_SEC)), NH_OK);
  nh_server_free(s1);
  nh_server_free(s2);
  nh_server_free(s3);
  nh_runtime_free(rt);
}

NH_TEST_MAIN()
