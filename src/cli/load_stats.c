/* Latency histogram and outcome tallies (see load_stats.h). The bucket
 * layout is HdrHistogram's with one significant binary digit group: values
 * below 16 ns get a bucket each, and every power of two above is cut into
 * 16 equal slices. */
#include "load_stats.h"

#include <string.h>

void lat_hist_init(lat_hist *h) {
  memset(h, 0, sizeof *h);
  h->min = INT64_MAX;
}

int lat_bucket_of(nh_dur d) {
  if (d < LAT_SUB)
    return d < 0 ? 0 : (int)d;
  int pow = 63 - __builtin_clzll((unsigned long long)d); /* >= LAT_SUB_BITS */
  if (pow > LAT_MAX_POW)
    return LAT_BUCKETS - 1;
  int sub = (int)((unsigned long long)d >> (pow - LAT_SUB_BITS)) & (LAT_SUB - 1);
  return (pow - LAT_SUB_BITS + 1) * LAT_SUB + sub;
}

nh_dur lat_bucket_low(int i) {
  if (i < LAT_SUB)
    return i;
  int pow = i / LAT_SUB - 1 + LAT_SUB_BITS;
  int sub = i % LAT_SUB;
  return ((nh_dur)1 << pow) + ((nh_dur)sub << (pow - LAT_SUB_BITS));
}

void lat_hist_record(lat_hist *h, nh_dur d) {
  if (d < 0)
    d = 0;
  h->count[lat_bucket_of(d)]++;
  h->n++;
  h->sum += (double)d;
  if (d < h->min)
    h->min = d;
  if (d > h->max)
    h->max = d;
}

void lat_hist_merge(lat_hist *dst, const lat_hist *src) {
  if (!src->n)
    return;
  for (int i = 0; i < LAT_BUCKETS; i++)
    dst->count[i] += src->count[i];
  dst->n += src->n;
  dst->sum += src->sum;
  if (src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
}

nh_dur lat_hist_quantile(const lat_hist *h, double q) {
  if (!h->n)
    return 0;
  if (q <= 0)
    return h->min;
  if (q >= 1)
    return h->max;
  uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999); /* the ceil(q*n)-th value, 1-based */
  if (rank < 1)
    rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < LAT_BUCKETS; i++) {
    seen += h->count[i];
    if (seen >= rank) {
      nh_dur v = i + 1 < LAT_BUCKETS ? lat_bucket_low(i + 1) - 1 : h->max;
      return v < h->min ? h->min : v > h->max ? h->max : v;
    }
  }
  return h->max;
}

void tally_status(tally *t, int status, uint64_t bytes) {
  t->responses++;
  t->bytes += bytes;
  t->status[status > 0 && status < TALLY_STATUS ? status : 0]++;
}

static void add_error(tally *t, int code, uint64_t n) {
  for (int i = 0; i < t->nerr; i++)
    if (t->err[i].code == code) {
      t->err[i].n += n;
      return;
    }
  if (t->nerr < TALLY_ERR_KINDS) {
    t->err[t->nerr].code = code;
    t->err[t->nerr++].n = n;
    return;
  }
  t->err[TALLY_ERR_KINDS].code = 0; /* "other" */
  t->err[TALLY_ERR_KINDS].n += n;
}

void tally_error(tally *t, int code) {
  t->errors++;
  add_error(t, code, 1);
}

void tally_merge(tally *dst, const tally *src) {
  dst->responses += src->responses;
  dst->errors += src->errors;
  dst->bytes += src->bytes;
  for (int i = 0; i < TALLY_STATUS; i++)
    dst->status[i] += src->status[i];
  for (int i = 0; i < src->nerr; i++)
    add_error(dst, src->err[i].code, src->err[i].n);
  if (src->err[TALLY_ERR_KINDS].n)
    add_error(dst, 0, src->err[TALLY_ERR_KINDS].n);
}

const char *lat_format(nh_dur d, char *buf, size_t cap) {
  double v = (double)d;
  const char *unit = "ns";
  if (d >= NH_SEC) {
    v /= (double)NH_SEC;
    unit = "s";
  } else if (d >= NH_MSEC) {
    v /= (double)NH_MSEC;
    unit = "ms";
  } else if (d >= NH_USEC) {
    v /= (double)NH_USEC;
    unit = "µs";
  }
  snprintf(buf, cap, "%.*f%s", v >= 100 ? 0 : v >= 10 ? 1 : 2, v, unit);
  return buf;
}

void lat_hist_print(const lat_hist *h, FILE *out) {
  if (!h->n)
    return;
  /* Rows: power-of-two ranges [2^k, 2^(k+1)). */
  int lo = 63 - __builtin_clzll((unsigned long long)(h->min | 1));
  int hi = 63 - __builtin_clzll((unsigned long long)(h->max | 1));
  uint64_t rows[64] = {0}, most = 0;
  for (int i = 0; i < LAT_BUCKETS; i++) {
    if (!h->count[i])
      continue;
    nh_dur low = lat_bucket_low(i);
    int k = 63 - __builtin_clzll((unsigned long long)(low | 1));
    rows[k] += h->count[i];
  }
  for (int k = lo; k <= hi; k++)
    if (rows[k] > most)
      most = rows[k];
  for (int k = lo; k <= hi; k++) {
    char edge[32];
    nh_dur upper = k >= 62 ? INT64_MAX : ((nh_dur)1 << (k + 1));
    if (upper > h->max)
      upper = h->max;
    lat_format(upper, edge, sizeof edge);
    int pad = 9 - (int)strlen(edge); /* by columns: "µ" is two bytes, one column */
    for (const char *c = edge; *c; c++)
      pad += ((unsigned char)*c & 0xC0) == 0x80;
    int bar = most ? (int)((rows[k] * 40 + most - 1) / most) : 0;
    fprintf(out, "  <= %*s%s [%8llu] |", pad > 0 ? pad : 0, "", edge, (unsigned long long)rows[k]);
    for (int b = 0; b < bar; b++)
      fputs("■", out);
    fputc('\n', out);
  }
}

const char *const phase_names[PHASES] = {"DNS+dialup", "DNS-lookup", "req write", "resp wait",
                                         "resp read"};
const char *const phase_json_keys[PHASES] = {"dns_dialup", "dns_lookup", "req_write", "resp_wait",
                                             "resp_read"};

void phase_stats_init(phase_stats *p) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < PHASES; i++)
    p->min[i] = INT64_MAX;
}

void phase_stats_record(phase_stats *p, const nh_dur d[PHASES]) {
  p->n++;
  for (int i = 0; i < PHASES; i++) {
    nh_dur v = d[i] > 0 ? d[i] : 0;
    p->sum[i] += (double)v;
    if (v < p->min[i])
      p->min[i] = v;
    if (v > p->max[i])
      p->max[i] = v;
  }
}

void phase_stats_merge(phase_stats *dst, const phase_stats *src) {
  dst->n += src->n;
  for (int i = 0; i < PHASES; i++) {
    dst->sum[i] += src->sum[i];
    if (src->min[i] < dst->min[i])
      dst->min[i] = src->min[i];
    if (src->max[i] > dst->max[i])
      dst->max[i] = src->max[i];
  }
}
