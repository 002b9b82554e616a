/* The connection pool over its two kinds of connection, driven through
 * fake protocol operations: an exclusive connection (as HTTP/1) is taken
 * out of the pool while in use and comes back when its stream ends; a
 * shared one (several streams at once) stays listed and is lent to every
 * take its protocol says it can carry, then closes once broken and unused.
 * The exclusive one runs over a real socket pair, as pooled descriptors are
 * parked and unparked. */
#include "harness.h"

#include "client/internal.h"

#include <sys/socket.h>

/* ---- a fake protocol ---- */

typedef struct fake {
  int limit;     /* streams it can carry at once */
  int detached;  /* set when the pool closed the connection */
} fake;

static int fake_attach(nh__cconn *c) {
  (void)c;
  return NH_OK;
}
static void fake_detach(nh__cconn *c) { ((fake *)c->proto)->detached = 1; }
static int fake_can_take(const nh__cconn *c) { return c->streams < ((fake *)c->proto)->limit; }

static const nh__cconn_ops fake_shared = {
    .alpn = "fake-shared", .shared = 1, .attach = fake_attach, .detach = fake_detach,
    .can_take = fake_can_take,
};
static const nh__cconn_ops fake_exclusive = {
    .alpn = "fake-exclusive", .shared = 0, .attach = fake_attach, .detach = fake_detach,
    .can_take = fake_can_take,
};

/* A connection to h as nh__cconn_dial leaves one (counted open), with the
 * fake protocol on it. fd may be NULL: the pool never touches a shared
 * connection's descriptor. */
static nh__cconn *fake_conn(nh_transport *t, nh__host *h, const nh__cconn_ops *ops, fake *f,
                            nh_fd *fd) {
  nh__cconn *c = calloc(1, sizeof *c);
  CHECK(c != NULL);
  c->t = t;
  c->host = h;
  c->fd = fd;
  c->ops = ops;
  c->proto = f;
  pthread_mutex_lock(&t->mu);
  h->open++;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_add(&t->st_open, 1);
  return c;
}

/* An exclusive fake connection over one end of a socket pair; *peer is the
 * other end (the "server"), for the test to close. */
static nh__cconn *exclusive_conn(nh_transport *t, nh__host *h, fake *f, int *peer) {
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  nh_fd *fd;
  CHECK_EQ(nh_fd_open(sv[0], &fd), NH_OK);
  *peer = sv[1];
  return fake_conn(t, h, &fake_exclusive, f, fd);
}

static int64_t listed(nh_transport *t) {
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  return st.idle_now;
}

NH_TEST(shared_connection_is_lent_out_and_stays_listed) {
  nh_transport *t = nh_transport_new(NULL);
  nh__host *h = nh__host_get(t, "https|example.test|443||", "example.test", 443);
  CHECK(h != NULL);
  fake f = {.limit = 3};
  nh__cconn *c = fake_conn(t, h, &fake_shared, &f, NULL);
  nh__pool_opened(c); /* just dialed: its first stream, and listed at once */
  CHECK_EQ(c->streams, 1);
  CHECK_EQ(listed(t), 1);

  /* Two more takes get the same connection, which stays in the pool. */
  CHECK(nh__pool_take(t, h, 1) == c);
  CHECK(nh__pool_take(t, h, 1) == c);
  CHECK_EQ(c->streams, 3);
  CHECK_EQ(listed(t), 1);
  /* At its limit it takes no more; another host never gets it. */
  CHECK(nh__pool_take(t, h, 1) == NULL);
  nh__host *other = nh__host_get(t, "https|other.test|443||", "other.test", 443);
  CHECK(nh__pool_take(t, other, 1) == NULL);

  /* A stream ends: room again for one. */
  nh__pool_release(c);
  CHECK_EQ(c->streams, 2);
  CHECK(nh__pool_take(t, h, 1) == c);

  /* Closing idle connections leaves one in use alone. */
  nh_transport_close_idle(t);
  CHECK_EQ(listed(t), 1);
  CHECK(!f.detached);

  /* Broken (as after a GOAWAY): no more takes; it closes with its last
   * stream, not before. */
  c->broken = 1;
  CHECK(nh__pool_take(t, h, 1) == NULL);
  nh__pool_release(c);
  nh__pool_release(c);
  CHECK(!f.detached);
  CHECK_EQ(listed(t), 1);
  nh__pool_release(c);
  CHECK(f.detached);
  CHECK_EQ(listed(t), 0);
  nh_transport_stats st;
  nh_transport_stats_get(t, &st);
  CHECK_EQ(st.open_now, 0);
  nh_transport_free(t);
}

NH_TEST(shared_connection_expires_only_when_unused) {
  nh_transport_config cfg = NH_TRANSPORT_CONFIG_DEFAULT;
  cfg.idle_conn_timeout = 20 * NH_MSEC;
  nh_transport *t = nh_transport_new(&cfg);
  nh__host *h = nh__host_get(t, "https|example.test|443||", "example.test", 443);
  fake f = {.limit = 100};
  nh__cconn *c = fake_conn(t, h, &fake_shared, &f, NULL);
  nh__pool_opened(c);
  /* In use past the idle timeout: still lent out. */
  nh_sleep(60 * NH_MSEC);
  CHECK(nh__pool_take(t, h, 1) == c);
  nh__pool_release(c);
  nh__pool_release(c);
  CHECK(!f.detached);
  /* Unused past the idle timeout: closed by the next take. */
  nh_sleep(60 * NH_MSEC);
  CHECK(nh__pool_take(t, h, 1) == NULL);
  CHECK(f.detached);
  CHECK_EQ(listed(t), 0);
  nh_transport_free(t);
}

NH_TEST(exclusive_connection_is_taken_out_while_in_use) {
  nh_transport *t = nh_transport_new(NULL);
  nh__host *h = nh__host_get(t, "http|example.test|80||", "example.test", 80);
  int peer;
  fake f = {.limit = 1};
  nh__cconn *c = exclusive_conn(t, h, &f, &peer);
  nh__pool_opened(c); /* in use by its first request: not listed */
  CHECK_EQ(listed(t), 0);
  CHECK(nh__pool_take(t, h, 1) == NULL);

  nh__pool_release(c); /* its response is done: back in the pool */
  CHECK_EQ(listed(t), 1);
  CHECK_EQ(c->streams, 0);
  CHECK(nh__pool_take(t, h, 1) == c);
  CHECK_EQ(listed(t), 0); /* taken out while in use */
  CHECK_EQ(c->streams, 1);
  CHECK(nh__pool_take(t, h, 1) == NULL);

  /* One the server closed while it sat idle is not handed out. */
  nh__pool_release(c);
  CHECK_EQ(listed(t), 1);
  close(peer);
  CHECK(nh__pool_take(t, h, 0) == NULL);
  CHECK(f.detached);
  CHECK_EQ(listed(t), 0);
  nh_transport_free(t);
}

NH_TEST(broken_exclusive_connection_is_closed_not_pooled) {
  nh_transport *t = nh_transport_new(NULL);
  nh__host *h = nh__host_get(t, "http|example.test|80||", "example.test", 80);
  int peer;
  fake f = {.limit = 1};
  nh__cconn *c = exclusive_conn(t, h, &f, &peer);
  nh__pool_opened(c);
  c->broken = 1; /* as a response that cannot be followed by another */
  nh__pool_release(c);
  CHECK(f.detached);
  CHECK_EQ(listed(t), 0);
  close(peer);
  nh_transport_free(t);
}

NH_TEST_MAIN()
