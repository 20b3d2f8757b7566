/* The guest conformance behaviours (test/guests/README.md), in C. */
#define WRAY_IMPLEMENTATION
#include "../../../guest-sdk/c/wray.h"

#include <string.h>

/* echo(x) -> x, whatever x is */
static int echo(wray_args *a, wray_writer *out) {
  const uint8_t *start = a->r.p;
  if (a->count != 1 || !wray_skip(&a->r)) return wray_fail(out, "TypeError", "echo(x) takes one value");
  wray_write_raw(out, start, (size_t)(a->r.p - start));
  return 0;
}

/* add(a, b) -> a + b */
static int add(wray_args *a, wray_writer *out) {
  double x, y;
  if (a->count != 2 || !wray_read_f64(&a->r, &x) || !wray_read_f64(&a->r, &y))
    return wray_fail(out, "TypeError", "add(a, b) takes two numbers");
  wray_write_f64(out, x + y);
  return 0;
}

/* fail(message): throws an Error with the message */
static int fail(wray_args *a, wray_writer *out) {
  const char *s;
  uint32_t n;
  char msg[256];
  if (!wray_read_str(&a->r, &s, &n)) return wray_fail(out, "TypeError", "fail(message) takes a string");
  if (n > sizeof msg - 1) n = sizeof msg - 1;
  memcpy(msg, s, n);
  msg[n] = 0;
  return wray_fail(out, "Error", msg);
}

/* trap(): reaches unreachable */
static int trap(wray_args *a, wray_writer *out) {
  (void)a;
  (void)out;
  __builtin_trap();
}

/* sumSquares(n): submits square(i) for i < n as nested tasks and sums their results */
static int square(wray_args *a, wray_writer *out) {
  double x;
  if (!wray_read_f64(&a->r, &x)) return wray_fail(out, "TypeError", "square(x) takes a number");
  wray_write_f64(out, x * x);
  return 0;
}

static int sum_squares(wray_args *a, wray_writer *out) {
  int64_t n;
  if (!wray_read_i64(&a->r, &n) || n < 0 || n > 10000) return wray_fail(out, "TypeError", "sumSquares(n) takes a count");
  wray_bytes *ids = (wray_bytes *)malloc(sizeof(wray_bytes) * (size_t)(n ? n : 1));
  wray_writer args = {0};
  for (int64_t i = 0; i < n; i++) {
    args.len = 0;
    wray_write_array(&args, 1);
    wray_write_i64(&args, i);
    wray_bytes_list refs = wray_submit("square", args.buf, args.len, 0, 0);
    ids[i] = refs.ptr[0];
    free(refs.ptr);
  }
  free(args.buf);
  wray_bytes reply = wray_get(ids, (size_t)n, -1);
  for (int64_t i = 0; i < n; i++) free(ids[i].ptr);
  free(ids);
  wray_reader r = { reply.ptr, reply.ptr + reply.len };
  uint32_t count;
  double sum = 0, v;
  if (!wray_read_array(&r, &count)) {
    wray_free_bytes(reply);
    return wray_fail(out, "TaskError", "a nested task failed");
  }
  for (uint32_t i = 0; i < count; i++) {
    if (!wray_read_f64(&r, &v)) break;
    sum += v;
  }
  wray_free_bytes(reply);
  wray_write_f64(out, sum);
  return 0;
}

/* tally(map, set, buffer): [map.size, sum of its values, set.size, sum of it, buffer bytes, sum of them] */
static int tally(wray_args *a, wray_writer *out) {
  uint32_t nm, ns, nb;
  wray_reader m, s;
  const uint8_t *b;
  double mv = 0, sv = 0, bv = 0, v;
  if (a->count != 3 || !wray_read_map_ext(&a->r, &nm, &m) || !wray_read_set_ext(&a->r, &ns, &s) || !wray_read_array_buffer(&a->r, &b, &nb))
    return wray_fail(out, "TypeError", "tally(map, set, buffer) takes a Map, a Set and an ArrayBuffer");
  for (uint32_t i = 0; i < nm; i++) {
    if (!wray_skip(&m) || !wray_read_f64(&m, &v)) return wray_fail(out, "TypeError", "the Map's values must be numbers");
    mv += v;
  }
  for (uint32_t i = 0; i < ns; i++) {
    if (!wray_read_f64(&s, &v)) return wray_fail(out, "TypeError", "the Set must hold numbers");
    sv += v;
  }
  for (uint32_t i = 0; i < nb; i++) bv += b[i];
  wray_write_array(out, 6);
  wray_write_i64(out, nm);
  wray_write_f64(out, mv);
  wray_write_i64(out, ns);
  wray_write_f64(out, sv);
  wray_write_i64(out, nb);
  wray_write_f64(out, bv);
  return 0;
}

/* collections(n): [Map of "k<i>" -> i, Set of 0..n-1, ArrayBuffer of bytes i & 255], for i < n */
static int collections(wray_args *a, wray_writer *out) {
  int64_t n;
  char key[24];
  if (!wray_read_i64(&a->r, &n) || n < 0 || n > 100000) return wray_fail(out, "TypeError", "collections(n) takes a count");
  wray_write_array(out, 3);
  size_t at = wray_begin_ext(out, WRAY_EXT_MAP);
  wray_write_map(out, (uint32_t)n);
  for (int64_t i = 0; i < n; i++) {
    /* "k" and the decimal digits of i (printf would pull in WASI's stdio) */
    char digits[20];
    int nd = 0, len = 0;
    int64_t x = i;
    do digits[nd++] = (char)('0' + x % 10); while ((x /= 10) > 0);
    key[len++] = 'k';
    while (nd > 0) key[len++] = digits[--nd];
    wray_write_str(out, key, (uint32_t)len);
    wray_write_i64(out, i);
  }
  wray_end_ext(out, at);
  at = wray_begin_ext(out, WRAY_EXT_SET);
  wray_write_array(out, (uint32_t)n);
  for (int64_t i = 0; i < n; i++) wray_write_i64(out, i);
  wray_end_ext(out, at);
  uint8_t *bytes = (uint8_t *)malloc((size_t)n + 1);
  for (int64_t i = 0; i < n; i++) bytes[i] = (uint8_t)(i & 255);
  wray_write_array_buffer(out, bytes, (uint32_t)n);
  free(bytes);
  return 0;
}

/* Counter actor: new Counter(start), incr(by) -> value, get() -> value */
static double counter;

static int counter_new(wray_args *a, wray_writer *out) {
  counter = 0;
  if (a->count > 0 && !wray_read_f64(&a->r, &counter)) return wray_fail(out, "TypeError", "new Counter(start) takes a number");
  return 0;
}

static int counter_incr(wray_args *a, wray_writer *out) {
  double by = 1;
  if (a->count > 0 && !wray_read_f64(&a->r, &by)) return wray_fail(out, "TypeError", "incr(by) takes a number");
  counter += by;
  wray_write_f64(out, counter);
  return 0;
}

static int counter_get(wray_args *a, wray_writer *out) {
  (void)a;
  wray_write_f64(out, counter);
  return 0;
}

WRAY_TASKS({ "echo", echo }, { "add", add }, { "fail", fail }, { "trap", trap }, { "square", square }, { "sumSquares", sum_squares }, { "tally", tally }, { "collections", collections });
WRAY_METHODS(counter_methods, { "incr", counter_incr }, { "get", counter_get });
WRAY_ACTORS({ "Counter", counter_new, counter_methods, WRAY_COUNT(counter_methods) });
