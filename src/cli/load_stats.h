/* Tallies for `nethttp load`: a log-linear latency histogram (16 buckets
 * per power of two, so a percentile is within 6.25% of the truth at any
 * scale from nanoseconds to minutes), status code counts and error counts
 * by kind. Each caller owns its tally and updates it without any lock; the
 * tallies are merged once at the end. */
#ifndef NH_CLI_LOAD_STATS_H
#define NH_CLI_LOAD_STATS_H

#include <nethttp.h>
#include <stdint.h>
#include <stdio.h>

#define LAT_SUB_BITS 4 /* 16 sub-buckets per power of two */
#define LAT_SUB (1 << LAT_SUB_BITS)
#define LAT_MAX_POW 42 /* 2^42 ns = 73 min: anything longer lands in the last bucket */
#define LAT_BUCKETS ((LAT_MAX_POW - LAT_SUB_BITS + 2) * LAT_SUB)

typedef struct lat_hist {
  uint64_t n;
  nh_dur min, max;
  double sum; /* ns, for the mean */
  uint64_t count[LAT_BUCKETS];
} lat_hist;

void lat_hist_init(lat_hist *h);
void lat_hist_record(lat_hist *h, nh_dur d);
void lat_hist_merge(lat_hist *dst, const lat_hist *src);
/* The latency at quantile q (0..1): the upper edge of the bucket holding
 * that rank, clamped to [min, max]; 0 when empty. Monotonic in q. */
nh_dur lat_hist_quantile(const lat_hist *h, double q);
/* Bucket i covers [lat_bucket_low(i), lat_bucket_low(i + 1)). */
nh_dur lat_bucket_low(int i);
int lat_bucket_of(nh_dur d);

/* Outcomes of requests: status codes, and errors by NH_E* code. */
#define TALLY_STATUS 600
#define TALLY_ERR_KINDS 15
typedef struct tally {
  uint64_t responses, errors, bytes;
  uint64_t status[TALLY_STATUS]; /* index = code; others counted at 0 */
  struct {
    int code;
    uint64_t n;
  } err[TALLY_ERR_KINDS + 1]; /* the last slot collects kinds beyond the first 15 */
  int nerr;
} tally;

/* Where a request's time went, as hey's "Details": DNS+dialup (looking
 * for a connection until one is got: about 0 when one is reused),
 * DNS-lookup (the lookup alone, 0 when reused), req write (got the
 * connection until the request was written), resp wait (written until the
 * first response byte), resp read (first byte until the body's end). */
enum { PHASE_CONN, PHASE_DNS, PHASE_WRITE, PHASE_WAIT, PHASE_READ, PHASES };
typedef struct phase_stats {
  uint64_t n;
  double sum[PHASES]; /* ns */
  nh_dur min[PHASES], max[PHASES];
} phase_stats;

void phase_stats_init(phase_stats *p);
/* One complete request's phases. */
void phase_stats_record(phase_stats *p, const nh_dur d[PHASES]);
void phase_stats_merge(phase_stats *dst, const phase_stats *src);
extern const char *const phase_names[PHASES];     /* "DNS+dialup", ... as hey prints them */
extern const char *const phase_json_keys[PHASES]; /* "dns_dialup", ... */

void tally_status(tally *t, int status, uint64_t bytes);
void tally_error(tally *t, int code);
void tally_merge(tally *dst, const tally *src);

/* The histogram as hey draws it: one row per power-of-two range from the
 * fastest to the slowest request, with a bar of the row's share. */
void lat_hist_print(const lat_hist *h, FILE *out);
/* "1.234ms" style, three significant digits. */
const char *lat_format(nh_dur d, char *buf, size_t cap);

#endif
