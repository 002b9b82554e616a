/* nethttp httpbin — an HTTP request and response service compatible with
 * httpbin.org and go-httpbin, for testing HTTP clients: every route on
 * one nh_mux, go-httpbin's limits (request and generated bodies at most
 * --max-body-size, delays at most --max-duration), CORS headers on every
 * answer, panic recovery, access logs, graceful shutdown on SIGINT and
 * SIGTERM. */
#include "flags.h"
#include "httpbin.h"
#include "probes.h"

#include <nethttp/middleware.h>
#include <nethttp/mux.h>

#include <stdlib.h>
#include <string.h>

typedef struct route {
  const char *pattern;
  nh_handler_fn fn;
} route;

/* Go 1.22 patterns: "GET" also serves HEAD; no method serves every
 * method, as go-httpbin does for /anything, /status, /delay... */
static const route routes[] = {
    {"GET /{$}", httpbin_index},
    {"GET /get", httpbin_get},
    {"POST /post", httpbin_body_echo},
    {"PUT /put", httpbin_body_echo},
    {"PATCH /patch", httpbin_body_echo},
    {"DELETE /delete", httpbin_body_echo},
    {"/anything", httpbin_anything},
    {"/anything/{path...}", httpbin_anything},
    {"/headers", httpbin_headers},
    {"/ip", httpbin_ip},
    {"/user-agent", httpbin_user_agent},
    {"/status/{codes}", httpbin_status},
    {"/redirect/{n}", httpbin_redirect_n},
    {"/relative-redirect/{n}", httpbin_relative_redirect},
    {"/absolute-redirect/{n}", httpbin_absolute_redirect},
    {"/redirect-to", httpbin_redirect_to},
    {"GET /cookies", httpbin_cookies},
    {"GET /cookies/set", httpbin_cookies_set},
    {"GET /cookies/set/{name}/{value}", httpbin_cookies_set},
    {"GET /cookies/delete", httpbin_cookies_delete},
    {"GET /basic-auth/{user}/{passwd}", httpbin_basic_auth},
    {"GET /bearer", httpbin_bearer},
    {"/digest-auth/{qop}/{user}/{passwd}", httpbin_digest_auth},
    {"/digest-auth/{qop}/{user}/{passwd}/{algorithm}", httpbin_digest_auth},
    {"/digest-auth/{qop}/{user}/{passwd}/{algorithm}/{stale_after}", httpbin_digest_auth},
    {"GET /response-headers", httpbin_response_headers},
    {"POST /response-headers", httpbin_response_headers},
    {"/delay/{n}", httpbin_delay},
    {"GET /drip", httpbin_drip},
    {"GET /stream/{n}", httpbin_stream},
    {"GET /sse", httpbin_sse},
    {"GET /bytes/{n}", httpbin_bytes},
    {"GET /stream-bytes/{n}", httpbin_stream_bytes},
    {"GET /range/{n}", httpbin_range},
    {"GET /cache", httpbin_cache},
    {"/etag/{etag}", httpbin_etag},
    {"GET /gzip", httpbin_gzip},
    {"GET /deflate", httpbin_deflate},
    {"GET /json", httpbin_json},
    {"GET /html", httpbin_html},
    {"GET /robots.txt", httpbin_robots},
    {"GET /deny", httpbin_deny},
    {"GET /uuid", httpbin_uuid},
    {"GET /base64/{value}", httpbin_base64},
    {"GET /base64/{operation}/{value}", httpbin_base64},
    {"GET /websocket/echo", httpbin_websocket_echo},
};

typedef struct app {
  httpbin hb;
  nh_handler mux;
} app;

/* CORS as go-httpbin: any origin may read the answers, with credentials;
 * a preflight OPTIONS is answered here. */
static int preflight(nh_response_writer *w, nh_request *r) {
  nh_header *rh = nh_request_header(r), *h = nh_resp_header(w);
  const char *origin = nh_header_get(rh, "Origin");
  nh_header_set(h, "Access-Control-Allow-Origin", origin && *origin ? origin : "*");
  nh_header_set(h, "Access-Control-Allow-Credentials", "true");
  if (strcmp(nh_request_method(r), "OPTIONS"))
    return 0;
  nh_header_set(h, "Access-Control-Allow-Methods", "GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS");
  nh_header_set(h, "Access-Control-Max-Age", "3600");
  const char *want = nh_header_get(rh, "Access-Control-Request-Headers");
  if (want && *want)
    nh_header_set(h, "Access-Control-Allow-Headers", want);
  nh_resp_write_header(w, 200);
  return 1;
}

/* Inside the recoverer and the access log: CORS, the body limit, routes. */
static void serve(nh_response_writer *w, nh_request *r) {
  app *a = nh_request_handler_data(r);
  nh_request_limit_body(r, a->hb.max_body);
  if (!preflight(w, r))
    nh_handler_serve(a->mux, w, r);
}

static void httpbin_usage(FILE *out) {
  fprintf(out,
          "usage: nethttp httpbin [flags]\n\n"
          "An HTTP request and response service compatible with httpbin.org and\n"
          "go-httpbin (docs/httpbin.md lists the endpoints).\n\n"
          "httpbin flags:\n"
          "  --max-body-size N           request and generated bodies, bytes (default 1048576)\n"
          "  --max-duration D            longest delay a request may ask for (default 10s)\n"
          "  --compat go-httpbin|httpbin.org  JSON shapes of the echoes (default go-httpbin)\n");
  server_flags_usage(out);
}

static int parse_flags(app *a, server_flags *f, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    int r = server_flags_parse(f, argc, argv, &i);
    if (r < 0)
      return 2;
    if (r > 0)
      continue;
    const char *arg = argv[i], *v = NULL;
    size_t n = strcspn(arg, "=");
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      httpbin_usage(stdout);
      return 0;
    }
    if ((!strncmp(arg, "--max-body-size", n) && n == 15) ||
        (!strncmp(arg, "--max-duration", n) && n == 14) ||
        (!strncmp(arg, "--compat", n) && n == 8)) {
      v = arg[n] == '=' ? arg + n + 1 : i + 1 < argc ? argv[++i] : NULL;
      if (!v) {
        fprintf(stderr, "nethttp httpbin: %.*s needs a value\n", (int)n, arg);
        return 2;
      }
      if (n == 8) {
        if (!strcmp(v, "go-httpbin")) {
          a->hb.compat = HTTPBIN_COMPAT_GO;
        } else if (!strcmp(v, "httpbin.org")) {
          a->hb.compat = HTTPBIN_COMPAT_ORG;
        } else {
          fprintf(stderr, "nethttp httpbin: --compat: go-httpbin or httpbin.org, not %s\n", v);
          return 2;
        }
      } else if (n == 15) {
        char *end;
        long long bytes = strtoll(v, &end, 10);
        if (!*v || *end || bytes <= 0) {
          fprintf(stderr, "nethttp httpbin: --max-body-size: want a positive byte count, not %s\n",
                  v);
          return 2;
        }
        a->hb.max_body = bytes;
      } else if (nh_dur_parse(v, &a->hb.max_duration) != NH_OK || a->hb.max_duration <= 0) {
        fprintf(stderr, "nethttp httpbin: --max-duration: want a duration like 10s, not %s\n", v);
        return 2;
      }
      continue;
    }
    fprintf(stderr, "nethttp httpbin: unknown argument %s\n", arg);
    httpbin_usage(stderr);
    return 2;
  }
  return -1;
}

int cmd_httpbin(int argc, char **argv) {
  server_flags f;
  server_flags_init(&f, ":8080");
  app a = {.hb = {.max_body = 1 << 20, .max_duration = 10 * NH_SEC}};
  int rc = parse_flags(&a, &f, argc, argv);
  if (rc >= 0)
    return rc;
  nh_tls_ctx *tls;
  if (server_flags_tls(&f, &tls) != 0)
    return 1;
  a.hb.tls = tls != NULL;
  a.hb.write_timeout = f.cfg.write_timeout;
  a.hb.log = server_flags_logger(&f);
  nh_log_set_default(a.hb.log);
  nh_mux *m = nh_mux_new();
  for (size_t i = 0; m && i < sizeof routes / sizeof routes[0]; i++)
    if (nh_mux_handle_func(m, routes[i].pattern, routes[i].fn, &a.hb) != NH_OK) {
      fprintf(stderr, "nethttp httpbin: route %s: %s\n", routes[i].pattern, nh_mux_error(m));
      nh_mux_free(m);
      m = NULL;
    }
  nh_runtime_config rcfg = NH_RUNTIME_CONFIG_DEFAULT;
  rcfg.loops = f.threads;
  rcfg.logger = a.hb.log;
  nh_runtime *rt = m ? nh_runtime_new(&rcfg) : NULL;
  nh_chain *chain = rt ? nh_chain_new() : NULL;
  nh_server *srv = NULL;
  cli_probes probes;
  if (chain && nh_chain_use(chain, nh_mw_recover, a.hb.log) == NH_OK &&
      nh_chain_use(chain, nh_mw_access_log, a.hb.log) == NH_OK &&
      (!f.compress || nh_chain_use(chain, nh_mw_compress, &f.compress_cfg) == NH_OK)) {
    a.mux = nh_mux_handler(m);
    nh_handler h = nh_chain_then(chain, NH_HANDLER(serve, &a));
    f.cfg.handler = h.fn;
    f.cfg.handler_data = h.data;
    f.cfg.logger = a.hb.log;
    cli_probes_wrap(&probes, &f);
    srv = h.fn ? nh_server_new(rt, &f.cfg) : NULL;
    probes.srv = srv;
  }
  int r = NH_ENOMEM;
  debug_listener dbg = {0};
  int fds = srv ? server_flags_listen_fds(&f, srv, &f.listen) : 0;
  if (srv && (fds < 0 || debug_listener_start(&dbg, &f, rt, srv, a.hb.log) != 0)) {
    nh_server_free(srv);
    srv = NULL;
    r = NH_EINVAL;
  }
  if (srv) {
    NH_LOG(a.hb.log, NH_LOG_INFO, "nethttp httpbin", NH_LSTR("addr", fds ? "passed sockets" : f.addr),
           NH_LSTR("scheme", tls ? "https" : "http"),
           NH_LSTR("compat", a.hb.compat == HTTPBIN_COMPAT_ORG ? "httpbin.org" : "go-httpbin"),
           NH_LINT("max_body_size", a.hb.max_body), NH_LDUR("max_duration", a.hb.max_duration));
    r = fds ? NH_OK : server_flags_listen(&f, srv); /* --listen-fd instead of --addr */
    if (r == NH_OK)
      r = nh_server_run(srv, NULL, f.shutdown_timeout);
    if (r != NH_OK && r != NH_ETIMEDOUT)
      NH_LOG(a.hb.log, NH_LOG_ERROR, "serve failed", NH_LSTR("addr", f.addr),
             NH_LSTR("error", nh_strerror(r)));
    debug_listener_stop(&dbg, &f);
    nh_server_free(srv);
  } else if (r == NH_ENOMEM) {
    fprintf(stderr, "nethttp httpbin: could not start\n");
  }
  nh_chain_free(chain);
  if (rt)
    nh_runtime_free(rt);
  nh_mux_free(m);
  nh_tls_ctx_free(tls);
  nh_log_set_default(NULL);
  nh_logger_free(a.hb.log);
  return r == NH_OK ? 0 : 1;
}
