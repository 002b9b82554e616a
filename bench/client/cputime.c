/* cputime: runs a command and writes the CPU time it used (user + system,
 * all its threads and reaped children, from wait4) and its wall time to a
 * file, for the load generators in bench/client/run.sh, whose own output
 * has no CPU figure.
 *
 *   cputime OUT_FILE COMMAND [ARG...]     OUT_FILE gets "cpu_seconds=... wall_seconds=..."
 *
 * Exits with the command's status. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: cputime OUT_FILE COMMAND [ARG...]\n");
    return 2;
  }
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) {
    perror("cputime: fork");
    return 1;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("cputime: wait4");
    return 1;
  }
  double wall = now_s() - t0;
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fprintf(f, "cpu_seconds=%.3f wall_seconds=%.3f\n", cpu, wall);
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
