/*
 * The served model, in C: a fully connected network (inputs -> 32 relu -> 8)
 * held by a Model actor, which evaluates batches of requests. model.mjs is
 * the same arithmetic for the plain Node server.
 */
#define WRAY_IMPLEMENTATION
#include "../../guest-sdk/c/wray.h"

#include <string.h>

#define HIDDEN 32
#define OUTPUTS 8
#define KIND_F32 7

static float *w1, *b1, *w2, *b2;
static uint32_t inputs;
static float *in_rows, *out_rows;
static uint32_t capacity_rows;

static int read_f32s(wray_reader *r, const uint8_t **p, uint32_t *count) {
  int8_t t;
  const uint8_t *d;
  uint32_t n;
  if (!wray_read_ext(r, &t, &d, &n) || t != WRAY_EXT_BINARY || n < 1 || d[0] != KIND_F32 || (n - 1) % 4 != 0) return 0;
  *p = d + 1;
  *count = (n - 1) / 4;
  return 1;
}

static float *copy_f32s(const uint8_t *p, uint32_t n) {
  float *v = (float *)malloc((size_t)n * 4 + 4);
  memcpy(v, p, (size_t)n * 4);
  return v;
}

/* new Model(weights: Float32Array) holding w1 (inputs x 32), b1 (32), w2 (32 x 8), b2 (8) */
static int model_new(wray_args *a, wray_writer *out) {
  const uint8_t *p;
  uint32_t n;
  if (a->count != 1 || !read_f32s(&a->r, &p, &n) || n <= HIDDEN + HIDDEN * OUTPUTS + OUTPUTS || (n - HIDDEN - HIDDEN * OUTPUTS - OUTPUTS) % HIDDEN != 0)
    return wray_fail(out, "TypeError", "new Model(weights: Float32Array of inputs*32 + 32 + 32*8 + 8)");
  inputs = (n - HIDDEN - HIDDEN * OUTPUTS - OUTPUTS) / HIDDEN;
  float *all = copy_f32s(p, n);
  w1 = all;
  b1 = w1 + (size_t)inputs * HIDDEN;
  w2 = b1 + HIDDEN;
  b2 = w2 + HIDDEN * OUTPUTS;
  return 0;
}

/* predict(batch: Float32Array of rows x inputs) -> Float32Array of rows x 8 */
static int model_predict(wray_args *a, wray_writer *out) {
  const uint8_t *p;
  uint32_t n;
  if (a->count != 1 || !read_f32s(&a->r, &p, &n) || n % inputs != 0) return wray_fail(out, "TypeError", "predict(batch: Float32Array of rows x inputs)");
  uint32_t rows = n / inputs;
  if (rows > capacity_rows) {
    free(in_rows);
    free(out_rows);
    capacity_rows = rows;
    in_rows = (float *)malloc((size_t)rows * inputs * 4);
    out_rows = (float *)malloc((size_t)rows * OUTPUTS * 4);
  }
  memcpy(in_rows, p, (size_t)n * 4);
  for (uint32_t r = 0; r < rows; r++) {
    const float *x = in_rows + (size_t)r * inputs;
    float h[HIDDEN];
    for (int j = 0; j < HIDDEN; j++) h[j] = b1[j];
    for (uint32_t i = 0; i < inputs; i++) {
      const float xi = x[i], *wi = w1 + (size_t)i * HIDDEN;
      for (int j = 0; j < HIDDEN; j++) h[j] += xi * wi[j];
    }
    float *y = out_rows + (size_t)r * OUTPUTS;
    for (int k = 0; k < OUTPUTS; k++) y[k] = b2[k];
    for (int j = 0; j < HIDDEN; j++) {
      const float hj = h[j] > 0 ? h[j] : 0;
      for (int k = 0; k < OUTPUTS; k++) y[k] += hj * w2[j * OUTPUTS + k];
    }
  }
  size_t at = wray_begin_ext(out, WRAY_EXT_BINARY);
  uint8_t kind = KIND_F32;
  wray_write_raw(out, &kind, 1);
  wray_write_raw(out, (const uint8_t *)out_rows, (size_t)rows * OUTPUTS * 4);
  wray_end_ext(out, at);
  return 0;
}

WRAY_NO_TASKS;
WRAY_METHODS(model_methods, { "predict", model_predict });
WRAY_ACTORS({ "Model", model_new, model_methods, WRAY_COUNT(model_methods) });
