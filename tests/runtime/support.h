/* Helpers shared by the runtime tests: a logger that keeps what it was
 * given, and a way to run a fiber and learn when it is done. */
#ifndef NH_TESTS_RUNTIME_SUPPORT_H
#define NH_TESTS_RUNTIME_SUPPORT_H

#include <nethttp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct capture_log {
  nh_logger base;
  pthread_mutex_t mu;
  char *text;
  size_t len;
} capture_log;

static void capture_write(nh_logger *lg, const nh_log_record *rec) {
  capture_log *c = (capture_log *)lg;
  char line[4096];
  size_t n = nh_log_format_text(rec, line, sizeof line);
  pthread_mutex_lock(&c->mu);
  char *grown = realloc(c->text, c->len + n + 1);
  if (grown) {
    memcpy(grown + c->len, line, n + 1);
    c->text = grown;
    c->len += n;
  }
  pthread_mutex_unlock(&c->mu);
}

static inline capture_log *capture_log_new(nh_log_level min) {
  capture_log *c = calloc(1, sizeof *c);
  c->base.write = capture_write;
  c->base.min_level = min;
  pthread_mutex_init(&c->mu, NULL);
  return c;
}

/* A copy of everything logged so far (free it). */
static inline char *capture_log_text(capture_log *c) {
  pthread_mutex_lock(&c->mu);
  char *s = strdup(c->text ? c->text : "");
  pthread_mutex_unlock(&c->mu);
  return s;
}

static inline void capture_log_free(capture_log *c) {
  pthread_mutex_destroy(&c->mu);
  free(c->text);
  free(c);
}

typedef struct run_on_args {
  nh_fiber_fn fn;
  void *arg;
  nh_wg *done;
} run_on_args;

static void run_on_entry(void *p) {
  run_on_args *a = p;
  a->fn(a->arg);
  nh_wg_done(a->done);
  free(a);
}

/* Start fn(arg) on loop `loop` of rt; done (already nh_wg_add'ed) is
 * released after it. */
static inline void run_on_loop(nh_runtime *rt, int loop, nh_fiber_fn fn, void *arg, nh_wg *done) {
  run_on_args *a = malloc(sizeof *a);
  a->fn = fn;
  a->arg = arg;
  a->done = done;
  nh_runtime_go(rt, loop, run_on_entry, a);
}

/* The same on loop 0. */
static inline void run_on(nh_runtime *rt, nh_fiber_fn fn, void *arg, nh_wg *done) {
  run_on_loop(rt, 0, fn, arg, done);
}

/* Is fd in the interest list of the epoll instance epfd? */
static inline int epoll_has(int epfd, int fd) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
  FILE *fp = fopen(path, "r");
  if (!fp)
    return -1;
  int found = 0, tfd;
  while (fgets(line, sizeof line, fp))
    if (sscanf(line, "tfd: %d", &tfd) == 1 && tfd == fd)
      found = 1;
  fclose(fp);
  return found;
}

/* Waits (up to 10 s, polling the fiber dump) until at least n fibers of
 * rt are parked in a state that starts with `state` ("sleep", "ctx done",
 * "IO wait" for either direction...): an event to start from rather than
 * a sleep that hopes they got there. Returns how many there are. Works on
 * a fiber or a plain thread. */
static inline size_t wait_parked(nh_runtime *rt, const char *state, size_t n) {
  size_t have = 0;
  for (int i = 0; i < 2000; i++) {
    nh_fiber_info *items;
    size_t total;
    have = 0;
    nh_fiber_dump(rt, &items, &total); /* NH_ESTALL still gives a list to free */
    for (size_t k = 0; k < total; k++)
      have += !strncmp(items[k].state, state, strlen(state));
    free(items);
    if (have >= n)
      break;
    nh_sleep(5 * NH_MSEC);
  }
  return have;
}


/* Runs fn as the main fiber of a one-loop runtime (stack_size 0: the
 * default) in a child process whose stderr is captured into out (up to
 * cap - 1 bytes, NUL-terminated). Returns the child's wait status. For
 * crash tests: the child is expected to die, a plain exit means it did not. */
#include <sys/wait.h>
#include <unistd.h>
static inline int run_child_capturing_stderr(void (*fn)(void *), size_t stack_size, char *out,
                                             size_t cap) {
  int pipefd[2];
  if (pipe(pipefd) != 0)
    abort();
  pid_t pid = fork();
  if (pid < 0)
    abort();
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    nh_runtime_config cfg = NH_RUNTIME_CONFIG_DEFAULT;
    cfg.loops = 1;
    if (stack_size)
      cfg.stack_size = stack_size;
    nh_run(&cfg, fn, NULL);
    _exit(0); /* reaching here means the child did not die */
  }
  close(pipefd[1]);
  size_t len = 0;
  ssize_t n;
  while ((n = read(pipefd[0], out + len, cap - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = 0;
  close(pipefd[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    abort();
  return status;
}

#endif
