/* Server flags shared by every nethttp subcommand that serves, so each
 * setting has one name everywhere: --addr, --read-header-timeout,
 * --read-timeout, --write-timeout, --idle-timeout, --max-header-bytes,
 * --max-conns, --shutdown-timeout, --log-format text|json, --log-level,
 * --tls-cert/--tls-key, HTTP/2's --h2c, --no-http2,
 * --max-concurrent-streams, --debug-addr/--debug-allow-remote, and
 * --proxy-protocol, --max-conns-per-ip, --ready-path, --live-path,
 * --drain-delay, --compress and its settings. */
#ifndef NH_CLI_FLAGS_H
#define NH_CLI_FLAGS_H

#include <nethttp.h>
#include <stdio.h>

typedef struct server_flags {
  const char *addr;
  nh_server_config cfg;
  nh_dur shutdown_timeout;
  const char *log_format; /* "auto" (text on a terminal), "text" or "json" */
  nh_log_level log_level;
  int threads; /* event loops; 0 = one per CPU */
  const char *tls_cert, *tls_key; /* --tls-cert, --tls-key: serve HTTPS */
  const char *debug_addr;  /* --debug-addr: the debug pages' private listener */
  int debug_allow_remote;  /* --debug-allow-remote: on any address */
  nh_listen_options listen; /* --proxy-protocol: PROXY header policy and trusted sources */
  /* --ready-path, --live-path: the built-in readiness and liveness
   * handlers (probes.h); --max-conns-per-ip and --drain-delay are in cfg. */
  const char *ready_path, *live_path;
  /* --listen-fd NAME|auto (repeatable): sockets passed by systemd, served
   * instead of --addr (listen_fds.c) */
  const char *listen_fds[8];
  int nlisten_fds;
  /* --compress, --compress-encodings LIST, --compress-level CODING=N,
   * --compress-min-size N: the response compression middleware
   * (nh_with_compress) around the handler; off by default. */
  int compress;
  nh_compress_config compress_cfg;
} server_flags;

void server_flags_init(server_flags *f, const char *default_addr);

/* Consumes argv[*i] (and its value) if it is a server flag. Returns 1 if
 * consumed, 0 if not a server flag, -1 on a bad value (message printed). */
int server_flags_parse(server_flags *f, int argc, char **argv, int *i);

/* h wrapped in the compression middleware when --compress asks for it,
 * else h itself. fn NULL when the middleware could not be made (its
 * settings were checked when parsed). */
nh_handler server_flags_compress(const server_flags *f, nh_handler h);

/* Makes the logger the flags ask for (free with nh_logger_free). */
nh_logger *server_flags_logger(const server_flags *f);

void server_flags_usage(FILE *out);

/* Opens f->addr on srv with f->listen's options (PROXY protocol...).
 * Returns 0 or nh_server_listen_with's error (logged); the caller then
 * runs the server with no address of its own (nh_server_run(srv, NULL...)). */
int server_flags_listen(server_flags *f, nh_server *srv);

/* With --tls-cert and --tls-key: makes the server's TLS context into
 * *out and sets f->cfg.tls (free it after the server). *out is NULL
 * without them. Returns 0, or -1 after printing why. */
int server_flags_tls(server_flags *f, nh_tls_ctx **out);

/* listen_fds.c: in a process started by a handover (SIGUSR2), serves the
 * sockets it was handed, all and in order; otherwise those --listen-fd
 * names (systemd socket activation), with options o (NULL = none).
 * Returns 1 when srv then listens (do not listen on --addr), 0 without
 * --listen-fd, -1 after printing why (a name not passed, no socket). */
int server_flags_listen_fds(const server_flags *f, nh_server *srv, const nh_listen_options *o);

/* The debug pages (nethttp/debug.h) on a second server of the same
 * runtime, listening on --debug-addr only: "127.0.0.1:PORT", "[::1]:PORT",
 * "localhost:PORT", "unix:/path" or "/path". Any other address is refused
 * unless --debug-allow-remote. The public server is never given them. */
typedef struct debug_listener {
  nh_server *srv; /* NULL without --debug-addr */
  nh_handler pages;
} debug_listener;

/* Starts it when f->debug_addr is set (pub: the server whose figures it
 * shows). Returns 0, or -1 after printing why (a refused address, a
 * failed listen). */
int debug_listener_start(debug_listener *dl, const server_flags *f, nh_runtime *rt, nh_server *pub,
                         nh_logger *log);
/* Shuts it down (within the flags' shutdown timeout) and frees it. */
void debug_listener_stop(debug_listener *dl, const server_flags *f);

#endif
