/* nethttp — the command-line program built on the library: `serve` (a
 * production file server) and `runtime-demo` (fibers on every loop talking
 * over a channel, with the fiber dump printed while they wait). */
#include <nethttp.h>

#include <stdio.h>
#include <string.h>

typedef struct demo {
  nh_chan *ch;
  nh_wg *wg;
} demo;

static void producer(void *arg) {
  demo *d = arg;
  nh_fiber_set_label("producer");
  for (long i = 1; i <= 5; i++) {
    nh_sleep(20 * NH_MSEC);
    nh_chan_send(d->ch, (void *)i, NH_NO_DEADLINE);
  }
  nh_chan_close(d->ch);
  nh_wg_done(d->wg);
}

static void consumer(void *arg) {
  demo *d = arg;
  nh_fiber_set_label("consumer");
  void *v;
  long sum = 0;
  while (nh_chan_recv(d->ch, &v, NH_NO_DEADLINE) == NH_OK)
    sum += (long)v;
  printf("consumer received a sum of %ld\n", sum);
  nh_wg_done(d->wg);
}

static void demo_main(void *arg) {
  (void)arg;
  demo d = {nh_chan_new(0), nh_wg_new()};
  nh_wg_add(d.wg, 2);
  nh_runtime *rt = nh_runtime_current();
  nh_runtime_go(rt, -1, producer, &d);
  nh_runtime_go(rt, -1, consumer, &d);
  nh_sleep(30 * NH_MSEC);
  printf("fiber dump while they work:\n");
  fflush(stdout);
  nh_fiber_dump_write(rt, stdout);
  nh_wg_wait(d.wg, NH_NO_DEADLINE);
  nh_chan_free(d.ch);
  nh_wg_free(d.wg);
}

int cmd_serve(int argc, char **argv);
int cmd_httpbin(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_load(int argc, char **argv);

static int usage(FILE *out) {
  fprintf(out, "usage: nethttp <command> [options]\n\n"
               "commands:\n"
               "  serve [DIR]    serve the files under DIR (see nethttp serve --help)\n"
               "  httpbin        an httpbin-compatible test service (see nethttp httpbin --help)\n"
               "  get URL        one HTTP request, like curl (see nethttp get --help)\n"
               "  load URL       a load generator, like hey (see nethttp load --help)\n"
               "  runtime-demo   run fibers on every loop and print a fiber dump\n"
               "  version        print the version\n");
  return out == stderr ? 2 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage(stderr);
  nh_server_run_set_argv(argc, argv); /* SIGUSR2 starts this command line again */
  if (!strcmp(argv[1], "version")) {
    printf("nethttp %s\n", NETHTTP_VERSION);
    return 0;
  }
  if (!strcmp(argv[1], "serve"))
    return cmd_serve(argc - 1, argv + 1);
  if (!strcmp(argv[1], "httpbin"))
    return cmd_httpbin(argc - 1, argv + 1);
  if (!strcmp(argv[1], "get"))
    return cmd_get(argc - 1, argv + 1);
  if (!strcmp(argv[1], "load"))
    return cmd_load(argc - 1, argv + 1);
  if (!strcmp(argv[1], "runtime-demo"))
    return nh_run(NULL, demo_main, NULL) == NH_OK ? 0 : 1;
  if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))
    return usage(stdout);
  fprintf(stderr, "nethttp: unknown command %s\n", argv[1]);
  return usage(stderr);
}
