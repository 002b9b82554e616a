/* Go's NotFound and Redirect (http.Error is src/server/error.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nethttp/handlers.h"
#include "nethttp/status.h"
#include "reply.h"

void nh_not_found(nh_response_writer *w, nh_request *r) {
  (void)r;
  nh_error(w, "404 page not found", NH_STATUS_NOT_FOUND);
}

/* ---- Redirect ---- */

/* Go's path.Clean, into out (room for strlen(p) + 2 bytes). */
static void clean_path(const char *p, char *out) {
  size_t n = strlen(p);
  if (n == 0) {
    strcpy(out, ".");
    return;
  }
  int rooted = p[0] == '/';
  size_t r = 0, w = 0, dotdot = 0;
  if (rooted) {
    out[w++] = '/';
    r = dotdot = 1;
  }
  while (r < n) {
    if (p[r] == '/') {
      r++;
    } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
      r++;
    } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) { /* back up to the previous slash */
        w--;
        while (w > dotdot && out[w] != '/')
          w--;
      } else if (!rooted) { /* cannot back up: keep the .. */
        if (w > 0)
          out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0))
        out[w++] = '/';
      for (; r < n && p[r] != '/'; r++)
        out[w++] = p[r];
    }
  }
  if (w == 0)
    out[w++] = '.';
  out[w] = 0;
}

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Whether Go's url.Parse would accept url and give it neither scheme nor
 * host: only then is it a path to resolve against the request's. */
static int relative_reference(const char *url) {
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return 0; /* invalid control character */
  /* A scheme: a letter, then letters, digits, "+-." up to ':'. */
  size_t i = 0;
  if (is_alpha(url[0])) {
    for (i = 1; url[i]; i++)
      if (!is_alpha(url[i]) && !(url[i] >= '0' && url[i] <= '9') && !strchr("+-.", url[i]))
        break;
    if (url[i] == ':')
      return 0;
  }
  if (url[0] == ':')
    return 0; /* missing protocol scheme */
  size_t frag = strcspn(url, "#");
  size_t pathlen = strcspn(url, "?#");
  /* "//host...": an authority (a host, or an error). */
  if (url[0] == '/' && url[1] == '/' && pathlen >= 2) {
    size_t alen = strcspn(url + 2, "/?#");
    if (alen > 0)
      return 0;
  }
  /* A colon in the first segment would read as a scheme. */
  size_t seg = strcspn(url, "/?#");
  if (memchr(url, ':', seg))
    return 0;
  /* Percent escapes must be whole in the path and in the fragment. */
  for (size_t k = 0; url[k]; k++) {
    int in_query = k >= pathlen && k < frag;
    if (url[k] == '%' && !in_query) {
      const char *hex = "0123456789abcdefABCDEF";
      if (!url[k + 1] || !url[k + 2] || !strchr(hex, url[k + 1]) || !strchr(hex, url[k + 2]))
        return 0;
    }
  }
  return 1;
}

char *nh__redirect_resolve(const char *old, const char *url) {
  if (!relative_reference(url))
    return strdup(url);
  if (!old || !*old)
    old = "/";
  size_t dir = 0; /* path.Split: up to and including the last slash */
  for (size_t i = 0; old[i]; i++)
    if (old[i] == '/')
      dir = i + 1;
  size_t ulen = strlen(url);
  char *abs = malloc(dir + ulen + 1);
  char *out = malloc(dir + ulen + 4);
  if (!abs || !out) {
    free(abs);
    free(out);
    return NULL;
  }
  if (url[0] != '/') { /* make a relative path absolute */
    memcpy(abs, old, dir);
    memcpy(abs + dir, url, ulen + 1);
  } else {
    memcpy(abs, url, ulen + 1);
  }
  char *q = strchr(abs, '?');
  const char *query = q ? q + 1 : NULL;
  if (q)
    *q = 0;
  size_t alen = strlen(abs);
  int trailing = alen > 0 && abs[alen - 1] == '/';
  clean_path(abs, out); /* clean up but keep a trailing slash */
  size_t olen = strlen(out);
  if (trailing && out[olen - 1] != '/')
    out[olen++] = '/';
  out[olen] = 0;
  if (query) {
    out[olen++] = '?';
    memcpy(out + olen, query, strlen(query) + 1);
  }
  free(abs);
  return out;
}

void nh__redirect(nh_response_writer *w, nh_request *r, const char *url, int code, const char *file,
                  int line) {
  char *made = nh__redirect_resolve(nh_request_path(r), url);
  if (!made) {
    nh__error(w, "out of memory", NH_STATUS_INTERNAL_SERVER_ERROR, file, line);
    return;
  }
  const char *loc = made;

  /* Location with non-ASCII bytes percent-escaped (Go's hexEscapeNonASCII). */
  size_t llen = strlen(loc), extra = 0;
  for (size_t i = 0; i < llen; i++)
    extra += (unsigned char)loc[i] >= 0x80 ? 2 : 0;
  char *escaped = malloc(llen + extra + 1);
  if (!escaped) {
    free(made);
    nh__error(w, "out of memory", NH_STATUS_INTERNAL_SERVER_ERROR, file, line);
    return;
  }
  size_t e = 0;
  for (size_t i = 0; i < llen; i++) {
    unsigned char c = (unsigned char)loc[i];
    if (c >= 0x80) {
      escaped[e++] = '%';
      escaped[e++] = "0123456789ABCDEF"[c >> 4];
      escaped[e++] = "0123456789ABCDEF"[c & 15];
    } else {
      escaped[e++] = (char)c;
    }
  }
  escaped[e] = 0;

  nh_header *h = nh_resp_header(w);
  /* The HTML body is for old user agents; a handler that chose a
   * Content-Type chose its own body. */
  int had_type = nh_header_values(h, "Content-Type", NULL, 0) > 0;
  const char *method = nh_request_method(r);
  nh_header_set_at(h, "Location", escaped, file, line);
  if (!had_type && (!strcmp(method, "GET") || !strcmp(method, "HEAD")))
    nh_header_set_at(h, "Content-Type", "text/html; charset=utf-8", file, line);
  nh__resp_write_header(w, code, file, line);
  if (!had_type && !strcmp(method, "GET")) {
    /* "<a href=\"" + htmlEscape(url) + "\">" + StatusText(code) + "</a>.\n", then Fprintln */
    size_t cap = 6 * llen + 64;
    char *body = malloc(cap);
    if (body) {
      size_t b = 0;
      b += (size_t)snprintf(body + b, cap - b, "<a href=\"");
      for (size_t i = 0; i < llen; i++) {
        const char *rep = NULL;
        switch (loc[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&#34;"; break;
        case '\'': rep = "&#39;"; break;
        }
        if (rep) {
          memcpy(body + b, rep, strlen(rep));
          b += strlen(rep);
        } else {
          body[b++] = loc[i];
        }
      }
      nh__resp_write(w, body, b, file, line);
      nh__resp_printf(w, file, line, "\">%s</a>.\n\n", nh_status_text(code));
      free(body);
    }
  }
  free(escaped);
  free(made);
}

/* The function behind the macro, for callers that take its address. */
#undef nh_redirect

void nh_redirect(nh_response_writer *w, nh_request *r, const char *url, int code) {
  nh__redirect(w, r, url, code, __FILE__, __LINE__);
}
