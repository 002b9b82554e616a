/* nethttp serve [DIR] — a production file server: GET and HEAD of files
 * under DIR with ranges, conditional requests and ETags, index.html or a
 * listing for directories, JSON access logs, graceful shutdown on
 * SIGINT/SIGTERM. The serving is the library's nh_file_server, which
 * guarantees a request never leaves DIR (see nethttp/fileserver.h).
 * With --tls-cert/--tls-key it serves HTTPS, and SIGHUP reads the
 * certificate and key again (new connections get them). */
#include "flags.h"
#include "probes.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct serve_state {
  nh_handler files;
  nh_handler app; /* files, compressed with --compress */
  nh_logger *log;
} serve_state;

/* Access log around the handler. */
static void logged(nh_response_writer *w, nh_request *r) {
  serve_state *st = nh_request_handler_data(r);
  nh_time t0 = nh_now();
  nh_handler_serve(st->app, w, r);
  NH_LOG(st->log, NH_LOG_INFO, "request", NH_LSTR("method", nh_request_method(r)),
         NH_LSTR("path", nh_request_path(r)), NH_LINT("status", nh_resp_status(w)),
         NH_LINT("bytes", nh_resp_written(w)), NH_LDUR("duration", nh_now() - t0),
         NH_LSTR("remote", nh_request_remote_addr(r)), NH_LSTR("proto", nh_request_proto(r)));
}

/* SIGHUP is blocked in every thread and taken here with sigwait, so a
 * reload runs on an ordinary thread rather than in a signal handler. */
typedef struct reloader {
  nh_server *srv;
  pthread_t th;
  volatile int stop;
} reloader;

static void *reload_on_hup(void *arg) {
  reloader *rl = arg;
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  for (;;) {
    int sig;
    if (sigwait(&hup, &sig) != 0 || rl->stop)
      return NULL;
    nh_server_reload_tls(rl->srv); /* logs the outcome */
  }
}

static void serve_usage(FILE *out) {
  fprintf(out, "usage: nethttp serve [DIR] [flags]\n\nServes the files under DIR (default .).\n\n"
               "  --no-list      a directory without index.html is 404, not a listing\n"
               "  --dotfiles     serve names starting with '.' (hidden by default)\n"
               "  --precompressed  serve x.br, x.zst or x.gz in place of x when the client\n"
               "                 accepts it and the sibling is not older (off by default)\n");
  server_flags_usage(out);
}

int cmd_serve(int argc, char **argv) {
  server_flags f;
  server_flags_init(&f, ":8080");
  const char *dir = ".";
  nh_file_server_options fo = {0};
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
    if (!strcmp(argv[i], "--no-list")) {
      fo.no_directory_listing = 1;
      continue;
    }
    if (!strcmp(argv[i], "--dotfiles")) {
      fo.allow_dotfiles = 1;
      continue;
    }
    if (!strcmp(argv[i], "--precompressed")) {
      fo.precompressed = 1;
      continue;
    }
    if (argv[i][0] == '-') {
      fprintf(stderr, "nethttp serve: unknown flag %s\n", argv[i]);
      serve_usage(stderr);
      return 2;
    }
    dir = argv[i];
  }
  serve_state st;
  st.files = nh_file_server(dir, &fo);
  if (!st.files.fn) {
    fprintf(stderr, "nethttp serve: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  st.app = server_flags_compress(&f, st.files);
  if (!st.app.fn) {
    fprintf(stderr, "nethttp serve: out of memory\n");
    nh_file_server_free(st.files);
    return 1;
  }
  char root[PATH_MAX];
  if (!realpath(dir, root))
    snprintf(root, sizeof root, "%s", dir);
  nh_tls_ctx *tls;
  if (server_flags_tls(&f, &tls) != 0) {
    nh_file_server_free(st.files);
    return 1;
  }
  /* Before any thread starts, so that all of them inherit the mask. */
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  if (tls)
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
  st.log = server_flags_logger(&f);
  nh_log_set_default(st.log);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = f.threads;
  rc.logger = st.log;
  nh_runtime *rt = nh_runtime_new(&rc);
  f.cfg.handler = logged;
  f.cfg.extra_fds_per_conn = 1; /* the file being sent */
  f.cfg.handler_data = &st;
  f.cfg.logger = st.log;
  cli_probes probes;
  cli_probes_wrap(&probes, &f);
  nh_server *srv = rt ? nh_server_new(rt, &f.cfg) : NULL;
  probes.srv = srv;
  if (!srv) {
    fprintf(stderr, "nethttp serve: could not start\n");
    nh_file_server_free(st.files);
    nh_tls_ctx_free(tls);
    return 1;
  }
  debug_listener dbg;
  int fds = server_flags_listen_fds(&f, srv, &f.listen);
  if (fds < 0 || debug_listener_start(&dbg, &f, rt, srv, st.log) != 0) {
    nh_server_free(srv);
    nh_runtime_free(rt);
    nh_file_server_free(st.files);
    nh_tls_ctx_free(tls);
    nh_log_set_default(NULL);
    nh_logger_free(st.log);
    return 1;
  }
  NH_LOG(st.log, NH_LOG_INFO, "nethttp serve", NH_LSTR("dir", root), NH_LSTR("addr", fds ? "passed sockets" : f.addr),
         NH_LSTR("scheme", tls ? "https" : "http"));
  reloader rl = {srv, 0, 0};
  int reloading = tls && pthread_create(&rl.th, NULL, reload_on_hup, &rl) == 0;
  int r = fds ? NH_OK : server_flags_listen(&f, srv); /* --listen-fd instead of --addr */
  if (r == NH_OK)
    r = nh_server_run(srv, NULL, f.shutdown_timeout);
  if (reloading) {
    rl.stop = 1;
    pthread_kill(rl.th, SIGHUP);
    pthread_join(rl.th, NULL);
  }
  if (r != NH_OK && r != NH_ETIMEDOUT)
    NH_LOG(st.log, NH_LOG_ERROR, "serve failed", NH_LSTR("addr", f.addr), NH_LSTR("error", nh_strerror(r)));
  debug_listener_stop(&dbg, &f); /* before the public server: it reads its figures */
  nh_server_free(srv);
  nh_runtime_free(rt);
  nh_tls_ctx_free(tls);
  nh_handler_free(st.app); /* the compression wrapper, if any */
  nh_file_server_free(st.files);
  nh_log_set_default(NULL);
  nh_logger_free(st.log);
  return r == NH_OK ? 0 : 1;
}
