/* A bounded channel of pointers, Go's buffered chan.
 *
 * A ring buffer plus two waiter queues. A send to a channel with a waiting
 * receiver hands the value straight over; a receive from a full channel
 * pulls a waiting sender's value into the ring behind it, keeping FIFO
 * order. With capacity 0 every send waits for a receiver (a rendezvous). */
#include "internal.h"
#include "nethttp/sync.h"
#include "profile.h"

#include <stdlib.h>

struct nh_chan {
  pthread_mutex_t lk;
  void **ring;
  size_t cap, head, len;
  int closed;
  nh__waitq senders, receivers;
};

nh_chan *nh_chan_new(size_t capacity) {
  nh_chan *ch = calloc(1, sizeof *ch);
  if (!ch)
    return NULL;
  if (capacity && !(ch->ring = calloc(capacity, sizeof(void *)))) {
    free(ch);
    return NULL;
  }
  ch->cap = capacity;
  pthread_mutex_init(&ch->lk, NULL);
  nh__waitq_init(&ch->senders);
  nh__waitq_init(&ch->receivers);
  return ch;
}

void nh_chan_free(nh_chan *ch) {
  if (!ch)
    return;
  pthread_mutex_destroy(&ch->lk);
  free(ch->ring);
  free(ch);
}

static void ring_push(nh_chan *ch, void *v) {
  ch->ring[(ch->head + ch->len++) % ch->cap] = v;
}

static void *ring_pop(nh_chan *ch) {
  void *v = ch->ring[ch->head];
  ch->head = (ch->head + 1) % ch->cap;
  ch->len--;
  return v;
}

/* Try without waiting; caller holds lk. */
static int send_now(nh_chan *ch, void *v) {
  if (ch->closed)
    return NH_ECLOSED;
  nh__waiter *r = nh__waitq_pop(&ch->receivers);
  if (r) {
    r->value = v;
    r->granted = 1;
    nh__waiter_wake(r, NH_OK);
    return NH_OK;
  }
  if (ch->len < ch->cap) {
    ring_push(ch, v);
    return NH_OK;
  }
  return NH_EFULL;
}

static int recv_now(nh_chan *ch, void **v) {
  if (ch->len) {
    *v = ring_pop(ch);
    nh__waiter *s = nh__waitq_pop(&ch->senders);
    if (s) { /* room now: the oldest waiting sender's value goes in */
      ring_push(ch, s->value);
      s->granted = 1;
      nh__waiter_wake(s, NH_OK);
    }
    return NH_OK;
  }
  nh__waiter *s = nh__waitq_pop(&ch->senders); /* unbuffered hand-off */
  if (s) {
    *v = s->value;
    s->granted = 1;
    nh__waiter_wake(s, NH_OK);
    return NH_OK;
  }
  return ch->closed ? NH_ECLOSED : NH_EAGAIN;
}

/* Park w on q; settle grant versus timeout. Caller holds lk; returns with it
 * released. */
static int park_on(nh_chan *ch, nh__waitq *q, nh__waiter *w, const char *reason,
                   nh_time deadline) {
  nh_time t0 = nh__wait_prof_begin();
  nh__waitq_push(q, w);
  pthread_mutex_unlock(&ch->lk);
  int r = nh__waiter_park(w, reason, deadline, NULL);
  pthread_mutex_lock(&ch->lk);
  if (w->granted > 0)
    r = NH_OK;
  else {
    nh__waitq_remove(q, w);
    if (r == NH_OK)
      r = ch->closed ? NH_ECLOSED : NH_EAGAIN;
  }
  pthread_mutex_unlock(&ch->lk);
  if (t0)
    nh__wait_prof_end(NH__WAIT_CHAN, t0);
  return r;
}

int nh_chan_send(nh_chan *ch, void *v, nh_time deadline) {
  pthread_mutex_lock(&ch->lk);
  int r = send_now(ch, v);
  if (r != NH_EFULL) {
    pthread_mutex_unlock(&ch->lk);
    return r;
  }
  nh__waiter w;
  nh__waiter_init(&w);
  w.value = v;
  return park_on(ch, &ch->senders, &w, "chan send", deadline);
}

int nh_chan_recv(nh_chan *ch, void **v, nh_time deadline) {
  pthread_mutex_lock(&ch->lk);
  int r = recv_now(ch, v);
  if (r != NH_EAGAIN) {
    pthread_mutex_unlock(&ch->lk);
    return r;
  }
  nh__waiter w;
  nh__waiter_init(&w);
  r = park_on(ch, &ch->receivers, &w, "chan receive", deadline);
  if (r == NH_OK)
    *v = w.value;
  return r;
}

int nh_chan_try_send(nh_chan *ch, void *v) {
  pthread_mutex_lock(&ch->lk);
  int r = send_now(ch, v);
  pthread_mutex_unlock(&ch->lk);
  return r;
}

int nh_chan_try_recv(nh_chan *ch, void **v) {
  pthread_mutex_lock(&ch->lk);
  int r = recv_now(ch, v);
  pthread_mutex_unlock(&ch->lk);
  return r;
}

void nh_chan_close(nh_chan *ch) {
  pthread_mutex_lock(&ch->lk);
  ch->closed = 1;
  nh__waiter *w;
  while ((w = nh__waitq_pop(&ch->receivers)))
    nh__waiter_wake(w, NH_ECLOSED);
  while ((w = nh__waitq_pop(&ch->senders)))
    nh__waiter_wake(w, NH_ECLOSED);
  pthread_mutex_unlock(&ch->lk);
}

size_t nh_chan_len(nh_chan *ch) {
  pthread_mutex_lock(&ch->lk);
  size_t n = ch->len;
  pthread_mutex_unlock(&ch->lk);
  return n;
}
