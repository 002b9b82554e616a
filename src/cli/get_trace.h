/* nethttp get -v: what curl -v shows about a request besides its heads
 * (the connection, the TLS session, the server's certificate) and when
 * each phase ended, from the client's trace hooks (nh_client_trace). */
#ifndef NH_CLI_GET_TRACE_H
#define NH_CLI_GET_TRACE_H

#include <nethttp.h>

typedef struct get_trace {
  nh_client_trace hooks;
  int verbose;         /* print "* " lines on stderr; else only remember */
  const char *host;    /* as in the URL */
  nh_time start;       /* when the request was made */
  /* Since start, 0 if the phase did not happen (reused connection, http);
   * after redirects, the last time each phase ended. */
  nh_dur dns, connect, tls, wrote, first_byte;
  char tls_error[256]; /* OpenSSL's reason when the handshake failed */
  char alpn[16];       /* the protocol the server chose by ALPN ("" if none) */
  /* Called once, when the first connection is ready, to print the request
   * head after the connection lines (as curl does). */
  void (*on_ready)(void *arg);
  void *on_ready_arg;
} get_trace;

/* Attaches the trace to req; verbose: print as the phases end. host is
 * borrowed and must outlive the request. */
void get_trace_start(get_trace *g, nh_client_request *req, const char *host, int verbose,
                     void (*on_ready)(void *arg), void *on_ready_arg);

/* With verbose, prints the timings of the exchange (call after the body
 * was read): curl's -w names, seconds since the start. */
void get_trace_finish(get_trace *g);

#endif
