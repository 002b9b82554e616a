/* Argument helpers shared by the client commands (get, load): flag values
 * in every spelling curl and hey accept, durations as seconds or Go-style,
 * and bodies given inline or as @file. */
#ifndef NH_CLI_GET_ARGS_H
#define NH_CLI_GET_ARGS_H

#include <nethttp.h>
#include <stddef.h>

/* Consumes argv[*i] if it is the flag short ("-X", may be NULL) or long
 * ("--request", may be NULL) and returns its value: "-X POST", "-XPOST",
 * "--request POST", "--request=POST". NULL if argv[*i] is another flag.
 * A flag given without its value sets *missing. */
const char *cli_flag_value(const char *short_name, const char *long_name, int argc, char **argv,
                           int *i, int *missing);

/* "0.5" (seconds, as curl and hey take them) or "500ms" (Go-style). >0 only. */
int cli_parse_dur(const char *s, nh_dur *out);

/* "K: V" into the header (added, so a key may repeat). "K:" with an empty
 * value removes K. 0 or NH_EINVAL. */
int cli_add_header(nh_header *h, const char *kv);

/* The most a client command holds in memory for one body (-d, -F, a
 * file given with @): anything larger is refused, never half sent. */
#define CLI_BODY_MAX ((size_t)1 << 30)

/* Reads a whole file ("-" = stdin) into a malloc'd, NUL-terminated buffer.
 * 0, -errno, NH_EIO, NH_ENOMEM, or NH_ERANGE past CLI_BODY_MAX. */
int cli_read_file(const char *path, char **out, size_t *len);

/* Adds "http://" to a URL without a scheme (as curl does). malloc'd. */
char *cli_url_with_scheme(const char *url);

#endif
