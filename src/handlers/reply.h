/* Internals of reply.c, exposed for the fuzz target. */
#ifndef NH_HANDLERS_REPLY_H
#define NH_HANDLERS_REPLY_H

/* nh__redirect_resolve is Redirect's URL rule: url itself (copied) unless
 * it is a reference without scheme and host, which is resolved against the
 * request path old and cleaned. malloc'd; NULL when out of memory. */
char *nh__redirect_resolve(const char *old, const char *url);

#endif
