/* Proxy selection, ported from Go's golang.org/x/net/http/httpproxy
 * proxy_test.go (TestProxyForURL, TestUseProxy, TestInvalidNoProxy,
 * TestAllNoProxy, TestFromEnvironment*). The IDNA rows (non-ASCII
 * NO_PROXY entries) are left out: hosts are matched as given. */
#include "harness.h"

#include <nethttp.h>
#include <stdlib.h>

typedef struct proxy_case {
  const char *http_proxy, *https_proxy, *no_proxy;
  int cgi;
  const char *scheme, *host; /* NULL: http://example.com */
  int port;
  const char *want; /* "" = direct */
  int want_err;
} proxy_case;

static const proxy_case for_url[] = {
    {"127.0.0.1:8080", NULL, NULL, 0, NULL, NULL, 0, "http://127.0.0.1:8080", 0},
    {"cache.corp.example.com:1234", NULL, NULL, 0, NULL, NULL, 0,
     "http://cache.corp.example.com:1234", 0},
    {"cache.corp.example.com", NULL, NULL, 0, NULL, NULL, 0, "http://cache.corp.example.com", 0},
    {"localhost", NULL, NULL, 0, NULL, NULL, 0, "http://localhost", 0},
    {"https://cache.corp.example.com", NULL, NULL, 0, NULL, NULL, 0,
     "https://cache.corp.example.com", 0},
    {"http://127.0.0.1:8080", NULL, NULL, 0, NULL, NULL, 0, "http://127.0.0.1:8080", 0},
    {"https://127.0.0.1:8080", NULL, NULL, 0, NULL, NULL, 0, "https://127.0.0.1:8080", 0},
    {"socks5://127.0.0.1", NULL, NULL, 0, NULL, NULL, 0, "socks5://127.0.0.1", 0},
    {"foo://host", NULL, NULL, 0, NULL, NULL, 0, "foo://host", 0},
    /* Don't use secure for http; use it for https. */
    {"http.proxy.tld", "secure.proxy.tld", NULL, 0, "http", "insecure.tld", 0,
     "http://http.proxy.tld", 0},
    {"http.proxy.tld", "secure.proxy.tld", NULL, 0, "https", "secure.tld", 0,
     "http://secure.proxy.tld", 0},
    {"http.proxy.tld", "https://secure.proxy.tld", NULL, 0, "https", "secure.tld", 0,
     "https://secure.proxy.tld", 0},
    {"http.proxy.tld", NULL, NULL, 0, "https", "secure.tld", 0, "", 0},
    {"http.proxy.tld", NULL, NULL, 0, "ftp", "insecure.tld", 0, "", 0},
    /* HTTP_PROXY is refused in a CGI environment; HTTPS_PROXY still used. */
    {"http://10.1.2.3:8080", NULL, NULL, 1, NULL, NULL, 0, "", NH_EPERM},
    {NULL, "https://secure.proxy.tld", NULL, 1, "https", "secure.tld", 0,
     "https://secure.proxy.tld", 0},
    {NULL, NULL, NULL, 0, NULL, NULL, 0, "", 0},
    {"proxy", NULL, "example.com", 0, "http", "example.com", 0, "", 0},
    {"proxy", NULL, ".example.com", 0, "http", "example.com", 0, "http://proxy", 0},
    {"proxy", NULL, "ample.com", 0, "http", "example.com", 0, "http://proxy", 0},
    {"proxy", NULL, "example.com", 0, "http", "foo.example.com", 0, "", 0},
    {"proxy", NULL, ".foo.com", 0, "http", "example.com", 0, "http://proxy", 0},
    {"proxy", NULL, "xn--fsq092h.com", 0, "http", "www.xn--fsq092h.com", 0, "", 0},
    /* An IPv6 zone is not a domain: "[1000::%25.example.com]:123". */
    {"proxy", NULL, "example.com", 0, "http", "[1000::%.example.com]", 123, "http://proxy", 0},
};

NH_TEST(proxy_for_url_table) {
  for (size_t i = 0; i < sizeof for_url / sizeof *for_url; i++) {
    const proxy_case *c = &for_url[i];
    nh_proxy_config cfg = {(char *)c->http_proxy, (char *)c->https_proxy, (char *)c->no_proxy,
                           c->cgi};
    char out[256] = "garbage";
    int rc = nh_proxy_for(&cfg, c->scheme ? c->scheme : "http", c->host ? c->host : "example.com",
                          c->port, out, sizeof out);
    if (rc != c->want_err || strcmp(out, c->want) != 0)
      NH_FAIL("case %zu: got %d \"%s\", want %d \"%s\"", i, rc, out, c->want_err, c->want);
  }
}

/* Go's UseProxyTests against its noProxy list, each host on port 80. */
static const char *no_proxy_list =
    "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
    "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, "
    "2002:db8:a::45/64";

static const struct {
  const char *host;
  int proxied;
} use_proxy[] = {
    {"localhost", 0},
    {"127.0.0.1", 0},
    {"127.0.0.2", 0},
    {"[::1]", 0},
    {"[::2]", 1},
    {"192.168.1.1", 0},
    {"192.168.1.2", 1},
    {"192.168.1.3", 0},
    {"192.168.1.4", 1},
    {"10.0.0.2", 0},
    {"[2001:db8::52:0:1]", 0},
    {"[2001:db8::52:0:2]", 1},
    {"[2001:db8::52:0:3]", 0},
    {"[2002:db8:a::123]", 0},
    {"[fe80::424b:c8be:1643:a1b6]", 1},
    {"barbaz.net", 1},
    {"www.barbaz.net", 0},
    {"foobar.com", 0},
    {"www.foobar.com", 0},
    {"foofoobar.com", 1},
    {"baz.com", 1},
    {"localhost.net", 1},
    {"local.localhost", 1},
    {"barbarbaz.net", 1},
    {"wildcard.io", 1},
    {"nested.wildcard.io", 0},
    {"awildcard.io", 1},
};

static int proxied(const char *no_proxy, const char *host, int port) {
  nh_proxy_config cfg = {"http://proxy.example:3128", NULL, (char *)no_proxy, 0};
  char out[128];
  CHECK_EQ(nh_proxy_for(&cfg, "http", host, port, out, sizeof out), NH_OK);
  if (out[0])
    CHECK_STR(out, "http://proxy.example:3128");
  return out[0] != '\0';
}

NH_TEST(use_proxy_table) {
  for (size_t i = 0; i < sizeof use_proxy / sizeof *use_proxy; i++)
    if (proxied(no_proxy_list, use_proxy[i].host, 80) != use_proxy[i].proxied)
      NH_FAIL("%s: proxied=%d, want %d", use_proxy[i].host, !use_proxy[i].proxied,
              use_proxy[i].proxied);
}

NH_TEST(all_no_proxy) {
  for (size_t i = 0; i < sizeof use_proxy / sizeof *use_proxy; i++)
    CHECK_EQ(proxied("*", use_proxy[i].host, 80), 0);
  CHECK_EQ(proxied(" foo.com , * ", "example.org", 80), 0);
}

NH_TEST(invalid_no_proxy_entries) {
  CHECK_EQ(proxied(":1", "example.com", 80), 1); /* ignored, no crash */
  CHECK_EQ(proxied(",,  ,[]:80,/,1.2.3.4/99,*.", "example.com", 80), 1);
}

NH_TEST(ports_and_defaults) {
  /* A port in NO_PROXY only exempts that port; the scheme gives the port. */
  CHECK_EQ(proxied("example.com:8080", "example.com", 8080), 0);
  CHECK_EQ(proxied("example.com:8080", "example.com", 80), 1);
  CHECK_EQ(proxied("example.com:80", "example.com", 0), 0);
  nh_proxy_config cfg = {NULL, "secure.proxy", "example.com:443", 0};
  char out[64];
  CHECK_EQ(nh_proxy_for(&cfg, "https", "example.com", 0, out, sizeof out), NH_OK);
  CHECK_STR(out, "");
  CHECK_EQ(nh_proxy_for(&cfg, "https", "example.com", 8443, out, sizeof out), NH_OK);
  CHECK_STR(out, "http://secure.proxy");
  /* Case and surrounding spaces do not matter; IPv4-mapped IPv6 is IPv4. */
  CHECK_EQ(proxied("  Example.COM  ", "WWW.example.com", 80), 0);
  CHECK_EQ(proxied("10.1.0.0/16", "[::ffff:10.1.2.3]", 80), 0);
  CHECK_EQ(proxied("10.1.0.0/16", "10.2.0.1", 80), 1);
  /* Loopback is never proxied, whatever NO_PROXY says. */
  CHECK_EQ(proxied(NULL, "127.9.9.9", 80), 0);
  CHECK_EQ(proxied(NULL, "::1", 80), 0);
  CHECK_EQ(proxied(NULL, "example.com", 80), 1);
  /* Too small a buffer is an error, never a truncated URL. */
  char tiny[8];
  nh_proxy_config c2 = {"http://proxy.example:3128", NULL, NULL, 0};
  CHECK_EQ(nh_proxy_for(&c2, "http", "example.com", 80, tiny, sizeof tiny), NH_ERANGE);
  CHECK_STR(tiny, "");
}

static void clear_env(void) {
  const char *names[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY",   "https_proxy",
                         "NO_PROXY",   "no_proxy",   "REQUEST_METHOD"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    unsetenv(names[i]);
}

NH_TEST(from_environment) {
  clear_env();
  setenv("HTTP_PROXY", "httpproxy", 1);
  setenv("HTTPS_PROXY", "httpsproxy", 1);
  setenv("NO_PROXY", "noproxy", 1);
  setenv("http_proxy", "lower", 1); /* upper case wins */
  setenv("REQUEST_METHOD", "", 1);
  nh_proxy_config cfg;
  CHECK_EQ(nh_proxy_config_from_env(&cfg), NH_OK);
  CHECK_STR(cfg.http_proxy, "httpproxy");
  CHECK_STR(cfg.https_proxy, "httpsproxy");
  CHECK_STR(cfg.no_proxy, "noproxy");
  CHECK_EQ(cfg.cgi, 0);
  /* A copy: later changes to the environment do not reach it. */
  setenv("HTTP_PROXY", "changed", 1);
  CHECK_STR(cfg.http_proxy, "httpproxy");
  char out[64];
  CHECK_EQ(nh_proxy_for(&cfg, "http", "example.com", 80, out, sizeof out), NH_OK);
  CHECK_STR(out, "http://httpproxy");
  CHECK_EQ(nh_proxy_for(&cfg, "http", "noproxy", 80, out, sizeof out), NH_OK);
  CHECK_STR(out, "");
  nh_proxy_config_clear(&cfg);
  CHECK(cfg.http_proxy == NULL);

  setenv("REQUEST_METHOD", "PUT", 1);
  CHECK_EQ(nh_proxy_config_from_env(&cfg), NH_OK);
  CHECK_EQ(cfg.cgi, 1);
  CHECK_EQ(nh_proxy_for(&cfg, "http", "example.com", 80, out, sizeof out), NH_EPERM);
  CHECK_EQ(nh_proxy_for(&cfg, "https", "example.com", 443, out, sizeof out), NH_OK);
  CHECK_STR(out, "http://httpsproxy");
  nh_proxy_config_clear(&cfg);
}

NH_TEST(from_environment_lower_case) {
  clear_env();
  setenv("http_proxy", "httpproxy", 1);
  setenv("https_proxy", "httpsproxy", 1);
  setenv("no_proxy", "noproxy", 1);
  setenv("HTTP_PROXY", "", 1); /* empty counts as unset */
  nh_proxy_config cfg;
  CHECK_EQ(nh_proxy_config_from_env(&cfg), NH_OK);
  CHECK_STR(cfg.http_proxy, "httpproxy");
  CHECK_STR(cfg.https_proxy, "httpsproxy");
  CHECK_STR(cfg.no_proxy, "noproxy");
  CHECK_EQ(cfg.cgi, 0);
  nh_proxy_config_clear(&cfg);
  clear_env();
  CHECK_EQ(nh_proxy_config_from_env(&cfg), NH_OK);
  CHECK(cfg.http_proxy == NULL && cfg.https_proxy == NULL && cfg.no_proxy == NULL);
  nh_proxy_config_clear(&cfg);
}

NH_TEST_MAIN()
