/* Content types by file extension: a small built-in table (Go's mime
 * built-ins plus a few common ones) that always wins, then every entry of
 * /etc/mime.types, read once. Text types get "; charset=utf-8" as Go's
 * mime package gives them. */
#include "files_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct mime_entry {
  char *ext; /* lower case, without the dot */
  char *type;
} mime_entry;

static const char *const builtin[][2] = {
    {"avif", "image/avif"},
    {"css", "text/css; charset=utf-8"},
    {"gif", "image/gif"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mp4", "video/mp4"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"webp", "image/webp"},
    {"xml", "text/xml; charset=utf-8"},
};

static mime_entry *table;
static size_t ntable, captable;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void add(const char *ext, const char *type) {
  if (ntable == captable) {
    size_t cap = captable ? captable * 2 : 256;
    mime_entry *t = realloc(table, cap * sizeof *t);
    if (!t)
      return;
    table = t;
    captable = cap;
  }
  char *e = strdup(ext);
  char *ty;
  if (!strncasecmp(type, "text/", 5) && !strstr(type, "charset=")) {
    size_t n = strlen(type) + sizeof "; charset=utf-8";
    ty = malloc(n);
    if (ty)
      snprintf(ty, n, "%s; charset=utf-8", type);
  } else {
    ty = strdup(type);
  }
  if (!e || !ty) {
    free(e);
    free(ty);
    return;
  }
  for (char *p = e; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  table[ntable++] = (mime_entry){e, ty};
}

static void load_file(const char *path) {
  FILE *f = fopen(path, "re");
  if (!f)
    return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *save = NULL, *type = strtok_r(line, " \t\r\n", &save);
    if (!type || type[0] == '#' || !strchr(type, '/'))
      continue;
    for (char *ext; (ext = strtok_r(NULL, " \t\r\n", &save));) {
      if (ext[0] == '#')
        break;
      add(ext, type);
    }
  }
  fclose(f);
}

static void build(void) {
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
    add(builtin[i][0], builtin[i][1]);
  load_file("/etc/mime.types");
  /* A stable merge sort keeps the built-in entry of an extension first. */
  mime_entry *tmp = malloc(ntable * sizeof *tmp);
  if (!tmp) {
    ntable = 0; /* unsorted: unusable */
    return;
  }
  for (size_t width = 1; width < ntable; width *= 2) {
    for (size_t lo = 0; lo < ntable; lo += 2 * width) {
      size_t mid = lo + width < ntable ? lo + width : ntable;
      size_t hi = lo + 2 * width < ntable ? lo + 2 * width : ntable;
      size_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi)
        tmp[k++] = strcmp(table[b].ext, table[a].ext) < 0 ? table[b++] : table[a++];
      while (a < mid)
        tmp[k++] = table[a++];
      while (b < hi)
        tmp[k++] = table[b++];
    }
    memcpy(table, tmp, ntable * sizeof *tmp);
  }
  free(tmp);
  /* Keep the first (highest-priority) entry of each extension. */
  size_t out = 0;
  for (size_t i = 0; i < ntable; i++) {
    if (out && !strcmp(table[out - 1].ext, table[i].ext)) {
      free(table[i].ext);
      free(table[i].type);
      continue;
    }
    table[out++] = table[i];
  }
  ntable = out;
}

static int cmp_key(const void *key, const void *elem) {
  return strcmp(key, ((const mime_entry *)elem)->ext);
}

const char *nh_file_content_type(const char *name) {
  if (!name)
    return NULL;
  const char *dot = strrchr(name, '.');
  if (!dot || strchr(dot, '/') || !dot[1])
    return NULL;
  char ext[32];
  size_t n = strlen(dot + 1);
  if (n >= sizeof ext)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    ext[i] = (char)tolower((unsigned char)dot[1 + i]);
  pthread_once(&table_once, build);
  const mime_entry *e = table ? bsearch(ext, table, ntable, sizeof *table, cmp_key) : NULL;
  return e ? e->type : NULL;
}
