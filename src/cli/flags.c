/* Parsing of the shared server flags (see flags.h). Durations are Go-style
 * ("250ms", "5s", "0" is refused for timeouts: use "none" to turn one
 * off). */
#include "flags.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void server_flags_init(server_flags *f, const char *default_addr) {
  nh_server_config d = NH_SERVER_CONFIG_DEFAULT;
  memset(f, 0, sizeof *f);
  f->addr = default_addr;
  f->cfg = d;
  f->shutdown_timeout = 30 * NH_SEC;
  f->log_format = "auto";
  f->log_level = NH_LOG_INFO;
}

/* "--name value" or "--name=value": returns the value or NULL. */
static const char *flag_value(const char *name, int argc, char **argv, int *i) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] == 0 && *i + 1 < argc) {
    (*i)++;
    return argv[*i];
  }
  return NULL;
}

static int parse_timeout(const char *flag, const char *v, nh_dur *out) {
  if (!strcmp(v, "none")) {
    *out = NH_NO_TIMEOUT;
    return 1;
  }
  nh_dur d;
  if (nh_dur_parse(v, &d) != NH_OK || d <= 0) {
    fprintf(stderr, "nethttp: %s: want a duration like 250ms or 5s (or none), not %s\n", flag, v);
    return -1;
  }
  *out = d;
  return 1;
}

static int parse_count(const char *flag, const char *v, long *out) {
  char *end;
  long n = strtol(v, &end, 10);
  if (*v == 0 || *end || n <= 0) {
    fprintf(stderr, "nethttp: %s: want a positive number, not %s\n", flag, v);
    return -1;
  }
  *out = n;
  return 1;
}

static int parse_path(const char *flag, const char *v, const char **out) {
  if (v[0] != '/') {
    fprintf(stderr, "nethttp: %s: want a path starting with /, not %s\n", flag, v);
    return -1;
  }
  *out = v;
  return 1;
}

/* Only to check a compression setting: never serves. */
static void server_flags_usage_handler(nh_response_writer *w, nh_request *r) { (void)w, (void)r; }

nh_handler server_flags_compress(const server_flags *f, nh_handler h) {
  return f->compress ? nh_with_compress(h, &f->compress_cfg) : h;
}

int server_flags_parse(server_flags *f, int argc, char **argv, int *i) {
  const char *v;
  long n;
  int r;
  if ((v = flag_value("--addr", argc, argv, i))) {
    f->addr = v;
    return 1;
  }
  if ((v = flag_value("--read-header-timeout", argc, argv, i)))
    return parse_timeout("--read-header-timeout", v, &f->cfg.read_header_timeout);
  if ((v = flag_value("--read-timeout", argc, argv, i)))
    return parse_timeout("--read-timeout", v, &f->cfg.read_timeout);
  if ((v = flag_value("--write-timeout", argc, argv, i)))
    return parse_timeout("--write-timeout", v, &f->cfg.write_timeout);
  if ((v = flag_value("--idle-timeout", argc, argv, i)))
    return parse_timeout("--idle-timeout", v, &f->cfg.idle_timeout);
  if ((v = flag_value("--shutdown-timeout", argc, argv, i)))
    return parse_timeout("--shutdown-timeout", v, &f->shutdown_timeout);
  if ((v = flag_value("--max-header-bytes", argc, argv, i))) {
    if ((r = parse_count("--max-header-bytes", v, &n)) > 0)
      f->cfg.max_header_bytes = (size_t)n;
    return r;
  }
  if ((v = flag_value("--max-conns", argc, argv, i))) {
    if ((r = parse_count("--max-conns", v, &n)) > 0)
      f->cfg.max_conns = (int)n;
    return r;
  }
  if ((v = flag_value("--threads", argc, argv, i))) {
    if ((r = parse_count("--threads", v, &n)) > 0)
      f->threads = (int)n;
    return r;
  }
  if (!strcmp(argv[*i], "--h2c")) { /* HTTP/2 with prior knowledge on plain listeners */
    f->cfg.http2.h2c = 1;
    return 1;
  }
  if (!strcmp(argv[*i], "--no-http2")) {
    f->cfg.http2.disable = 1;
    f->cfg.http2.h2c = 0;
    return 1;
  }
  if ((v = flag_value("--max-concurrent-streams", argc, argv, i))) {
    if ((r = parse_count("--max-concurrent-streams", v, &n)) > 0)
      f->cfg.http2.max_concurrent_streams = (uint32_t)n;
    return r;
  }
  if ((v = flag_value("--debug-addr", argc, argv, i))) {
    f->debug_addr = v;
    return 1;
  }
  if (!strcmp(argv[*i], "--debug-allow-remote")) {
    f->debug_allow_remote = 1;
    return 1;
  }
  if ((v = flag_value("--listen-fd", argc, argv, i))) {
    if (f->nlisten_fds == (int)(sizeof f->listen_fds / sizeof f->listen_fds[0])) {
      fprintf(stderr, "nethttp: --listen-fd: at most %d\n", f->nlisten_fds);
      return -1;
    }
    f->listen_fds[f->nlisten_fds++] = v;
    return 1;
  }
  if ((v = flag_value("--tls-cert", argc, argv, i))) {
    f->tls_cert = v;
    return 1;
  }
  if ((v = flag_value("--tls-key", argc, argv, i))) {
    f->tls_key = v;
    return 1;
  }
  /* Running behind load balancers and supervisors. */
  if ((v = flag_value("--max-conns-per-ip", argc, argv, i))) {
    if ((r = parse_count("--max-conns-per-ip", v, &n)) > 0)
      f->cfg.max_conns_per_ip = n > 1000000000 ? 1000000000 : (int)n;
    return r;
  }
  if ((v = flag_value("--drain-delay", argc, argv, i))) {
    nh_dur d;
    if (nh_dur_parse(v, &d) != NH_OK || d < 0) {
      fprintf(stderr, "nethttp: --drain-delay: want a duration like 5s (or 0), not %s\n", v);
      return -1;
    }
    f->cfg.drain_delay = d;
    return 1;
  }
  if ((v = flag_value("--ready-path", argc, argv, i)))
    return parse_path("--ready-path", v, &f->ready_path);
  if ((v = flag_value("--live-path", argc, argv, i)))
    return parse_path("--live-path", v, &f->live_path);
  if ((v = flag_value("--log-format", argc, argv, i))) {
    if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "auto")) {
      fprintf(stderr, "nethttp: --log-format: auto, text or json, not %s\n", v);
      return -1;
    }
    f->log_format = v;
    return 1;
  }
  if ((v = flag_value("--proxy-protocol", argc, argv, i))) {
    if (!*v) {
      fprintf(stderr, "nethttp: --proxy-protocol: want CIDR[,CIDR...] (trusted proxies)\n");
      return -1;
    }
    f->listen.proxy = NH_PROXY_REQUIRED; /* the list is checked when listening */
    f->listen.proxy_trusted = v;
    return 1;
  }
  /* Response compression (nh_with_compress). */
  if (!strcmp(argv[*i], "--compress")) {
    f->compress = 1;
    return 1;
  }
  if ((v = flag_value("--compress-encodings", argc, argv, i))) {
    nh_compress_config c = f->compress_cfg;
    c.encodings = v;
    nh_handler t = nh_with_compress(NH_HANDLER(server_flags_usage_handler, NULL), &c);
    if (!t.fn) {
      fprintf(stderr, "nethttp: --compress-encodings: a list of zstd, br, gzip, not %s\n", v);
      return -1;
    }
    nh_handler_free(t);
    f->compress_cfg.encodings = v;
    f->compress = 1;
    return 1;
  }
  if ((v = flag_value("--compress-level", argc, argv, i))) {
    char name[8];
    int level, end = 0;
    if (sscanf(v, "%7[a-z]=%d%n", name, &level, &end) != 2 || v[end] ||
        (strcmp(name, "gzip") && strcmp(name, "br") && strcmp(name, "zstd")) || level < 1 ||
        level > (!strcmp(name, "gzip") ? 9 : !strcmp(name, "br") ? 11 : 19)) {
      fprintf(stderr, "nethttp: --compress-level: gzip=1..9, br=1..11 or zstd=1..19, not %s\n", v);
      return -1;
    }
    *(!strcmp(name, "gzip") ? &f->compress_cfg.gzip_level
      : !strcmp(name, "br") ? &f->compress_cfg.br_level
                            : &f->compress_cfg.zstd_level) = level;
    f->compress = 1;
    return 1;
  }
  if ((v = flag_value("--compress-min-size", argc, argv, i))) {
    if ((r = parse_count("--compress-min-size", v, &n)) > 0) {
      f->compress_cfg.min_size = (size_t)n;
      f->compress = 1;
    }
    return r;
  }
  if ((v = flag_value("--log-level", argc, argv, i))) {
    static const struct {
      const char *name;
      nh_log_level level;
    } levels[] = {{"debug", NH_LOG_DEBUG}, {"info", NH_LOG_INFO}, {"warn", NH_LOG_WARN}, {"error", NH_LOG_ERROR}};
    for (size_t k = 0; k < sizeof levels / sizeof levels[0]; k++)
      if (!strcmp(v, levels[k].name)) {
        f->log_level = levels[k].level;
        return 1;
      }
    fprintf(stderr, "nethttp: --log-level: debug, info, warn or error, not %s\n", v);
    return -1;
  }
  return 0;
}

/* auto: text for a person at a terminal, JSON for a file or a pipe (a log
 * collector). */
nh_logger *server_flags_logger(const server_flags *f) {
  int text = !strcmp(f->log_format, "text") ||
             (!strcmp(f->log_format, "auto") && isatty(fileno(stderr)));
  return text ? nh_logger_text_new(stderr, f->log_level)
              : nh_logger_json_new(stderr, f->log_level);
}

void server_flags_usage(FILE *out) {
  fprintf(out,
          "server flags (durations like 250ms, 5s, 2m; \"none\" turns a timeout off):\n"
          "  --addr HOST:PORT            listen address (:PORT = all addresses; unix:/path)\n"
          "  --listen-fd NAME|auto       serve the sockets systemd passed by that name\n"
          "                              (FileDescriptorName=), or all; repeatable;\n"
          "                              instead of --addr. SIGUSR2 restarts without loss\n"
          "  --read-header-timeout D     request line and headers (default 5s)\n"
          "  --read-timeout D            whole request (default 30s)\n"
          "  --write-timeout D           response (default 1m)\n"
          "  --idle-timeout D            keep-alive wait (default 2m)\n"
          "  --max-header-bytes N        request head limit (default 65536)\n"
          "  --max-conns N               connection limit (default: from the fd limit)\n"
          "  --shutdown-timeout D        graceful shutdown on SIGINT/SIGTERM (default 30s)\n"
          "  --threads N                 event loops (default: one per CPU)\n"
          "  --log-format auto|text|json (default auto: text on a terminal, else JSON)\n"
          "  --log-level debug|info|warn|error (default info)\n"
          "  --tls-cert FILE --tls-key FILE  serve HTTPS with this PEM certificate chain\n"
          "                              and key (SIGHUP reads them again); HTTP/2 by ALPN\n"
          "  --h2c                       also HTTP/2 with prior knowledge on plain listeners\n"
          "  --no-http2                  HTTP/1 only (no \"h2\" over TLS, no h2c)\n"
          "  --max-concurrent-streams N  HTTP/2 streams per connection (default 250)\n"
          "  --debug-addr ADDR           serve /debug/ (fibers, vars...) on a private listener:\n"
          "                              127.0.0.1:PORT, [::1]:PORT, unix:/path or /path\n"
          "  --debug-allow-remote        let --debug-addr be any address (the pages show\n"
          "                              stacks and memory: keep them off public networks)\n"
          "  --proxy-protocol CIDR[,CIDR...]  PROXY protocol v1/v2 header required from these\n"
          "                              sources (the client's address is taken from it);\n"
          "                              connections from any other source are refused\n"
          "  --max-conns-per-ip N        connections one client address may hold; more are\n"
          "                              closed at once, unanswered (default: no limit)\n"
          "  --ready-path PATH           readiness probe: 200, then 503 from SIGTERM on\n"
          "  --live-path PATH            liveness probe: 200 until the process exits\n"
          "  --drain-delay D             on SIGTERM, answer readiness 503 and keep serving\n"
          "                              this long before closing the listeners (default 0;\n"
          "                              within --shutdown-timeout)\n"
          "  --compress                  compress responses (gzip, br, zstd) as clients accept\n"
          "  --compress-encodings LIST   the codings offered, preferred first (implies\n"
          "                              --compress; default zstd,br,gzip)\n"
          "  --compress-level CODING=N   gzip=1..9 (default 5), br=1..11 (4), zstd=1..19 (3)\n"
          "  --compress-min-size N       bodies shorter go uncompressed (default 1024)\n");
}

int server_flags_listen(server_flags *f, nh_server *srv) {
  return nh_server_listen_with(srv, f->addr, &f->listen); /* it logs why not */
}

int server_flags_tls(server_flags *f, nh_tls_ctx **out) {
  *out = NULL;
  if (!f->tls_cert && !f->tls_key)
    return 0;
  if (!f->tls_cert || !f->tls_key) {
    fprintf(stderr, "nethttp: --tls-cert and --tls-key go together\n");
    return -1;
  }
  nh_tls_cert_file cert = {f->tls_cert, f->tls_key};
  nh_tls_config cfg = {.role = NH_TLS_SERVER, .certs = &cert, .ncerts = 1,
                       .alpn = f->cfg.http2.disable ? "http/1.1" : NULL /* "h2,http/1.1" */};
  char *err = NULL;
  int e = nh_tls_config_new(&cfg, out, &err);
  if (e != NH_OK) {
    fprintf(stderr, "nethttp: TLS: %s\n", err ? err : nh_strerror(e));
    free(err);
    *out = NULL;
    return -1;
  }
  f->cfg.tls = *out;
  return 0;
}
