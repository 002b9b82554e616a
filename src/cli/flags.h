/* Server flags shared by every nethttp subcommand that serves, so each
 * setting has one name everywhere: --addr, --read-header-timeout,
 * --read-timeout, --write-timeout, --idle-timeout, --max-header-bytes,
 * --max-conns, --shutdown-timeout, --log-format text|json, --log-level,
 * --tls-cert/--tls-key, and HTTP/2's --h2c, --no-http2,
 * --max-concurrent-streams. */
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
} server_flags;

void server_flags_init(server_flags *f, const char *default_addr);

/* Consumes argv[*i] (and its value) if it is a server flag. Returns 1 if
 * consumed, 0 if not a server flag, -1 on a bad value (message printed). */
int server_flags_parse(server_flags *f, int argc, char **argv, int *i);

/* Makes the logger the flags ask for (free with nh_logger_free). */
nh_logger *server_flags_logger(const server_flags *f);

void server_flags_usage(FILE *out);

/* With --tls-cert and --tls-key: makes the server's TLS context into
 * *out and sets f->cfg.tls (free it after the server). *out is NULL
 * without them. Returns 0, or -1 after printing why. */
int server_flags_tls(server_flags *f, nh_tls_ctx **out);

#endif
