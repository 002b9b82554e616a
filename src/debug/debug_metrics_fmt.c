/* Writing the Prometheus text format: family heads, samples, labels. */
#include "debug_metrics.h"

#include <inttypes.h>

void nh__m_family(nh__dynbuf *b, const char *name, const char *type, const char *help) {
  /* HELP text is ours: no backslash or newline to escape. */
  nh__dynbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void nh__m_single(nh__dynbuf *b, const char *name, const char *type, const char *help,
                  int64_t v) {
  nh__m_family(b, name, type, help);
  nh__dynbuf_addf(b, "%s %" PRId64 "\n", name, v);
}

void nh__m_single_f(nh__dynbuf *b, const char *name, const char *type, const char *help,
                    double v) {
  nh__m_family(b, name, type, help);
  nh__dynbuf_addf(b, "%s %.17g\n", name, v);
}

void nh__m_label(nh__dynbuf *b, const char *key, const char *value, int first) {
  if (!first)
    nh__dynbuf_addc(b, ',');
  nh__dynbuf_addstr(b, key);
  nh__dynbuf_add(b, "=\"", 2);
  /* Label values escape backslash, double quote and newline. */
  for (const char *p = value; *p; p++) {
    if (*p == '\\' || *p == '"') {
      nh__dynbuf_addc(b, '\\');
      nh__dynbuf_addc(b, *p);
    } else if (*p == '\n') {
      nh__dynbuf_add(b, "\\n", 2);
    } else {
      nh__dynbuf_addc(b, *p);
    }
  }
  nh__dynbuf_addc(b, '"');
}

void nh__m_sample1(nh__dynbuf *b, const char *name, const char *key, const char *value, int64_t v) {
  nh__dynbuf_addstr(b, name);
  nh__dynbuf_addc(b, '{');
  nh__m_label(b, key, value, 1);
  nh__dynbuf_addf(b, "} %" PRId64 "\n", v);
}
