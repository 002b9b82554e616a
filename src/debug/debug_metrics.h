/* The parts of /metrics (debug_metrics*.c): each appends its families to
 * one buffer in the Prometheus text format 0.0.4. Every family is written
 * with its # HELP and # TYPE lines first. */
#ifndef NH_DEBUG_METRICS_H
#define NH_DEBUG_METRICS_H

#include <stdint.h>

#include "debug_internal.h"
#include "util/dynbuf.h"

/* Writing (debug_metrics_fmt.c). */
/* The # HELP and # TYPE lines of a family; type is "counter", "gauge" or
 * "histogram". */
void nh__m_family(nh__dynbuf *b, const char *name, const char *type, const char *help);
/* A family of one sample without labels. */
void nh__m_single(nh__dynbuf *b, const char *name, const char *type, const char *help,
                  int64_t v);
void nh__m_single_f(nh__dynbuf *b, const char *name, const char *type, const char *help,
                    double v);
/* ,key="value" (or key="value" when first), the value escaped. */
void nh__m_label(nh__dynbuf *b, const char *key, const char *value, int first);
/* name{key="value"} v: a sample with one label. */
void nh__m_sample1(nh__dynbuf *b, const char *name, const char *key, const char *value, int64_t v);

/* The sections, in the page's order. */
/* Request durations and requests in flight (the servers' loop tables). */
void nh__m_http_server(const nh__debug *d, nh__dynbuf *b);
/* Connections, timeouts, shedding, drains, TLS and HTTP/2 figures, summed
 * over the servers. */
void nh__m_server_conns(const nh__debug *d, nh__dynbuf *b);
/* Each transport's pool, labelled by its index in the configuration. */
void nh__m_client(const nh__debug *d, nh__dynbuf *b);
/* Fibers, loops, panics and stalls of the runtime. */
void nh__m_runtime(const nh__debug *d, nh__dynbuf *b);
/* process_*: CPU, memory, descriptors, start time (as Prometheus' client
 * libraries name them). */
void nh__m_process(nh__dynbuf *b);

#endif
