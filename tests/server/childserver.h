/* A nethttp server in a child process, so a test can squeeze it (a low
 * descriptor limit) while the test itself floods it from a process with
 * room to spare. The child is killed by pid at the end. */
#ifndef NH_TESTS_CHILDSERVER_H
#define NH_TESTS_CHILDSERVER_H

#include <nethttp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct child_server {
  pid_t pid;
  int port;
  int stats_fd; /* the child writes its stats here when it gets SIGTERM */
} child_server;

static volatile sig_atomic_t child_stop;
static void child_on_term(int sig) { child_stop = 1; }

/* Starts handler in a child limited to fd_limit descriptors. */
static inline child_server child_server_start(nh_handler_fn handler, nh_server_config cfg,
                                              rlim_t fd_limit) {
  child_server cs = {0, 0, -1};
  int ports[2], stats[2];
  if (pipe(ports) || pipe(stats))
    return cs;
  pid_t pid = fork();
  if (pid == 0) {
    close(ports[0]);
    close(stats[0]);
    struct rlimit rl = {fd_limit, fd_limit};
    setrlimit(RLIMIT_NOFILE, &rl);
    signal(SIGTERM, child_on_term);
    nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
    rc.loops = 1;
    nh_runtime *rt = nh_runtime_new(&rc);
    cfg.handler = handler;
    cfg.logger = nh_logger_text_new(stderr, NH_LOG_WARN);
    nh_server *srv = nh_server_new(rt, &cfg);
    if (!srv || nh_server_listen(srv, "127.0.0.1:0") || nh_server_start(srv))
      _exit(3);
    int port = nh_server_port(srv);
    if (write(ports[1], &port, sizeof port) != sizeof port)
      _exit(4);
    while (!child_stop)
      pause();
    nh_server_stats st;
    nh_server_stats_get(srv, &st);
    if (write(stats[1], &st, sizeof st) != sizeof st)
      _exit(5);
    _exit(0); /* no cleanup: the point was what happened while it ran */
  }
  close(ports[1]);
  close(stats[1]);
  cs.pid = pid;
  if (read(ports[0], &cs.port, sizeof cs.port) != sizeof cs.port)
    cs.port = 0;
  close(ports[0]);
  cs.stats_fd = stats[0];
  return cs;
}

static inline nh_server_stats child_server_stop(child_server *cs) {
  nh_server_stats st = {0};
  kill(cs->pid, SIGTERM);
  if (read(cs->stats_fd, &st, sizeof st) != sizeof st)
    memset(&st, 0, sizeof st);
  close(cs->stats_fd);
  int status;
  waitpid(cs->pid, &status, 0);
  return st;
}

#endif
