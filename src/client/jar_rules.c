/* Go's cookiejar rules for hosts, domains and paths (RFC 6265 5.1). */
#include "jar_internal.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "nethttp/errors.h"

int nh__jar_has_dot_suffix(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls > lx && s[ls - lx - 1] == '.' && memcmp(s + ls - lx, suffix, lx) == 0;
}

static size_t count_char(const char *s, char c) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

/* Go's hasPort: one colon, or a bracketed IPv6 literal followed by ":". */
static int has_port(const char *host) {
  size_t colons = count_char(host, ':');
  if (colons == 0)
    return 0;
  if (colons == 1)
    return 1;
  return host[0] == '[' && strstr(host, "]:") != NULL;
}

int nh__jar_canonical_host(const char *host, char *out, size_t cap) {
  const char *start = host;
  size_t len = strlen(host);
  if (has_port(host)) { /* net.SplitHostPort, keeping only its errors that matter */
    if (host[0] == '[') {
      const char *close = strchr(host, ']');
      if (!close || close[1] != ':')
        return NH_EINVAL;
      start = host + 1;
      len = (size_t)(close - start);
    } else {
      const char *colon = strrchr(host, ':');
      len = (size_t)(colon - host);
      if (memchr(host, '[', len) || memchr(host, ']', len))
        return NH_EINVAL;
    }
  }
  if (len > 0 && start[len - 1] == '.')
    len--;
  if (len + 1 > cap)
    return NH_EINVAL;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)start[i];
    if (ch >= 0x80 || ch == 0) /* IDNA is not done here: refuse rather than guess */
      return NH_EINVAL;
    out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : (char)ch;
  }
  out[len] = 0;
  return 0;
}

int nh__jar_is_ip(const char *host) {
  if (strpbrk(host, ":%"))
    return 1; /* no host name holds these; an IP is the safe reading */
  struct in_addr a;
  return inet_pton(AF_INET, host, &a) == 1;
}

static const char *suffix_of(const char *domain, nh__suffix_fn suffix, void *user) {
  const char *s = suffix(user, domain);
  return s ? s : "";
}

const char *nh__jar_key(const char *host, nh__suffix_fn suffix, void *user) {
  if (nh__jar_is_ip(host))
    return host;
  size_t n = strlen(host), i;
  if (!suffix) {
    const char *dot = strrchr(host, '.');
    if (!dot || dot == host)
      return host;
    i = (size_t)(dot - host);
  } else {
    const char *ps = suffix_of(host, suffix, user);
    if (!strcmp(ps, host))
      return host;
    size_t ls = strlen(ps);
    if (ls >= n || host[n - ls - 1] != '.')
      return host; /* a broken list: keying by host is a safe stopgap */
    i = n - ls;
  }
  /* The label before the suffix (i is one past its dot, or the dot). */
  size_t end = i - 1;
  while (end > 0 && host[end - 1] != '.')
    end--;
  return host + end;
}

void nh__jar_default_path(const char *path, char *out) {
  if (path[0] != '/') {
    strcpy(out, "/");
    return;
  }
  const char *slash = strrchr(path, '/');
  if (slash == path) {
    strcpy(out, "/");
    return;
  }
  size_t n = (size_t)(slash - path);
  memcpy(out, path, n);
  out[n] = 0;
}

int nh__jar_path_match(const char *cookie_path, const char *request_path) {
  size_t lc = strlen(cookie_path);
  if (!strcmp(cookie_path, request_path))
    return 1;
  if (lc == 0 || strncmp(request_path, cookie_path, lc) != 0)
    return 0;
  return cookie_path[lc - 1] == '/' || request_path[lc] == '/';
}

int nh__jar_domain_and_type(const char *host, const char *domain, nh__suffix_fn suffix,
                            void *user, char *out, size_t cap, int *host_only) {
  if (!domain || !*domain) {
    if (strlen(host) + 1 > cap)
      return NH_EINVAL;
    strcpy(out, host);
    *host_only = 1;
    return 0;
  }
  if (nh__jar_is_ip(host)) {
    /* Only the IP itself, and then as a host cookie: there are no
     * subdomains of an address. */
    if (strcmp(host, domain) != 0 || strlen(host) + 1 > cap)
      return NH_EINVAL;
    strcpy(out, host);
    *host_only = 1;
    return 0;
  }
  if (domain[0] == '.')
    domain++;
  size_t n = strlen(domain);
  if (n == 0 || domain[0] == '.' || n + 1 > cap)
    return NH_EINVAL; /* "Domain=." or "Domain=..x" */
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)domain[i];
    if (ch >= 0x80)
      return NH_EINVAL;
    out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : (char)ch;
  }
  out[n] = 0;
  if (out[n - 1] == '.')
    return NH_EINVAL; /* RFC 6265 refuses "Domain=www.example.com." */
  if (suffix) {
    const char *ps = suffix_of(out, suffix, user);
    if (*ps && !nh__jar_has_dot_suffix(out, ps)) {
      if (!strcmp(host, out)) {
        *host_only = 1; /* a public suffix naming itself: a host cookie */
        return 0;
      }
      return NH_EINVAL;
    }
  }
  if (strcmp(host, out) != 0 && !nh__jar_has_dot_suffix(host, out))
    return NH_EINVAL; /* www.mycompany.com cannot set for ourcompetitors.com */
  *host_only = 0;
  return 0;
}

int nh__jar_is_local(const char *domain) {
  size_t n = strlen(domain);
  char buf[64];
  if (n > 0 && domain[n - 1] == '.')
    n--;
  const char *label = domain;
  for (size_t i = 0; i < n; i++)
    if (domain[i] == '.')
      label = domain + i + 1;
  size_t ll = n - (size_t)(label - domain);
  if (ll == 9 && !strncasecmp(label, "localhost", 9))
    return 1;
  if (n >= 2 && domain[0] == '[' && domain[n - 1] == ']') {
    domain++;
    n -= 2;
  }
  if (n >= sizeof buf)
    return 0;
  memcpy(buf, domain, n);
  buf[n] = 0;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, buf, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}
