/* PROXY protocol headers (HAProxy's v1 text line and v2 binary block):
 * a pure parser, no I/O. It is given the bytes a connection has sent so far
 * and says whether they hold a whole header (and how long it is), need
 * more, or cannot be one; the caller peeks, parses, and reads exactly the
 * header's length, so the bytes after it stay in the socket. */
#ifndef NH_SERVER_PROXY_HEADER_H
#define NH_SERVER_PROXY_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* v1: the whole line, "PROXY ... \r\n", is at most 107 bytes. */
#define NH__PROXY_V1_MAX 107
/* v2: the length field (address block and TLVs) may be at most this. A
 * proxy sends far less (addresses, ALPN, authority, a certificate's CN);
 * a longer one is refused rather than buffered. */
#define NH__PROXY_V2_MAX_LEN 2048
/* The longest header of either version, signature included. */
#define NH__PROXY_MAX (16 + NH__PROXY_V2_MAX_LEN)

/* TLV types (v2). */
enum {
  NH__PP2_ALPN = 0x01,
  NH__PP2_AUTHORITY = 0x02,
  NH__PP2_CRC32C = 0x03,
  NH__PP2_NOOP = 0x04,
  NH__PP2_UNIQUE_ID = 0x05,
  NH__PP2_SSL = 0x20,
  NH__PP2_SSL_VERSION = 0x21,
  NH__PP2_SSL_CN = 0x22,
  NH__PP2_SSL_CIPHER = 0x23,
  NH__PP2_SSL_SIG_ALG = 0x24,
  NH__PP2_SSL_KEY_ALG = 0x25,
};

/* What a header says. Addresses are copied; tlvs points into the bytes
 * parsed. */
typedef struct nh__proxy_hdr {
  int version; /* 1 or 2 */
  /* 1: the addresses below are the client's and the one it reached.
   * 0: keep the socket's own (v2 LOCAL, v1 UNKNOWN, family UNSPEC). */
  int has_addr;
  struct sockaddr_storage src, dst; /* AF_INET, AF_INET6 or AF_UNIX */
  socklen_t src_len, dst_len;
  const uint8_t *tlvs; /* v2 PROXY: the TLVs after the addresses */
  size_t tlvs_len;
} nh__proxy_hdr;

/* Whether b[0..n) starts a header: 1 (a whole signature, "PROXY " or v2's
 * twelve bytes), 0 (a prefix of one: need more), -1 (neither). */
int nh__proxy_sniff(const uint8_t *b, size_t n);

/* Parse the header at the start of b[0..n). Returns its length (> 0, h
 * filled), 0 when more bytes are needed, or NH_EINVAL with *why set to a
 * short reason (a malformed, oversized or unknown header). Never reads
 * past n. */
int nh__proxy_parse(const uint8_t *b, size_t n, nh__proxy_hdr *h, const char **why);

/* The first TLV of type t in tlvs[0..len) (already validated by
 * nh__proxy_parse): 1 with *val, *vlen set, or 0. */
int nh__proxy_tlv_find(const uint8_t *tlvs, size_t len, uint8_t t, const uint8_t **val,
                       size_t *vlen);

/* CRC-32C (Castagnoli), as the v2 CRC32C TLV carries it. */
uint32_t nh__crc32c(uint32_t crc, const uint8_t *b, size_t n);

#endif
