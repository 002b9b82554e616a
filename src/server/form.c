/* Request forms, parsed on first access (so no handler can read an empty
 * form because it forgot a parse call) and kept in the request's
 * NH__EXT_FORM slot until the request ends.
 *
 * One parse does what Go's ParseMultipartForm does: the urlencoded body of
 * POST/PUT/PATCH (capped), then the query, then a multipart/form-data body
 * streamed through the multipart parser, with field values in memory and
 * file contents in memory until the budget is spent, then on disk. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nethttp/form.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exchange.h"
#include "multipart.h"
#include "util/dynbuf.h"

#define NON_FILE_RESERVE ((int64_t)10 << 20) /* Go: 10 MiB more for values */
#define PART_OVERHEAD 200                    /* bytes charged per part */

typedef struct form_file {
  nh_form_file pub;
  nh__dynbuf mem; /* contents while in memory, capped by the file budget */
  int fd;     /* the temporary file while it is written, else -1 */
  char *path; /* malloc'd; unlinked at the end */
  struct form_file *next_all;
} form_file;

typedef struct nh__form {
  nh_request *r;
  int parsed, err;
  size_t max_memory;
  nh_values *form, *post;
  form_file **files; /* published files, in body order */
  size_t nfiles;
  form_file *all; /* every file record made, for cleanup */
} nh__form;

/* The state of one multipart parse. */
typedef struct mp_ctx {
  nh__form *f;
  nh_values *values;
  form_file **files;
  size_t nfiles, files_cap;
  int64_t value_budget, file_budget;
  /* the current part */
  int skip;
  const char *name;
  form_file *file;
  nh__dynbuf value; /* a field value being read, capped by the value budget */
} mp_ctx;

static void form_cleanup(void *arg) {
  nh__form *f = arg;
  for (form_file *x = f->all; x; x = x->next_all) {
    nh__dynbuf_free(&x->mem);
    if (x->fd >= 0)
      close(x->fd);
    if (x->path) {
      unlink(x->path);
      free(x->path);
    }
  }
  free(f->files);
  nh_values_free(f->form);
  nh_values_free(f->post);
}

static nh__form *form_state(nh_request *r) {
  if (!r || r->magic != NH__REQ_MAGIC)
    return NULL;
  nh__form *f = r->ext[NH__EXT_FORM];
  if (f)
    return f;
  f = nh_request_alloc(r, sizeof *f);
  if (!f)
    return NULL;
  memset(f, 0, sizeof *f);
  f->r = r;
  f->max_memory = NH_FORM_DEFAULT_MEMORY;
  if (nh_request_on_end(r, form_cleanup, f) != NH_OK)
    return NULL;
  r->ext[NH__EXT_FORM] = f;
  return f;
}

static void set_err(nh__form *f, int e) {
  if (e && !f->err)
    f->err = e;
}

/* ---- urlencoded bodies ---- */

static int read_urlencoded(nh_request *r, nh_values *post) {
  int64_t cap = NH_FORM_MAX_URLENCODED;
  if (r->body_limit >= 0 && r->body_limit < cap)
    cap = r->body_limit;
  /* A declared length over the cap is refused before reading (and before
   * any 100 Continue). Over an nh_request_limit_body cap, the read reports
   * it, so that the server answers 413 and closes as that cap promises. */
  if (r->content_length > cap) {
    char b;
    if (r->body_limit >= 0 && r->content_length > r->body_limit)
      return (int)nh_request_read(r, &b, 1);
    return NH_EBODYTOOLARGE;
  }
  char *buf;
  size_t len;
  int e = nh__request_read_all(r, (size_t)cap, &buf, &len);
  if (!e)
    e = nh_values_parse_query_n(post, buf, len);
  free(buf);
  return e;
}

/* ---- multipart bodies ---- */

static form_file *new_file(mp_ctx *c) {
  form_file *x = nh_request_alloc(c->f->r, sizeof *x);
  if (!x)
    return NULL;
  memset(x, 0, sizeof *x);
  x->fd = -1;
  /* In memory a file never passes the file budget: past it, it spills. */
  nh__dynbuf_init(&x->mem, (size_t)c->file_budget);
  x->next_all = c->f->all;
  c->f->all = x;
  return x;
}

/* RFC 7578 section 4.2: only the last path element of a filename counts
 * (Go's filepath.Base). */
static const char *base_name(nh_request *r, const char *name) {
  size_t n = strlen(name);
  while (n > 1 && name[n - 1] == '/')
    n--;
  size_t start = n;
  while (start > 0 && name[start - 1] != '/')
    start--;
  if (start == n) /* only slashes */
    return "/";
  char *b = nh_request_alloc(r, n - start + 1);
  if (b) {
    memcpy(b, name + start, n - start);
    b[n - start] = 0;
  }
  return b;
}

static int part_begin(void *user, const nh__mp_field *fields, int nfields) {
  mp_ctx *c = user;
  nh_request *r = c->f->r;
  c->skip = 1;
  c->file = NULL;
  nh__dynbuf_reset(&c->value);
  int64_t hbytes = PART_OVERHEAD;
  const char *disp = NULL, *ctype = "";
  for (int i = 0; i < nfields; i++) {
    hbytes += (int64_t)(strlen(fields[i].name) + strlen(fields[i].value));
    if (!disp && !strcmp(fields[i].name, "Content-Disposition"))
      disp = fields[i].value;
    else if (!*ctype && !strcmp(fields[i].name, "Content-Type"))
      ctype = fields[i].value;
  }
  if ((c->value_budget -= hbytes) < 0)
    return NH_EBODYTOOLARGE;
  if (!disp)
    return 0;
  /* Go's FormName: a part that is not form-data, or has no name (or a
   * Content-Disposition that does not parse), is read and dropped. */
  nh__mime d;
  int e = nh__mime_parse(disp, &d);
  const char *name = e ? NULL : nh__mime_param_get(&d, "name");
  const char *filename = e ? NULL : nh__mime_param_get(&d, "filename");
  int ok = !e && !strcmp(d.type, "form-data") && name && *name;
  if (ok) {
    c->skip = 0;
    c->name = nh_request_strdup(r, name);
    if (!c->name)
      e = NH_ENOMEM;
    if (!e && filename && *filename) {
      form_file *x = new_file(c);
      nh_header *h = nh_request_alloc(r, sizeof *h);
      if (!x || !h) {
        e = NH_ENOMEM;
      } else {
        nh__header_init(h, &r->s->arena);
        for (int i = 0; i < nfields; i++)
          nh_header_add(h, fields[i].name, fields[i].value);
        x->pub.field = c->name;
        x->pub.filename = base_name(r, filename);
        x->pub.content_type = nh_request_strdup(r, ctype);
        x->pub.header = h;
        if (!x->pub.filename || !x->pub.content_type)
          e = NH_ENOMEM;
        c->file = x;
      }
    }
  }
  if (e != NH_ENOMEM)
    e = 0;
  nh__mime_dispose(&d);
  return e;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The file no longer fits in memory: move it to a temporary file. */
static int spill(form_file *x) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  size_t n = strlen(dir) + sizeof "/nethttp-multipart-XXXXXX";
  x->path = malloc(n);
  if (!x->path)
    return NH_ENOMEM;
  snprintf(x->path, n, "%s/nethttp-multipart-XXXXXX", dir);
  x->fd = mkostemp(x->path, O_CLOEXEC);
  if (x->fd < 0) {
    int e = -errno;
    free(x->path);
    x->path = NULL;
    return e;
  }
  int e = write_all(x->fd, nh__dynbuf_ptr(&x->mem), nh__dynbuf_len(&x->mem));
  nh__dynbuf_free(&x->mem);
  return e;
}

static int part_data(void *user, const char *data, size_t n) {
  mp_ctx *c = user;
  if (c->skip)
    return 0;
  form_file *x = c->file;
  if (!x) {
    if ((c->value_budget -= (int64_t)n) < 0)
      return NH_EBODYTOOLARGE;
    return nh__dynbuf_add(&c->value, data, n);
  }
  if (!x->path && x->pub.size + (int64_t)n > c->file_budget) {
    int e = spill(x);
    if (e)
      return e;
  }
  if (x->path) {
    int e = write_all(x->fd, data, n);
    if (e)
      return e;
  } else {
    int e = nh__dynbuf_add(&x->mem, data, n);
    if (e)
      return e;
  }
  x->pub.size += (int64_t)n;
  return 0;
}

static int part_end(void *user) {
  mp_ctx *c = user;
  if (c->skip)
    return 0;
  form_file *x = c->file;
  if (!x) {
    return nh_values_add_n(c->values, c->name, strlen(c->name), nh__dynbuf_ptr(&c->value),
                           nh__dynbuf_len(&c->value));
  }
  if (x->path) {
    close(x->fd);
    x->fd = -1;
    x->pub.path = x->path;
  } else {
    x->pub.data = nh__dynbuf_ptr(&x->mem);
    c->file_budget -= x->pub.size;
    c->value_budget -= x->pub.size;
  }
  if (c->nfiles == c->files_cap) {
    size_t ncap = c->files_cap ? c->files_cap * 2 : 4;
    form_file **nf = realloc(c->files, ncap * sizeof *nf);
    if (!nf)
      return NH_ENOMEM;
    c->files = nf;
    c->files_cap = ncap;
  }
  c->files[c->nfiles++] = x;
  c->file = NULL;
  return 0;
}

static int read_multipart(nh__form *f, const char *boundary) {
  nh_request *r = f->r;
  mp_ctx c = {.f = f,
              .value_budget = (int64_t)f->max_memory + NON_FILE_RESERVE,
              .file_budget = (int64_t)f->max_memory};
  nh__dynbuf_init(&c.value, (size_t)c.value_budget);
  c.values = nh_values_new();
  if (!c.values)
    return NH_ENOMEM;
  nh__mp_handler h = {part_begin, part_data, part_end, &c};
  nh__mp m;
  int e = nh__mp_init(&m, boundary, NULL, &h);
  while (!e && !nh__mp_done(&m)) {
    size_t room;
    char *sp = nh__mp_space(&m, &room);
    ssize_t n = nh_request_read(r, sp, room);
    if (n < 0)
      e = (int)n;
    else if (n == 0)
      e = nh__mp_finish(&m);
    else
      e = nh__mp_commit(&m, (size_t)n);
  }
  nh__mp_dispose(&m);
  nh__dynbuf_free(&c.value);
  /* A failed body adds nothing (Go's ReadForm returns no form); its files
   * stay on the cleanup list. */
  for (size_t i = 0, n = nh_values_len(c.values); !e && i < n; i++) {
    const char *k, *v;
    size_t klen, vlen;
    nh_values_at_n(c.values, i, &k, &klen, &v, &vlen);
    if (nh_values_add_n(f->form, k, klen, v, vlen) || nh_values_add_n(f->post, k, klen, v, vlen))
      e = NH_ENOMEM;
  }
  nh_values_free(c.values);
  if (e) {
    free(c.files);
    return e;
  }
  f->files = c.files;
  f->nfiles = c.nfiles;
  return 0;
}

/* ---- the one parse ---- */

static void copy_values(nh_values *dst, const nh_values *src, int *err) {
  for (size_t i = 0, n = nh_values_len(src); i < n; i++) {
    const char *k, *v;
    size_t klen, vlen;
    nh_values_at_n(src, i, &k, &klen, &v, &vlen);
    if (nh_values_add_n(dst, k, klen, v, vlen) && !*err)
      *err = NH_ENOMEM;
  }
}

static void form_parse(nh__form *f) {
  nh_request *r = f->r;
  f->parsed = 1;
  f->form = nh_values_new();
  f->post = nh_values_new();
  if (!f->form || !f->post) {
    set_err(f, NH_ENOMEM);
    return;
  }
  const char *ct = nh_header_get(&r->header, "Content-Type");
  nh__mime mt = {0};
  int mt_err = ct ? nh__mime_parse(ct, &mt) : NH_EINVAL;
  const char *type = ct && !mt_err ? mt.type : "";
  const char *m = r->method;
  int body_method = !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
  if (body_method) {
    if (ct && mt_err) /* Go's parsePostForm: a Content-Type that does not parse */
      set_err(f, mt_err == NH_ENOMEM ? NH_ENOMEM : NH_EBADFORM);
    else if (!strcmp(type, "application/x-www-form-urlencoded"))
      set_err(f, read_urlencoded(r, f->post));
  }
  int e = 0;
  copy_values(f->form, f->post, &e);
  set_err(f, e);
  set_err(f, nh_values_parse_query(f->form, r->query));
  if (!strcmp(type, "multipart/form-data")) {
    const char *boundary = nh__mime_param_get(&mt, "boundary");
    set_err(f, boundary ? read_multipart(f, boundary) : NH_EBADFORM);
  }
  nh__mime_dispose(&mt);
}

static nh__form *form_parsed(nh_request *r) {
  nh__form *f = form_state(r);
  if (f && !f->parsed)
    form_parse(f);
  return f && f->form ? f : NULL;
}

/* ---- the API ---- */

int nh_request_set_form_memory(nh_request *r, size_t bytes) {
  nh__form *f = form_state(r);
  if (!f)
    return NH_ENOMEM;
  if (f->parsed)
    return NH_EBUSY;
  f->max_memory = bytes > (size_t)INT64_MAX / 2 ? (size_t)INT64_MAX / 2 : bytes;
  return 0;
}

const char *nh_request_form_value(nh_request *r, const char *key) {
  nh__form *f = form_parsed(r);
  return f ? nh_values_get(f->form, key) : NULL;
}

const char *nh_request_post_form_value(nh_request *r, const char *key) {
  nh__form *f = form_parsed(r);
  return f ? nh_values_get(f->post, key) : NULL;
}

const nh_values *nh_request_form(nh_request *r) {
  nh__form *f = form_parsed(r);
  return f ? f->form : NULL;
}

const nh_values *nh_request_post_form(nh_request *r) {
  nh__form *f = form_parsed(r);
  return f ? f->post : NULL;
}

int nh_request_form_error(nh_request *r) {
  nh__form *f = form_state(r);
  if (!f)
    return NH_ENOMEM;
  if (!f->parsed)
    form_parse(f);
  return f->err;
}

const nh_form_file *nh_request_form_file(nh_request *r, const char *field) {
  nh__form *f = form_parsed(r);
  for (size_t i = 0; f && i < f->nfiles; i++)
    if (!strcmp(f->files[i]->pub.field, field))
      return &f->files[i]->pub;
  return NULL;
}

size_t nh_request_form_file_count(nh_request *r) {
  nh__form *f = form_parsed(r);
  return f ? f->nfiles : 0;
}

const nh_form_file *nh_request_form_file_at(nh_request *r, size_t i) {
  nh__form *f = form_parsed(r);
  return f && i < f->nfiles ? &f->files[i]->pub : NULL;
}

ssize_t nh_form_file_read_at(const nh_form_file *f, void *buf, size_t n, int64_t off) {
  if (!f || off < 0)
    return NH_EINVAL;
  if (off >= f->size)
    return 0;
  if ((int64_t)n > f->size - off)
    n = (size_t)(f->size - off);
  if (f->data) {
    memcpy(buf, (const char *)f->data + off, n);
    return (ssize_t)n;
  }
  int fd = open(f->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t got = 0;
  while ((size_t)got < n) {
    ssize_t k = pread(fd, (char *)buf + got, n - (size_t)got, off + got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      got = -errno;
      break;
    }
    if (k == 0)
      break;
    got += k;
  }
  close(fd);
  return got;
}

int nh_form_file_open(const nh_form_file *f) {
  if (!f)
    return NH_EINVAL;
  if (f->path) {
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
  }
  int fd = memfd_create("nethttp-form-file", MFD_CLOEXEC);
  if (fd < 0)
    return -errno;
  int e = write_all(fd, f->data, (size_t)f->size);
  if (!e && lseek(fd, 0, SEEK_SET) < 0)
    e = -errno;
  if (e) {
    close(fd);
    return e;
  }
  return fd;
}
