/* multipart/form-data bodies (RFC 7578), built in memory. */
#include "get_form.h"
#include "get_args.h"

#include <nethttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void get_form_init(get_form *f) {
  memset(f, 0, sizeof *f);
  nh__dynbuf_init(&f->body, CLI_BODY_MAX);
  /* Unpredictable enough that no field value contains it by accident. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned long long x = (unsigned long long)ts.tv_nsec * 6364136223846793005ULL ^
                         ((unsigned long long)getpid() << 32) ^ (unsigned long long)ts.tv_sec;
  snprintf(f->boundary, sizeof f->boundary, "------------------------%016llx", x);
  snprintf(f->content_type, sizeof f->content_type, "multipart/form-data; boundary=%s", f->boundary);
}

static int put(get_form *f, const void *p, size_t n) { return nh__dynbuf_add(&f->body, p, n); }

static int puts_(get_form *f, const char *s) { return nh__dynbuf_addstr(&f->body, s); }

/* Quotes in a disposition parameter are escaped as browsers do. */
static int put_param(get_form *f, const char *s) {
  int e = 0;
  for (; *s && !e; s++)
    e = *s == '"' ? puts_(f, "%22") : *s == '\r' ? puts_(f, "%0D") : *s == '\n' ? puts_(f, "%0A") : put(f, s, 1);
  return e;
}

int get_form_add(get_form *f, const char *spec) {
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec)
    return NH_EINVAL;
  char *name = strndup(spec, (size_t)(eq - spec));
  if (!name)
    return NH_ENOMEM;
  const char *value = eq + 1;
  char *content = NULL;
  size_t clen = strlen(value);
  const char *filename = NULL;
  int e = 0;
  if (value[0] == '@' || value[0] == '<') {
    e = cli_read_file(value + 1, &content, &clen);
    if (value[0] == '@') {
      const char *slash = strrchr(value + 1, '/');
      filename = slash ? slash + 1 : value + 1;
    }
  }
  if (!e) {
    e = puts_(f, "--");
    e = e ? e : puts_(f, f->boundary);
    e = e ? e : puts_(f, "\r\nContent-Disposition: form-data; name=\"");
    e = e ? e : put_param(f, name);
    if (filename) {
      e = e ? e : puts_(f, "\"; filename=\"");
      e = e ? e : put_param(f, filename);
      e = e ? e : puts_(f, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    } else {
      e = e ? e : puts_(f, "\"\r\n\r\n");
    }
    e = e ? e : put(f, content ? content : value, clen);
    e = e ? e : puts_(f, "\r\n");
    f->parts++;
  }
  free(content);
  free(name);
  return e;
}

int get_form_finish(get_form *f) {
  int e = puts_(f, "--");
  e = e ? e : puts_(f, f->boundary);
  return e ? e : puts_(f, "--\r\n");
}

void get_form_free(get_form *f) { nh__dynbuf_free(&f->body); }
