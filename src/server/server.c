/* The server object: configuration, listening, starting, shutting down.
 *
 * Shutdown follows Go's order: stop accepting, close idle connections, let
 * active ones finish their request (they close instead of going idle), poll
 * until none is left. Every change to a loop's connections is posted to that
 * loop and runs on its thread. */
#include "exchange.h"
#include "internal.h"
#include "proxy_trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Go raises the soft descriptor limit to the hard one at start; so do we,
 * and keep a margin under it for files, listeners and the runtime. */
static int default_max_conns(int extra_fds_per_conn) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
    struct rlimit raised = {want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl.rlim_cur = want;
  }
  long n = ((long)rl.rlim_cur - 64) / (1 + (extra_fds_per_conn > 0 ? extra_fds_per_conn : 0));
  return n < 16 ? 16 : (int)(n > 1000000 ? 1000000 : n);
}

static void fill_defaults(nh_server_config *c) {
  nh_server_config d = NH_SERVER_CONFIG_DEFAULT;
  /* Zero means "the default" for every limit: a zeroed config is a safe one.
   * NH_NO_TIMEOUT is how a timeout is turned off. */
  if (!c->read_header_timeout)
    c->read_header_timeout = d.read_header_timeout;
  if (!c->read_timeout)
    c->read_timeout = d.read_timeout;
  if (!c->write_timeout)
    c->write_timeout = d.write_timeout;
  if (!c->idle_timeout)
    c->idle_timeout = d.idle_timeout;
  if (!c->max_header_bytes)
    c->max_header_bytes = d.max_header_bytes;
  if (c->max_header_count <= 0)
    c->max_header_count = d.max_header_count;
  if (!c->max_body_drain)
    c->max_body_drain = d.max_body_drain;
  if (!c->slow_hook_threshold)
    c->slow_hook_threshold = d.slow_hook_threshold;
  if (c->max_conns <= 0)
    c->max_conns = default_max_conns(c->extra_fds_per_conn);
  struct nh_http2_config *h = &c->http2;
#define H2_DEFAULT(f) if (!h->f) h->f = d.http2.f
  H2_DEFAULT(max_concurrent_streams);
  H2_DEFAULT(max_queued_streams);
  H2_DEFAULT(stream_window);
  H2_DEFAULT(conn_window);
  H2_DEFAULT(max_frame_size);
  H2_DEFAULT(stream_buffer);
  H2_DEFAULT(preface_timeout);
  H2_DEFAULT(settings_timeout);
  H2_DEFAULT(max_empty_frames);
#undef H2_DEFAULT
  /* RFC 9113 6.5.2: the bounds of the settings. */
  if (h->stream_window > 0x7fffffff)
    h->stream_window = 0x7fffffff;
  if (h->conn_window > 0x7fffffff)
    h->conn_window = 0x7fffffff;
  if (h->max_frame_size < 16384)
    h->max_frame_size = 16384;
  if (h->max_frame_size > 16777215)
    h->max_frame_size = 16777215;
}

nh_server *nh_server_new(nh_runtime *rt, const nh_server_config *cfg) {
  const char *missing = !rt ? "no runtime" : !cfg ? "no configuration" : !cfg->handler ? "no handler (cfg.handler is NULL)" : NULL;
  if (missing) {
    NH_LOG(cfg ? cfg->logger : NULL, NH_LOG_ERROR, "nh_server_new: cannot make a server",
           NH_LSTR("problem", missing));
    return NULL;
  }
  nh_server *srv = calloc(1, sizeof *srv);
  if (!srv)
    return NULL;
  int oom = 0;
  srv->cfg = *cfg;
  fill_defaults(&srv->cfg);
  srv->rt = rt;
  srv->log = cfg->logger ? cfg->logger : nh_log_default();
  srv->nloops = nh_runtime_loops(rt);
  srv->loops = calloc((size_t)srv->nloops, sizeof *srv->loops);
  srv->acceptors = nh_wg_new();
  srv->pending = nh_wg_new();
  srv->done = nh_chan_new(0);
  srv->drain_cut = nh_chan_new(0);
  if (srv->cfg.max_conns_per_ip > 0 && !(srv->peers = nh__peer_table_new()))
    oom = 1;
  pthread_mutex_init(&srv->mu, NULL);
  for (int i = 0; srv->loops && i < srv->nloops; i++) {
    nh__srv_loop *sl = &srv->loops[i];
    sl->srv = srv;
    sl->loop = &rt->loops[i];
    sl->index = i;
    nh__list_init(&sl->idle);
    nh__list_init(&sl->reading);
    nh__list_init(&sl->active);
    nh__list_init(&sl->hijacked);
    /* Fewer write buffers are kept: a small response touches one page of
     * one. */
    nh__bufpool_init(&sl->rbufs, NH__READ_BUF, 64);
    nh__bufpool_init(&sl->fields, (size_t)srv->cfg.max_header_count * sizeof(nh__h1_field), 64);
    nh__bufpool_init(&sl->wbufs, NH__WRITE_BUF, 16);
    sl->xenv = (nh__exchange_env){srv->log, srv->cfg.handler_data, sl->loop, &sl->wbufs,
                                  srv->cfg.write_timeout, NULL};
    if (!srv->cfg.disable_metrics && !(sl->xenv.metrics = nh__req_metrics_new()))
      oom = 1;
  }
  nh__sconn_h1_host_init(srv);
  nh__sconn_h2_host_init(srv);
  if (oom || !srv->loops || !srv->acceptors || !srv->pending || !srv->done || !srv->drain_cut ||
      nh_ctx_with_cancel(cfg->base_context, &srv->base) != NH_OK) {
    nh_server_free(srv);
    return NULL;
  }
  return srv;
}

/* What is wrong with the form of an address, or NULL. (The resolver would
 * take port 70000 as 4464.) */
static const char *addr_malformed(const char *addr) {
  if (!strncmp(addr, "unix:", 5))
    return NULL;
  const char *colon = strrchr(addr, ':');
  if (!colon)
    return "malformed address: want HOST:PORT, :PORT, [::1]:PORT or unix:/path";
  size_t n = strspn(colon + 1, "0123456789");
  if (n == 0 || n > 5 || colon[1 + n] || atol(colon + 1) > 65535)
    return "malformed port: want a number from 0 to 65535";
  return NULL;
}

/* The options every listener keeps (the socket options are applied when
 * it is opened); the trusted PROXY sources are parsed now, so that a typo
 * fails at startup. On error, *problem says what (for the log). */
static int listener_options(nh__listener *l, const nh_listen_options *o, const char **problem) {
  static __thread char msg[96];
  l->proxy = o ? o->proxy : NH_PROXY_OFF;
  l->proxy_trusted = NULL;
  l->proxy_nets = NULL;
  l->proxy_nnets = 0;
  if (l->proxy != NH_PROXY_OFF && l->proxy != NH_PROXY_REQUIRED && l->proxy != NH_PROXY_OPTIONAL) {
    *problem = "unknown PROXY protocol policy";
    return NH_EINVAL;
  }
  if (!o || !o->proxy_trusted)
    return NH_OK;
  const char *bad = NULL;
  int e = nh__proxy_nets_parse(o->proxy_trusted, &l->proxy_nets, &l->proxy_nnets, &bad);
  if (e == NH_EINVAL) {
    snprintf(msg, sizeof msg, "malformed PROXY trusted source \"%s\" (want ADDR or ADDR/BITS)",
             bad);
    *problem = msg;
    return e;
  }
  if (e == NH_OK && !(l->proxy_trusted = strdup(o->proxy_trusted)))
    e = NH_ENOMEM;
  if (e != NH_OK) {
    free(l->proxy_nets);
    l->proxy_nets = NULL;
    *problem = nh_strerror(e);
  }
  return e;
}

static void listener_forget(nh__listener *l) {
  free(l->proxy_trusted);
  free(l->proxy_nets);
  l->proxy_trusted = NULL;
  l->proxy_nets = NULL;
}

int nh_server_listen_with(nh_server *srv, const char *addr, const nh_listen_options *o) {
  const char *problem = NULL;
  int e = NH_EINVAL;
  nh__listener *l = &srv->listeners[srv->nlisteners];
  if (!addr)
    problem = "no address";
  else if (srv->started)
    problem = "the server has already started";
  else if (srv->nlisteners == NH__MAX_LISTENERS)
    problem = "too many listeners";
  else if ((problem = addr_malformed(addr)))
    e = NH_EINVAL;
  else if ((e = nh__listener_open(l, addr, o && o->reuseport)) == NH_OK) {
    if ((e = listener_options(l, o, &problem)) == NH_OK) {
      nh__listener_describe(l);
      srv->nlisteners++;
    } else {
      close(l->fd);
    }
  } else if (e == NH_EINVAL)
    problem = !strncmp(addr, "unix:", 5) ? "socket path too long" : "no such host or address";
  else
    problem = nh_strerror(e);
  if (problem) /* text: listen 127.0.0.1:8080: address already in use */
    NH_LOG(srv->log, NH_LOG_ERROR, "cannot listen", NH_LSTR("addr", addr ? addr : ""),
           NH_LSTR("error", problem), NH_LSTR("code", nh_err_name(e)));
  return e;
}

int nh_server_listen(nh_server *srv, const char *addr) {
  return nh_server_listen_with(srv, addr, NULL);
}

int nh_server_listen_fd_with(nh_server *srv, int fd, const nh_listen_options *o) {
  if (srv->nlisteners == NH__MAX_LISTENERS || srv->started)
    return NH_EINVAL;
  nh__listener *l = &srv->listeners[srv->nlisteners];
  memset(l, 0, sizeof *l);
  l->fd = fd;
  l->addr_len = sizeof l->addr;
  if (getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len) != 0)
    return -errno;
  l->family = l->addr.ss_family;
  int accepting = 0;
  socklen_t len = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting)
    return NH_EINVAL;
  const char *problem = NULL;
  int e = listener_options(l, o, &problem);
  if (e != NH_OK) {
    NH_LOG(srv->log, NH_LOG_ERROR, "cannot listen", NH_LINT("fd", fd), NH_LSTR("error", problem),
           NH_LSTR("code", nh_err_name(e)));
    return e;
  }
  nh__listener_describe(l);
  srv->nlisteners++;
  return NH_OK;
}

int nh_server_listen_fd(nh_server *srv, int fd) { return nh_server_listen_fd_with(srv, fd, NULL); }

int nh_server_addr(const nh_server *srv, char *buf, size_t cap) {
  if (!srv->nlisteners)
    return NH_EINVAL;
  const nh__listener *l = &srv->listeners[0];
  nh__format_addr((const struct sockaddr *)&l->addr, l->addr_len, buf, cap);
  return NH_OK;
}

int nh_server_port(const nh_server *srv) {
  if (!srv->nlisteners)
    return 0;
  const struct sockaddr_storage *a = &srv->listeners[0].addr;
  if (a->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)a)->sin_port);
  if (a->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
  return 0;
}

int nh_server_start(nh_server *srv) {
  pthread_mutex_lock(&srv->mu);
  int e = NH_OK;
  if (atomic_load(&srv->closed) || atomic_load(&srv->shutting_down))
    e = NH_ESERVERCLOSED;
  else if (!srv->nlisteners)
    e = NH_EINVAL;
  else if (!srv->started) {
    srv->started = 1;
    e = nh__acceptors_start(srv);
    if (e)
      srv->started = 0; /* nothing was started: the caller may free it */
  }
  pthread_mutex_unlock(&srv->mu);
  return e;
}

int nh_server_serve(nh_server *srv) {
  int e = nh_server_start(srv);
  if (e && e != NH_ESERVERCLOSED)
    return e;
  void *v;
  while (nh_chan_recv(srv->done, &v, NH_NO_DEADLINE) != NH_ECLOSED)
    ;
  return NH_ESERVERCLOSED;
}

/* ---- on every loop ---- */

typedef void (*loop_job)(nh__srv_loop *sl);

typedef struct loop_msg {
  nh__srv_loop *sl;
  loop_job job;
} loop_msg;

static void run_loop_msg(nh_loop *l, void *arg) {
  loop_msg *m = arg;
  nh_wg *pending = m->sl->srv->pending;
  m->job(m->sl);
  free(m);
  nh_wg_done(pending);
}

/* Run job on every loop's thread; wait until all have run. */
static void on_every_loop(nh_server *srv, loop_job job) {
  for (int i = 0; i < srv->nloops; i++) {
    loop_msg *m = malloc(sizeof *m);
    if (!m)
      continue;
    m->sl = &srv->loops[i];
    m->job = job;
    nh_wg_add(srv->pending, 1);
    if (nh__loop_post(srv->loops[i].loop, run_loop_msg, m) != NH_OK) {
      free(m);
      nh_wg_done(srv->pending);
    }
  }
  nh_wg_wait(srv->pending, NH_NO_DEADLINE);
}

static void job_stop_accepting(nh__srv_loop *sl) { nh__acceptors_stop(sl); }

static void job_close_all(nh__srv_loop *sl) {
  nh__acceptors_stop(sl);
  nh__sconns_close_all(sl);
  nh__sconns_end_hijacked(sl, 1);
}

static void job_forget(nh__srv_loop *sl) {
  nh__sconns_end_hijacked(sl, 0);
  nh__bufpool_dispose(&sl->rbufs);
  nh__bufpool_dispose(&sl->fields);
  nh__bufpool_dispose(&sl->wbufs);
  while (sl->nfree_ctxs)
    nh_ctx_free(sl->free_ctxs[--sl->nfree_ctxs]);
  free(sl->accept_fds);
  sl->accept_fds = NULL;
}

/* srv->mu held: a shutdown and a close may both come here at once, and a
 * descriptor closed twice could be another's by then. */
static void close_listeners(nh_server *srv) {
  for (int i = 0; i < srv->nlisteners; i++) {
    if (srv->listeners[i].fd >= 0) {
      close(srv->listeners[i].fd);
      srv->listeners[i].fd = -1;
    }
  }
}

static void finish(nh_server *srv) {
  pthread_mutex_lock(&srv->mu);
  close_listeners(srv);
  pthread_mutex_unlock(&srv->mu);
  nh_chan_close(srv->done);
}

static int64_t hijacked_open(nh_server *srv) {
  if (!srv->started)
    return 0;
  atomic_store(&srv->hijacked_open, 0);
  on_every_loop(srv, nh__sconns_reap_hijacked);
  return atomic_load(&srv->hijacked_open);
}

int nh__server_shutdown(nh_server *srv, nh_time deadline, int skip_delay) {
  nh__drain_begin(srv, deadline, skip_delay); /* drain.c: serving as usual until it returns */
  pthread_mutex_lock(&srv->mu);
  int first = !atomic_exchange(&srv->shutting_down, 1);
  nh__hook *hooks = first ? srv->hooks : NULL;
  pthread_mutex_unlock(&srv->mu);
  for (nh__hook *h = hooks; h; h = h->next)
    h->fn(h->arg);
  /* The listeners close before the idle connections do (as Go's): a
   * client whose idle connection closes dials again at once, and a
   * listener still open but no longer accepted from would queue it, then
   * reset it when it closes. */
  if (srv->started) {
    on_every_loop(srv, job_stop_accepting);
    nh_wg_wait(srv->acceptors, NH_NO_DEADLINE);
  }
  pthread_mutex_lock(&srv->mu);
  close_listeners(srv);
  pthread_mutex_unlock(&srv->mu);
  if (srv->started) {
    on_every_loop(srv, (loop_job)nh__sconns_close_idle);
    /* Hijacked connections whose owners asked (WebSockets) are told now,
     * to say goodbye in their own protocol while the deadline lets them. */
    atomic_store(&srv->going_away_deadline, deadline);
    atomic_store(&srv->going_away, 1);
    on_every_loop(srv, nh__sconns_going_away);
  }
  /* Active connections close themselves after their response; idle ones
   * that were mid-transition are closed on the next pass. Hijacked ones
   * are waited for too, until their owners close them (told by the
   * shutdown hooks), and shut down at the deadline. Poll like Go, from 1 ms
   * up to 100 ms between looks. */
  nh_dur pause = NH_MSEC;
  int result = NH_OK;
  while (atomic_load(&srv->conns) > 0 || hijacked_open(srv) > 0) {
    if (nh_now() >= deadline) {
      result = NH_ETIMEDOUT;
      break;
    }
    nh_time wake = nh_now() + pause;
    nh_sleep((wake < deadline ? wake : deadline) - nh_now());
    pause = pause * 2 > 100 * NH_MSEC ? 100 * NH_MSEC : pause * 2;
    if (srv->started)
      on_every_loop(srv, (loop_job)nh__sconns_close_idle);
  }
  if (result == NH_ETIMEDOUT) {
    /* The deadline came: tell every remaining handler to stop, give them a
     * moment to return, then close what is left. */
    NH_LOG(srv->log, NH_LOG_WARN, "shutdown deadline reached: cancelling in-flight requests",
           NH_LINT("connections", atomic_load(&srv->conns)));
    nh_ctx_cancel(srv->base);
    nh_time grace = nh_deadline_after(NH_SEC);
    while (atomic_load(&srv->conns) > 0 && nh_now() < grace)
      nh_sleep(5 * NH_MSEC);
    if (srv->started)
      on_every_loop(srv, job_close_all); /* hijacked sockets are shut down too */
  }
  finish(srv);
  return result;
}

void nh_server_close(nh_server *srv) {
  atomic_store(&srv->draining, 1);
  nh__drain_cut(srv); /* a shutdown in its drain delay goes on at once */
  atomic_store(&srv->closed, 1);
  atomic_store(&srv->shutting_down, 1);
  nh_ctx_cancel(srv->base);
  if (srv->started)
    on_every_loop(srv, job_close_all);
  finish(srv);
}

int nh_server_on_shutdown(nh_server *srv, void (*fn)(void *), void *arg) {
  nh__hook *h = malloc(sizeof *h);
  if (!h)
    return NH_ENOMEM;
  h->fn = fn;
  h->arg = arg;
  pthread_mutex_lock(&srv->mu);
  h->next = srv->hooks;
  srv->hooks = h;
  pthread_mutex_unlock(&srv->mu);
  return NH_OK;
}

void nh_server_free(nh_server *srv) {
  if (!srv)
    return;
  if (srv->started) {
    if (!atomic_load(&srv->closed) && !atomic_load(&srv->shutting_down))
      nh_server_close(srv);
    nh_wg_wait(srv->acceptors, NH_NO_DEADLINE);
    /* Connections finish on their loops; wait for the last one. */
    while (atomic_load(&srv->conns) > 0)
      nh_sleep(NH_MSEC);
    on_every_loop(srv, job_forget);
  }
  close_listeners(srv);
  for (int i = 0; i < srv->nlisteners; i++)
    listener_forget(&srv->listeners[i]);
  while (srv->hooks) {
    nh__hook *h = srv->hooks;
    srv->hooks = h->next;
    free(h);
  }
  nh_ctx_free(srv->base);
  nh_chan_free(srv->done);
  nh_chan_free(srv->drain_cut);
  nh__peer_table_free(srv->peers);
  nh_wg_free(srv->acceptors);
  nh_wg_free(srv->pending);
  pthread_mutex_destroy(&srv->mu);
  for (int i = 0; srv->loops && i < srv->nloops; i++)
    free(srv->loops[i].xenv.metrics);
  free(srv->loops);
  free(srv);
}

void nh_server_stats_get(const nh_server *srv, nh_server_stats *o) {
  nh_server *s = (nh_server *)srv;
#define L(x) atomic_load_explicit(&s->x, memory_order_relaxed)
  *o = (nh_server_stats){
      .accepted = L(st_accepted), .closed = L(st_closed), .requests = L(st_requests),
      .hijacked = L(st_hijacked), .shed_idle = L(st_shed_idle), .shed_reading = L(st_shed_reading),
      .timeouts_header = L(st_to_header), .timeouts_idle = L(st_to_idle),
      .timeouts_read = L(st_to_read), .timeouts_write = L(st_to_write), .bad_requests = L(st_bad),
      .bodies_drained = L(st_drained), .bodies_too_large_closed = L(st_too_large_closed),
      .accept_errors = L(st_accept_errors), .slow_hooks = L(st_slow_hooks),
      .handler_panics = L(st_panics),
      .tls_handshake_errors = L(st_tls_handshake_errors),
      .refused_per_ip = L(st_refused_per_ip), .refused_by_hook = L(st_refused_hook),
      .h2_conns = L(st_h2_conns),
      .h2_streams = L(st_h2_streams), .h2_streams_reset = L(st_h2_resets),
      .h2_rapid_reset = L(st_h2_rapid_reset), .h2_header_floods = L(st_h2_header_floods),
      .h2_control_floods = L(st_h2_control_floods), .h2_empty_floods = L(st_h2_empty_floods),
      .h2_headers_too_large = L(st_h2_too_large), .proxy_refused = L(st_proxy_refused),
      .websockets_open = L(websockets_open)};
  for (int i = 0; i < NH_CLOSE__COUNT; i++)
    o->closes[i] = L(st_closes[i]);
#undef L
  int64_t *by_state[] = {&o->conns_new, &o->conns_active, &o->conns_idle, &o->conns_hijacked};
  for (int i = 0; i < s->nloops; i++)
    for (int k = 0; k < 4; k++)
      *by_state[k] += atomic_load_explicit(&s->loops[i].gauges[k], memory_order_relaxed);
}

int nh_server_reload_tls(nh_server *srv) {
  if (!srv->cfg.tls)
    return NH_EINVAL;
  char *err = NULL;
  int e = nh_tls_ctx_reload(srv->cfg.tls, &err);
  if (e)
    NH_LOG(srv->log, NH_LOG_ERROR, "TLS reload failed; the old certificates stay in use",
           NH_LSTR("error", err ? err : nh_strerror(e)));
  else
    NH_LOG(srv->log, NH_LOG_INFO, "TLS certificates reloaded");
  free(err);
  return e;
}
