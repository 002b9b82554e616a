/* Proxy selection from the environment: Go's golang.org/x/net/http/httpproxy
 * (FromEnvironment, ProxyFunc, useProxy), rule for rule. */
#include "net_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nethttp/errors.h"
#include "util/ipnet.h"

static const char *env_any(const char *upper, const char *lower) {
  const char *v = getenv(upper);
  if (v && *v)
    return v;
  v = getenv(lower);
  return v && *v ? v : NULL;
}

void nh_proxy_config_clear(nh_proxy_config *cfg) {
  free(cfg->http_proxy);
  free(cfg->https_proxy);
  free(cfg->no_proxy);
  memset(cfg, 0, sizeof *cfg);
}

int nh_proxy_config_from_env(nh_proxy_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  const char *vals[3] = {env_any("HTTP_PROXY", "http_proxy"), env_any("HTTPS_PROXY", "https_proxy"),
                         env_any("NO_PROXY", "no_proxy")};
  char **dst[3] = {&cfg->http_proxy, &cfg->https_proxy, &cfg->no_proxy};
  for (int i = 0; i < 3; i++)
    if (vals[i] && !(*dst[i] = strdup(vals[i]))) {
      nh_proxy_config_clear(cfg);
      return NH_ENOMEM;
    }
  const char *rm = getenv("REQUEST_METHOD");
  cfg->cgi = rm && *rm;
  return NH_OK;
}

/* An IP address with its family, for equality and prefix tests. */
typedef struct ip {
  int family;
  unsigned char b[16];
} ip;

static int parse_ip(const char *s, size_t n, ip *out) {
  char buf[64];
  if (n >= sizeof buf)
    return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET, buf, out->b) == 1) {
    out->family = AF_INET;
    return 1;
  }
  if (inet_pton(AF_INET6, buf, out->b) == 1) {
    /* Go's net.IP treats ::ffff:a.b.c.d as the IPv4 address. */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->b, mapped, 12) == 0) {
      memmove(out->b, out->b + 12, 4);
      out->family = AF_INET;
    } else {
      out->family = AF_INET6;
    }
    return 1;
  }
  return 0;
}

static int ip_is_loopback(const ip *a) {
  if (a->family == AF_INET)
    return a->b[0] == 127;
  static const unsigned char lo[16] = {[15] = 1};
  return memcmp(a->b, lo, 16) == 0;
}

static int ip_prefix_match(const ip *net, int bits, const ip *a) {
  return net->family == a->family && nh__ip_prefix_match(net->b, a->b, bits);
}

/* Go's net.SplitHostPort on s[0..n): "host:port", "[v6]:port". Returns 1
 * with the parts, 0 if s has no port (or is malformed). */
static int split_host_port(const char *s, size_t n, const char **h, size_t *hn, const char **p,
                           size_t *pn) {
  const char *colon = NULL;
  for (size_t i = n; i > 0; i--)
    if (s[i - 1] == ':') {
      colon = s + i - 1;
      break;
    }
  if (!colon)
    return 0;
  if (s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close || close + 1 != colon)
      return 0;
    *h = s + 1;
    *hn = (size_t)(close - s - 1);
  } else {
    *h = s;
    *hn = (size_t)(colon - s);
    if (memchr(s, ':', *hn) || memchr(s, '[', *hn) || memchr(s, ']', *hn))
      return 0; /* a bare IPv6 address has too many colons */
  }
  *p = colon + 1;
  *pn = (size_t)(s + n - *p);
  return 1;
}

static int ends_with(const char *s, size_t n, const char *suf, size_t sn) {
  return n >= sn && memcmp(s + n - sn, suf, sn) == 0;
}

/* One NO_PROXY entry against host (lower case, no brackets) and port.
 * Returns 1 when the entry says "direct". */
static int entry_matches(const char *e, size_t en, const char *host, const ip *hip, int has_ip,
                         const char *port) {
  /* IPv4/CIDR, IPv6/CIDR */
  const char *slash = memchr(e, '/', en);
  if (slash) {
    ip net;
    char *end;
    char bits_s[8];
    size_t bl = (size_t)(e + en - slash - 1);
    if (!parse_ip(e, (size_t)(slash - e), &net) || bl == 0 || bl >= sizeof bits_s)
      goto domain; /* not a CIDR: Go falls through to the other forms */
    memcpy(bits_s, slash + 1, bl);
    bits_s[bl] = '\0';
    long bits = strtol(bits_s, &end, 10);
    if (*end || !isdigit((unsigned char)bits_s[0]) || bits < 0 ||
        bits > (net.family == AF_INET ? 32 : 128))
      goto domain;
    return has_ip && ip_prefix_match(&net, (int)bits, hip);
  }
domain:;
  /* IPv4:port, [IPv6]:port, else the whole entry is the host */
  const char *ph = e, *pp = "";
  size_t phn = en, ppn = 0;
  if (split_host_port(e, en, &ph, &phn, &pp, &ppn)) {
    if (phn == 0)
      return 0; /* malformed (":1"): ignored */
  } else {
    ph = e;
    phn = en;
    if (phn >= 2 && ph[0] == '[' && ph[phn - 1] == ']') {
      ph++;
      phn -= 2;
    }
  }
  int port_ok = ppn == 0 || (strlen(port) == ppn && memcmp(port, pp, ppn) == 0);
  ip eip;
  if (parse_ip(ph, phn, &eip))
    return has_ip && eip.family == hip->family &&
           memcmp(eip.b, hip->b, eip.family == AF_INET ? 4 : 16) == 0 && port_ok;
  if (phn == 0)
    return 0;
  /* domain.com matches itself and subdomains; .domain.com and *.domain.com
   * only subdomains. */
  if (phn >= 2 && ph[0] == '*' && ph[1] == '.') {
    ph++;
    phn--;
  }
  int match_host = ph[0] != '.';
  size_t hn = strlen(host);
  int m;
  if (match_host) /* the suffix is "." + ph */
    m = (hn > phn && ends_with(host, hn, ph, phn) && host[hn - phn - 1] == '.') ||
        (hn == phn && memcmp(host, ph, phn) == 0);
  else
    m = ends_with(host, hn, ph, phn);
  return m && port_ok;
}

static int use_proxy(const char *no_proxy, const char *host_in, const char *port) {
  char host[256];
  size_t n = strlen(host_in);
  if (n >= 2 && host_in[0] == '[' && host_in[n - 1] == ']') {
    host_in++;
    n -= 2;
  }
  if (n >= sizeof host)
    return 1;
  for (size_t i = 0; i < n; i++)
    host[i] = (char)tolower((unsigned char)host_in[i]);
  host[n] = '\0';
  char *zone = strchr(host, '%');
  if (zone && strchr(host, ':'))
    *zone = '\0'; /* an IPv6 zone is not part of any domain */
  if (strcmp(host, "localhost") == 0)
    return 0;
  ip hip;
  int has_ip = parse_ip(host, strlen(host), &hip);
  if (has_ip && ip_is_loopback(&hip))
    return 0;
  if (!no_proxy)
    return 1;
  const char *p = no_proxy;
  while (*p) {
    const char *comma = strchr(p, ',');
    const char *end = comma ? comma : p + strlen(p);
    const char *s = p;
    while (s < end && isspace((unsigned char)*s))
      s++;
    const char *t = end;
    while (t > s && isspace((unsigned char)t[-1]))
      t--;
    char entry[512];
    size_t en = (size_t)(t - s);
    if (en > 0 && en < sizeof entry) {
      for (size_t i = 0; i < en; i++)
        entry[i] = (char)tolower((unsigned char)s[i]);
      entry[en] = '\0';
      if (en == 1 && entry[0] == '*')
        return 0;
      if (entry_matches(entry, en, host, &hip, has_ip, port))
        return 0;
    }
    p = comma ? comma + 1 : end;
  }
  return 1;
}

/* Go's parseProxy: a value without "scheme://host" means http://value. */
static int has_scheme_and_host(const char *v) {
  const char *sep = strstr(v, "://");
  if (!sep || sep == v || !isalpha((unsigned char)v[0]))
    return 0;
  for (const char *c = v; c < sep; c++)
    if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.')
      return 0;
  const char *h = sep + 3;
  size_t hl = strcspn(h, "/?#");
  const char *at = memchr(h, '@', hl);
  if (at)
    hl -= (size_t)(at + 1 - h);
  return hl > 0;
}

int nh_proxy_for(const nh_proxy_config *cfg, const char *scheme, const char *host, int port,
                 char *proxy_out, size_t cap) {
  if (!cap)
    return NH_ERANGE;
  proxy_out[0] = '\0';
  const char *proxy = NULL;
  int is_http = 0;
  if (strcasecmp(scheme, "https") == 0) {
    proxy = cfg->https_proxy;
  } else if (strcasecmp(scheme, "http") == 0) {
    proxy = cfg->http_proxy;
    is_http = 1;
  }
  if (!proxy || !*proxy)
    return NH_OK;
  if (is_http && cfg->cgi)
    return NH_EPERM; /* HTTP_PROXY can be set by a CGI request's "Proxy:" header */
  char portbuf[16];
  if (port <= 0)
    port = strcasecmp(scheme, "https") == 0 ? 443 : 80;
  snprintf(portbuf, sizeof portbuf, "%d", port);
  if (!use_proxy(cfg->no_proxy, host, portbuf))
    return NH_OK;
  int n = snprintf(proxy_out, cap, "%s%s", has_scheme_and_host(proxy) ? "" : "http://", proxy);
  if (n < 0 || (size_t)n >= cap) {
    proxy_out[0] = '\0';
    return NH_ERANGE;
  }
  return NH_OK;
}
