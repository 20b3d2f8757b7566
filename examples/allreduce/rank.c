/*
 * One rank of a ring allreduce, in C: a Rank actor holds its vector and
 * sends or takes one chunk of it at a time (main.mjs wires the ring).
 */
#define WRAY_IMPLEMENTATION
#include "../../guest-sdk/c/wray.h"

#include <string.h>

#define KIND_F32 7

static float *v;
static int64_t n, k, rank;

static int64_t lo(int64_t c) { return c * n / k; }

/* new Rank(rank, k, n): n floats, element j = rank + 1 + j % 7 */
static int rank_new(wray_args *a, wray_writer *out) {
  if (a->count != 3 || !wray_read_i64(&a->r, &rank) || !wray_read_i64(&a->r, &k) || !wray_read_i64(&a->r, &n) || k < 1 || rank < 0 || rank >= k || n < k)
    return wray_fail(out, "TypeError", "new Rank(rank, k, n) takes 0 <= rank < k <= n");
  v = (float *)malloc((size_t)n * 4);
  if (!v) return wray_fail(out, "RangeError", "Rank: no memory for the vector");
  for (int64_t j = 0; j < n; j++) v[j] = (float)(rank + 1 + j % 7);
  return 0;
}

static int chunk_of(wray_args *a, int64_t *c) { return wray_read_i64(&a->r, c) && *c >= 0 && *c < k; }

/* send(c) -> chunk c as a Float32Array */
static int rank_send(wray_args *a, wray_writer *out) {
  int64_t c;
  if (a->count != 1 || !chunk_of(a, &c)) return wray_fail(out, "TypeError", "send(chunk) takes a chunk index");
  size_t at = wray_begin_ext(out, WRAY_EXT_BINARY);
  uint8_t kind = KIND_F32;
  wray_write_raw(out, &kind, 1);
  wray_write_raw(out, (const uint8_t *)(v + lo(c)), (size_t)(lo(c + 1) - lo(c)) * 4);
  wray_end_ext(out, at);
  return 0;
}

/* recv(c, data: Float32Array, add): adds data into chunk c, or (add false) copies it there */
static int rank_recv(wray_args *a, wray_writer *out) {
  int64_t c;
  int8_t t;
  const uint8_t *d;
  uint32_t len;
  int add;
  if (a->count != 3 || !chunk_of(a, &c) || !wray_read_ext(&a->r, &t, &d, &len) || t != WRAY_EXT_BINARY || len < 1 || d[0] != KIND_F32 ||
      (int64_t)(len - 1) != (lo(c + 1) - lo(c)) * 4 || !wray_read_bool(&a->r, &add))
    return wray_fail(out, "TypeError", "recv(chunk, data: Float32Array of the chunk's length, add: boolean)");
  float *dst = v + lo(c);
  const uint8_t *src = d + 1;
  size_t count = (size_t)(lo(c + 1) - lo(c));
  if (!add) memcpy(dst, src, count * 4);
  else
    for (size_t i = 0; i < count; i++) {
      float x;
      memcpy(&x, src + i * 4, 4);
      dst[i] += x;
    }
  wray_write_nil(out);
  return 0;
}

/* check() -> how many elements differ from the sum over all ranks */
static int rank_check(wray_args *a, wray_writer *out) {
  (void)a;
  int64_t bad = 0;
  for (int64_t j = 0; j < n; j++) bad += v[j] != (float)(k * (k + 1) / 2 + k * (j % 7));
  wray_write_i64(out, bad);
  return 0;
}

WRAY_NO_TASKS;
WRAY_METHODS(rank_methods, { "send", rank_send }, { "recv", rank_recv }, { "check", rank_check });
WRAY_ACTORS({ "Rank", rank_new, rank_methods, WRAY_COUNT(rank_methods) });
