/* nethttp/form.h — request forms (Go's ParseForm, ParseMultipartForm,
 * FormValue, PostFormValue, FormFile).
 *
 * There is no parse step to forget: the first call of any accessor below
 * parses the query and the body, once, and keeps the result for the rest of
 * the request. What is parsed:
 *   - the query string, always;
 *   - an application/x-www-form-urlencoded body of a POST, PUT or PATCH
 *     request, up to 10 MiB (or the nh_request_limit_body cap if lower);
 *   - a multipart/form-data body (any method), streamed part by part.
 * Other bodies are left unread, so a handler may still read them itself.
 * A handler that read the body before the first access gets only the part
 * that was left.
 *
 * Order of the values of one key (Go's FormValue precedence): the
 * urlencoded body, then the query, then multipart fields. The "post" form
 * holds the body's values only.
 *
 * Multipart memory: field values and part headers may take up to the form
 * memory limit plus 10 MiB (as Go); beyond, the parse fails with
 * NH_EBODYTOOLARGE. File contents are kept in memory while the files so
 * far fit in the limit; a file that does not is written to a temporary
 * file under $TMPDIR (or /tmp), removed when the request ends. Writing it
 * happens on the handler's thread. Bound the total with
 * nh_request_limit_body.
 *
 * Everything returned is borrowed from the request and valid until it
 * ends. Handler fiber only; the first access may park while it reads. */
#ifndef NETHTTP_FORM_H
#define NETHTTP_FORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nethttp/export.h"
#include "nethttp/header.h"
#include "nethttp/server.h"
#include "nethttp/url.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default memory for multipart values and files (Go's defaultMaxMemory). */
#define NH_FORM_DEFAULT_MEMORY ((size_t)32 << 20)
/* Cap on an urlencoded body (Go's maxFormSize). */
#define NH_FORM_MAX_URLENCODED ((int64_t)10 << 20)

/* nh_request_set_form_memory sets the multipart memory limit of this
 * request (default NH_FORM_DEFAULT_MEMORY; 0 = every non-empty file goes to
 * disk). Returns 0, or NH_EBUSY once the form was parsed. */
NH_API int nh_request_set_form_memory(nh_request *r, size_t bytes);

/* nh_request_form_value returns the first value of key from the body
 * (urlencoded), the query, then multipart fields; NULL if none (an empty
 * value is ""). nh_request_post_form_value looks at the body only. Parse
 * errors do not stop them: see nh_request_form_error. */
NH_API const char *nh_request_form_value(nh_request *r, const char *key);
NH_API const char *nh_request_post_form_value(nh_request *r, const char *key);

/* nh_request_form: every value (Go's r.Form after ParseMultipartForm);
 * nh_request_post_form: the body's only (r.PostForm). NULL only when out
 * of memory. */
NH_API const nh_values *nh_request_form(nh_request *r);
NH_API const nh_values *nh_request_post_form(nh_request *r);

/* nh_request_form_error parses if needed and returns the first error met:
 * 0, NH_EBADFORM (a bad escape in the query or body, a malformed multipart
 * body or Content-Type), NH_EBODYTOOLARGE (past 10 MiB of urlencoded body,
 * past the memory limit for multipart values, or past the
 * nh_request_limit_body cap), or a read error (NH_ETIMEDOUT,
 * NH_ECONNRESET...), NH_ENOMEM, or an I/O error writing a temporary file.
 * Well-formed pairs of a query or urlencoded body with a bad one are still
 * kept (Go's ParseQuery); a multipart body that fails adds no value and no
 * file. */
NH_API int nh_request_form_error(nh_request *r);

/* One uploaded file (Go's multipart.FileHeader). Read-only. */
typedef struct nh_form_file {
  const char *field;        /* the form field name */
  const char *filename;     /* as sent, directory part removed (RFC 7578 4.2) */
  const char *content_type; /* the part's Content-Type, "" if none */
  const nh_header *header;  /* every header of the part */
  int64_t size;
  const void *data; /* the contents when held in memory, else NULL */
  const char *path; /* the temporary file when spilled to disk, else NULL;
                       it is removed when the request ends */
} nh_form_file;

/* nh_request_form_file returns the first file uploaded as field, or NULL
 * (then nh_request_form_error tells whether parsing failed). */
NH_API const nh_form_file *nh_request_form_file(nh_request *r, const char *field);
/* Every file, in the order of the body: 0 .. nh_request_form_file_count()-1
 * (NULL past the end). */
NH_API size_t nh_request_form_file_count(nh_request *r);
NH_API const nh_form_file *nh_request_form_file_at(nh_request *r, size_t i);

/* nh_form_file_read_at copies up to n bytes of the file from offset off
 * into buf, from memory or from its temporary file. Returns the count (0 at
 * the end) or an error (-errno). May block the thread briefly on a disk
 * read. */
NH_API ssize_t nh_form_file_read_at(const nh_form_file *f, void *buf, size_t n, int64_t off);
/* nh_form_file_open returns a new read-only descriptor (O_CLOEXEC) on the
 * file's contents, for sendfile or a copy: its temporary file, or for a
 * file held in memory a memfd holding a copy. The caller closes it.
 * -errno on failure. */
NH_API int nh_form_file_open(const nh_form_file *f);

#ifdef __cplusplus
}
#endif
#endif
