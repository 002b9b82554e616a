/* Argument helpers shared by the client commands (see get_args.h). */
#include "get_args.h"
#include "util/dynbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_flag_value(const char *short_name, const char *long_name, int argc, char **argv,
                           int *i, int *missing) {
  const char *a = argv[*i];
  const char *attached = NULL;
  int matched = 0;
  if (short_name && !strncmp(a, short_name, 2) && a[0] == '-' && a[1] != '-') {
    matched = 1;
    attached = a[2] ? a + 2 : NULL;
  } else if (long_name) {
    size_t n = strlen(long_name);
    if (!strncmp(a, long_name, n) && (a[n] == 0 || a[n] == '=')) {
      matched = 1;
      attached = a[n] == '=' ? a + n + 1 : NULL;
    }
  }
  if (!matched)
    return NULL;
  if (attached)
    return attached;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

int cli_parse_dur(const char *s, nh_dur *out) {
  char *end;
  double secs = strtod(s, &end);
  if (*s && !*end) {
    if (!(secs > 0) || secs > 1e9)
      return NH_EINVAL;
    *out = (nh_dur)(secs * (double)NH_SEC);
    return *out > 0 ? NH_OK : NH_EINVAL;
  }
  nh_dur d;
  if (nh_dur_parse(s, &d) != NH_OK || d <= 0)
    return NH_EINVAL;
  *out = d;
  return NH_OK;
}

int cli_add_header(nh_header *h, const char *kv) {
  const char *colon = strchr(kv, ':');
  if (!colon || colon == kv)
    return NH_EINVAL;
  size_t klen = (size_t)(colon - kv);
  char *key = strndup(kv, klen);
  if (!key)
    return NH_ENOMEM;
  const char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  int e;
  if (*v == 0) {
    nh_header_del(h, key);
    e = NH_OK;
  } else {
    e = nh_header_add(h, key, v);
  }
  free(key);
  return e;
}

int cli_read_file(const char *path, char **out, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f)
    return -errno;
  nh__dynbuf b;
  nh__dynbuf_init(&b, CLI_BODY_MAX);
  char chunk[4096];
  size_t got;
  int e = 0;
  while (!e && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
    e = nh__dynbuf_add(&b, chunk, got);
  if (!e && ferror(f))
    e = NH_EIO;
  if (f != stdin)
    fclose(f);
  if (e) {
    nh__dynbuf_free(&b);
    return e;
  }
  *out = nh__dynbuf_take(&b, len);
  return *out ? NH_OK : NH_ENOMEM;
}

char *cli_url_with_scheme(const char *url) {
  if (strstr(url, "://"))
    return strdup(url);
  size_t n = strlen(url) + sizeof "http://";
  char *s = malloc(n);
  if (s)
    snprintf(s, n, "http://%s", url);
  return s;
}
