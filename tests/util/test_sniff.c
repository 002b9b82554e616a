/* Content-Type sniffing: every case of Go's sniff_test.go, then the rest of
 * the signature table, the byte-order marks, the text/binary rule and the
 * 512-byte window. */
#include "harness.h"

#include <nethttp.h>

NH_TEST_UNIT_FILE("pure functions: no runtime, socket or process")

/* Byte strings hold NULs, so each case carries its length. A hex escape
 * runs on through hex digits ("\x00A" is one byte): such strings are split. */
#define B(lit) lit, sizeof(lit) - 1

typedef struct sniff_case {
  const char *desc;
  const char *data;
  size_t len;
  const char *ct;
} sniff_case;

static void run(const sniff_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *got = nh_detect_content_type(c[i].data, c[i].len);
    if (strcmp(got, c[i].ct) != 0)
      NH_FAIL("%s: got \"%s\", want \"%s\"", c[i].desc, got, c[i].ct);
  }
}

/* Go's sniffTests, in order. */
static const sniff_case go_cases[] = {
    {"Empty", B(""), "text/plain; charset=utf-8"},
    {"Binary", B("\x01\x02\x03"), "application/octet-stream"},

    {"HTML document #1", B("<HtMl><bOdY>blah blah blah</body></html>"), "text/html; charset=utf-8"},
    {"HTML document #2", B("<HTML></HTML>"), "text/html; charset=utf-8"},
    {"HTML document #3 (leading whitespace)", B("   <!DOCTYPE HTML>..."), "text/html; charset=utf-8"},
    {"HTML document #4 (leading CRLF)", B("\r\n<html>..."), "text/html; charset=utf-8"},

    {"Plain text", B("This is not HTML. It has \xe2\x98\x83 though."), "text/plain; charset=utf-8"},

    {"XML", B("\n<?xml!"), "text/xml; charset=utf-8"},

    /* Image types. */
    {"Windows icon", B("\x00\x00\x01\x00"), "image/x-icon"},
    {"Windows cursor", B("\x00\x00\x02\x00"), "image/x-icon"},
    {"BMP image", B("BM..."), "image/bmp"},
    {"GIF 87a", B("GIF87a"), "image/gif"},
    {"GIF 89a", B("GIF89a..."), "image/gif"},
    {"WEBP image", B("RIFF\x00\x00\x00\x00WEBPVP"), "image/webp"},
    {"PNG image", B("\x89PNG\x0D\x0A\x1A\x0A"), "image/png"},
    {"JPEG image", B("\xFF\xD8\xFF"), "image/jpeg"},

    /* Audio types. */
    {"MIDI audio", B("MThd\x00\x00\x00\x06\x00\x01"), "audio/midi"},
    {"MP3 audio/MPEG audio", B("ID3\x03\x00\x00\x00\x00\x0f"), "audio/mpeg"},
    {"WAV audio #1", B("RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06"), "audio/wave"},
    {"WAV audio #2", B("RIFF,\x00\x00\x00WAVEfmt \x12\x00\x00\x00\x06"), "audio/wave"},
    {"AIFF audio #1",
     B("FORM\x00\x00\x00\x00" "AIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x57\x55\x00\x10\x40\x0d\xf3\x34"),
     "audio/aiff"},

    {"OGG audio",
     B("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46\x00\x00\x00\x00\x00\x00\x1f\xf6\xb4\xfc"
       "\x01\x1e\x01\x76\x6f\x72"),
     "application/ogg"},
    {"Must not match OGG", B("owow\x00"), "application/octet-stream"},
    {"Must not match OGG", B("oooS\x00"), "application/octet-stream"},
    {"Must not match OGG", B("oggS\x00"), "application/octet-stream"},

    /* Video types. */
    {"MP4 video", B("\x00\x00\x00\x18" "ftypmp42\x00\x00\x00\x00" "mp42isom<\x06t\xbfmdat"), "video/mp4"},
    {"AVI video #1", B("RIFF,O\n\x00" "AVI LIST\xc3\x80"), "video/avi"},
    {"AVI video #2", B("RIFF,\n\x00\x00" "AVI LIST\xc3\x80"), "video/avi"},

    /* Font types. */
    {"TTF sample  I", B("\x00\x01\x00\x00\x00\x17\x01\x00\x00\x04\x01\x60\x4f"), "font/ttf"},
    {"TTF sample II", B("\x00\x01\x00\x00\x00\x0e\x00\x80\x00\x03\x00\x60\x46"), "font/ttf"},
    {"OTTO sample  I", B("\x4f\x54\x54\x4f\x00\x0e\x00\x80\x00\x03\x00\x60\x42\x41\x53\x45"), "font/otf"},
    {"woff sample  I", B("\x77\x4f\x46\x46\x00\x01\x00\x00\x00\x00\x30\x54\x00\x0d\x00\x00"), "font/woff"},
    {"woff2 sample", B("\x77\x4f\x46\x32\x00\x01\x00\x00\x00"), "font/woff2"},
    {"wasm sample", B("\x00\x61\x73\x6d\x01\x00"), "application/wasm"},

    /* Archive types. */
    {"RAR v1.5-v4.0", B("Rar!\x1A\x07\x00"), "application/x-rar-compressed"},
    {"RAR v5+", B("Rar!\x1A\x07\x01\x00"), "application/x-rar-compressed"},
    {"Incorrect RAR v1.5-v4.0", B("Rar \x1A\x07\x00"), "application/octet-stream"},
    {"Incorrect RAR v5+", B("Rar \x1A\x07\x01\x00"), "application/octet-stream"},
};

NH_TEST(go_sniff_table) { run(go_cases, sizeof go_cases / sizeof go_cases[0]); }

/* Signatures Go's table has and its tests do not cover. */
static const sniff_case more_cases[] = {
    {"PDF", B("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "application/pdf"},
    {"PostScript", B("%!PS-Adobe-3.0\n"), "application/postscript"},
    {"gzip", B("\x1F\x8B\x08\x00\x00\x00\x00\x00"), "application/x-gzip"},
    {"zip", B("PK\x03\x04\x14\x00"), "application/zip"},
    {"webm", B("\x1A\x45\xDF\xA3\x9f\x42\x86\x81"), "video/webm"},
    {"font collection", B("ttcf\x00\x01\x00\x00"), "font/collection"},
    {"HTML comment", B("<!-- hi -->"), "text/html; charset=utf-8"},
    {"HTML tag ends with space", B("<p class=x>"), "text/html; charset=utf-8"},
    {"HTML needs a terminator", B("<pre>"), "text/plain; charset=utf-8"},
    {"HTML needs a byte after the tag", B("<html"), "text/plain; charset=utf-8"},
    {"HTML <b>", B("  \t<B>bold"), "text/html; charset=utf-8"},
    {"HTML <br>", B("<bR>"), "text/html; charset=utf-8"},
    {"HTML <h1>", B("<h1>x</h1>"), "text/html; charset=utf-8"},
    {"HTML <script>", B("<script>x()</script>"), "text/html; charset=utf-8"},
    {"XML after whitespace", B(" \t\r\n\x0c<?xml version=\"1.0\"?>"), "text/xml; charset=utf-8"},
    {"XML is case-sensitive", B("<?XML"), "text/plain; charset=utf-8"},
    {"exact signatures do not skip whitespace", B(" %PDF-"), "text/plain; charset=utf-8"},
    {"AVI is not WAVE", B("RIFF\x01\x02\x03\x04" "AVI "), "video/avi"},
    {"RIFF alone", B("RIFF\x00\x00\x00\x00" "ABCD"), "application/octet-stream"},
    {"ms font object",
     B("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
       "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x21\x22" "LP"),
     "application/vnd.ms-fontobject"},
    {"ms font object too short", B("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
                                   "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
                                   "\x20\x21" "LP"),
     "application/octet-stream"},
    /* mp4: the box size must be a multiple of 4, fit the data, and a brand
     * other than the minor version (offset 12) must start with "mp4". */
    {"mp4 isom then mp41", B("\x00\x00\x00\x14" "ftypisom\x00\x00\x02\x00" "mp41"), "video/mp4"},
    {"mp4 brand in minor version only", B("\x00\x00\x00\x10" "ftypisommp41"), "application/octet-stream"},
    {"mp4 box larger than data", B("\x00\x00\x00\x20" "ftypmp42\x00\x00\x00\x00"), "application/octet-stream"},
    {"mp4 box size not a multiple of 4", B("\x00\x00\x00\x0d" "ftypmp42\x00\x00\x00\x00\x00"),
     "application/octet-stream"},
    {"mp4 needs 12 bytes", B("\x00\x00\x00\x08" "ftyp"), "application/octet-stream"},
};

NH_TEST(other_signatures) { run(more_cases, sizeof more_cases / sizeof more_cases[0]); }

static const sniff_case bom_cases[] = {
    {"UTF-16BE BOM", B("\xFE\xFF\x00h\x00i"), "text/plain; charset=utf-16be"},
    {"UTF-16LE BOM", B("\xFF\xFEh\x00i\x00"), "text/plain; charset=utf-16le"},
    {"UTF-8 BOM", B("\xEF\xBB\xBFhello"), "text/plain; charset=utf-8"},
    {"UTF-8 BOM then binary", B("\xEF\xBB\xBF\x01\x02"), "text/plain; charset=utf-8"},
    /* The masks span four bytes, so a bare two-byte BOM is not one; its
     * bytes are not binary either, so it is text. */
    {"bare UTF-16BE BOM", B("\xFE\xFF"), "text/plain; charset=utf-8"},
    {"bare UTF-8 BOM", B("\xEF\xBB\xBF"), "text/plain; charset=utf-8"},
};

NH_TEST(byte_order_marks) { run(bom_cases, sizeof bom_cases / sizeof bom_cases[0]); }

NH_TEST(text_versus_binary) {
  /* Every byte the spec calls binary makes data octet-stream; the rest,
   * including ESC (0x1B), form feed and bytes >= 0x80, are text. */
  for (int b = 0; b < 256; b++) {
    char d[3] = {'a', (char)b, 'z'};
    int binary = b <= 0x08 || b == 0x0B || (b >= 0x0E && b <= 0x1A) || (b >= 0x1C && b <= 0x1F);
    const char *want = binary ? "application/octet-stream" : "text/plain; charset=utf-8";
    const char *got = nh_detect_content_type(d, sizeof d);
    if (strcmp(got, want) != 0)
      NH_FAIL("byte 0x%02x: got \"%s\", want \"%s\"", b, got, want);
  }
  CHECK_STR(nh_detect_content_type(" \t\r\n", 4), "text/plain; charset=utf-8");
  CHECK_STR(nh_detect_content_type(NULL, 0), "text/plain; charset=utf-8");
  CHECK_STR(nh_detect_content_type("{\"json\": true}", 14), "text/plain; charset=utf-8");
}

NH_TEST(only_first_512_bytes) {
  char buf[1024];
  memset(buf, 'a', sizeof buf);
  buf[NH_SNIFF_LEN] = '\x01'; /* a binary byte just past the window */
  CHECK_STR(nh_detect_content_type(buf, sizeof buf), "text/plain; charset=utf-8");
  buf[NH_SNIFF_LEN - 1] = '\x01'; /* and one inside it */
  CHECK_STR(nh_detect_content_type(buf, sizeof buf), "application/octet-stream");

  /* Leading whitespace that fills the window leaves no tag to find. */
  memset(buf, ' ', sizeof buf);
  memcpy(buf + NH_SNIFF_LEN - 3, "<p>", 3);
  CHECK_STR(nh_detect_content_type(buf, sizeof buf), "text/html; charset=utf-8");
  memset(buf, ' ', sizeof buf);
  memcpy(buf + NH_SNIFF_LEN - 2, "<p>", 3);
  CHECK_STR(nh_detect_content_type(buf, sizeof buf), "text/plain; charset=utf-8");
}

NH_TEST(result_is_static) {
  const char *a = nh_detect_content_type("GIF89a", 6);
  const char *b = nh_detect_content_type("GIF87a", 6);
  CHECK(a == b);
}

NH_TEST_MAIN()
