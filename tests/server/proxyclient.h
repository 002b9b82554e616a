/* PROXY protocol tests' own pieces, independent of the library's parser:
 * v2 headers built byte by byte (with a bitwise CRC-32C), and a server on
 * a loopback port with listener options, its log captured in memory. */
#ifndef NH_TESTS_PROXYCLIENT_H
#define NH_TESTS_PROXYCLIENT_H

#include <nethttp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "rawclient.h"

static const uint8_t pp2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* A v2 header being built: signature, version/command, family, length. */
typedef struct pp2 {
  uint8_t b[8192];
  size_t n;
} pp2;

static inline void pp2_begin(pp2 *h, int cmd, uint8_t fam) {
  memcpy(h->b, pp2_sig, 12);
  h->b[12] = (uint8_t)(0x20 | cmd);
  h->b[13] = fam;
  h->n = 16;
}

static inline void pp2_put(pp2 *h, const void *p, size_t n) {
  memcpy(h->b + h->n, p, n);
  h->n += n;
}

static inline void pp2_tlv(pp2 *h, uint8_t type, const void *v, size_t n) {
  uint8_t t[3] = {type, (uint8_t)(n >> 8), (uint8_t)n};
  pp2_put(h, t, 3);
  pp2_put(h, v, n);
}

/* Sets the length field from what was put. */
static inline size_t pp2_end(pp2 *h) {
  size_t len = h->n - 16;
  h->b[14] = (uint8_t)(len >> 8);
  h->b[15] = (uint8_t)len;
  return h->n;
}

static inline uint32_t test_crc32c(const uint8_t *b, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= b[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

/* Appends a CRC32C TLV as the last one and ends the header (flip: damage
 * the value). */
static inline size_t pp2_end_crc(pp2 *h, int flip) {
  uint8_t zero[4] = {0};
  pp2_tlv(h, 0x03, zero, 4);
  pp2_end(h);
  uint32_t c = test_crc32c(h->b, h->n) ^ (flip ? 1u : 0u);
  uint8_t *v = h->b + h->n - 4;
  v[0] = (uint8_t)(c >> 24), v[1] = (uint8_t)(c >> 16), v[2] = (uint8_t)(c >> 8), v[3] = (uint8_t)c;
  return h->n;
}

/* INET addresses: 203.0.113.7:51234 -> 192.0.2.10:443. */
static inline void pp2_inet(pp2 *h) {
  uint8_t a[12] = {203, 0, 113, 7, 192, 0, 2, 10, 0xC8, 0x22, 0x01, 0xBB};
  pp2_put(h, a, sizeof a);
}

/* A server with one listener and options, the access log and its own
 * records (DEBUG) in memory. */
typedef struct psrv {
  nh_runtime *rt;
  nh_server *srv;
  int port;
  FILE *mem;
  char *log;
  size_t loglen;
  nh_logger *lg;
  nh_handler h;
} psrv;

static inline void psrv_start_cfg(psrv *p, const char *addr, const nh_listen_options *o,
                                  nh_server_config *cfg, nh_handler_fn fn) {
  memset(p, 0, sizeof *p);
  p->rt = nh_runtime_new(NULL);
  CHECK(p->rt);
  p->mem = open_memstream(&p->log, &p->loglen);
  p->lg = nh_logger_json_new(p->mem, NH_LOG_DEBUG);
  p->h = nh_with_access_log(NH_HANDLER(fn, NULL), p->lg);
  cfg->handler = p->h.fn;
  cfg->handler_data = p->h.data;
  cfg->logger = p->lg;
  p->srv = nh_server_new(p->rt, cfg);
  CHECK(p->srv);
  CHECK_EQ(nh_server_listen_with(p->srv, addr, o), NH_OK);
  CHECK_EQ(nh_server_start(p->srv), NH_OK);
  p->port = nh_server_port(p->srv);
}

static inline void psrv_start(psrv *p, nh_proxy_policy pol, const char *trusted,
                              nh_handler_fn fn) {
  nh_server_config cfg = NH_SERVER_CONFIG_DEFAULT;
  nh_listen_options o = {.proxy = pol, .proxy_trusted = trusted};
  psrv_start_cfg(p, "127.0.0.1:0", &o, &cfg, fn);
}

static inline nh_server_stats psrv_stats(psrv *p) {
  nh_server_stats st;
  nh_server_stats_get(p->srv, &st);
  return st;
}

/* Shuts down and frees; p->log then holds every record. */
static inline void psrv_stop(psrv *p) {
  CHECK_EQ(nh_server_shutdown(p->srv, nh_deadline_after(5 * NH_SEC)), NH_OK);
  nh_server_free(p->srv);
  nh_handler_free(p->h);
  nh_runtime_free(p->rt);
  nh_logger_free(p->lg);
  fclose(p->mem);
}

static inline void psrv_free_log(psrv *p) { free(p->log); }

/* Sends hdr, then req, on a new connection and reads one response. */
static inline raw_resp proxied(int port, const void *hdr, size_t hlen, const char *req) {
  raw_resp r;
  memset(&r, 0, sizeof r);
  raw_conn *c = raw_dial(port);
  if (c->fd >= 0 && raw_send(c->fd, hdr, hlen) == 0 && raw_sends(c->fd, req) == 0)
    raw_read(c, &r, 0);
  raw_hang_up(c);
  return r;
}

#define GET_REQ "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

#endif
