/* nethttp get URL — a small curl on the library's client: one request
 * from a plain thread (the client blocks it), the body to stdout or a file,
 * curl's flags and curl's exit codes so scripts can tell a refused
 * connection (7) from a timeout (28) from an HTTP error under -f (22). */
#include "get_args.h"
#include "get_form.h"
#include "get_trace.h"
#include "progress.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* curl's exit codes (see docs/cli.md). */
enum {
  EXIT_USAGE = 2,
  EXIT_UNSUPPORTED = 1,
  EXIT_BAD_URL = 3,
  EXIT_NO_HOST = 6,
  EXIT_CONNECT = 7,
  EXIT_WEIRD_REPLY = 8,
  EXIT_HTTP_ERROR = 22,
  EXIT_WRITE = 23,
  EXIT_READ = 26,
  EXIT_TIMEOUT = 28,
  EXIT_TLS = 35,
  EXIT_TOO_MANY_REDIRECTS = 47,
  EXIT_SEND = 55,
  EXIT_RECV = 56,
  EXIT_PEER_CERT = 60,
  EXIT_CACERT_FILE = 77,
};

typedef struct get_opts {
  const char *url_arg;
  char *url;
  const char *method; /* -X; NULL = from the other flags */
  nh_header *hdr;
  nh__dynbuf data; /* -d / --data-binary / --json pieces, joined */
  int has_data;
  const char *data_file; /* a lone --data-binary @file, sent from the file */
  int json;
  get_form form;
  const char *out_path;
  int follow;
  long max_redirs; /* -1 = no limit */
  int too_many_redirects;
  nh_dur max_time, connect_timeout;
  const char *cacert; /* --cacert: trust these roots instead of the system's */
  int include, verbose, fail, silent, show_error, head, compressed, insecure;
  int http_version; /* --http1.1, --http2: an enum nh_http_version */
  get_trace trace; /* -v: connection, TLS and timing lines */
  /* The request as sent, for the -v head printed once connected. */
  nh_client_request *wire_req;
  const char *wire_method;
  int64_t wire_body_len;
} get_opts;

static void get_usage(FILE *out) {
  fprintf(out,
          "usage: nethttp get [flags] URL\n\n"
          "Makes one HTTP request and writes the response body to stdout, like curl.\n\n"
          "  -X, --request METHOD      request method (default GET, POST with a body)\n"
          "  -H, --header 'K: V'       add a header (repeatable; 'K:' removes K)\n"
          "  -A, --user-agent UA       User-Agent (default nethttp/VERSION)\n"
          "  -d, --data DATA           body; repeated pieces are joined with '&';\n"
          "                            @FILE reads FILE without its newlines (no Content-Type)\n"
          "      --data-binary DATA    body as is; @FILE sends FILE byte for byte\n"
          "      --json DATA           body, with Content-Type and Accept application/json\n"
          "  -F, --form NAME=VALUE     multipart/form-data field; NAME=@FILE uploads FILE,\n"
          "                            NAME=<FILE sends FILE's content as the value\n"
          "  -I, --head                HEAD request, print the response head\n"
          "  -o, --output FILE         write the body to FILE (- = stdout)\n"
          "  -i, --include             print the response head before the body\n"
          "  -v, --verbose             connection and TLS (* ), request (> ) and response (< )\n"
          "                            heads, and timings, on stderr\n"
          "  -L, --location            follow redirects\n"
          "      --max-redirs N        at most N redirects with -L (default 50, -1 = no limit)\n"
          "  -m, --max-time T          whole transfer timeout (seconds, or 500ms, 2m)\n"
          "      --connect-timeout T   connect timeout\n"
          "      --compressed          ask for gzip, br and zstd and decode them\n"
          "  -f, --fail                no body and exit 22 on a status >= 400\n"
          "  -s, --silent              no progress bar and no error messages\n"
          "  -S, --show-error          error messages even with -s\n"
          "      --cacert FILE         https: trust the CA certificates in FILE (PEM)\n"
          "                            instead of the system's\n"
          "  -k, --insecure            https: do not verify the server's certificate\n"
          "      --http1.1             HTTP/1.1 only (https offers only http/1.1 by ALPN)\n"
          "      --http2               HTTP/2 only: https offers only h2 by ALPN; http speaks\n"
          "                            h2c with prior knowledge (no Upgrade), as curl's\n"
          "                            --http2-prior-knowledge, also accepted. By default\n"
          "                            https offers h2 then http/1.1, and http is HTTP/1.1\n\n"
          "Exit codes: 0 ok, 1 unsupported scheme, 2 bad usage, 3 bad URL, 6 host not\n"
          "resolved, 7 could not connect, 8 malformed response, 22 HTTP error with -f,\n"
          "23 write error, 26 cannot read the body file, 28 timeout, 35 TLS handshake\n"
          "failed, 47 too many redirects, 55 send failure, 56 receive failure, 60 the\n"
          "server's certificate was not trusted, 77 cannot read the --cacert file.\n");
}

static int complain(const get_opts *o, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int complain(const get_opts *o, int code, const char *fmt, ...) {
  if (o->silent && !o->show_error)
    return code;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "nethttp get: (%d) ", code);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

static int append_data(get_opts *o, const void *p, size_t n, const char *sep) {
  if (o->has_data && sep)
    nh__dynbuf_addstr(&o->data, sep);
  o->has_data = 1;
  return nh__dynbuf_add(&o->data, p, n);
}

/* One -d / --data-binary / --json value. strip_newlines is curl's -d @file. */
static int add_data(get_opts *o, const char *v, const char *sep, int strip_newlines) {
  if (v[0] != '@')
    return append_data(o, v, strlen(v), sep) ? EXIT_USAGE : 0;
  char *buf;
  size_t n;
  int e = cli_read_file(v + 1, &buf, &n);
  if (e)
    return complain(o, EXIT_READ, "cannot read %s: %s", v + 1, nh_strerror(e));
  if (strip_newlines) {
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
      if (buf[j] != '\r' && buf[j] != '\n')
        buf[k++] = buf[j];
    n = k;
  }
  e = append_data(o, buf, n, sep);
  free(buf);
  return e ? EXIT_USAGE : 0;
}

static int bad_usage(const char *fmt, const char *arg) {
  fprintf(stderr, "nethttp get: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see nethttp get --help)\n");
  return EXIT_USAGE;
}

/* Boolean short flags may be bundled: -sSfL. Returns 0 if arg is not such a
 * bundle. */
static int bool_bundle(get_opts *o, const char *arg) {
  if (arg[0] != '-' || arg[1] == '-' || !arg[1])
    return 0;
  for (const char *c = arg + 1; *c; c++)
    if (!strchr("iIvLfsSk", *c))
      return 0;
  for (const char *c = arg + 1; *c; c++)
    switch (*c) {
    case 'i': o->include = 1; break;
    case 'I': o->head = o->include = 1; break;
    case 'v': o->verbose = 1; break;
    case 'L': o->follow = 1; break;
    case 'f': o->fail = 1; break;
    case 's': o->silent = 1; break;
    case 'S': o->show_error = 1; break;
    case 'k': o->insecure = 1; break;
    }
  return 1;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(get_opts *o, int argc, char **argv) {
  const char *data_binary_file = NULL;
  int data_pieces = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    int missing = 0, r;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      get_usage(stdout);
      return 0;
    }
    if (bool_bundle(o, a))
      continue;
#define LONG_BOOL(name, field)                                                                  \
  if (!strcmp(a, name)) {                                                                      \
    o->field = 1;                                                                              \
    continue;                                                                                  \
  }
    LONG_BOOL("--include", include)
    LONG_BOOL("--verbose", verbose)
    LONG_BOOL("--location", follow)
    LONG_BOOL("--fail", fail)
    LONG_BOOL("--silent", silent)
    LONG_BOOL("--show-error", show_error)
    LONG_BOOL("--compressed", compressed)
    LONG_BOOL("--insecure", insecure)
#undef LONG_BOOL
    if (!strcmp(a, "--http1.1")) {
      o->http_version = NH_HTTP_1;
      continue;
    }
    if (!strcmp(a, "--http2") || !strcmp(a, "--http2-prior-knowledge")) {
      o->http_version = NH_HTTP_2;
      continue;
    }
    if (!strcmp(a, "--head")) {
      o->head = o->include = 1;
      continue;
    }
    if ((v = cli_flag_value("-X", "--request", argc, argv, &i, &missing))) {
      o->method = v;
      continue;
    }
    if ((v = cli_flag_value("-H", "--header", argc, argv, &i, &missing))) {
      if (cli_add_header(o->hdr, v))
        return bad_usage("-H wants 'Name: value', not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-A", "--user-agent", argc, argv, &i, &missing))) {
      nh_header_set(o->hdr, "User-Agent", v);
      continue;
    }
    if ((v = cli_flag_value("-d", "--data", argc, argv, &i, &missing))) {
      data_pieces++;
      if ((r = add_data(o, v, "&", 1)))
        return r;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--data-binary", argc, argv, &i, &missing))) {
      data_pieces++;
      if (v[0] == '@')
        data_binary_file = v + 1;
      if ((r = add_data(o, v, "&", 0)))
        return r;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--json", argc, argv, &i, &missing))) {
      data_pieces++;
      o->json = 1;
      if ((r = add_data(o, v, "", 0)))
        return r;
      continue;
    }
    if ((v = cli_flag_value("-F", "--form", argc, argv, &i, &missing))) {
      int e = get_form_add(&o->form, v);
      if (e == NH_EINVAL)
        return bad_usage("-F wants NAME=VALUE, not %s", v);
      if (e)
        return complain(o, EXIT_READ, "-F %s: %s", v, nh_strerror(e));
      continue;
    }
    if ((v = cli_flag_value("-o", "--output", argc, argv, &i, &missing))) {
      o->out_path = v;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--max-redirs", argc, argv, &i, &missing))) {
      char *end;
      o->max_redirs = strtol(v, &end, 10);
      if (!*v || *end || o->max_redirs < -1)
        return bad_usage("--max-redirs wants a number >= -1, not %s", v);
      continue;
    }
    if ((v = cli_flag_value("-m", "--max-time", argc, argv, &i, &missing))) {
      if (cli_parse_dur(v, &o->max_time))
        return bad_usage("-m wants seconds (0.5) or a duration (500ms), not %s", v);
      continue;
    }
    if ((v = cli_flag_value(NULL, "--cacert", argc, argv, &i, &missing))) {
      o->cacert = v;
      continue;
    }
    if ((v = cli_flag_value(NULL, "--connect-timeout", argc, argv, &i, &missing))) {
      if (cli_parse_dur(v, &o->connect_timeout))
        return bad_usage("--connect-timeout wants seconds or a duration, not %s", v);
      continue;
    }
    if (missing)
      return bad_usage("%s needs a value", a);
    if (a[0] == '-' && a[1])
      return bad_usage("unknown flag %s", a);
    if (o->url_arg)
      return bad_usage("one URL only; %s is one too many", a);
    o->url_arg = a;
  }
  if (!o->url_arg)
    return bad_usage("%s", "no URL given");
  if (o->form.parts && o->has_data)
    return bad_usage("%s", "-F cannot be combined with -d, --data-binary or --json");
  /* A lone --data-binary @FILE is sent from the file, not from memory. */
  if (data_pieces == 1 && data_binary_file)
    o->data_file = data_binary_file;
  return -1;
}

/* "http://host:port/p?q#f" -> host:port and /p?q, for the -v request head
 * (the same the client puts on the wire). */
static void url_parts(const char *url, char *host, size_t hcap, char *uri, size_t ucap) {
  const char *h = strstr(url, "://");
  h = h ? h + 3 : url;
  size_t hl = strcspn(h, "/?#");
  const char *at = memchr(h, '@', hl);
  if (at) {
    hl -= (size_t)(at + 1 - h);
    h = at + 1;
  }
  snprintf(host, hcap, "%.*s", (int)hl, h);
  const char *p = h + hl;
  size_t pl = strcspn(p, "#");
  snprintf(uri, ucap, "%s%.*s", *p == '/' ? "" : "/", (int)pl, p);
}

static int method_wants_length(const char *m) {
  return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

static void print_request_head(const get_opts *o, nh_client_request *req, const char *method,
                               int64_t body_len) {
  char host[256], uri[2048];
  url_parts(o->url, host, sizeof host, uri, sizeof uri);
  nh_header *h = nh_client_request_header(req);
  const char *given_host = nh_header_get(h, "Host");
  fprintf(stderr, "> %s %s %s\n> Host: %s\n", method, uri,
          o->http_version == NH_HTTP_2 || !strcmp(o->trace.alpn, "h2") ? "HTTP/2" : "HTTP/1.1",
          given_host ? given_host : host);
  if (o->compressed && !nh_header_get(h, "Accept-Encoding"))
    fprintf(stderr, "> Accept-Encoding: gzip, br, zstd\n"); /* what the transport sends */
  if (body_len > 0 || (body_len == 0 && method_wants_length(method)))
    fprintf(stderr, "> Content-Length: %lld\n", (long long)body_len);
  for (size_t i = 0; i < nh_header_len(h); i++) {
    const char *k, *v;
    nh_header_at(h, i, &k, &v);
    if (strcasecmp(k, "Host") && strcasecmp(k, "Content-Length") && strcasecmp(k, "Transfer-Encoding"))
      fprintf(stderr, "> %s: %s\n", k, v);
  }
  fprintf(stderr, ">\n");
}

static void print_wire_head(void *arg) {
  get_opts *o = arg;
  print_request_head(o, o->wire_req, o->wire_method, o->wire_body_len);
}

static void print_response_head(nh_response *resp, FILE *out, const char *prefix, const char *eol) {
  int status = nh_response_status(resp);
  const char *text = nh_status_text(status);
  fprintf(out, "%s%s %d%s%s%s", prefix, nh_response_proto(resp), status, *text ? " " : "", text, eol);
  nh_header *h = nh_response_header(resp);
  for (size_t i = 0; i < nh_header_len(h); i++) {
    const char *k, *v;
    nh_header_at(h, i, &k, &v);
    fprintf(out, "%s%s: %s%s", prefix, k, v, eol);
  }
  fprintf(out, "%.1s%s", prefix, eol); /* "<" alone, as the request head ends with ">" */
}

static int redirect_policy(const char *method, const char *url, int redirects, void *user) {
  get_opts *o = user;
  if (!o->follow)
    return NH_ECANCELED;
  if (o->max_redirs >= 0 && redirects > o->max_redirs) {
    o->too_many_redirects = 1;
    return NH_ECANCELED;
  }
  if (o->verbose)
    fprintf(stderr, "* Following redirect %d: %s %s\n", redirects, method, url);
  return 0;
}

/* The curl exit code of a failed exchange. */
static int exit_for(int e, int body_phase) {
  switch (e) {
  case NH_ENOHOST:
    return EXIT_NO_HOST;
  case NH_ECONNREFUSED:
  case NH_ENETUNREACH:
  case NH_EHOSTUNREACH:
  case NH_EADDRNOTAVAIL:
    return body_phase ? EXIT_RECV : EXIT_CONNECT;
  case NH_ETIMEDOUT:
  case NH_ECANCELED:
    return EXIT_TIMEOUT;
  case NH_EBADRESPONSE:
    return EXIT_WEIRD_REPLY;
  case NH_ETOOMANYREDIRECTS:
    return EXIT_TOO_MANY_REDIRECTS;
  case NH_ECERT:
    return EXIT_PEER_CERT;
  case NH_ETLS:
    return EXIT_TLS;
  case NH_EPIPE:
    return EXIT_SEND;
  case NH_ENOENT:
  case NH_EACCES:
    return EXIT_READ;
  default:
    return EXIT_RECV;
  }
}

static int set_body(get_opts *o, nh_client_request *req, int64_t *len) {
  *len = -1;
  if (o->data_file) {
    struct stat st;
    int e = nh_client_request_set_body_file(req, o->data_file);
    if (e)
      return complain(o, EXIT_READ, "cannot read %s: %s", o->data_file, nh_strerror(e));
    if (stat(o->data_file, &st) == 0 && S_ISREG(st.st_mode))
      *len = st.st_size;
    return 0;
  }
  if (o->form.parts) {
    if (get_form_finish(&o->form) || nh_client_request_set_body(req, nh__dynbuf_ptr(&o->form.body),
                                                          nh__dynbuf_len(&o->form.body)))
      return complain(o, EXIT_USAGE, "out of memory");
    *len = (int64_t)nh__dynbuf_len(&o->form.body);
    if (!nh_header_get(nh_client_request_header(req), "Content-Type"))
      nh_header_set(nh_client_request_header(req), "Content-Type", o->form.content_type);
    return 0;
  }
  if (o->has_data) {
    if (nh_client_request_set_body(req, nh__dynbuf_ptr(&o->data), nh__dynbuf_len(&o->data)))
      return complain(o, EXIT_USAGE, "out of memory");
    *len = (int64_t)nh__dynbuf_len(&o->data);
  }
  return 0;
}

/* Writes the body; returns an exit code. */
static int write_body(get_opts *o, nh_response *resp, FILE *out) {
  progress pg;
  int to_terminal = out == stdout && isatty(STDOUT_FILENO);
  progress_start(&pg, !o->silent && progress_tty() && !to_terminal,
                 nh_response_uncompressed(resp) ? -1 : nh_response_content_length(resp));
  static char buf[64 * 1024];
  int64_t done = 0;
  int rc = 0;
  for (;;) {
    ssize_t n = nh_response_read(resp, buf, sizeof buf);
    if (n == 0)
      break;
    if (n < 0) {
      progress_finish(&pg);
      rc = complain(o, exit_for((int)n, 1), "reading the body after %lld bytes: %s", (long long)done,
                    nh_strerror((int)n));
      break;
    }
    if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
      progress_finish(&pg);
      rc = complain(o, EXIT_WRITE, "writing the body: %s", strerror(errno));
      break;
    }
    done += n;
    progress_update(&pg, done);
  }
  progress_finish(&pg);
  return rc;
}

static int run(get_opts *o) {
  o->url = cli_url_with_scheme(o->url_arg);
  if (!o->url)
    return complain(o, EXIT_USAGE, "out of memory");
  int https = !strncasecmp(o->url, "https://", 8);
  if (!https && strncasecmp(o->url, "http://", 7))
    return complain(o, EXIT_UNSUPPORTED, "unsupported scheme: %s", o->url);
  if (o->cacert && access(o->cacert, R_OK) != 0)
    return complain(o, EXIT_CACERT_FILE, "cannot read the CA file %s: %s", o->cacert, strerror(errno));
  int has_body = o->has_data || o->form.parts || o->data_file;
  const char *method = o->method ? o->method : o->head ? "HEAD" : has_body ? "POST" : "GET";
  nh_client_request *req = nh_client_request_new(method, o->url);
  if (!req)
    return complain(o, EXIT_BAD_URL, "malformed URL: %s", o->url);
  nh_header *h = nh_client_request_header(req);
  for (size_t i = 0; i < nh_header_len(o->hdr); i++) {
    const char *k, *v;
    nh_header_at(o->hdr, i, &k, &v);
    nh_header_add(h, k, v);
  }
  if (!nh_header_get(h, "User-Agent"))
    nh_header_set(h, "User-Agent", "nethttp/" NETHTTP_VERSION);
  if (o->json && !nh_header_get(h, "Content-Type"))
    nh_header_set(h, "Content-Type", "application/json");
  if (!nh_header_get(h, "Accept"))
    nh_header_set(h, "Accept", o->json ? "application/json" : "*/*");
  int64_t body_len;
  int rc = set_body(o, req, &body_len);
  if (rc) {
    nh_client_request_free(req);
    return rc;
  }

  nh_transport_config tc = NH_TRANSPORT_CONFIG_DEFAULT;
  tc.disable_compression = !o->compressed;
  tc.http_version = o->http_version;
  if (o->connect_timeout)
    tc.dial_timeout = o->connect_timeout;
  /* Without --cacert or -k the transport makes its own context with the
   * system's roots on the first https request (redirects included). */
  nh_tls_config tls = {.role = NH_TLS_CLIENT, .ca_file = o->cacert,
                       .insecure_skip_verify_FOR_TESTING_ONLY = o->insecure};
  if (o->cacert || o->insecure)
    tc.tls = &tls;
  nh_transport *t = nh_transport_new(&tc);
  if (!t && tc.tls) {
    nh_client_request_free(req);
    return complain(o, EXIT_CACERT_FILE, "no usable CA certificate in %s", o->cacert);
  }
  nh_client_config cc = NH_CLIENT_CONFIG_DEFAULT;
  cc.transport = t;
  cc.timeout = o->max_time;
  cc.check_redirect = redirect_policy;
  cc.check_redirect_user = o;
  nh_client *c = t ? nh_client_new(&cc) : NULL;
  if (!c) {
    nh_transport_free(t);
    nh_client_request_free(req);
    return complain(o, EXIT_USAGE, "out of memory");
  }
  char host[256], uri[8], name[256];
  url_parts(o->url, host, sizeof host, uri, sizeof uri);
  /* The name alone for "* Connected to NAME (IP) port N": no port, no brackets. */
  snprintf(name, sizeof name, "%s", host[0] == '[' ? host + 1 : host);
  char *end = host[0] == '[' ? strchr(name, ']') : strrchr(name, ':');
  if (end)
    *end = 0;
  o->wire_req = req;
  o->wire_method = method;
  o->wire_body_len = body_len;
  /* -v lines; without -v, only the TLS error for the messages below. */
  get_trace_start(&o->trace, req, name, o->verbose, o->verbose ? print_wire_head : NULL, o);

  nh_response *resp = NULL;
  int e = nh_client_do(c, req, &resp);
  if (e) {
    rc = exit_for(e, 0);
    if (rc == EXIT_CONNECT)
      complain(o, rc, "failed to connect to %s: %s", host, nh_strerror(e));
    else if (rc == EXIT_NO_HOST)
      complain(o, rc, "could not resolve host %s", host);
    else if (rc == EXIT_TIMEOUT && o->max_time) {
      char d[32];
      complain(o, rc, "operation timed out (--max-time %s)", nh_dur_format(o->max_time, d, sizeof d));
    } else if (rc == EXIT_TIMEOUT)
      complain(o, rc, "operation timed out");
    else if (rc == EXIT_PEER_CERT)
      complain(o, rc, "the certificate of %s was not trusted: %s (--cacert FILE trusts another CA,"
               " -k skips the check)", host, o->trace.tls_error[0] ? o->trace.tls_error : "refused");
    else if (rc == EXIT_TLS)
      complain(o, rc, "TLS handshake with %s failed%s%s", host, o->trace.tls_error[0] ? ": " : "",
               o->trace.tls_error);
    else
      complain(o, rc, "%s: %s", o->url, nh_strerror(e));
  } else {
    int status = nh_response_status(resp);
    if (o->verbose)
      print_response_head(resp, stderr, "< ", "\n");
    if (o->too_many_redirects) {
      rc = complain(o, EXIT_TOO_MANY_REDIRECTS, "maximum (%ld) redirects followed", o->max_redirs);
    } else if (o->fail && status >= 400) {
      rc = complain(o, EXIT_HTTP_ERROR, "the requested URL returned error: %d", status);
    } else {
      int to_stdout = !o->out_path || !strcmp(o->out_path, "-");
      FILE *out = to_stdout ? stdout : fopen(o->out_path, "wb");
      if (!out) {
        rc = complain(o, EXIT_WRITE, "cannot create %s: %s", o->out_path, strerror(errno));
      } else {
        if (o->include)
          print_response_head(resp, out, "", "\r\n");
        rc = write_body(o, resp, out);
        if (o->verbose)
          get_trace_finish(&o->trace);
        if ((to_stdout ? fflush(out) : fclose(out)) != 0 && !rc)
          rc = complain(o, EXIT_WRITE, "writing the output: %s", strerror(errno));
      }
    }
    nh_response_close(resp);
  }
  nh_client_request_free(req);
  nh_client_free(c);
  nh_transport_free(t);
  return rc;
}

int cmd_get(int argc, char **argv) {
  get_opts o;
  memset(&o, 0, sizeof o);
  nh__dynbuf_init(&o.data, CLI_BODY_MAX);
  o.max_redirs = 50;
  o.hdr = nh_header_new();
  get_form_init(&o.form);
  int rc = o.hdr ? parse_args(&o, argc, argv) : EXIT_USAGE;
  if (rc < 0)
    rc = run(&o);
  nh_header_free(o.hdr);
  nh__dynbuf_free(&o.data);
  free(o.url);
  get_form_free(&o.form);
  return rc;
}
