/* Server flags shared by every nethttp subcommand that serves, so each
 * setting has one name everywhere: --addr, --read-header-timeout,
 * --read-timeout, --write-timeout, --idle-timeout, --max-header-bytes,
 * --max-conns, --shutdown-timeout, --log-format text|json, --log-level. */
#ifndef NH_CLI_FLAGS_H
#define NH_CLI_FLAGS_H

#include <nethttp.h>
#include <stdio.h>

typedef struct server_flags {
  const char *addr;
  nh_server_config cfg;
  nh_dur shutdown_timeout;
  const char *log_format; /* "text" or "json" */
  nh_log_level log_level;
  int threads; /* event loops; 0 = one per CPU */
} server_flags;

void server_flags_init(server_flags *f, const char *default_addr);

/* Consumes argv[*i] (and its value) if it is a server flag. Returns 1 if
 * consumed, 0 if not a server flag, -1 on a bad value (message printed). */
int server_flags_parse(server_flags *f, int argc, char **argv, int *i);

/* Makes the logger the flags ask for (free with nh_logger_free). */
nh_logger *server_flags_logger(const server_flags *f);

void server_flags_usage(FILE *out);

#endif
