/* /debug/heap: where the memory is. The allocator's own figures (glibc's
 * mallinfo2, and a summary of malloc_info's XML; ?format=xml gives the
 * XML itself), then nethttp's memory by owner: fiber stacks (mapped and
 * touched), connections, pooled I/O buffers, request arenas and the fiber
 * pool. Text by default, ?format=json as JSON.
 *
 * The owners' figures come from counters kept on slow paths (a buffer or
 * an arena chunk malloc'd or freed, a stack mapped) and from each loop
 * counting its own stacks on its thread: asking costs a message per loop
 * and one mincore per stack, nothing on the request path. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug_internal.h"
#include "nethttp/form.h"
#include "nethttp/url.h"
#include "runtime/internal.h"
#include "runtime/sanitizer.h"
#include "server/internal.h"
#include "util/arena.h"
#include "util/bufpool.h"

/* A sanitizer's allocator replaces glibc's: mallinfo2 then reads zero
 * and malloc_info describes an allocator nothing uses. Said on the page. */
#if defined(NH_ASAN) || defined(NH_TSAN)
static const char *const REPLACED_BY = "a sanitizer";
#else
static const char *const REPLACED_BY = NULL;
#endif

typedef struct heap_figures {
  struct mallinfo2 mi;
  long long heaps, system_current, system_max, free_fast, free_rest;
  nh__stack_usage stacks;
  int stacks_stalled;
  long long conns, conn_bytes;
  nh__bufpool_totals bufs;
  nh__arena_totals arenas;
} heap_figures;

/* The number after key="...size=" in the last element of malloc_info's
 * XML that starts with tag: the process-wide totals come last. */
static long long xml_last(const char *xml, const char *tag, const char *attr) {
  const char *hit = NULL;
  for (const char *p = xml; (p = strstr(p, tag)); p++)
    hit = p;
  if (!hit)
    return 0;
  const char *end = strchr(hit, '>');
  const char *a = strstr(hit, attr);
  if (!a || (end && a > end))
    return 0;
  return strtoll(a + strlen(attr), NULL, 10);
}

/* malloc_info's XML, malloc'd (NULL if it could not be had). */
static char *malloc_xml(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  int r = malloc_info(0, f);
  fclose(f);
  if (r != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static void summarize_xml(const char *xml, heap_figures *h) {
  for (const char *p = xml; (p = strstr(p, "<heap nr=")); p++)
    h->heaps++;
  h->system_current = xml_last(xml, "<system type=\"current\"", "size=\"");
  h->system_max = xml_last(xml, "<system type=\"max\"", "size=\"");
  h->free_fast = xml_last(xml, "<total type=\"fast\"", "size=\"");
  h->free_rest = xml_last(xml, "<total type=\"rest\"", "size=\"");
}

static void gather(nh__debug *d, heap_figures *h) {
  memset(h, 0, sizeof *h);
  h->mi = mallinfo2();
  char *xml = malloc_xml();
  if (xml)
    summarize_xml(xml, h);
  free(xml);
  nh_runtime *rt = nh__debug_runtime(d);
  if (rt)
    h->stacks_stalled = nh__stack_usage_get(rt, &h->stacks) == NH_ESTALL;
  for (size_t i = 0; i < d->nservers; i++) {
    nh_server_stats st;
    nh_server_stats_get(d->servers[i], &st);
    h->conns += st.conns_new + st.conns_active + st.conns_idle;
  }
  h->conn_bytes = h->conns * (long long)sizeof(nh__sconn);
  nh__bufpool_totals_get(&h->bufs);
  nh__arena_totals_get(&h->arenas);
}

static void write_text(nh_response_writer *w, const heap_figures *h) {
  const struct mallinfo2 *m = &h->mi;
  nh_resp_printf(w, "# allocator (glibc mallinfo2)\n");
  if (REPLACED_BY)
    nh_resp_printf(w, "# malloc is replaced by %s in this build: glibc's figures do not count\n",
                   REPLACED_BY);
  nh_resp_printf(w, "arena      %zu\t# bytes from sbrk\n", m->arena);
  nh_resp_printf(w, "hblkhd     %zu\t# bytes in mmap'd blocks (%zu blocks)\n", m->hblkhd, m->hblks);
  nh_resp_printf(w, "uordblks   %zu\t# bytes in use\n", m->uordblks);
  nh_resp_printf(w, "fordblks   %zu\t# bytes free (%zu chunks)\n", m->fordblks, m->ordblks);
  nh_resp_printf(w, "fsmblks    %zu\t# bytes free in fastbins\n", m->fsmblks);
  nh_resp_printf(w, "keepcost   %zu\t# top chunk, releasable\n", m->keepcost);
  nh_resp_printf(w, "\n# allocator (glibc malloc_info; ?format=xml for all of it)\n");
  nh_resp_printf(w, "heaps            %lld\n", h->heaps);
  nh_resp_printf(w, "system_current   %lld\t# bytes the arenas hold from the system\n",
                 h->system_current);
  nh_resp_printf(w, "system_max       %lld\n", h->system_max);
  nh_resp_printf(w, "free_fast        %lld\n", h->free_fast);
  nh_resp_printf(w, "free_rest        %lld\n", h->free_rest);
  const nh__stack_usage *s = &h->stacks;
  nh_resp_printf(w, "\n# nethttp by owner\n");
  nh_resp_printf(w,
                 "fiber_stacks     mapped %lld touched %lld bytes; %lld live, %lld pooled "
                 "(%lld trimmed), %lld bytes usable each%s\n",
                 (long long)s->mapped_bytes, (long long)s->touched_bytes, (long long)s->live,
                 (long long)s->pooled, (long long)s->pooled_trimmed, (long long)s->stack_size,
                 h->stacks_stalled ? " (a loop did not answer: stalled)" : "");
  nh_resp_printf(w, "connections      %lld open, %lld bytes of connection state\n", h->conns,
                 h->conn_bytes);
  nh_resp_printf(w, "buffers          %lld buffers, %lld bytes (in use or kept for reuse)\n",
                 h->bufs.buffers, h->bufs.bytes);
  nh_resp_printf(w, "arenas           %lld chunks, %lld bytes (beyond the inline first blocks)\n",
                 h->arenas.chunks, h->arenas.bytes);
  nh_resp_printf(w, "fiber_pool       %lld fibers kept with their stack, %lld without\n",
                 (long long)s->pooled, (long long)s->spare);
}

static void write_json(nh_response_writer *w, const heap_figures *h) {
  const struct mallinfo2 *m = &h->mi;
  const nh__stack_usage *s = &h->stacks;
  nh_resp_printf(w,
                 "{\"allocator\":{\"replaced_by\":%s%s%s,\"mallinfo2\":{\"arena\":%zu,\"ordblks\":%zu,\"smblks\":%zu,"
                 "\"hblks\":%zu,\"hblkhd\":%zu,\"usmblks\":%zu,\"fsmblks\":%zu,"
                 "\"uordblks\":%zu,\"fordblks\":%zu,\"keepcost\":%zu},",
                 REPLACED_BY ? "\"" : "", REPLACED_BY ? REPLACED_BY : "null",
                 REPLACED_BY ? "\"" : "", m->arena, m->ordblks, m->smblks, m->hblks, m->hblkhd, m->usmblks, m->fsmblks,
                 m->uordblks, m->fordblks, m->keepcost);
  nh_resp_printf(w,
                 "\"malloc_info\":{\"heaps\":%lld,\"system_current\":%lld,\"system_max\":%lld,"
                 "\"free_fast\":%lld,\"free_rest\":%lld}},",
                 h->heaps, h->system_current, h->system_max, h->free_fast, h->free_rest);
  nh_resp_printf(w,
                 "\"nethttp\":{\"fiber_stacks\":{\"mapped_bytes\":%lld,\"touched_bytes\":%lld,"
                 "\"live\":%lld,\"pooled\":%lld,\"pooled_trimmed\":%lld,\"stack_size\":%lld,"
                 "\"stalled\":%s},",
                 (long long)s->mapped_bytes, (long long)s->touched_bytes, (long long)s->live,
                 (long long)s->pooled, (long long)s->pooled_trimmed, (long long)s->stack_size,
                 h->stacks_stalled ? "true" : "false");
  nh_resp_printf(w, "\"connections\":{\"open\":%lld,\"bytes\":%lld},", h->conns, h->conn_bytes);
  nh_resp_printf(w, "\"buffers\":{\"count\":%lld,\"bytes\":%lld},", h->bufs.buffers,
                 h->bufs.bytes);
  nh_resp_printf(w, "\"arenas\":{\"chunks\":%lld,\"bytes\":%lld},", h->arenas.chunks,
                 h->arenas.bytes);
  nh_resp_printf(w, "\"fiber_pool\":{\"with_stack\":%lld,\"without_stack\":%lld}}}\n",
                 (long long)s->pooled, (long long)s->spare);
}

void nh__debug_heap(nh__debug *d, nh_response_writer *w, nh_request *r) {
  const char *format = nh_values_get(nh_request_form(r), "format");
  nh_header *hd = nh_resp_header(w);
  if (format && !strcmp(format, "xml")) {
    char *xml = malloc_xml();
    if (!xml) {
      nh_resp_write_header(w, 500);
      return;
    }
    nh_header_set(hd, "Content-Type", "application/xml");
    nh_resp_write(w, xml, strlen(xml));
    free(xml);
    return;
  }
  heap_figures h;
  gather(d, &h);
  if (format && !strcmp(format, "json")) {
    nh_header_set(hd, "Content-Type", "application/json");
    write_json(w, &h);
  } else {
    nh_header_set(hd, "Content-Type", "text/plain; charset=utf-8");
    write_text(w, &h);
  }
}
