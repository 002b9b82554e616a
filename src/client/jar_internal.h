/* The cookie jar's internals: Go's cookiejar host and domain rules, and the
 * hooks the client calls around each round trip. */
#ifndef NH_CLIENT_JAR_INTERNAL_H
#define NH_CLIENT_JAR_INTERNAL_H

#include <stddef.h>

#include "nethttp/client.h"
#include "nethttp/cookiejar.h"

/* The public suffix of a lower-case domain, or "" (never NULL). */
typedef const char *(*nh__suffix_fn)(void *user, const char *domain);

/* Go's canonicalHost: the host of a URL without port and trailing dot, in
 * lower case, into out (cap bytes). 0, or NH_EINVAL (a bad "[...]:port",
 * non-ASCII, too long). */
int nh__jar_canonical_host(const char *host, char *out, size_t cap);
/* Go's isIP (anything with ':' or '%' counts, to be safe). */
int nh__jar_is_ip(const char *host);
/* Go's jarKey: the eTLD+1 of host (host itself for IPs and suffixes);
 * a pointer into host. suffix NULL = no public suffix list. */
const char *nh__jar_key(const char *host, nh__suffix_fn suffix, void *user);
/* Go's defaultPath (RFC 6265 5.1.4) into out (at least strlen(path)+2). */
void nh__jar_default_path(const char *path, char *out);
/* Go's domainAndType: the cookie's domain (into out) and whether it is
 * host-only. 0, or NH_EINVAL for an illegal or malformed Domain. */
int nh__jar_domain_and_type(const char *host, const char *domain, nh__suffix_fn suffix,
                            void *user, char *out, size_t cap, int *host_only);
/* RFC 6265 5.1.4 path-match. */
int nh__jar_path_match(const char *cookie_path, const char *request_path);
/* s ends in "." + suffix. */
int nh__jar_has_dot_suffix(const char *s, const char *suffix);
/* localhost or a loopback IP: secure cookies go there over plain http. */
int nh__jar_is_local(const char *domain);

/* For tests: the jar's unexpired cookies as sorted "name=value" words
 * joined by spaces (Go's jar_test content check). malloc'd. */
char *nh__jar_content(nh_cookie_jar *jar);

/* The client's round trip with a jar: adds the jar's cookies for the URL
 * to the request's Cookie header (after any the caller set), sends, puts
 * the caller's header back, and stores the response's Set-Cookie lines. */
struct nh_response;
int nh__jar_round_trip(nh_cookie_jar *jar, nh_transport *t, nh_client_request *req,
                       nh_time deadline, struct nh_response **out, const char *file, int line);

#endif
