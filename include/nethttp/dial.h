/* nethttp/dial.h — name resolution, TCP dialing, proxy selection.
 *
 * The client's network layer. Every call works from a fiber (it parks only
 * the calling fiber, and the fiber's context cancels it) and from a plain
 * thread (it blocks that thread; only the deadline bounds it there).
 *
 * Resolution uses c-ares (/etc/hosts, then DNS, as /etc/resolv.conf says);
 * IP literals and "localhost" never touch DNS. Dialing follows Go's
 * net.Dialer: on a fiber, Happy Eyeballs (RFC 8305) across the resolved
 * addresses; on a plain thread, one address after another, each with its
 * share of the deadline. Proxy selection is Go's
 * httpproxy.FromEnvironment / ProxyFunc. */
#ifndef NETHTTP_DIAL_H
#define NETHTTP_DIAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "nethttp/export.h"
#include "nethttp/netpoll.h"
#include "nethttp/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Resolver ---- */

typedef struct nh_addr {
  socklen_t len; /* sizeof(struct sockaddr_in) or sizeof(struct sockaddr_in6) */
  union {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } u; /* port 0 */
} nh_addr;

typedef struct nh_addr_list {
  size_t count;
  nh_addr addrs[]; /* in preference order (RFC 6724, as c-ares sorts them) */
} nh_addr_list;

NH_API void nh_addr_list_free(nh_addr_list *l);

/* nh_addr_format writes "1.2.3.4" or "::1" (no port) into buf. */
NH_API char *nh_addr_format(const nh_addr *a, char *buf, size_t cap);

/* Resolver settings; every field zero means the system's configuration. */
typedef struct nh_resolver_config {
  const char *servers; /* "ip[:port],[ip6]:port,..." replaces resolv.conf's */
  nh_dur try_timeout;  /* first try's timeout per server; 0 = resolv.conf/c-ares */
  int tries;           /* attempts per server; 0 = resolv.conf/c-ares */
  int no_hosts_file;   /* 1: DNS only, skip the hosts file */
} nh_resolver_config;

/* nh_resolve looks host up: a name, an IPv4 literal, or an IPv6 literal with
 * or without brackets. family is AF_UNSPEC, AF_INET or AF_INET6. Returns 0
 * with a non-empty *out (free with nh_addr_list_free), NH_ENOHOST (the name
 * does not exist or has no address of that family), NH_ETIMEDOUT (deadline
 * or the servers did not answer), NH_ECANCELED (fiber context), NH_EINVAL,
 * NH_ENOMEM, or another error for a failing resolver (NH_EIO). */
NH_API int nh_resolve(const char *host, int family, nh_time deadline, nh_addr_list **out);
/* The same with explicit settings (cfg NULL = system). */
NH_API int nh_resolve_with(const nh_resolver_config *cfg, const char *host, int family,
                           nh_time deadline, nh_addr_list **out);

/* ---- Dialer ---- */

typedef struct nh_dial_options {
  int family;                         /* AF_UNSPEC (default), AF_INET or AF_INET6 */
  nh_dur keep_alive;                  /* TCP keep-alive idle and interval; 0 = 15 s,
                                         NH_NO_TIMEOUT = keep-alive off */
  nh_dur fallback_delay;              /* Happy Eyeballs: wait before the next attempt;
                                         0 = 300 ms */
  const nh_resolver_config *resolver; /* NULL = system */
  /* Called once the name lookup ended, before any connect (err 0, or the
   * lookup's error, which nh_dial_tcp then returns), on the dialing fiber
   * or thread; lets a caller time the lookup apart from the connect (the
   * client's trace). NULL = none. */
  void (*resolved)(void *arg, int err);
  void *resolved_arg;
} nh_dial_options;

/* nh_dial_tcp resolves host and connects to port, returning a connected
 * nh_fd with TCP_NODELAY and keep-alive set. opt may be NULL. Returns 0,
 * NH_ECONNREFUSED, NH_ETIMEDOUT, NH_ECANCELED, NH_ENOHOST, NH_EINVAL, or the
 * first attempt's error (NH_ENETUNREACH, ...) when every address failed. */
NH_API int nh_dial_tcp(const char *host, int port, nh_time deadline, const nh_dial_options *opt,
                       nh_fd **out);

/* ---- Proxy selection (Go's httpproxy) ---- */

typedef struct nh_proxy_config {
  char *http_proxy;  /* HTTP_PROXY / http_proxy; NULL or "" = none */
  char *https_proxy; /* HTTPS_PROXY / https_proxy */
  char *no_proxy;    /* NO_PROXY / no_proxy */
  int cgi;           /* REQUEST_METHOD was set: HTTP_PROXY is not trusted */
} nh_proxy_config;

/* nh_proxy_config_from_env copies the variables as they are now (upper case
 * first, as Go). Returns 0 or NH_ENOMEM. Free with nh_proxy_config_clear. */
NH_API int nh_proxy_config_from_env(nh_proxy_config *cfg);
NH_API void nh_proxy_config_clear(nh_proxy_config *cfg);

/* nh_proxy_for chooses the proxy for a request to scheme://host:port (port
 * <= 0: the scheme's default; host may be a bracketed IPv6 literal). Writes
 * the proxy URL ("http://proxy:3128"; a proxy given without a scheme means
 * http://) or "" for a direct connection. localhost and loopback addresses
 * are never proxied; NO_PROXY holds domains ("example.com" matches it and
 * its subdomains, ".example.com" and "*.example.com" only subdomains), IPs,
 * CIDRs, each with an optional ":port", or "*". Returns 0, NH_ERANGE (cap
 * too small) or NH_EPERM (HTTP_PROXY in a CGI environment, as Go refuses). */
NH_API int nh_proxy_for(const nh_proxy_config *cfg, const char *scheme, const char *host, int port,
                        char *proxy_out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
