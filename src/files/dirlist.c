/* Directory listings as Go's dirList writes them: sorted by name (bytes),
 * directories with a trailing '/', each name HTML-escaped as text and
 * percent-encoded in the link, so no file name can inject markup or turn
 * its link into another URL ("?", "#", ":" and "&" included). */
#include "files_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct entry {
  char *name;
  int is_dir;
} entry;

static int by_name(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Small writes gathered into one buffer before they reach the response. */
typedef struct out {
  nh_response_writer *w;
  size_t n;
  char buf[4096];
} out;

static void put(out *o, const char *s, size_t n) {
  if (o->n + n > sizeof o->buf) {
    nh_resp_write(o->w, o->buf, o->n);
    o->n = 0;
  }
  memcpy(o->buf + o->n, s, n); /* n is never more than a few bytes */
  o->n += n;
}
#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static void write_html_escaped(out *w, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': PUTS(w, "&amp;"); break;
    case '<': PUTS(w, "&lt;"); break;
    case '>': PUTS(w, "&gt;"); break;
    case '"': PUTS(w, "&#34;"); break;
    case '\'': PUTS(w, "&#39;"); break;
    default: put(w, s, 1);
    }
  }
}

/* Everything but RFC 3986 unreserved characters is percent-encoded. */
static void write_url_escaped(out *w, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      put(w, s, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      put(w, e, 3);
    }
  }
}

void nh__dir_list(nh_response_writer *w, nh_request *r, int dirfd, int show_dotfiles) {
  (void)r;
  DIR *d = fdopendir(dirfd);
  if (!d) {
    int err = errno;
    close(dirfd);
    nh__file_error_errno(w, err);
    return;
  }
  entry *list = NULL;
  size_t n = 0, cap = 0;
  int failed = 0;
  for (struct dirent *de; (de = readdir(d));) {
    const char *name = de->d_name;
    if (!strcmp(name, ".") || !strcmp(name, ".."))
      continue;
    if (name[0] == '.' && !show_dotfiles)
      continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 64;
      entry *l = realloc(list, nc * sizeof *l);
      if (!l) {
        failed = 1;
        break;
      }
      list = l;
      cap = nc;
    }
    int is_dir = de->d_type == DT_DIR;
    if (de->d_type == DT_UNKNOWN) { /* some file systems leave it to stat */
      struct stat st;
      is_dir = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (!(list[n].name = strdup(name))) {
      failed = 1;
      break;
    }
    list[n++].is_dir = is_dir;
  }
  closedir(d);
  if (failed) {
    for (size_t i = 0; i < n; i++)
      free(list[i].name);
    free(list);
    nh__file_error_errno(w, ENOMEM);
    return;
  }
  if (n)
    qsort(list, n, sizeof *list, by_name);
  nh_header_set(nh_resp_header(w), "Content-Type", "text/html; charset=utf-8");
  out *o = malloc(sizeof *o);
  if (!o) {
    for (size_t i = 0; i < n; i++)
      free(list[i].name);
    free(list);
    nh__file_error_errno(w, ENOMEM);
    return;
  }
  o->w = w;
  o->n = 0;
  PUTS(o, "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n");
  for (size_t i = 0; i < n; i++) {
    PUTS(o, "<a href=\"");
    write_url_escaped(o, list[i].name);
    if (list[i].is_dir)
      PUTS(o, "/");
    PUTS(o, "\">");
    write_html_escaped(o, list[i].name);
    if (list[i].is_dir)
      PUTS(o, "/");
    PUTS(o, "</a>\n");
    free(list[i].name);
  }
  PUTS(o, "</pre>\n");
  nh_resp_write(w, o->buf, o->n);
  free(o);
  free(list);
}
