/* PROXY protocol headers: HAProxy's "The PROXY protocol" versions 1 and 2
 * (see proxy_header.h). Strict: a field out of shape refuses the whole
 * header, as a header is only accepted from trusted proxies that send it
 * right. */
#include "proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "nethttp/errors.h"

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char v1_sig[6] = "PROXY ";

int nh__proxy_sniff(const uint8_t *b, size_t n) {
  size_t k1 = n < sizeof v1_sig ? n : sizeof v1_sig;
  size_t k2 = n < sizeof v2_sig ? n : sizeof v2_sig;
  if (!memcmp(b, v1_sig, k1))
    return k1 == sizeof v1_sig ? 1 : 0;
  if (!memcmp(b, v2_sig, k2))
    return k2 == sizeof v2_sig ? 1 : 0;
  return -1;
}

/* ---- CRC-32C ---- */

uint32_t nh__crc32c(uint32_t crc, const uint8_t *b, size_t n) {
  static uint32_t table[256];
  static int ready; /* idempotent: racing threads write the same values */
  if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
    __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
  }
  crc = ~crc;
  for (size_t i = 0; i < n; i++)
    crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* ---- v1 ---- */

/* A port: decimal 0..65535, no sign, no leading zero. */
static int v1_port(const char *s, size_t n, uint16_t *out) {
  if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
    return -1;
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (uint32_t)(s[i] - '0');
  }
  if (v > 65535)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

static int v1_addr(int af, const char *s, size_t n, uint16_t port, struct sockaddr_storage *ss,
                   socklen_t *len) {
  char tmp[INET6_ADDRSTRLEN];
  if (n == 0 || n >= sizeof tmp)
    return -1;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  memset(ss, 0, sizeof *ss);
  if (af == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    *len = sizeof *in;
    return inet_pton(AF_INET, tmp, &in->sin_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  *len = sizeof *in6;
  return inet_pton(AF_INET6, tmp, &in6->sin6_addr) == 1 ? 0 : -1;
}

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n", TCP6 alike, or "PROXY UNKNOWN"
 * with anything up to the CRLF. Fields are separated by one space. */
static int parse_v1(const uint8_t *b, size_t n, nh__proxy_hdr *h, const char **why) {
  size_t lim = n < NH__PROXY_V1_MAX ? n : NH__PROXY_V1_MAX;
  const uint8_t *cr = NULL;
  for (size_t i = 0; i < lim; i++) {
    if (b[i] == '\r') {
      cr = b + i;
      break;
    }
    if (b[i] == '\n' || b[i] == 0) {
      *why = "v1: a bare line feed or a NUL in the line";
      return NH_EINVAL;
    }
  }
  if (!cr) {
    if (n >= NH__PROXY_V1_MAX) {
      *why = "v1: line longer than 107 bytes";
      return NH_EINVAL;
    }
    return 0;
  }
  size_t line = (size_t)(cr - b);
  if (line + 2 > NH__PROXY_V1_MAX) {
    *why = "v1: line longer than 107 bytes";
    return NH_EINVAL;
  }
  if (line + 1 >= n)
    return 0;
  if (cr[1] != '\n') {
    *why = "v1: CR not followed by LF";
    return NH_EINVAL;
  }
  /* Split "PROXY f1 f2 ..." on single spaces. */
  const char *s = (const char *)b + sizeof v1_sig;
  const char *end = (const char *)cr;
  const char *f[6];
  size_t fl[6];
  int nf = 0;
  for (const char *p = s;;) {
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    const char *e = sp ? sp : end;
    if (nf == 6) {
      nf++;
      break;
    }
    f[nf] = p;
    fl[nf++] = (size_t)(e - p);
    if (!sp)
      break;
    p = sp + 1;
  }
  memset(h, 0, sizeof *h);
  h->version = 1;
  if (fl[0] == 7 && !memcmp(f[0], "UNKNOWN", 7))
    return (int)line + 2; /* the rest of the line is to be ignored */
  int af = fl[0] == 4 && !memcmp(f[0], "TCP4", 4)   ? AF_INET
           : fl[0] == 4 && !memcmp(f[0], "TCP6", 4) ? AF_INET6
                                                    : 0;
  if (!af) {
    *why = "v1: protocol is not TCP4, TCP6 or UNKNOWN";
    return NH_EINVAL;
  }
  uint16_t sport, dport;
  if (nf != 5 || v1_port(f[3], fl[3], &sport) || v1_port(f[4], fl[4], &dport) ||
      v1_addr(af, f[1], fl[1], sport, &h->src, &h->src_len) ||
      v1_addr(af, f[2], fl[2], dport, &h->dst, &h->dst_len)) {
    *why = "v1: malformed address or port fields";
    return NH_EINVAL;
  }
  h->has_addr = 1;
  return (int)line + 2;
}

/* ---- v2 ---- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The SSL TLV: client flags (1), verify (4), then sub-TLVs. */
static int ssl_valid(const uint8_t *v, size_t n) {
  if (n < 5)
    return 0;
  for (size_t i = 5; i < n;) {
    if (n - i < 3 || n - i - 3 < be16(v + i + 1))
      return 0;
    i += 3 + (size_t)be16(v + i + 1);
  }
  return 1;
}

/* Check every TLV's framing and the ones with a fixed shape; verify the
 * CRC-32C if one is present (over the whole header, its own value as
 * zeros). */
static int v2_tlvs(const uint8_t *hdr, size_t total, const uint8_t *t, size_t n, const char **why) {
  int crcs = 0;
  for (size_t i = 0; i < n;) {
    if (n - i < 3 || n - i - 3 < be16(t + i + 1)) {
      *why = "v2: truncated TLV";
      return NH_EINVAL;
    }
    uint8_t type = t[i];
    size_t len = be16(t + i + 1);
    const uint8_t *v = t + i + 3;
    if (type == NH__PP2_CRC32C) {
      if (len != 4 || crcs++) {
        *why = "v2: malformed CRC32C TLV";
        return NH_EINVAL;
      }
      uint32_t want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
      static const uint8_t zero[4];
      size_t at = (size_t)(v - hdr);
      uint32_t c = nh__crc32c(0, hdr, at);
      c = nh__crc32c(c, zero, 4);
      c = nh__crc32c(c, v + 4, total - at - 4);
      if (c != want) {
        *why = "v2: CRC32C mismatch";
        return NH_EINVAL;
      }
    } else if (type == NH__PP2_UNIQUE_ID && len > 128) {
      *why = "v2: UNIQUE_ID longer than 128 bytes";
      return NH_EINVAL;
    } else if (type == NH__PP2_SSL && !ssl_valid(v, len)) {
      *why = "v2: malformed SSL TLV";
      return NH_EINVAL;
    }
    i += 3 + len;
  }
  return 0;
}

static int parse_v2(const uint8_t *b, size_t n, nh__proxy_hdr *h, const char **why) {
  if (n < 16)
    return 0;
  uint8_t ver = b[12] >> 4, cmd = b[12] & 0xf, af = b[13] >> 4, proto = b[13] & 0xf;
  size_t len = be16(b + 14);
  if (ver != 2) {
    *why = "v2: version is not 2";
    return NH_EINVAL;
  }
  if (cmd > 1) {
    *why = "v2: unknown command";
    return NH_EINVAL;
  }
  if (af > 3 || proto > 2) {
    *why = "v2: unknown address family or protocol";
    return NH_EINVAL;
  }
  if (len > NH__PROXY_V2_MAX_LEN) {
    *why = "v2: header longer than the cap";
    return NH_EINVAL;
  }
  if (n < 16 + len)
    return 0;
  memset(h, 0, sizeof *h);
  h->version = 2;
  size_t total = 16 + len;
  if (cmd == 0) /* LOCAL: the proxy's own connection (a health check) */
    return (int)total;
  const uint8_t *a = b + 16;
  static const size_t need[4] = {0, 12, 36, 216};
  if (len < need[af]) {
    *why = "v2: address block shorter than its family needs";
    return NH_EINVAL;
  }
  if (af == 1) {
    struct sockaddr_in *s = (struct sockaddr_in *)&h->src, *d = (struct sockaddr_in *)&h->dst;
    s->sin_family = d->sin_family = AF_INET;
    memcpy(&s->sin_addr, a, 4);
    memcpy(&d->sin_addr, a + 4, 4);
    memcpy(&s->sin_port, a + 8, 2);
    memcpy(&d->sin_port, a + 10, 2);
    h->src_len = h->dst_len = sizeof *s;
  } else if (af == 2) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&h->src, *d = (struct sockaddr_in6 *)&h->dst;
    s->sin6_family = d->sin6_family = AF_INET6;
    memcpy(&s->sin6_addr, a, 16);
    memcpy(&d->sin6_addr, a + 16, 16);
    memcpy(&s->sin6_port, a + 32, 2);
    memcpy(&d->sin6_port, a + 34, 2);
    h->src_len = h->dst_len = sizeof *s;
  } else if (af == 3) {
    struct sockaddr_un *s = (struct sockaddr_un *)&h->src, *d = (struct sockaddr_un *)&h->dst;
    s->sun_family = d->sun_family = AF_UNIX;
    /* 108 bytes each, NUL-padded; one that fills all 108 is cut by one. */
    memcpy(s->sun_path, a, sizeof s->sun_path - 1);
    memcpy(d->sun_path, a + 108, sizeof d->sun_path - 1);
    h->src_len = h->dst_len = sizeof *s;
  }
  h->has_addr = af != 0; /* UNSPEC: the socket's addresses stay */
  h->tlvs = a + need[af];
  h->tlvs_len = len - need[af];
  int e = v2_tlvs(b, total, h->tlvs, h->tlvs_len, why);
  return e ? e : (int)total;
}

int nh__proxy_parse(const uint8_t *b, size_t n, nh__proxy_hdr *h, const char **why) {
  *why = NULL;
  int s = nh__proxy_sniff(b, n);
  if (s < 0) {
    *why = "no PROXY signature";
    return NH_EINVAL;
  }
  if (s == 0)
    return 0;
  return b[0] == 'P' ? parse_v1(b, n, h, why) : parse_v2(b, n, h, why);
}

int nh__proxy_tlv_find(const uint8_t *t, size_t n, uint8_t type, const uint8_t **val,
                       size_t *vlen) {
  for (size_t i = 0; i + 3 <= n;) {
    size_t len = be16(t + i + 1);
    if (n - i - 3 < len)
      return 0;
    if (t[i] == type) {
      *val = t + i + 3;
      *vlen = len;
      return 1;
    }
    i += 3 + len;
  }
  return 0;
}
