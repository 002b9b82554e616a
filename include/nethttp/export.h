/* nethttp/export.h — which declarations the shared library exports.
 *
 * The library is compiled with -fvisibility=hidden: only what a public
 * header marks NH_API is visible outside libnethttp.so, so the internals
 * shared between its files (the nh__ names) stay private and a program
 * cannot come to depend on them. Every function a public header declares
 * is NH_API, and so are the few nh__ functions public macros expand to
 * (nh_resp_write_header calls nh__resp_write_header with the caller's
 * __FILE__ and __LINE__): they are called from user code, so they must be
 * exported, but only through the macro, never by name. */
#ifndef NETHTTP_EXPORT_H
#define NETHTTP_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define NH_API __attribute__((visibility("default")))
#else
#define NH_API
#endif

#endif
