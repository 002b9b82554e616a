/* Content-Type sniffing: Go's http.DetectContentType table (WHATWG MIME
 * sniffing, section 6) walked in order; the first signature that matches
 * wins, and the text rule comes last.
 *
 * Patterns hold NUL bytes, so each carries its length. A hex escape eats
 * every hex digit after it ("\x00A" is one byte), so patterns that continue
 * with a letter after an escape are split into two literals. */
#include "nethttp/sniff.h"

#include <stdint.h>
#include <string.h>

enum sig_kind { SIG_HTML, SIG_MASKED, SIG_EXACT, SIG_MP4, SIG_TEXT };

typedef struct sig {
  enum sig_kind kind;
  const char *pat;  /* NULL for SIG_MP4 and SIG_TEXT */
  const char *mask; /* SIG_MASKED: same length as pat */
  uint8_t len;
  uint8_t skip_ws;  /* SIG_MASKED: match after leading whitespace */
  const char *ct;
} sig;

#define HTML(p) {SIG_HTML, p, NULL, sizeof(p) - 1, 1, "text/html; charset=utf-8"}
#define EXACT(p, t) {SIG_EXACT, p, NULL, sizeof(p) - 1, 0, t}
#define MASKED(m, p, t) {SIG_MASKED, p, m, sizeof(p) - 1, 0, t}

static const sig sigs[] = {
    HTML("<!DOCTYPE HTML"),
    HTML("<HTML"),
    HTML("<HEAD"),
    HTML("<SCRIPT"),
    HTML("<IFRAME"),
    HTML("<H1"),
    HTML("<DIV"),
    HTML("<FONT"),
    HTML("<TABLE"),
    HTML("<A"),
    HTML("<STYLE"),
    HTML("<TITLE"),
    HTML("<B"),
    HTML("<BODY"),
    HTML("<BR"),
    HTML("<P"),
    HTML("<!--"),
    {SIG_MASKED, "<?xml", "\xFF\xFF\xFF\xFF\xFF", 5, 1, "text/xml; charset=utf-8"},
    EXACT("%PDF-", "application/pdf"),
    EXACT("%!PS-Adobe-", "application/postscript"),

    /* UTF byte-order marks. */
    MASKED("\xFF\xFF\x00\x00", "\xFE\xFF\x00\x00", "text/plain; charset=utf-16be"),
    MASKED("\xFF\xFF\x00\x00", "\xFF\xFE\x00\x00", "text/plain; charset=utf-16le"),
    MASKED("\xFF\xFF\xFF\x00", "\xEF\xBB\xBF\x00", "text/plain; charset=utf-8"),

    /* Images. */
    EXACT("\x00\x00\x01\x00", "image/x-icon"),
    EXACT("\x00\x00\x02\x00", "image/x-icon"),
    EXACT("BM", "image/bmp"),
    EXACT("GIF87a", "image/gif"),
    EXACT("GIF89a", "image/gif"),
    MASKED("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
           "RIFF\x00\x00\x00\x00" "WEBPVP", "image/webp"),
    EXACT("\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    EXACT("\xFF\xD8\xFF", "image/jpeg"),

    /* Audio and video, in the spec's order. */
    MASKED("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF", "FORM\x00\x00\x00\x00" "AIFF",
           "audio/aiff"),
    MASKED("\xFF\xFF\xFF", "ID3", "audio/mpeg"),
    MASKED("\xFF\xFF\xFF\xFF\xFF", "OggS\x00", "application/ogg"),
    MASKED("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", "MThd\x00\x00\x00\x06", "audio/midi"),
    MASKED("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF", "RIFF\x00\x00\x00\x00" "AVI ",
           "video/avi"),
    MASKED("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF", "RIFF\x00\x00\x00\x00" "WAVE",
           "audio/wave"),
    {SIG_MP4, NULL, NULL, 0, 0, "video/mp4"},
    EXACT("\x1A\x45\xDF\xA3", "video/webm"),

    /* Fonts: Embedded OpenType is 34 bytes of anything, then "LP". */
    MASKED("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
           "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF",
           "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
           "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" "LP",
           "application/vnd.ms-fontobject"),
    EXACT("\x00\x01\x00\x00", "font/ttf"),
    EXACT("OTTO", "font/otf"),
    EXACT("ttcf", "font/collection"),
    EXACT("wOFF", "font/woff"),
    EXACT("wOF2", "font/woff2"),

    /* Archives. RAR uses RAR Labs' signatures, as Go does, not the spec's. */
    EXACT("\x1F\x8B\x08", "application/x-gzip"),
    EXACT("PK\x03\x04", "application/zip"),
    EXACT("Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    EXACT("Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),

    EXACT("\x00" "asm", "application/wasm"),

    {SIG_TEXT, NULL, NULL, 0, 0, "text/plain; charset=utf-8"}, /* must be last */
};

/* WHATWG whitespace bytes (0xWS). */
static int is_ws(uint8_t b) {
  return b == '\t' || b == '\n' || b == '\x0c' || b == '\r' || b == ' ';
}

/* Case-insensitive for the pattern's letters, then a tag-terminating byte. */
static int match_html(const sig *s, const uint8_t *d, size_t n) {
  if (n < (size_t)s->len + 1)
    return 0;
  for (size_t i = 0; i < s->len; i++) {
    uint8_t b = (uint8_t)s->pat[i], db = d[i];
    if (b >= 'A' && b <= 'Z')
      db &= 0xDF;
    if (b != db)
      return 0;
  }
  return d[s->len] == ' ' || d[s->len] == '>';
}

static int match_masked(const sig *s, const uint8_t *d, size_t n) {
  if (n < s->len)
    return 0;
  for (size_t i = 0; i < s->len; i++)
    if ((d[i] & (uint8_t)s->mask[i]) != (uint8_t)s->pat[i])
      return 0;
  return 1;
}

/* An ISO base media "ftyp" box whose major or a compatible brand starts
 * with "mp4" (WHATWG 6.2.1). */
static int match_mp4(const uint8_t *d, size_t n) {
  if (n < 12)
    return 0;
  uint32_t box = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
  if (n < box || box % 4 != 0)
    return 0;
  if (memcmp(d + 4, "ftyp", 4) != 0)
    return 0;
  for (uint32_t st = 8; st < box; st += 4) {
    if (st == 12)
      continue; /* the major brand's version number */
    if (memcmp(d + st, "mp4", 3) == 0)
      return 1;
  }
  return 0;
}

/* No binary control bytes after the leading whitespace (section 5, step 4). */
static int match_text(const uint8_t *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t b = d[i];
    if (b <= 0x08 || b == 0x0B || (b >= 0x0E && b <= 0x1A) || (b >= 0x1C && b <= 0x1F))
      return 0;
  }
  return 1;
}

const char *nh_detect_content_type(const void *data, size_t len) {
  static const uint8_t empty[1];
  const uint8_t *d = data ? (const uint8_t *)data : empty; /* no arithmetic on NULL */
  if (!data)
    len = 0;
  if (len > NH_SNIFF_LEN)
    len = NH_SNIFF_LEN;
  size_t ws = 0;
  while (ws < len && is_ws(d[ws]))
    ws++;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    const sig *s = &sigs[i];
    int hit = 0;
    switch (s->kind) {
    case SIG_HTML:
      hit = match_html(s, d + ws, len - ws);
      break;
    case SIG_MASKED:
      hit = s->skip_ws ? match_masked(s, d + ws, len - ws) : match_masked(s, d, len);
      break;
    case SIG_EXACT:
      hit = len >= s->len && memcmp(d, s->pat, s->len) == 0;
      break;
    case SIG_MP4:
      hit = match_mp4(d, len);
      break;
    case SIG_TEXT:
      hit = match_text(d + ws, len - ws);
      break;
    }
    if (hit)
      return s->ct;
  }
  return "application/octet-stream";
}
