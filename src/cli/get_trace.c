/* nethttp get -v's connection, TLS and timing lines (see get_trace.h). */
#include "get_trace.h"

#include <stdio.h>
#include <string.h>

static void on_get_conn(void *user, const char *host_port) {
  get_trace *g = user;
  if (g->verbose)
    fprintf(stderr, "* Looking for a connection to %s\n", host_port);
}

static void on_dns_done(void *user, int err) {
  get_trace *g = user;
  g->dns = nh_now() - g->start;
  if (g->verbose && err)
    fprintf(stderr, "* Could not resolve host: %s (%s)\n", g->host, nh_strerror(err));
}

/* addr is "1.2.3.4:443" or "[::1]:443": curl's "Connected to HOST (IP) port N". */
static void on_connect_done(void *user, const char *addr, int err) {
  get_trace *g = user;
  g->connect = nh_now() - g->start;
  if (!g->verbose)
    return;
  const char *colon = strrchr(addr, ':');
  int iplen = colon ? (int)(colon - addr) : (int)strlen(addr);
  const char *ip = addr;
  if (iplen >= 2 && ip[0] == '[') {
    ip++;
    iplen -= 2;
  }
  if (err)
    fprintf(stderr, "* connect to %s failed: %s\n", addr, nh_strerror(err));
  else
    fprintf(stderr, "* Connected to %s (%.*s) port %s\n", g->host, iplen, ip, colon ? colon + 1 : "?");
}

static void on_tls_done(void *user, const struct nh_tls_conn *tls, int err) {
  get_trace *g = user;
  g->tls = nh_now() - g->start;
  if (err) {
    snprintf(g->tls_error, sizeof g->tls_error, "%s", nh_tls_last_error(NULL));
    if (!g->tls_error[0])
      snprintf(g->tls_error, sizeof g->tls_error, "%s", nh_strerror(err));
    if (g->verbose)
      fprintf(stderr, "* TLS handshake failed: %s\n", g->tls_error);
    return;
  }
  snprintf(g->alpn, sizeof g->alpn, "%s", nh_tls_alpn(tls));
  if (!g->verbose)
    return;
  const char *alpn = nh_tls_alpn(tls);
  fprintf(stderr, "* SSL connection using %s / %s\n", nh_tls_version(tls), nh_tls_cipher(tls));
  if (*alpn)
    fprintf(stderr, "* ALPN: server accepted %s\n", alpn);
  else
    fprintf(stderr, "* ALPN: server did not agree on a protocol\n");
  char name[512];
  fprintf(stderr, "* Server certificate:\n");
  if (nh_tls_peer_name(tls, 0, name, sizeof name) >= 0)
    fprintf(stderr, "*  subject: %s\n", name);
  if (nh_tls_peer_name(tls, 1, name, sizeof name) >= 0)
    fprintf(stderr, "*  issuer: %s\n", name);
  if (nh_tls_peer_verified(tls))
    fprintf(stderr, "*  SSL certificate verify ok.\n");
  else
    fprintf(stderr, "*  SSL certificate not verified (--insecure): continuing anyway.\n");
  if (nh_tls_session_reused(tls))
    fprintf(stderr, "* SSL session resumed\n");
}

static void on_got_conn(void *user, int reused) {
  get_trace *g = user;
  if (g->verbose && reused)
    fprintf(stderr, "* Re-using existing connection\n");
  if (g->on_ready) {
    g->on_ready(g->on_ready_arg);
    g->on_ready = NULL;
  }
}

static void on_wrote_request(void *user, int err) {
  get_trace *g = user;
  if (!err)
    g->wrote = nh_now() - g->start;
}

static void on_first_byte(void *user) {
  get_trace *g = user;
  g->first_byte = nh_now() - g->start; /* the last hop's, after redirects */
}

void get_trace_start(get_trace *g, nh_client_request *req, const char *host, int verbose,
                     void (*on_ready)(void *arg), void *on_ready_arg) {
  memset(g, 0, sizeof *g);
  g->hooks = (nh_client_trace){
      .user = g,
      .get_conn = on_get_conn,
      .dns_done = on_dns_done,
      .connect_done = on_connect_done,
      .tls_done = on_tls_done,
      .got_conn = on_got_conn,
      .wrote_request = on_wrote_request,
      .got_first_byte = on_first_byte,
  };
  g->verbose = verbose;
  g->host = host;
  g->on_ready = on_ready;
  g->on_ready_arg = on_ready_arg;
  g->start = nh_now();
  nh_client_request_set_trace(req, &g->hooks);
}

static double secs(nh_dur d) { return (double)d / (double)NH_SEC; }

void get_trace_finish(get_trace *g) {
  if (!g->verbose)
    return;
  nh_dur total = nh_now() - g->start;
  /* Phases that did not happen (a reused connection has no lookup) take
   * the time of the one before, as curl's do. */
  nh_dur dns = g->dns, conn = g->connect ? g->connect : dns;
  nh_dur app = g->tls ? g->tls : 0;
  fprintf(stderr, "* time_namelookup:    %.6fs\n", secs(dns));
  fprintf(stderr, "* time_connect:       %.6fs\n", secs(conn));
  fprintf(stderr, "* time_appconnect:    %.6fs (TLS handshake done)\n", secs(app));
  fprintf(stderr, "* time_requestsent:   %.6fs\n", secs(g->wrote));
  fprintf(stderr, "* time_starttransfer: %.6fs (first response byte)\n", secs(g->first_byte));
  fprintf(stderr, "* time_total:         %.6fs\n", secs(total));
}
