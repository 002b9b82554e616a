/* permessage-deflate (RFC 7692): the negotiation in the handshake's
 * Sec-WebSocket-Extensions and the per-message codec.
 *
 * Negotiation. The header is an extension list (RFC 6455 §9.1): elements
 * separated by commas, each a name and ";"-separated parameters whose
 * values are tokens or quoted-strings (§7.1: unescaped, a quoted value must
 * still be a token). The server walks the client's offers in order and
 * takes the first it can honour (§5); an offer with an unknown or
 * duplicate parameter or a bad value is declined and the next one tried.
 * The client checks that the answer is a valid reply to its one offer, or
 * fails the connection (§5, §7.1).
 *
 * Window bits of 8. zlib cannot deflate with a 256-byte window (its raw
 * deflate refuses 8; its zlib format silently uses 9), and using 9 would
 * put distances of up to 512 bytes in front of a peer that agreed to 256.
 * So no side here ever deflates under an 8: the server declines an offer
 * that limits its own window to 8 (server_max_window_bits=8; real clients
 * send a fallback offer after it), never asks a client for 8, and the
 * client fails on an answer that limits its window to 8. Inflating is not
 * affected: a raw inflater with a 512-byte window reads any stream made
 * with 256, so an inflater's window is never below 9.
 *
 * Codec (§7.2). Each message is deflated with Z_SYNC_FLUSH and the
 * flush's trailing 00 00 ff ff removed; the inflater appends them back.
 * With context takeover the streams live across messages (the window is
 * the previous messages); without it (per direction: the server deflates
 * under server_no_context_takeover and inflates under
 * client_no_context_takeover, the client the reverse) a stream is freed
 * after each message, so an idle connection holds none.
 *
 * Memory per connection with context takeover at 15 window bits: the
 * deflater about 4 << 15 + 1 << (WSD_MEMLEVEL + 9) = 144 KiB (memLevel 5,
 * as python-websockets; zlib's default 8 would be 256 KiB) plus ~6 KiB of
 * state, the inflater 32 KiB of window plus ~7 KiB. Smaller window bits
 * shrink both proportionally. */
#include "websocket/ws_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "nethttp/errors.h"

#define WSD_MEMLEVEL 5
#define WSD_NAME "permessage-deflate"

/* ---- the extension list ---- */

/* One element of the list as the permessage-deflate rules see it. */
typedef struct wsd_elem {
  int is_pmd;    /* the name is permessage-deflate */
  int bad;       /* a parameter unknown, repeated, or with a bad value */
  int snct, cnct;
  int smwb;      /* 0 absent, else 8..15 */
  int cmwb;      /* 0 absent, -1 present without a value, else 8..15 */
} wsd_elem;

static int is_tchar(unsigned char c) {
  /* RFC 9110 §5.6.2 tchar. */
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *skip_ows(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

static size_t token_len(const char *s) {
  size_t n = 0;
  while (is_tchar((unsigned char)s[n]))
    n++;
  return n;
}

/* A window-bits value: "8".."15", no leading zero (§7.1.2). */
static int window_bits_value(const char *v, size_t n) {
  if (n == 1 && (v[0] == '8' || v[0] == '9'))
    return v[0] - '0';
  if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
    return 10 + (v[1] - '0');
  return 0;
}

static int name_is(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Judges one parameter of a permessage-deflate element. has_val: a value
 * was given (v[0..vn), unescaped; vn == SIZE_MAX when it was not a token). */
static void judge_param(wsd_elem *e, const char *name, size_t nn, int has_val, const char *v,
                        size_t vn) {
  if (name_is(name, nn, "server_no_context_takeover")) {
    if (e->snct || has_val)
      e->bad = 1;
    e->snct = 1;
  } else if (name_is(name, nn, "client_no_context_takeover")) {
    if (e->cnct || has_val)
      e->bad = 1;
    e->cnct = 1;
  } else if (name_is(name, nn, "server_max_window_bits")) {
    int b = has_val && vn != SIZE_MAX ? window_bits_value(v, vn) : 0;
    if (e->smwb || !b)
      e->bad = 1;
    e->smwb = b ? b : 15;
  } else if (name_is(name, nn, "client_max_window_bits")) {
    int b = has_val ? (vn != SIZE_MAX ? window_bits_value(v, vn) : 0) : -1;
    if (e->cmwb || !b)
      e->bad = 1;
    e->cmwb = b ? b : 15;
  } else {
    e->bad = 1;
  }
}

/* Parses the element at *sp into *e and moves *sp past it and its comma.
 * Returns 1 for an element, 0 at the end of the list, -1 for a syntax
 * error (e->is_pmd says whether it was in a permessage-deflate element;
 * *sp is then moved to the next comma outside quotes, to go on from). */
static int parse_elem(const char **sp, wsd_elem *e) {
  const char *s = *sp;
  memset(e, 0, sizeof *e);
  /* Empty elements are allowed (RFC 9110 §5.6.1). */
  for (;;) {
    s = skip_ows(s);
    if (*s != ',')
      break;
    s++;
  }
  if (!*s) {
    *sp = s;
    return 0;
  }
  const char *elem = s;
  size_t n = token_len(s);
  if (!n)
    goto syntax;
  e->is_pmd = name_is(s, n, WSD_NAME);
  s = skip_ows(s + n);
  while (*s == ';') {
    s = skip_ows(s + 1);
    const char *pname = s;
    size_t pn = token_len(s);
    if (!pn)
      goto syntax;
    s = skip_ows(s + pn);
    int has_val = 0;
    char val[8];
    size_t vn = 0;
    if (*s == '=') {
      has_val = 1;
      s = skip_ows(s + 1);
      if (*s == '"') {
        /* quoted-string; the unescaped value must be a token (§7.1). */
        s++;
        int tok = 1;
        for (;;) {
          unsigned char c = (unsigned char)*s;
          if (!c)
            goto syntax;
          if (c == '"')
            break;
          if (c == '\\') {
            c = (unsigned char)s[1];
            if (!c || (c < 0x20 && c != '\t') || c == 0x7f)
              goto syntax;
            s++;
          } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            goto syntax;
          }
          if (!is_tchar(c))
            tok = 0;
          if (vn < sizeof val)
            val[vn] = (char)c;
          vn++;
          s++;
        }
        s++;
        if (!tok || vn == 0)
          vn = SIZE_MAX;
        else if (vn > sizeof val)
          vn = sizeof val; /* too long to be a window size: judged bad */
      } else {
        size_t tn = token_len(s);
        if (!tn)
          goto syntax;
        vn = tn < sizeof val ? tn : sizeof val;
        memcpy(val, s, vn);
        s += tn;
      }
      s = skip_ows(s);
    }
    if (e->is_pmd)
      judge_param(e, pname, pn, has_val, val, vn);
  }
  if (*s == ',')
    s++;
  else if (*s)
    goto syntax;
  *sp = s;
  return 1;

syntax: {
  /* Resume after the element's first comma that is not inside quotes. */
  int q = 0;
  s = elem;
  while (*s && (q || *s != ',')) {
    if (*s == '"')
      q = !q;
    else if (q && *s == '\\' && s[1])
      s++;
    s++;
  }
  if (*s == ',')
    s++;
  *sp = s;
  return -1;
}
}

/* ---- negotiation ---- */

static int clamp_bits(int b, int lo) {
  if (b <= 0 || b > 15)
    return 15;
  return b < lo ? lo : b;
}

int nh__wsd_negotiate(const char *offer, const nh_ws_options *opt, nh__wsd_params *out,
                      char *resp, size_t cap) {
  nh_ws_options def = NH_WS_OPTIONS_DEFAULT;
  if (!opt)
    opt = &def;
  if (!offer || !opt->compression)
    return 0;
  /* The server never deflates under, nor asks the client for, 8 bits. */
  int our_s = clamp_bits(opt->server_max_window_bits, 9);
  int our_c = clamp_bits(opt->client_max_window_bits, 9);
  const char *s = offer;
  wsd_elem e;
  int r;
  while ((r = parse_elem(&s, &e)) != 0) {
    if (r < 0) {
      if (e.is_pmd)
        return NH_EBADREQUEST;
      continue; /* another extension's business */
    }
    if (!e.is_pmd || e.bad)
      continue;
    /* server_max_window_bits: the client caps our window (§7.1.2.1). */
    int sbits = e.smwb ? (e.smwb < our_s ? e.smwb : our_s) : our_s;
    if (sbits == 8)
      continue; /* see the top of the file: try the next offer */
    /* client_max_window_bits: only if offered (§7.1.2.2). */
    int cbits = 15;
    if (e.cmwb == -1)
      cbits = our_c;
    else if (e.cmwb > 0)
      cbits = e.cmwb < our_c ? e.cmwb : our_c;
    nh__wsd_params p = {
        .server_no_context_takeover = e.snct || opt->server_no_context_takeover,
        .client_no_context_takeover = e.cnct || opt->client_no_context_takeover,
        .server_max_window_bits = sbits,
        .client_max_window_bits = cbits,
    };
    char buf[160];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s%s%s", WSD_NAME,
                                p.server_no_context_takeover ? "; server_no_context_takeover" : "",
                                p.client_no_context_takeover ? "; client_no_context_takeover" : "");
    if (e.smwb || sbits < 15)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "; server_max_window_bits=%d", sbits);
    if (e.cmwb && cbits < 15)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "; client_max_window_bits=%d", cbits);
    if (!resp || n >= cap)
      return NH_ERANGE;
    memcpy(resp, buf, n + 1);
    *out = p;
    return 1;
  }
  return 0;
}

size_t nh__wsd_offer(const nh_ws_options *opt, char *buf, size_t cap) {
  nh_ws_options def = NH_WS_OPTIONS_DEFAULT;
  if (!opt)
    opt = &def;
  if (!opt->compression || !cap)
    return 0;
  /* The server's window we can inflate at any size; ours never below 9. */
  int sbits = clamp_bits(opt->server_max_window_bits, 8);
  int cbits = clamp_bits(opt->client_max_window_bits, 9);
  char tmp[160];
  size_t n = (size_t)snprintf(tmp, sizeof tmp, "%s%s%s", WSD_NAME,
                              opt->server_no_context_takeover ? "; server_no_context_takeover" : "",
                              opt->client_no_context_takeover ? "; client_no_context_takeover" : "");
  if (sbits < 15)
    n += (size_t)snprintf(tmp + n, sizeof tmp - n, "; server_max_window_bits=%d", sbits);
  /* Always offered, as browsers do, so a server may shrink our window. */
  if (cbits < 15)
    n += (size_t)snprintf(tmp + n, sizeof tmp - n, "; client_max_window_bits=%d", cbits);
  else
    n += (size_t)snprintf(tmp + n, sizeof tmp - n, "; client_max_window_bits");
  if (n >= cap)
    return 0;
  memcpy(buf, tmp, n + 1);
  return n;
}

int nh__wsd_accept(const char *answer, const nh_ws_options *opt, nh__wsd_params *out) {
  nh_ws_options def = NH_WS_OPTIONS_DEFAULT;
  if (!opt)
    opt = &def;
  const char *s = answer ? answer : "";
  wsd_elem e, got = {0};
  int r, n = 0;
  while ((r = parse_elem(&s, &e)) != 0) {
    /* We offered one extension: anything else, or it twice, is no reply
     * to our offer (RFC 6455 §9.1). */
    if (r < 0 || !e.is_pmd || e.bad || n++)
      return NH_EBADRESPONSE;
    got = e;
  }
  if (!n)
    return 0;
  if (!opt->compression)
    return NH_EBADRESPONSE;
  int sbits = clamp_bits(opt->server_max_window_bits, 8);
  int cbits = clamp_bits(opt->client_max_window_bits, 9);
  /* What we asked for must be granted (§7.1.1.1, §7.1.2.1). */
  if (opt->server_no_context_takeover && !got.snct)
    return NH_EBADRESPONSE;
  if (sbits < 15 && (!got.smwb || got.smwb > sbits))
    return NH_EBADRESPONSE;
  /* client_max_window_bits: we always offer it; the answer needs a value,
   * and we can not deflate under 8 (the top of the file). */
  if (got.cmwb == -1 || got.cmwb == 8)
    return NH_EBADRESPONSE;
  int cb = got.cmwb > 0 && got.cmwb < cbits ? got.cmwb : cbits;
  *out = (nh__wsd_params){
      .server_no_context_takeover = got.snct,
      .client_no_context_takeover = got.cnct || opt->client_no_context_takeover,
      .server_max_window_bits = got.smwb ? got.smwb : 15,
      .client_max_window_bits = cb,
  };
  return 1;
}

/* ---- the codec ---- */

struct nh__wsd {
  z_stream def, inf;
  int def_on, inf_on;        /* the stream exists */
  int def_reset, inf_reset;  /* no context takeover: free after each message */
  int def_bits, inf_bits;
  int level;
};

nh__wsd *nh__wsd_new(const nh__wsd_params *p, int client, int level) {
  nh__wsd *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  int s_bits = clamp_bits(p->server_max_window_bits, 8);
  int c_bits = clamp_bits(p->client_max_window_bits, 8);
  if (client) {
    d->def_reset = p->client_no_context_takeover;
    d->inf_reset = p->server_no_context_takeover;
    d->def_bits = c_bits;
    d->inf_bits = s_bits;
  } else {
    d->def_reset = p->server_no_context_takeover;
    d->inf_reset = p->client_no_context_takeover;
    d->def_bits = s_bits;
    d->inf_bits = c_bits;
  }
  /* The negotiation never agrees to deflate under 8 (the top of the
   * file); 9 is zlib's least. */
  if (d->def_bits < 9)
    d->def_bits = 9;
  if (d->inf_bits < 9)
    d->inf_bits = 9;
  d->level = level < 1 ? 1 : level > 9 ? 9 : level;
  return d;
}

static void def_end(nh__wsd *d) {
  if (d->def_on)
    deflateEnd(&d->def);
  d->def_on = 0;
}

static void inf_end(nh__wsd *d) {
  if (d->inf_on)
    inflateEnd(&d->inf);
  d->inf_on = 0;
}

void nh__wsd_free(nh__wsd *d) {
  if (!d)
    return;
  def_end(d);
  inf_end(d);
  free(d);
}

static int zerr(int zr) { return zr == Z_MEM_ERROR ? NH_ENOMEM : NH_EBADREQUEST; }

int nh__wsd_deflate(nh__wsd *d, const void *in, size_t n, nh__dynbuf *out) {
  /* An empty message is an empty stored block's first byte (§7.2.3.6).
   * zlib would emit nothing for a second flush in a row, and the stream,
   * aligned by the last flush, has nothing pending to put before it. */
  if (!n)
    return nh__dynbuf_addc(out, 0);
  if (!d->def_on) {
    memset(&d->def, 0, sizeof d->def);
    int zr = deflateInit2(&d->def, d->level, Z_DEFLATED, -d->def_bits, WSD_MEMLEVEL,
                          Z_DEFAULT_STRATEGY);
    if (zr != Z_OK)
      return zr == Z_MEM_ERROR ? NH_ENOMEM : NH_EINVAL;
    d->def_on = 1;
  }
  z_stream *z = &d->def;
  size_t start = out->len;
  const unsigned char *p = in;
  size_t left = n;
  int r = 0;
  z->next_in = (Bytef *)p;
  z->avail_in = 0;
  for (;;) {
    if (!z->avail_in && left) {
      z->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
      left -= z->avail_in;
    }
    /* Room for about the input plus the flush's few bytes. */
    size_t want = z->avail_in + left + 64;
    if (want > (1u << 20))
      want = 1u << 20;
    if ((r = nh__dynbuf_reserve(out, want)) != 0)
      goto fail;
    size_t room = out->cap - out->len - 1;
    z->next_out = (Bytef *)out->p + out->len;
    z->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
    uInt before = z->avail_out;
    int zr = deflate(z, left ? Z_NO_FLUSH : Z_SYNC_FLUSH);
    out->len += before - z->avail_out;
    out->p[out->len] = 0;
    if (zr != Z_OK && zr != Z_BUF_ERROR) {
      r = zr == Z_MEM_ERROR ? NH_ENOMEM : NH_EINVAL;
      goto fail;
    }
    /* The flush is complete once deflate left output room unused. */
    if (!left && !z->avail_in && z->avail_out)
      break;
  }
  /* §7.2.1: drop the 00 00 ff ff the sync flush ends with. */
  if (out->len - start < 4 || memcmp(out->p + out->len - 4, "\0\0\xff\xff", 4) != 0) {
    r = NH_EINVAL;
    goto fail;
  }
  nh__dynbuf_trim(out, 4);
  if (d->def_reset)
    def_end(d);
  return 0;
fail:
  nh__dynbuf_trim(out, out->len - start); /* what this call appended */
  def_end(d);
  return r;
}

/* After a block with BFINAL set (§7.2.3.4: a sender may end a message's
 * stream so), the next message starts a new stream that still sees the
 * window. */
static int inf_restart(nh__wsd *d) {
  z_stream *z = &d->inf;
  unsigned char *dict = malloc((size_t)1 << d->inf_bits);
  if (!dict)
    return NH_ENOMEM;
  uInt dn = 0;
  int zr = inflateGetDictionary(z, dict, &dn);
  if (zr == Z_OK)
    zr = inflateReset(z);
  if (zr == Z_OK && dn)
    zr = inflateSetDictionary(z, dict, dn);
  free(dict);
  return zr == Z_OK ? 0 : zerr(zr);
}

int nh__wsd_inflate(nh__wsd *d, const void *in, size_t n, nh__dynbuf *out, size_t max) {
  static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
  if (!d->inf_on) {
    memset(&d->inf, 0, sizeof d->inf);
    int zr = inflateInit2(&d->inf, -d->inf_bits);
    if (zr != Z_OK)
      return zr == Z_MEM_ERROR ? NH_ENOMEM : NH_EINVAL;
    d->inf_on = 1;
  }
  z_stream *z = &d->inf;
  size_t start = out->len;
  /* The most this message may add: max, and what the buffer may hold. */
  size_t lim = max;
  if (out->max != NH__DYNBUF_NOCAP)
    lim = out->max <= start ? 0 : out->max - start < lim ? out->max - start : lim;
  int r = 0;
  for (int part = 0; part < 2; part++) {
    const unsigned char *p = part ? tail : in;
    size_t left = part ? sizeof tail : n;
    z->next_in = (Bytef *)p;
    z->avail_in = 0;
    for (;;) {
      if (!z->avail_in && left) {
        z->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
        left -= z->avail_in;
      }
      size_t produced = out->len - start;
      unsigned char probe;
      int probing = produced == lim;
      if (probing) {
        /* At the cap: one byte more of output means too large. */
        z->next_out = &probe;
        z->avail_out = 1;
      } else {
        size_t room = lim - produced;
        /* Grow in steps (the buffer doubles), never past the cap. */
        if ((r = nh__dynbuf_reserve(out, room < 16384 ? room : 16384)) != 0)
          goto fail;
        size_t have = out->cap - out->len - 1;
        if (have > room)
          have = room;
        z->next_out = (Bytef *)out->p + out->len;
        z->avail_out = have > UINT_MAX ? UINT_MAX : (uInt)have;
      }
      uInt before = z->avail_out;
      int zr = inflate(z, Z_SYNC_FLUSH);
      size_t got = before - z->avail_out;
      if (probing && got) {
        r = NH_EBODYTOOLARGE;
        goto fail;
      }
      if (!probing) {
        out->len += got;
        out->p[out->len] = 0;
      }
      if (zr == Z_STREAM_END) {
        /* The message's data ends with its final block: what follows (the
         * RFC's example has a 00, then our tail) is ignored, as gorilla
         * and python-websockets do. Going on in a new stream instead
         * would let two bytes per final block ("03 00") cost a copy of
         * the window each: one restart per message bounds that. */
        if (!d->inf_reset && (r = inf_restart(d)) != 0)
          goto fail;
        goto done;
      }
      if (zr != Z_OK && zr != Z_BUF_ERROR) {
        r = zerr(zr);
        goto fail;
      }
      /* This part is done once its input is in and output room was left. */
      if (!z->avail_in && !left && z->avail_out)
        break;
    }
  }
  /* The appended empty stored block must have ended on a block boundary:
   * otherwise the message stopped inside a block (data_type's 128 bit). */
  if (!(z->data_type & 128)) {
    r = NH_EBADREQUEST;
    goto fail;
  }
done:
  if (d->inf_reset)
    inf_end(d);
  return 0;
fail:
  nh__dynbuf_trim(out, out->len - start); /* what this call appended */
  inf_end(d);
  return r;
}
