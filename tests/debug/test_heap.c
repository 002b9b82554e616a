/* /debug/heap over a real server: with 200 handlers in flight the fiber
 * stacks' mapped and touched bytes grow by about 200 stacks, the open
 * connections and their buffers show, and ?format=json is JSON (read back
 * with Python's json module); the text form names every owner. */
#include "watch_support.h"

#include <stdatomic.h>
#include <sys/wait.h>

enum { HELD = 200 };

static nh_chan *release;
static atomic_int in_flight;

static void app(nh_response_writer *w, nh_request *r) {
  if (!strcmp(nh_request_path(r), "/hold")) {
    atomic_fetch_add(&in_flight, 1);
    nh_chan_recv(release, NULL, NH_NO_DEADLINE);
    atomic_fetch_sub(&in_flight, 1);
  }
  nh_resp_printf(w, "ok");
}

typedef struct heap_json {
  long long mapped, touched, live, stack_size, conns, conn_bytes, buf_bytes, uordblks;
  long long glibc; /* 0: a sanitizer's allocator replaced glibc's */
} heap_json;

/* Fetches /debug/heap?format=json and reads it with Python's json module:
 * a body that is not JSON fails the parse, and the test with it. */
static heap_json fetch_json(const watch_env *e) {
  raw_resp r = watch_get(e, "/debug/heap?format=json");
  CHECK_EQ(r.status, 200);
  CHECK_STR(raw_header(&r, "Content-Type"), "application/json");
  char path[] = "/tmp/nh_heap_json_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, r.body, r.blen), (ssize_t)r.blen);
  close(fd);
  raw_resp_free(&r);
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
           "n=d[\"nethttp\"]; s=n[\"fiber_stacks\"]; "
           "print(s[\"mapped_bytes\"], s[\"touched_bytes\"], s[\"live\"], s[\"stack_size\"], "
           "n[\"connections\"][\"open\"], n[\"connections\"][\"bytes\"], n[\"buffers\"][\"bytes\"], "
           "d[\"allocator\"][\"mallinfo2\"][\"uordblks\"], "
           "int(d[\"allocator\"][\"replaced_by\"] is None))' %s",
           path);
  FILE *p = popen(cmd, "r");
  CHECK(p);
  heap_json h;
  memset(&h, 0, sizeof h);
  int got = fscanf(p, "%lld %lld %lld %lld %lld %lld %lld %lld %lld", &h.mapped, &h.touched,
                   &h.live, &h.stack_size, &h.conns, &h.conn_bytes, &h.buf_bytes, &h.uordblks,
                   &h.glibc);
  int st = pclose(p);
  unlink(path);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK_EQ(got, 9);
  return h;
}

NH_TEST(heap_shows_stacks_connections_and_buffers) {
  if (access("/usr/bin/python3", X_OK) != 0)
    NH_SKIP("/usr/bin/python3 is missing");
  release = nh_chan_new(0);
  nh_runtime_config rc = NH_RUNTIME_CONFIG_DEFAULT;
  rc.loops = 2;
  watch_env e;
  watch_start(&e, &rc, app);

  heap_json before = fetch_json(&e);
  CHECK(before.stack_size >= 16 * 1024);
  CHECK(before.uordblks > 0 || !before.glibc);

  raw_conn *held[HELD];
  for (int i = 0; i < HELD; i++) {
    held[i] = raw_dial(e.port);
    CHECK(held[i]->fd >= 0);
    CHECK_EQ(raw_sends(held[i]->fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  }
  CHECK_SOON(atomic_load(&in_flight) == HELD);

  heap_json during = fetch_json(&e);
  CHECK(during.live >= HELD);
  /* 200 more stacks at least reserved, each touched at least one page. */
  CHECK(during.mapped - before.mapped >= (HELD - 10) * during.stack_size);
  CHECK(during.touched - before.touched >= (HELD - 10) * 4096LL);
  CHECK(during.touched <= during.mapped);
  CHECK(during.conns >= HELD);
  CHECK(during.conn_bytes >= during.conns * 64);
  CHECK(during.buf_bytes >= HELD * 1024LL); /* each connection's read buffer */

  /* The text form names every owner. */
  raw_resp r = watch_get(&e, "/debug/heap");
  CHECK_EQ(r.status, 200);
  CHECK_CONTAINS(r.body, "uordblks");
  CHECK_CONTAINS(r.body, "system_current");
  CHECK_CONTAINS(r.body, "fiber_stacks     mapped ");
  CHECK_CONTAINS(r.body, "connections      ");
  CHECK_CONTAINS(r.body, "buffers          ");
  CHECK_CONTAINS(r.body, "arenas           ");
  raw_resp_free(&r);
  /* And malloc_info's own XML on request. */
  r = watch_get(&e, "/debug/heap?format=xml");
  CHECK_EQ(r.status, 200);
  CHECK(!strncmp(r.body, "<malloc version=", 16));
  CHECK_CONTAINS(r.body, "</malloc>");
  raw_resp_free(&r);

  nh_chan_close(release);
  for (int i = 0; i < HELD; i++) {
    CHECK_EQ(raw_read(held[i], &r, 0), 0);
    CHECK_EQ(r.status, 200);
    raw_resp_free(&r);
    raw_hang_up(held[i]);
  }
  watch_stop(&e);
  nh_chan_free(release);
}

NH_TEST_MAIN()
