/*
 * wray guest SDK for C: the canonical ABI of the `wray:runtime` world
 * (wit/runtime.wit) and a small MessagePack reader and writer, in one header.
 *
 * A guest defines its tasks (and actor classes) in tables and includes this
 * header in exactly one file with WRAY_IMPLEMENTATION defined:
 *
 *   #define WRAY_IMPLEMENTATION
 *   #include "wray.h"
 *
 *   static int add(wray_args *a, wray_writer *out) {
 *     double x, y;
 *     if (!wray_read_f64(&a->r, &x) || !wray_read_f64(&a->r, &y))
 *       return wray_fail(out, "TypeError", "add(x, y) takes two numbers");
 *     wray_write_f64(out, x + y);
 *     return 0;
 *   }
 *   WRAY_TASKS({ "add", add });
 *
 * Build: `wray build --lang c src/tasks.c -o tasks.wasm` (clang's wasm32
 * target with wasi-libc, then the core module is wrapped as a component).
 * Values are MessagePack (docs/protocol.md); a task reads its arguments
 * from `a->r` (`a->count` of them, in order) and writes `num_returns`
 * values to `out`, or returns wray_fail(...).
 */
#ifndef WRAY_H
#define WRAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- MessagePack ---------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  const uint8_t *end;
} wray_reader;

typedef struct {
  uint8_t *buf;
  size_t len, cap;
  int failed; /* set by wray_fail: buf holds a failure map */
} wray_writer;

/* The next value's kind, without consuming it. */
typedef enum {
  WRAY_NIL, WRAY_BOOL, WRAY_INT, WRAY_FLOAT, WRAY_STR, WRAY_BIN,
  WRAY_ARRAY, WRAY_MAP, WRAY_EXT, WRAY_END, WRAY_INVALID
} wray_kind;

wray_kind wray_peek(const wray_reader *r);
int wray_read_nil(wray_reader *r);
int wray_read_bool(wray_reader *r, int *out);
int wray_read_i64(wray_reader *r, int64_t *out);
/* Any number (int or float) as a double. */
int wray_read_f64(wray_reader *r, double *out);
/* A string: *s points into the input, not NUL-terminated. */
int wray_read_str(wray_reader *r, const char **s, uint32_t *len);
int wray_read_bin(wray_reader *r, const uint8_t **b, uint32_t *len);
int wray_read_array(wray_reader *r, uint32_t *count);
int wray_read_map(wray_reader *r, uint32_t *count);
/* Extension types wray gives meaning to (docs/protocol.md). */
#define WRAY_EXT_OBJECT_REF 1
#define WRAY_EXT_ACTOR_HANDLE 2
#define WRAY_EXT_BINARY 3 /* kind byte, then bytes: typed arrays 1-10, ArrayBuffer 0, DataView 11 */
#define WRAY_EXT_MAP 4    /* one map: a JavaScript Map, keys of any type */
#define WRAY_EXT_SET 5    /* one array: a JavaScript Set */
#define WRAY_BINARY_ARRAY_BUFFER 0
#define WRAY_BINARY_DATA_VIEW 11

/* An extension value (see WRAY_EXT_*). */
int wray_read_ext(wray_reader *r, int8_t *type, const uint8_t **data, uint32_t *len);
/* A Map (extension 4): its `count` entries are read from *entries as key, value, key, value, ... */
int wray_read_map_ext(wray_reader *r, uint32_t *count, wray_reader *entries);
/* A Set (extension 5): its `count` elements are read from *elements. */
int wray_read_set_ext(wray_reader *r, uint32_t *count, wray_reader *elements);
/* An ArrayBuffer (extension 3, kind 0): its bytes, in the input. */
int wray_read_array_buffer(wray_reader *r, const uint8_t **b, uint32_t *len);
/* Skips one value, nested ones included. */
int wray_skip(wray_reader *r);

void wray_write_nil(wray_writer *w);
void wray_write_bool(wray_writer *w, int v);
void wray_write_i64(wray_writer *w, int64_t v);
void wray_write_f64(wray_writer *w, double v);
void wray_write_str(wray_writer *w, const char *s, uint32_t len);
void wray_write_cstr(wray_writer *w, const char *s);
void wray_write_bin(wray_writer *w, const uint8_t *b, uint32_t len);
void wray_write_array(wray_writer *w, uint32_t count);
void wray_write_map(wray_writer *w, uint32_t count);
void wray_write_ext(wray_writer *w, int8_t type, const uint8_t *data, uint32_t len);
/*
 * An extension whose payload is written next, e.g. a Map:
 *   size_t at = wray_begin_ext(w, WRAY_EXT_MAP);
 *   wray_write_map(w, 2); ... four values ...
 *   wray_end_ext(w, at);
 */
size_t wray_begin_ext(wray_writer *w, int8_t type);
void wray_end_ext(wray_writer *w, size_t at);
/* An ArrayBuffer (extension 3, kind 0) holding `len` bytes. */
void wray_write_array_buffer(wray_writer *w, const uint8_t *b, uint32_t len);
/* Appends already-encoded MessagePack. */
void wray_write_raw(wray_writer *w, const uint8_t *b, size_t len);

/* ---- tasks and actors ----------------------------------------------- */

typedef struct {
  wray_reader r;      /* positioned at the first argument */
  uint32_t count;     /* number of arguments */
  uint32_t num_returns;
} wray_args;

/* Returns 0 after writing num_returns values, or the result of wray_fail. */
typedef int (*wray_fn)(wray_args *args, wray_writer *out);

typedef struct {
  const char *name;
  wray_fn fn;
} wray_task;

/* An actor class: `construct` runs once per instance, `methods` after it. */
typedef struct {
  const char *name;
  wray_fn construct; /* writes nothing on success */
  const wray_task *methods;
  size_t num_methods;
} wray_actor_class;

/* Replaces whatever was written with a failure (an Error of `name`). Returns 1. */
int wray_fail(wray_writer *out, const char *name, const char *message);

/* ---- host calls ----------------------------------------------------- */

#define WRAY_OBJECT_ID_BYTES 20
#define WRAY_ACTOR_ID_BYTES 16

typedef struct { uint8_t *ptr; size_t len; } wray_bytes;
typedef struct { wray_bytes *ptr; size_t len; } wray_bytes_list;
typedef struct { uint32_t *ptr; size_t len; } wray_u32_list;

enum { WRAY_DEBUG, WRAY_INFO, WRAY_WARN, WRAY_ERROR };

void wray_log(int level, const char *message);
/* Submits a task of this component; `args` is a MessagePack array, `options` a map or empty. */
wray_bytes_list wray_submit(const char *fn, const uint8_t *args, size_t args_len, const uint8_t *options, size_t options_len);
/* The values (a MessagePack array) or a failure map; free with wray_free_bytes. */
wray_bytes wray_get(const wray_bytes *ids, size_t n, int64_t timeout_ms);
wray_u32_list wray_wait(const wray_bytes *ids, size_t n, uint32_t num_returns, int64_t timeout_ms);
wray_bytes wray_put(const uint8_t *value, size_t len);
wray_bytes wray_create_actor(const char *cls, const uint8_t *args, size_t args_len, const uint8_t *options, size_t options_len);
wray_bytes_list wray_call_actor(wray_bytes actor, const char *method, const uint8_t *args, size_t args_len, const uint8_t *options, size_t options_len);
wray_bytes wray_get_actor(const char *name);
double wray_now(void);
uint64_t wray_random_seed(void);
/* True once the running task was cancelled: a long loop polls it and returns early. */
int wray_cancelled(void);
/*
 * In an actor method: this call's result is given later by wray_resolve,
 * from a later call of the same actor, and what the method writes is
 * ignored. After timeout_ms (negative: never) the host gives it
 * `on_timeout` (one MessagePack value). Returns the call's result ID (free
 * it with wray_free_bytes). Only a method with one return may defer.
 */
wray_bytes wray_defer(int64_t timeout_ms, const uint8_t *on_timeout, size_t len);
/* Gives deferred call `id` of this actor its result (one MessagePack value): 1 if given, 0 if it no longer waits. */
int wray_resolve(const uint8_t *id, size_t id_len, const uint8_t *value, size_t len);
void wray_free_bytes(wray_bytes b);
void wray_free_bytes_list(wray_bytes_list l);

/* Declares the component's tasks: WRAY_TASKS({ "name", fn }, ...); */
#define WRAY_TASKS(...) \
  const wray_task wray_tasks_[] = { __VA_ARGS__ }; \
  const size_t wray_num_tasks_ = sizeof(wray_tasks_) / sizeof(wray_tasks_[0])
#define WRAY_NO_TASKS \
  const wray_task wray_tasks_[1] = { { 0, 0 } }; \
  const size_t wray_num_tasks_ = 0
/* Declares the actor classes: WRAY_ACTORS({ "Counter", ctor, methods, n }, ...); */
#define WRAY_ACTORS(...) \
  const wray_actor_class wray_actors_[] = { __VA_ARGS__ }; \
  const size_t wray_num_actors_ = sizeof(wray_actors_) / sizeof(wray_actors_[0])
#define WRAY_NO_ACTORS \
  const wray_actor_class wray_actors_[1] = { { 0, 0, 0, 0 } }; \
  const size_t wray_num_actors_ = 0
#define WRAY_METHODS(var, ...) static const wray_task var[] = { __VA_ARGS__ }
#define WRAY_COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

#ifdef __cplusplus
}
#endif

/* ===================================================================== */
#ifdef WRAY_IMPLEMENTATION

#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reader --------------------------------------------------------- */

static uint32_t wray_be16_(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static uint32_t wray_be32_(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t wray_be64_(const uint8_t *p) { return ((uint64_t)wray_be32_(p) << 32) | wray_be32_(p + 4); }
static int wray_need_(const wray_reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

wray_kind wray_peek(const wray_reader *r) {
  if (r->p >= r->end) return WRAY_END;
  uint8_t b = r->p[0];
  if (b <= 0x7f || b >= 0xe0) return WRAY_INT;
  if (b <= 0x8f) return WRAY_MAP;
  if (b <= 0x9f) return WRAY_ARRAY;
  if (b <= 0xbf) return WRAY_STR;
  switch (b) {
    case 0xc0: return WRAY_NIL;
    case 0xc2: case 0xc3: return WRAY_BOOL;
    case 0xc4: case 0xc5: case 0xc6: return WRAY_BIN;
    case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return WRAY_EXT;
    case 0xca: case 0xcb: return WRAY_FLOAT;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return WRAY_INT;
    case 0xd9: case 0xda: case 0xdb: return WRAY_STR;
    case 0xdc: case 0xdd: return WRAY_ARRAY;
    case 0xde: case 0xdf: return WRAY_MAP;
    default: return WRAY_INVALID;
  }
}

int wray_read_nil(wray_reader *r) {
  if (!wray_need_(r, 1) || r->p[0] != 0xc0) return 0;
  r->p++;
  return 1;
}

int wray_read_bool(wray_reader *r, int *out) {
  if (!wray_need_(r, 1) || (r->p[0] != 0xc2 && r->p[0] != 0xc3)) return 0;
  *out = r->p[0] == 0xc3;
  r->p++;
  return 1;
}

int wray_read_i64(wray_reader *r, int64_t *out) {
  if (!wray_need_(r, 1)) return 0;
  uint8_t b = r->p[0];
  if (b <= 0x7f) { *out = b; r->p++; return 1; }
  if (b >= 0xe0) { *out = (int8_t)b; r->p++; return 1; }
  size_t n;
  switch (b) {
    case 0xcc: case 0xd0: n = 1; break;
    case 0xcd: case 0xd1: n = 2; break;
    case 0xce: case 0xd2: n = 4; break;
    case 0xcf: case 0xd3: n = 8; break;
    default: return 0;
  }
  if (!wray_need_(r, 1 + n)) return 0;
  const uint8_t *p = r->p + 1;
  switch (b) {
    case 0xcc: *out = p[0]; break;
    case 0xcd: *out = wray_be16_(p); break;
    case 0xce: *out = wray_be32_(p); break;
    case 0xcf: *out = (int64_t)wray_be64_(p); break;
    case 0xd0: *out = (int8_t)p[0]; break;
    case 0xd1: *out = (int16_t)wray_be16_(p); break;
    case 0xd2: *out = (int32_t)wray_be32_(p); break;
    default: *out = (int64_t)wray_be64_(p); break;
  }
  r->p += 1 + n;
  return 1;
}

int wray_read_f64(wray_reader *r, double *out) {
  if (!wray_need_(r, 1)) return 0;
  uint8_t b = r->p[0];
  if (b == 0xcb && wray_need_(r, 9)) {
    uint64_t u = wray_be64_(r->p + 1);
    memcpy(out, &u, 8);
    r->p += 9;
    return 1;
  }
  if (b == 0xca && wray_need_(r, 5)) {
    uint32_t u = wray_be32_(r->p + 1);
    float f;
    memcpy(&f, &u, 4);
    *out = f;
    r->p += 5;
    return 1;
  }
  if (b == 0xcf && wray_need_(r, 9)) { *out = (double)wray_be64_(r->p + 1); r->p += 9; return 1; }
  int64_t i;
  if (!wray_read_i64(r, &i)) return 0;
  *out = (double)i;
  return 1;
}

static int wray_read_len_(wray_reader *r, uint8_t fix_lo, uint8_t fix_hi, uint8_t fix_mask,
                          uint8_t op8, uint8_t op16, uint8_t op32, uint32_t *len) {
  if (!wray_need_(r, 1)) return 0;
  uint8_t b = r->p[0];
  if (b >= fix_lo && b <= fix_hi) { *len = b & fix_mask; r->p++; return 1; }
  if (op8 && b == op8 && wray_need_(r, 2)) { *len = r->p[1]; r->p += 2; return 1; }
  if (b == op16 && wray_need_(r, 3)) { *len = wray_be16_(r->p + 1); r->p += 3; return 1; }
  if (b == op32 && wray_need_(r, 5)) { *len = wray_be32_(r->p + 1); r->p += 5; return 1; }
  return 0;
}

int wray_read_str(wray_reader *r, const char **s, uint32_t *len) {
  const uint8_t *start = r->p;
  if (!wray_read_len_(r, 0xa0, 0xbf, 0x1f, 0xd9, 0xda, 0xdb, len)) return 0;
  if (!wray_need_(r, *len)) { r->p = start; return 0; }
  *s = (const char *)r->p;
  r->p += *len;
  return 1;
}

int wray_read_bin(wray_reader *r, const uint8_t **b, uint32_t *len) {
  const uint8_t *start = r->p;
  if (!wray_read_len_(r, 1, 0, 0, 0xc4, 0xc5, 0xc6, len)) return 0;
  if (!wray_need_(r, *len)) { r->p = start; return 0; }
  *b = r->p;
  r->p += *len;
  return 1;
}

int wray_read_array(wray_reader *r, uint32_t *count) {
  return wray_read_len_(r, 0x90, 0x9f, 0x0f, 0, 0xdc, 0xdd, count);
}

int wray_read_map(wray_reader *r, uint32_t *count) {
  return wray_read_len_(r, 0x80, 0x8f, 0x0f, 0, 0xde, 0xdf, count);
}

int wray_read_ext(wray_reader *r, int8_t *type, const uint8_t **data, uint32_t *len) {
  if (!wray_need_(r, 2)) return 0;
  uint8_t b = r->p[0];
  size_t head;
  switch (b) {
    case 0xd4: *len = 1; head = 1; break;
    case 0xd5: *len = 2; head = 1; break;
    case 0xd6: *len = 4; head = 1; break;
    case 0xd7: *len = 8; head = 1; break;
    case 0xd8: *len = 16; head = 1; break;
    case 0xc7: *len = r->p[1]; head = 2; break;
    case 0xc8: if (!wray_need_(r, 3)) return 0; *len = wray_be16_(r->p + 1); head = 3; break;
    case 0xc9: if (!wray_need_(r, 5)) return 0; *len = wray_be32_(r->p + 1); head = 5; break;
    default: return 0;
  }
  if (!wray_need_(r, head + 1 + *len)) return 0;
  *type = (int8_t)r->p[head];
  *data = r->p + head + 1;
  r->p += head + 1 + *len;
  return 1;
}

/* The payload of extension `type` as a reader over one container value (map or array). */
static int wray_ext_container_(wray_reader *r, int8_t want, int map, uint32_t *count, wray_reader *inner) {
  wray_reader save = *r;
  int8_t t;
  const uint8_t *d;
  uint32_t n;
  if (!wray_read_ext(r, &t, &d, &n) || t != want) {
    *r = save;
    return 0;
  }
  inner->p = d;
  inner->end = d + n;
  if (!(map ? wray_read_map(inner, count) : wray_read_array(inner, count))) {
    *r = save;
    return 0;
  }
  return 1;
}

int wray_read_map_ext(wray_reader *r, uint32_t *count, wray_reader *entries) {
  return wray_ext_container_(r, WRAY_EXT_MAP, 1, count, entries);
}

int wray_read_set_ext(wray_reader *r, uint32_t *count, wray_reader *elements) {
  return wray_ext_container_(r, WRAY_EXT_SET, 0, count, elements);
}

int wray_read_array_buffer(wray_reader *r, const uint8_t **b, uint32_t *len) {
  wray_reader save = *r;
  int8_t t;
  const uint8_t *d;
  uint32_t n;
  if (!wray_read_ext(r, &t, &d, &n) || t != WRAY_EXT_BINARY || n < 1 || d[0] != WRAY_BINARY_ARRAY_BUFFER) {
    *r = save;
    return 0;
  }
  *b = d + 1;
  *len = n - 1;
  return 1;
}

int wray_skip(wray_reader *r) {
  uint32_t n, i;
  const char *s;
  const uint8_t *b;
  int8_t t;
  int64_t x;
  double f;
  int v;
  switch (wray_peek(r)) {
    case WRAY_NIL: return wray_read_nil(r);
    case WRAY_BOOL: return wray_read_bool(r, &v);
    case WRAY_INT: return wray_read_i64(r, &x) || wray_read_f64(r, &f);
    case WRAY_FLOAT: return wray_read_f64(r, &f);
    case WRAY_STR: return wray_read_str(r, &s, &n);
    case WRAY_BIN: return wray_read_bin(r, &b, &n);
    case WRAY_EXT: return wray_read_ext(r, &t, &b, &n);
    case WRAY_ARRAY:
      if (!wray_read_array(r, &n)) return 0;
      for (i = 0; i < n; i++) if (!wray_skip(r)) return 0;
      return 1;
    case WRAY_MAP:
      if (!wray_read_map(r, &n)) return 0;
      for (i = 0; i < 2 * n; i++) if (!wray_skip(r)) return 0;
      return 1;
    default: return 0;
  }
}

/* ---- writer --------------------------------------------------------- */

static uint8_t *wray_grow_(wray_writer *w, size_t n) {
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    while (cap < w->len + n) cap *= 2;
    uint8_t *nb = (uint8_t *)realloc(w->buf, cap);
    if (!nb) __builtin_trap();
    w->buf = nb;
    w->cap = cap;
  }
  uint8_t *p = w->buf + w->len;
  w->len += n;
  return p;
}

static void wray_put_be_(uint8_t *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void wray_head_(wray_writer *w, uint8_t op, uint64_t v, size_t n) {
  uint8_t *p = wray_grow_(w, 1 + n);
  p[0] = op;
  wray_put_be_(p + 1, v, n);
}

void wray_write_raw(wray_writer *w, const uint8_t *b, size_t len) {
  if (len) memcpy(wray_grow_(w, len), b, len);
}
void wray_write_nil(wray_writer *w) { *wray_grow_(w, 1) = 0xc0; }
void wray_write_bool(wray_writer *w, int v) { *wray_grow_(w, 1) = v ? 0xc3 : 0xc2; }

void wray_write_i64(wray_writer *w, int64_t v) {
  if (v >= 0 && v <= 0x7f) *wray_grow_(w, 1) = (uint8_t)v;
  else if (v < 0 && v >= -32) *wray_grow_(w, 1) = (uint8_t)(int8_t)v;
  else if (v >= 0 && v <= 0xff) wray_head_(w, 0xcc, (uint64_t)v, 1);
  else if (v >= 0 && v <= 0xffff) wray_head_(w, 0xcd, (uint64_t)v, 2);
  else if (v >= 0 && v <= 0xffffffffLL) wray_head_(w, 0xce, (uint64_t)v, 4);
  else if (v >= 0) wray_head_(w, 0xcf, (uint64_t)v, 8);
  else if (v >= -128) wray_head_(w, 0xd0, (uint8_t)(int8_t)v, 1);
  else if (v >= -32768) wray_head_(w, 0xd1, (uint16_t)(int16_t)v, 2);
  else if (v >= -2147483648LL) wray_head_(w, 0xd2, (uint32_t)(int32_t)v, 4);
  else wray_head_(w, 0xd3, (uint64_t)v, 8);
}

void wray_write_f64(wray_writer *w, double v) {
  /* integral values go as integers, as the JS SDK and @msgpack/msgpack do */
  if (v == (double)(int64_t)v && v >= -9007199254740991.0 && v <= 9007199254740991.0 && !(v == 0 && 1 / v < 0)) {
    wray_write_i64(w, (int64_t)v);
    return;
  }
  uint64_t u;
  memcpy(&u, &v, 8);
  wray_head_(w, 0xcb, u, 8);
}

void wray_write_str(wray_writer *w, const char *s, uint32_t len) {
  if (len < 32) *wray_grow_(w, 1) = (uint8_t)(0xa0 | len);
  else if (len <= 0xff) wray_head_(w, 0xd9, len, 1);
  else if (len <= 0xffff) wray_head_(w, 0xda, len, 2);
  else wray_head_(w, 0xdb, len, 4);
  wray_write_raw(w, (const uint8_t *)s, len);
}

void wray_write_cstr(wray_writer *w, const char *s) { wray_write_str(w, s, (uint32_t)strlen(s)); }

void wray_write_bin(wray_writer *w, const uint8_t *b, uint32_t len) {
  if (len <= 0xff) wray_head_(w, 0xc4, len, 1);
  else if (len <= 0xffff) wray_head_(w, 0xc5, len, 2);
  else wray_head_(w, 0xc6, len, 4);
  wray_write_raw(w, b, len);
}

void wray_write_array(wray_writer *w, uint32_t n) {
  if (n < 16) *wray_grow_(w, 1) = (uint8_t)(0x90 | n);
  else if (n <= 0xffff) wray_head_(w, 0xdc, n, 2);
  else wray_head_(w, 0xdd, n, 4);
}

void wray_write_map(wray_writer *w, uint32_t n) {
  if (n < 16) *wray_grow_(w, 1) = (uint8_t)(0x80 | n);
  else if (n <= 0xffff) wray_head_(w, 0xde, n, 2);
  else wray_head_(w, 0xdf, n, 4);
}

void wray_write_ext(wray_writer *w, int8_t type, const uint8_t *data, uint32_t len) {
  switch (len) {
    case 1: *wray_grow_(w, 1) = 0xd4; break;
    case 2: *wray_grow_(w, 1) = 0xd5; break;
    case 4: *wray_grow_(w, 1) = 0xd6; break;
    case 8: *wray_grow_(w, 1) = 0xd7; break;
    case 16: *wray_grow_(w, 1) = 0xd8; break;
    default:
      if (len <= 0xff) wray_head_(w, 0xc7, len, 1);
      else if (len <= 0xffff) wray_head_(w, 0xc8, len, 2);
      else wray_head_(w, 0xc9, len, 4);
  }
  *wray_grow_(w, 1) = (uint8_t)type;
  wray_write_raw(w, data, len);
}

size_t wray_begin_ext(wray_writer *w, int8_t type) {
  uint8_t *h = wray_grow_(w, 6);
  h[0] = 0xc9; /* ext 32: the length is filled in by wray_end_ext */
  h[5] = (uint8_t)type;
  return w->len;
}

void wray_end_ext(wray_writer *w, size_t at) {
  if (w->failed) return;
  uint32_t n = (uint32_t)(w->len - at);
  uint8_t *h = w->buf + at - 5;
  h[0] = (uint8_t)(n >> 24);
  h[1] = (uint8_t)(n >> 16);
  h[2] = (uint8_t)(n >> 8);
  h[3] = (uint8_t)n;
}

void wray_write_array_buffer(wray_writer *w, const uint8_t *b, uint32_t len) {
  size_t at = wray_begin_ext(w, WRAY_EXT_BINARY);
  *wray_grow_(w, 1) = WRAY_BINARY_ARRAY_BUFFER;
  wray_write_raw(w, b, len);
  wray_end_ext(w, at);
}

int wray_fail(wray_writer *out, const char *name, const char *message) {
  out->len = 0;
  out->failed = 1;
  wray_write_map(out, 3);
  wray_write_cstr(out, "name");
  wray_write_cstr(out, name);
  wray_write_cstr(out, "message");
  wray_write_cstr(out, message);
  wray_write_cstr(out, "stack");
  wray_write_cstr(out, "");
  return 1;
}

/* ---- canonical ABI: imports ---------------------------------------- */

#define WRAY_IMPORT_(name) __attribute__((import_module("wray:runtime/host@0.1.0"), import_name(name)))

WRAY_IMPORT_("log") void wray_host_log_(int32_t, const char *, size_t);
WRAY_IMPORT_("submit") void wray_host_submit_(const char *, size_t, const uint8_t *, size_t, const uint8_t *, size_t, void *);
WRAY_IMPORT_("get") void wray_host_get_(const wray_bytes *, size_t, int64_t, void *);
WRAY_IMPORT_("wait") void wray_host_wait_(const wray_bytes *, size_t, uint32_t, int64_t, void *);
WRAY_IMPORT_("put") void wray_host_put_(const uint8_t *, size_t, void *);
WRAY_IMPORT_("create-actor") void wray_host_create_actor_(const char *, size_t, const uint8_t *, size_t, const uint8_t *, size_t, void *);
WRAY_IMPORT_("call-actor") void wray_host_call_actor_(const uint8_t *, size_t, const char *, size_t, const uint8_t *, size_t, const uint8_t *, size_t, void *);
WRAY_IMPORT_("get-actor") void wray_host_get_actor_(const char *, size_t, void *);
WRAY_IMPORT_("now") double wray_host_now_(void);
WRAY_IMPORT_("random-seed") int64_t wray_host_random_seed_(void);
WRAY_IMPORT_("cancelled") int32_t wray_host_cancelled_(void);
WRAY_IMPORT_("defer") void wray_host_defer_(int64_t, const uint8_t *, size_t, void *);
WRAY_IMPORT_("resolve") int32_t wray_host_resolve_(const uint8_t *, size_t, const uint8_t *, size_t);

typedef struct { void *ptr; size_t len; } wray_list_ret_;

void wray_log(int level, const char *message) { wray_host_log_(level, message, strlen(message)); }

wray_bytes_list wray_submit(const char *fn, const uint8_t *args, size_t al, const uint8_t *opt, size_t ol) {
  wray_list_ret_ r;
  wray_host_submit_(fn, strlen(fn), args, al, opt, ol, &r);
  return (wray_bytes_list){ (wray_bytes *)r.ptr, r.len };
}

wray_bytes wray_get(const wray_bytes *ids, size_t n, int64_t timeout_ms) {
  wray_list_ret_ r;
  wray_host_get_(ids, n, timeout_ms, &r);
  return (wray_bytes){ (uint8_t *)r.ptr, r.len };
}

wray_u32_list wray_wait(const wray_bytes *ids, size_t n, uint32_t num_returns, int64_t timeout_ms) {
  wray_list_ret_ r;
  wray_host_wait_(ids, n, num_returns, timeout_ms, &r);
  return (wray_u32_list){ (uint32_t *)r.ptr, r.len };
}

wray_bytes wray_put(const uint8_t *value, size_t len) {
  wray_list_ret_ r;
  wray_host_put_(value, len, &r);
  return (wray_bytes){ (uint8_t *)r.ptr, r.len };
}

wray_bytes wray_create_actor(const char *cls, const uint8_t *args, size_t al, const uint8_t *opt, size_t ol) {
  wray_list_ret_ r;
  wray_host_create_actor_(cls, strlen(cls), args, al, opt, ol, &r);
  return (wray_bytes){ (uint8_t *)r.ptr, r.len };
}

wray_bytes_list wray_call_actor(wray_bytes actor, const char *method, const uint8_t *args, size_t al, const uint8_t *opt, size_t ol) {
  wray_list_ret_ r;
  wray_host_call_actor_(actor.ptr, actor.len, method, strlen(method), args, al, opt, ol, &r);
  return (wray_bytes_list){ (wray_bytes *)r.ptr, r.len };
}

wray_bytes wray_get_actor(const char *name) {
  wray_list_ret_ r;
  wray_host_get_actor_(name, strlen(name), &r);
  return (wray_bytes){ (uint8_t *)r.ptr, r.len };
}

double wray_now(void) { return wray_host_now_(); }
uint64_t wray_random_seed(void) { return (uint64_t)wray_host_random_seed_(); }
int wray_cancelled(void) { return wray_host_cancelled_() != 0; }

wray_bytes wray_defer(int64_t timeout_ms, const uint8_t *on_timeout, size_t len) {
  wray_list_ret_ r;
  wray_host_defer_(timeout_ms, on_timeout, len, &r);
  return (wray_bytes){ (uint8_t *)r.ptr, r.len };
}

int wray_resolve(const uint8_t *id, size_t id_len, const uint8_t *value, size_t len) {
  return wray_host_resolve_(id, id_len, value, len) != 0;
}
/* an empty list's pointer is not an allocation (cabi_realloc hands out `align` for zero bytes) */
void wray_free_bytes(wray_bytes b) { if (b.len) free(b.ptr); }
void wray_free_bytes_list(wray_bytes_list l) {
  for (size_t i = 0; i < l.len; i++) wray_free_bytes(l.ptr[i]);
  if (l.len) free(l.ptr);
}

/* ---- canonical ABI: exports ---------------------------------------- */

/*
 * The guest's tables. Weak: a guest with tasks and no actor classes (or
 * the other way round) need not declare the empty table; an absent one
 * has address 0 and counts as empty.
 */
extern const wray_task wray_tasks_[] __attribute__((weak));
extern const size_t wray_num_tasks_ __attribute__((weak));
extern const wray_actor_class wray_actors_[] __attribute__((weak));
extern const size_t wray_num_actors_ __attribute__((weak));
static size_t wray_tasks_count_(void) { return &wray_num_tasks_ ? wray_num_tasks_ : 0; }
static size_t wray_actors_count_(void) { return &wray_num_actors_ ? wray_num_actors_ : 0; }

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  (void)align; /* malloc aligns to 16 */
  if (new_size == 0) return (void *)align;
  void *p = realloc(old, new_size);
  if (!p) __builtin_trap();
  return p;
}

/* The return area; each reply's buffer is its own (calls can nest while a method waits) and post-return frees it. */
static wray_list_ret_ wray_ret_;
static const wray_actor_class *wray_actor_;

static int wray_name_is_(const char *name, const char *p, size_t n) {
  return strlen(name) == n && memcmp(name, p, n) == 0;
}

static void *wray_reply_(wray_writer *w) {
  wray_ret_.ptr = w->buf;
  wray_ret_.len = w->len;
  return &wray_ret_;
}

static void wray_unknown_(wray_writer *out, const char *kind, const char *p, size_t n) {
  char msg[200];
  size_t k = strlen(kind);
  if (n > 120) n = 120;
  memcpy(msg, kind, k);
  memcpy(msg + k, p, n);
  memcpy(msg + k + n, "' is not exported by this component", 37);
  out->len = 0;
  out->failed = 1;
  wray_write_map(out, 4);
  wray_write_cstr(out, "code");
  wray_write_cstr(out, "WRAY_UNKNOWN_FUNCTION");
  wray_write_cstr(out, "name");
  wray_write_cstr(out, "WrayError");
  wray_write_cstr(out, "message");
  wray_write_cstr(out, msg);
  wray_write_cstr(out, "stack");
  wray_write_cstr(out, "");
}

/* Runs fn over args (a MessagePack array); the reply is an array of num_returns values or a failure map. */
static void wray_run_(wray_writer *out, wray_fn fn, uint8_t *args, size_t args_len, uint32_t num_returns) {
  wray_args a;
  a.r.p = args;
  a.r.end = args + args_len;
  a.num_returns = num_returns;
  if (!wray_read_array(&a.r, &a.count)) {
    wray_fail(out, "TypeError", "arguments are not a MessagePack array");
    return;
  }
  wray_write_array(out, num_returns);
  size_t head = out->len;
  if (fn(&a, out) != 0 || out->failed) return;
  if (num_returns == 0) {
    out->len = 0; /* nothing to return (a constructor): an empty array, whatever fn wrote */
    wray_write_array(out, 0);
  } else if (out->len == head) {
    wray_fail(out, "TypeError", "the task returned without writing its result");
  }
}

/* Calls fn, or replies that `kind name` is unknown when fn is null; frees the lowered name and args. */
static void *wray_dispatch_(wray_fn fn, const char *kind, char *name, size_t name_len, uint8_t *args, size_t args_len, uint32_t num_returns) {
  wray_writer out = {0};
  if (fn) wray_run_(&out, fn, args, args_len, num_returns);
  else wray_unknown_(&out, kind, name, name_len);
  if (name_len) free(name);
  if (args_len) free(args);
  return wray_reply_(&out);
}

static wray_fn wray_find_(const wray_task *table, size_t n, const char *name, size_t name_len) {
  for (size_t i = 0; i < n; i++) if (wray_name_is_(table[i].name, name, name_len)) return table[i].fn;
  return 0;
}

__attribute__((export_name("wray:runtime/guest@0.1.0#invoke")))
void *wray_export_invoke_(char *name, size_t name_len, uint8_t *args, size_t args_len, uint32_t num_returns) {
  wray_fn fn = wray_find_(wray_tasks_, wray_tasks_count_(), name, name_len);
  return wray_dispatch_(fn, "task '", name, name_len, args, args_len, num_returns);
}

__attribute__((export_name("wray:runtime/guest@0.1.0#construct")))
void *wray_export_construct_(char *name, size_t name_len, uint8_t *args, size_t args_len) {
  wray_fn fn = 0;
  for (size_t i = 0; i < wray_actors_count_() && !fn; i++) {
    if (wray_name_is_(wray_actors_[i].name, name, name_len)) {
      wray_actor_ = &wray_actors_[i];
      fn = wray_actor_->construct;
    }
  }
  return wray_dispatch_(fn, "actor class '", name, name_len, args, args_len, 0);
}

__attribute__((export_name("wray:runtime/guest@0.1.0#call")))
void *wray_export_call_(char *name, size_t name_len, uint8_t *args, size_t args_len, uint32_t num_returns) {
  wray_fn fn = wray_actor_ ? wray_find_(wray_actor_->methods, wray_actor_->num_methods, name, name_len) : 0;
  return wray_dispatch_(fn, "method '", name, name_len, args, args_len, num_returns);
}

__attribute__((export_name("wray:runtime/guest@0.1.0#describe")))
void *wray_export_describe_(void) {
  wray_writer out = {0};
  wray_write_map(&out, 2);
  wray_write_cstr(&out, "tasks");
  wray_write_array(&out, (uint32_t)wray_tasks_count_());
  for (size_t i = 0; i < wray_tasks_count_(); i++) wray_write_cstr(&out, wray_tasks_[i].name);
  wray_write_cstr(&out, "actors");
  wray_write_map(&out, (uint32_t)wray_actors_count_());
  for (size_t i = 0; i < wray_actors_count_(); i++) {
    wray_write_cstr(&out, wray_actors_[i].name);
    wray_write_array(&out, (uint32_t)wray_actors_[i].num_methods);
    for (size_t j = 0; j < wray_actors_[i].num_methods; j++) wray_write_cstr(&out, wray_actors_[i].methods[j].name);
  }
  return wray_reply_(&out);
}

static void wray_post_(void *ret) { free(((wray_list_ret_ *)ret)->ptr); }
__attribute__((export_name("cabi_post_wray:runtime/guest@0.1.0#invoke"))) void wray_post_invoke_(void *p) { wray_post_(p); }
__attribute__((export_name("cabi_post_wray:runtime/guest@0.1.0#construct"))) void wray_post_construct_(void *p) { wray_post_(p); }
__attribute__((export_name("cabi_post_wray:runtime/guest@0.1.0#call"))) void wray_post_call_(void *p) { wray_post_(p); }
__attribute__((export_name("cabi_post_wray:runtime/guest@0.1.0#describe"))) void wray_post_describe_(void *p) { wray_post_(p); }

#ifdef __cplusplus
}
#endif

#endif /* WRAY_IMPLEMENTATION */
#endif /* WRAY_H */
