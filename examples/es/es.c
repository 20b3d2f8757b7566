/*
 * Evolution strategies on CartPole (the paper's section 5.3), in C: worker
 * tasks evaluate perturbations of the policy, a tree of actors aggregates
 * them. The same arithmetic as cartpole.mjs, the one-thread baseline.
 */
#define WRAY_IMPLEMENTATION
#include "../../guest-sdk/c/wray.h"

#include <math.h>
#include <string.h>

#define INPUTS 4
#define HIDDEN 8
#define PARAMS (INPUTS * HIDDEN + HIDDEN + HIDDEN + 1)
#define KIND_I32 5
#define KIND_F32 7
#define KIND_F64 8

/* A typed array of element kind `kind` (its bytes may be unaligned: read with memcpy). */
static int read_typed(wray_reader *r, int kind, const uint8_t **p, uint32_t *count, uint32_t size) {
  int8_t t;
  const uint8_t *d;
  uint32_t n;
  if (!wray_read_ext(r, &t, &d, &n) || t != WRAY_EXT_BINARY || n < 1 || d[0] != kind || (n - 1) % size != 0) return 0;
  *p = d + 1;
  *count = (n - 1) / size;
  return 1;
}

static void write_f64s(wray_writer *w, const double *v, uint32_t n) {
  size_t at = wray_begin_ext(w, WRAY_EXT_BINARY);
  uint8_t kind = KIND_F64;
  wray_write_raw(w, &kind, 1);
  wray_write_raw(w, (const uint8_t *)v, (size_t)n * 8);
  wray_end_ext(w, at);
}

static void read_f64s(const uint8_t *p, double *out, uint32_t n) { memcpy(out, p, (size_t)n * 8); }

static float noise_at(const uint8_t *noise, uint32_t i) {
  float f;
  memcpy(&f, noise + (size_t)i * 4, 4);
  return f;
}

static int episode(const double *p, uint32_t seed, int64_t max_steps) {
  uint32_t s = seed ? seed : 1;
#define RND() (s = s * 1664525u + 1013904223u, (double)s / 4294967296.0 - 0.5)
  double x = RND() * 0.1, v = RND() * 0.1, th = RND() * 0.1, w = RND() * 0.1;
#undef RND
  int64_t t = 0;
  for (; t < max_steps; t++) {
    double a = p[PARAMS - 1];
    for (int j = 0; j < HIDDEN; j++) a += p[40 + j] * tanh(p[j * 4] * x + p[j * 4 + 1] * v + p[j * 4 + 2] * th + p[j * 4 + 3] * w + p[32 + j]);
    double force = a > 0 ? 10 : -10;
    double c = cos(th), sn = sin(th);
    double tmp = (force + 0.05 * w * w * sn) / 1.1;
    double thacc = (9.8 * sn - c * tmp) / (0.5 * (4.0 / 3.0 - (0.1 * c * c) / 1.1));
    double xacc = tmp - (0.05 * thacc * c) / 1.1;
    x += 0.02 * v;
    v += 0.02 * xacc;
    th += 0.02 * w;
    w += 0.02 * thacc;
    if (x < -2.4 || x > 2.4 || th < -0.2095 || th > 0.2095) return (int)(t + 1);
  }
  return (int)t;
}

static double score(const double *p, int64_t base, int64_t episodes, int64_t max_steps) {
  double total = 0;
  for (int64_t e = 0; e < episodes; e++) total += episode(p, (uint32_t)(base + e), max_steps);
  return total / (double)episodes;
}

/* evaluate(noise: Float32Array, theta: Float64Array, offsets: Int32Array, sigma, base, episodes, maxSteps) -> [pairs: Float64Array, sum] */
static int evaluate(wray_args *a, wray_writer *out) {
  const uint8_t *noise, *th, *offs;
  uint32_t nn, nt, no;
  double sigma;
  int64_t base, episodes, max_steps;
  if (a->count != 7 || !read_typed(&a->r, KIND_F32, &noise, &nn, 4) || !read_typed(&a->r, KIND_F64, &th, &nt, 8) || nt != PARAMS ||
      !read_typed(&a->r, KIND_I32, &offs, &no, 4) || !wray_read_f64(&a->r, &sigma) || !wray_read_i64(&a->r, &base) ||
      !wray_read_i64(&a->r, &episodes) || !wray_read_i64(&a->r, &max_steps) || episodes < 1)
    return wray_fail(out, "TypeError", "evaluate(noise: Float32Array, theta: Float64Array of 49, offsets: Int32Array, sigma, base, episodes, maxSteps)");
  double theta[PARAMS], plus[PARAMS], minus[PARAMS];
  read_f64s(th, theta, PARAMS);
  double *pairs = (double *)malloc((size_t)no * 16 + 8);
  double sum = 0;
  for (uint32_t k = 0; k < no; k++) {
    int32_t off;
    memcpy(&off, offs + (size_t)k * 4, 4);
    if (off < 0 || (uint32_t)off + PARAMS > nn) {
      free(pairs);
      return wray_fail(out, "RangeError", "evaluate: a noise offset is outside the table");
    }
    for (int i = 0; i < PARAMS; i++) {
      double e = sigma * noise_at(noise, (uint32_t)off + i);
      plus[i] = theta[i] + e;
      minus[i] = theta[i] - e;
    }
    double rp = score(plus, base, episodes, max_steps), rm = score(minus, base, episodes, max_steps);
    pairs[2 * k] = off;
    pairs[2 * k + 1] = rp - rm;
    sum += rp + rm;
  }
  wray_write_array(out, 2);
  write_f64s(out, pairs, no * 2);
  wray_write_f64(out, sum);
  free(pairs);
  return 0;
}

/* score(theta: Float64Array, base, episodes, maxSteps) -> mean return */
static int score_task(wray_args *a, wray_writer *out) {
  const uint8_t *th;
  uint32_t nt;
  int64_t base, episodes, max_steps;
  if (a->count != 4 || !read_typed(&a->r, KIND_F64, &th, &nt, 8) || nt != PARAMS || !wray_read_i64(&a->r, &base) ||
      !wray_read_i64(&a->r, &episodes) || !wray_read_i64(&a->r, &max_steps) || episodes < 1)
    return wray_fail(out, "TypeError", "score(theta: Float64Array of 49, base, episodes, maxSteps)");
  double theta[PARAMS];
  read_f64s(th, theta, PARAMS);
  wray_write_f64(out, score(theta, base, episodes, max_steps));
  return 0;
}

/* ---- the aggregation tree ------------------------------------------------------------ */

/* Leaf: new Leaf(noise); add([pairs, sum]) folds a worker's result in; take() -> [partial: Float64Array, sum] and starts again. */
static uint8_t *leaf_noise;
static uint32_t leaf_noise_len;
static double partial[PARAMS];
static double partial_sum;

static int leaf_new(wray_args *a, wray_writer *out) {
  const uint8_t *noise;
  if (a->count != 1 || !read_typed(&a->r, KIND_F32, &noise, &leaf_noise_len, 4)) return wray_fail(out, "TypeError", "new Leaf(noise: Float32Array)");
  leaf_noise = (uint8_t *)malloc((size_t)leaf_noise_len * 4);
  memcpy(leaf_noise, noise, (size_t)leaf_noise_len * 4);
  return 0;
}

static int leaf_add(wray_args *a, wray_writer *out) {
  uint32_t two, np;
  const uint8_t *pairs;
  double sum;
  if (a->count != 1 || !wray_read_array(&a->r, &two) || two != 2 || !read_typed(&a->r, KIND_F64, &pairs, &np, 8) || np % 2 != 0 || !wray_read_f64(&a->r, &sum))
    return wray_fail(out, "TypeError", "add(result) takes what evaluate returned");
  for (uint32_t k = 0; k < np; k += 2) {
    double pr[2];
    read_f64s(pairs + (size_t)k * 8, pr, 2);
    uint32_t off = (uint32_t)pr[0];
    if (off + PARAMS > leaf_noise_len) return wray_fail(out, "RangeError", "add: a noise offset is outside the table");
    for (int i = 0; i < PARAMS; i++) partial[i] += pr[1] * noise_at(leaf_noise, off + i);
  }
  partial_sum += sum;
  wray_write_nil(out);
  return 0;
}

static int leaf_take(wray_args *a, wray_writer *out) {
  (void)a;
  wray_write_array(out, 2);
  write_f64s(out, partial, PARAMS);
  wray_write_f64(out, partial_sum);
  memset(partial, 0, sizeof partial);
  partial_sum = 0;
  return 0;
}

/* Root: new Root(theta, step) where step = lr / (pairs·sigma·maxSteps); update(...partials) -> the new theta. */
static double theta_root[PARAMS];
static double step;

static int root_new(wray_args *a, wray_writer *out) {
  const uint8_t *th;
  uint32_t nt;
  if (a->count != 2 || !read_typed(&a->r, KIND_F64, &th, &nt, 8) || nt != PARAMS || !wray_read_f64(&a->r, &step))
    return wray_fail(out, "TypeError", "new Root(theta: Float64Array of 49, step)");
  read_f64s(th, theta_root, PARAMS);
  return 0;
}

static int root_update(wray_args *a, wray_writer *out) {
  double g[PARAMS] = { 0 };
  for (uint32_t c = 0; c < a->count; c++) {
    uint32_t two, n;
    const uint8_t *p;
    double sum, v[PARAMS];
    if (!wray_read_array(&a->r, &two) || two != 2 || !read_typed(&a->r, KIND_F64, &p, &n, 8) || n != PARAMS || !wray_read_f64(&a->r, &sum))
      return wray_fail(out, "TypeError", "update(...partials) takes what Leaf.take returned");
    read_f64s(p, v, PARAMS);
    for (int i = 0; i < PARAMS; i++) g[i] += v[i];
  }
  for (int i = 0; i < PARAMS; i++) theta_root[i] += step * g[i];
  write_f64s(out, theta_root, PARAMS);
  return 0;
}

WRAY_TASKS({ "evaluate", evaluate }, { "score", score_task });
WRAY_METHODS(leaf_methods, { "add", leaf_add }, { "take", leaf_take });
WRAY_METHODS(root_methods, { "update", root_update });
WRAY_ACTORS({ "Leaf", leaf_new, leaf_methods, WRAY_COUNT(leaf_methods) }, { "Root", root_new, root_methods, WRAY_COUNT(root_methods) });
