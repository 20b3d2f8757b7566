/*
 * wray's Queue actor (Ray's ray.util.queue.Queue): a FIFO of values with an
 * optional bound, whose blocking get and put do not hold the actor. A get
 * on an empty queue (or a put on a full one) defers its call's result
 * (wray_defer) and returns; the put (or get) that can satisfy it later
 * gives that result (wray_resolve). The host gives a waiting call its
 * timeout value ([false]) when its time runs out, and wray_resolve then
 * says it no longer waits, so no item is handed to a caller that has gone.
 *
 * Items are kept as the MessagePack bytes they came in as; nothing here
 * decodes them. The driver's Queue (host/driver/queue.ts) and the guest
 * SDK's (guest-sdk/runtime/queue.ts) speak this protocol:
 *
 *   Queue(maxsize)            maxsize <= 0: unbounded
 *   put(item, block, ms)      -> [true] | [false] (full); ms nil: no limit
 *   putBatch(items)           -> [true] | [false] (they would not all fit)
 *   get(block, ms)            -> [true, item] | [false] (empty)
 *   getBatch(n)               -> [true, items] | [false] (fewer than n)
 *   size(), maxsize()         -> n
 *
 * Invariant: getters wait only while the queue is empty, and putters only
 * while it is full.
 *
 * Built into builtins/queue.wasm by scripts/build-guests.mjs (checked in,
 * so wray runs without a C toolchain).
 */
#define WRAY_IMPLEMENTATION
#include "../guest-sdk/c/wray.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  uint8_t *p;
  uint32_t n;
} blob;

typedef struct {
  uint8_t id[WRAY_OBJECT_ID_BYTES];
  blob item; /* a putter's item; empty for a getter */
} waiter;

/* FIFOs in rings that double when full. */
typedef struct {
  blob *at;
  uint32_t head, len, cap;
} blob_ring;

typedef struct {
  waiter *at;
  uint32_t head, len, cap;
} waiter_ring;

static int grow_(void **at, uint32_t head, uint32_t len, uint32_t *cap, size_t size) {
  uint32_t cap2 = *cap ? *cap * 2 : 16;
  uint8_t *next = (uint8_t *)malloc(size * cap2);
  if (!next) return 0;
  for (uint32_t i = 0; i < len; i++) memcpy(next + i * size, (uint8_t *)*at + ((head + i) % *cap) * size, size);
  free(*at);
  *at = next;
  *cap = cap2;
  return 1;
}

static blob_ring items;
static waiter_ring getters;
static waiter_ring putters;
static int64_t max_items; /* 0: unbounded */

static int push_item(blob b) {
  if (items.len == items.cap) {
    if (!grow_((void **)&items.at, items.head, items.len, &items.cap, sizeof(blob))) return 0;
    items.head = 0;
  }
  items.at[(items.head + items.len++) % items.cap] = b;
  return 1;
}

static blob pop_item(void) {
  blob b = items.at[items.head];
  items.head = (items.head + 1) % items.cap;
  items.len--;
  return b;
}

static int push_waiter(waiter_ring *r, waiter w) {
  if (r->len == r->cap) {
    if (!grow_((void **)&r->at, r->head, r->len, &r->cap, sizeof(waiter))) return 0;
    r->head = 0;
  }
  r->at[(r->head + r->len++) % r->cap] = w;
  return 1;
}

static waiter pop_waiter(waiter_ring *r) {
  waiter w = r->at[r->head];
  r->head = (r->head + 1) % r->cap;
  r->len--;
  return w;
}

static int full(void) { return max_items > 0 && (int64_t)items.len >= max_items; }

static const uint8_t OK[] = { 0x91, 0xc3 };     /* [true] */
static const uint8_t NOT_OK[] = { 0x91, 0xc2 }; /* [false] */

static int out_of_memory(wray_writer *out) { return wray_fail(out, "RangeError", "the queue's actor is out of memory"); }

/* One value of the arguments, copied out. */
static int read_item(wray_reader *r, blob *b) {
  const uint8_t *start = r->p;
  if (!wray_skip(r)) return 0;
  b->n = (uint32_t)(r->p - start);
  b->p = (uint8_t *)malloc(b->n ? b->n : 1);
  if (!b->p) return 0;
  memcpy(b->p, start, b->n);
  return 1;
}

/* `block, ms` of put and get: ms nil is no limit (-1). */
static int read_wait(wray_args *a, int *block, int64_t *ms) {
  if (!wray_read_bool(&a->r, block)) return 0;
  if (wray_peek(&a->r) == WRAY_NIL) {
    wray_read_nil(&a->r);
    *ms = -1;
    return 1;
  }
  double d;
  if (!wray_read_f64(&a->r, &d) || !(d >= 0)) return 0;
  *ms = d > 9e15 ? -1 : (int64_t)(d + 0.999);
  return 1;
}

/* Hands `b` to the first getter still waiting: 1 if one took it (b is freed). */
static int give_to_getter(blob b) {
  while (getters.len > 0) {
    waiter w = pop_waiter(&getters);
    uint8_t *v = (uint8_t *)malloc(b.n + 2);
    if (!v) return 0;
    v[0] = 0x92; /* [true, item] */
    v[1] = 0xc3;
    memcpy(v + 2, b.p, b.n);
    int given = wray_resolve(w.id, WRAY_OBJECT_ID_BYTES, v, b.n + 2);
    free(v);
    if (given) {
      free(b.p);
      return 1;
    }
  }
  return 0;
}

/* Room was made: the first putters still waiting put their items in. */
static void admit_putters(void) {
  while (putters.len > 0 && !full()) {
    waiter w = pop_waiter(&putters);
    if (wray_resolve(w.id, WRAY_OBJECT_ID_BYTES, OK, sizeof OK)) push_item(w.item);
    else free(w.item.p); /* it gave up (timed out): its caller was told the queue is full */
  }
}

/* The call's result comes later: its ID joins `ring`. */
static int defer_into(waiter_ring *ring, int64_t ms, blob item, wray_writer *out) {
  wray_bytes id = wray_defer(ms, NOT_OK, sizeof NOT_OK);
  waiter w;
  memcpy(w.id, id.ptr, WRAY_OBJECT_ID_BYTES);
  wray_free_bytes(id);
  w.item = item;
  if (!push_waiter(ring, w)) return out_of_memory(out);
  wray_write_nil(out); /* ignored: the result is what resolve gives */
  return 0;
}

static int queue_new(wray_args *a, wray_writer *out) {
  double m = 0;
  if (a->count > 0 && wray_peek(&a->r) != WRAY_NIL && !wray_read_f64(&a->r, &m))
    return wray_fail(out, "TypeError", "Queue(maxsize) takes a number");
  max_items = m > 0 ? (int64_t)m : 0;
  return 0;
}

static int queue_put(wray_args *a, wray_writer *out) {
  blob b;
  int block;
  int64_t ms;
  if (a->count != 3 || !read_item(&a->r, &b)) return wray_fail(out, "TypeError", "put(item, block, timeoutMs) takes three arguments");
  if (!read_wait(a, &block, &ms)) {
    free(b.p);
    return wray_fail(out, "TypeError", "put(item, block, timeoutMs): block is a boolean, timeoutMs a number >= 0 or nil");
  }
  if (items.len == 0 && give_to_getter(b)) {
    wray_write_raw(out, OK, sizeof OK);
    return 0;
  }
  if (!full()) {
    if (!push_item(b)) return out_of_memory(out);
    wray_write_raw(out, OK, sizeof OK);
    return 0;
  }
  if (!block || ms == 0) {
    free(b.p);
    wray_write_raw(out, NOT_OK, sizeof NOT_OK);
    return 0;
  }
  return defer_into(&putters, ms, b, out);
}

static int queue_put_batch(wray_args *a, wray_writer *out) {
  uint32_t n;
  if (a->count != 1 || !wray_read_array(&a->r, &n)) return wray_fail(out, "TypeError", "putBatch(items) takes an array");
  if (max_items > 0 && (int64_t)items.len + n > max_items) {
    wray_write_raw(out, NOT_OK, sizeof NOT_OK);
    return 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    blob b;
    if (!read_item(&a->r, &b)) return wray_fail(out, "TypeError", "putBatch(items): an item is not valid MessagePack");
    if (items.len == 0 && give_to_getter(b)) continue;
    if (!push_item(b)) return out_of_memory(out);
  }
  wray_write_raw(out, OK, sizeof OK);
  return 0;
}

static int queue_get(wray_args *a, wray_writer *out) {
  int block;
  int64_t ms;
  if (a->count != 2 || !read_wait(a, &block, &ms))
    return wray_fail(out, "TypeError", "get(block, timeoutMs): block is a boolean, timeoutMs a number >= 0 or nil");
  if (items.len > 0) {
    blob b = pop_item();
    wray_write_array(out, 2);
    wray_write_bool(out, 1);
    wray_write_raw(out, b.p, b.n);
    free(b.p);
    admit_putters();
    return 0;
  }
  if (!block || ms == 0) {
    wray_write_raw(out, NOT_OK, sizeof NOT_OK);
    return 0;
  }
  blob none = { 0, 0 };
  return defer_into(&getters, ms, none, out);
}

static int queue_get_batch(wray_args *a, wray_writer *out) {
  int64_t n;
  if (a->count != 1 || !wray_read_i64(&a->r, &n) || n < 0) return wray_fail(out, "TypeError", "getBatch(n) takes a count >= 0");
  if (n > (int64_t)items.len) {
    wray_write_raw(out, NOT_OK, sizeof NOT_OK);
    return 0;
  }
  wray_write_array(out, 2);
  wray_write_bool(out, 1);
  wray_write_array(out, (uint32_t)n);
  for (int64_t i = 0; i < n; i++) {
    blob b = pop_item();
    wray_write_raw(out, b.p, b.n);
    free(b.p);
  }
  admit_putters();
  return 0;
}

static int queue_size(wray_args *a, wray_writer *out) {
  (void)a;
  wray_write_i64(out, items.len);
  return 0;
}

static int queue_maxsize(wray_args *a, wray_writer *out) {
  (void)a;
  wray_write_i64(out, max_items);
  return 0;
}

WRAY_METHODS(queue_methods,
             { "put", queue_put },
             { "putBatch", queue_put_batch },
             { "get", queue_get },
             { "getBatch", queue_get_batch },
             { "size", queue_size },
             { "maxsize", queue_maxsize });
WRAY_ACTORS({ "Queue", queue_new, queue_methods, WRAY_COUNT(queue_methods) });
