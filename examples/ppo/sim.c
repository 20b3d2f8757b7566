/*
 * PPO's CPU side, in C: Pendulum simulators as tasks (each a group of
 * environments, integrated in SUBSTEPS small steps per step), and
 * CpuPolicy, the all-CPU version of policy.ts's GpuPolicy (the same
 * arithmetic: a random-feature network whose output layer PPO trains).
 */
#define WRAY_IMPLEMENTATION
#include "../../guest-sdk/c/wray.h"

#include <math.h>
#include <string.h>

#define KIND_F32 7
#define KIND_F64 8
#define SUBSTEPS 50
#define RECORD 6 /* cos, sin, thdot, action, mean, reward */

static int read_typed(wray_reader *r, int kind, int size, const uint8_t **p, uint32_t *count) {
  int8_t t;
  const uint8_t *d;
  uint32_t n;
  if (!wray_read_ext(r, &t, &d, &n) || t != WRAY_EXT_BINARY || n < 1 || d[0] != kind || (n - 1) % size != 0) return 0;
  *p = d + 1;
  *count = (n - 1) / size;
  return 1;
}

static void write_typed(wray_writer *w, int kind, const void *v, size_t bytes) {
  size_t at = wray_begin_ext(w, WRAY_EXT_BINARY);
  uint8_t k = (uint8_t)kind;
  wray_write_raw(w, &k, 1);
  wray_write_raw(w, (const uint8_t *)v, bytes);
  wray_end_ext(w, at);
}

static float f32_at(const uint8_t *p, size_t i) {
  float f;
  memcpy(&f, p + i * 4, 4);
  return f;
}

static uint32_t rng_state;
static double uniform(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return ((double)rng_state + 0.5) / 4294967296.0;
}
static double gaussian(void) { return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform()); }

/* reset(envs, seed) -> state: Float64Array of [theta, thetadot] per environment, near upright (the task: keep it there) */
static int reset(wray_args *a, wray_writer *out) {
  int64_t envs, seed;
  if (a->count != 2 || !wray_read_i64(&a->r, &envs) || !wray_read_i64(&a->r, &seed) || envs < 1 || envs > 1 << 20) return wray_fail(out, "TypeError", "reset(envs, seed)");
  rng_state = (uint32_t)seed | 1;
  double *s = (double *)malloc((size_t)envs * 16);
  for (int64_t e = 0; e < envs; e++) {
    s[2 * e] = (uniform() * 2 - 1) * 0.3;
    s[2 * e + 1] = (uniform() * 2 - 1) * 0.3;
  }
  write_typed(out, KIND_F64, s, (size_t)envs * 16);
  free(s);
  return 0;
}

/*
 * step(state, means: Float32Array, offset, sigma, seed) -> [state', record]:
 * each environment's action is its mean (means[offset + e]) plus Gaussian
 * noise of sigma; record holds RECORD floats per environment.
 */
static int step(wray_args *a, wray_writer *out) {
  const uint8_t *st, *mu;
  uint32_t ns, nm;
  int64_t offset, seed;
  double sigma;
  if (a->count != 5 || a->num_returns != 2 || !read_typed(&a->r, KIND_F64, 8, &st, &ns) || ns % 2 != 0 || !read_typed(&a->r, KIND_F32, 4, &mu, &nm) ||
      !wray_read_i64(&a->r, &offset) || !wray_read_f64(&a->r, &sigma) || !wray_read_i64(&a->r, &seed) || offset < 0 || (uint64_t)offset + ns / 2 > nm)
    return wray_fail(out, "TypeError", "step(state, means, offset, sigma, seed) with numReturns 2");
  uint32_t envs = ns / 2;
  double *s = (double *)malloc((size_t)ns * 8);
  memcpy(s, st, (size_t)ns * 8);
  float *rec = (float *)malloc((size_t)envs * RECORD * 4);
  rng_state = (uint32_t)seed | 1;
  const double dt = 0.05 / SUBSTEPS;
  for (uint32_t e = 0; e < envs; e++) {
    double th = s[2 * e], w = s[2 * e + 1];
    double m = f32_at(mu, (size_t)offset + e);
    double act = m + sigma * gaussian();
    double u = act > 2 ? 2 : act < -2 ? -2 : act;
    double an = fmod(fmod(th + M_PI, 2 * M_PI) + 2 * M_PI, 2 * M_PI) - M_PI;
    float *r = rec + (size_t)e * RECORD;
    r[0] = (float)cos(th);
    r[1] = (float)sin(th);
    r[2] = (float)w;
    r[3] = (float)act;
    r[4] = (float)m;
    r[5] = (float)-(an * an + 0.1 * w * w + 0.001 * u * u);
    for (int k = 0; k < SUBSTEPS; k++) {
      w += (15 * sin(th) + 3 * u) * dt;
      if (w > 8) w = 8;
      else if (w < -8) w = -8;
      th += w * dt;
    }
    s[2 * e] = th;
    s[2 * e + 1] = w;
  }
  write_typed(out, KIND_F64, s, (size_t)ns * 8);
  write_typed(out, KIND_F32, rec, (size_t)envs * RECORD * 4);
  free(s);
  free(rec);
  return 0;
}

/* ---- CpuPolicy: new CpuPolicy(w1: H x 3, b1: H, w: H, hyper: [sigma, clip, lr, epochs, gamma]) ---- */
static float *w1, *b1, *wout;
static uint32_t hidden;
static double sigma_, clip_, lr_, gamma_;
static int64_t epochs_;

static int policy_new(wray_args *a, wray_writer *out) {
  const uint8_t *p1, *pb, *pw, *ph;
  uint32_t n1, nb, nw, nh;
  if (a->count != 4 || !read_typed(&a->r, KIND_F32, 4, &p1, &n1) || !read_typed(&a->r, KIND_F32, 4, &pb, &nb) || !read_typed(&a->r, KIND_F32, 4, &pw, &nw) ||
      !read_typed(&a->r, KIND_F64, 8, &ph, &nh) || nb != n1 / 3 || nw != nb || n1 % 3 != 0 || nh != 5)
    return wray_fail(out, "TypeError", "new CpuPolicy(w1: Float32Array of 3H, b1, w: Float32Array of H, hyper: Float64Array [sigma, clip, lr, epochs, gamma])");
  hidden = nb;
  w1 = (float *)malloc((size_t)n1 * 4);
  b1 = (float *)malloc((size_t)nb * 4);
  wout = (float *)malloc((size_t)nw * 4);
  memcpy(w1, p1, (size_t)n1 * 4);
  memcpy(b1, pb, (size_t)nb * 4);
  memcpy(wout, pw, (size_t)nw * 4);
  double h[5];
  memcpy(h, ph, 40);
  sigma_ = h[0], clip_ = h[1], lr_ = h[2], epochs_ = (int64_t)h[3], gamma_ = h[4];
  return 0;
}

static float feature(uint32_t j, float c, float s, float w) { return tanhf(w1[3 * j] * c + w1[3 * j + 1] * s + w1[3 * j + 2] * w + b1[j]); }

static float mean_of(float c, float s, float w) {
  float m = 0;
  for (uint32_t j = 0; j < hidden; j++) m += wout[j] * feature(j, c, s, w);
  return m;
}

/* act(...states) -> Float32Array of the mean action of every environment, in order */
static int policy_act(wray_args *a, wray_writer *out) {
  size_t total = 0, cap = 1024;
  float *m = (float *)malloc(cap * 4);
  for (uint32_t i = 0; i < a->count; i++) {
    const uint8_t *st;
    uint32_t ns;
    if (!read_typed(&a->r, KIND_F64, 8, &st, &ns) || ns % 2 != 0) {
      free(m);
      return wray_fail(out, "TypeError", "act(...states) takes the states step returns");
    }
    for (uint32_t e = 0; e < ns / 2; e++) {
      double th, w;
      memcpy(&th, st + (size_t)e * 16, 8);
      memcpy(&w, st + (size_t)e * 16 + 8, 8);
      if (total == cap) m = (float *)realloc(m, (cap *= 2) * 4);
      m[total++] = mean_of((float)cos(th), (float)sin(th), (float)w);
    }
  }
  write_typed(out, KIND_F32, m, total * 4);
  free(m);
  return 0;
}

/*
 * update(groups, ...records): records are groups x T step records, each
 * group's in step order. Advantages are the discounted returns to go,
 * normalised among the environments at the same step; then `epochs` passes of PPO's clipped surrogate gradient
 * on the output layer. Returns the mean reward per step.
 */
static int policy_update(wray_args *a, wray_writer *out) {
  int64_t groups;
  if (a->count < 2 || !wray_read_i64(&a->r, &groups) || groups < 1 || (a->count - 1) % groups != 0) return wray_fail(out, "TypeError", "update(groups, ...records)");
  uint32_t steps = (a->count - 1) / (uint32_t)groups;
  const uint8_t **recs = (const uint8_t **)malloc((size_t)(a->count - 1) * sizeof *recs);
  uint32_t envs = 0;
  for (uint32_t i = 0; i + 1 < a->count; i++) {
    uint32_t n;
    if (!read_typed(&a->r, KIND_F32, 4, &recs[i], &n) || n % RECORD != 0 || (i > 0 && n / RECORD != envs)) {
      free(recs);
      return wray_fail(out, "TypeError", "update: every record must be what step returned, of the same size");
    }
    envs = n / RECORD;
  }
  size_t rows = (size_t)groups * steps * envs;
  float *x = (float *)malloc(rows * 3 * 4), *act = (float *)malloc(rows * 4), *old = (float *)malloc(rows * 4), *adv = (float *)malloc(rows * 4), *coef = (float *)malloc(rows * 4);
  double reward = 0;
  size_t r = 0;
  for (int64_t g = 0; g < groups; g++)
    for (uint32_t e = 0; e < envs; e++) {
      double ret = 0;
      for (int64_t t = steps - 1; t >= 0; t--) {
        const uint8_t *p = recs[g * steps + t] + (size_t)e * RECORD * 4;
        size_t row = r + (size_t)t;
        x[3 * row] = f32_at(p, 0), x[3 * row + 1] = f32_at(p, 1), x[3 * row + 2] = f32_at(p, 2);
        act[row] = f32_at(p, 3), old[row] = f32_at(p, 4);
        ret = f32_at(p, 5) + gamma_ * ret;
        reward += f32_at(p, 5);
        adv[row] = (float)ret;
      }
      r += steps;
    }
  /* the baseline: each step's returns are normalised among the environments at that step */
  size_t trajectories = rows / steps;
  for (uint32_t t = 0; t < steps; t++) {
    double sum = 0, sq = 0;
    for (size_t k = 0; k < trajectories; k++) sum += adv[k * steps + t], sq += (double)adv[k * steps + t] * adv[k * steps + t];
    double mean = sum / trajectories, sd = sqrt(fmax(sq / trajectories - mean * mean, 0)) + 1e-6;
    for (size_t k = 0; k < trajectories; k++) adv[k * steps + t] = (float)((adv[k * steps + t] - mean) / sd);
  }
  const float s2 = (float)(sigma_ * sigma_), lo = (float)(1 - clip_), hi = (float)(1 + clip_);
  for (int64_t ep = 0; ep < epochs_; ep++) {
    for (size_t i = 0; i < rows; i++) {
      float m = mean_of(x[3 * i], x[3 * i + 1], x[3 * i + 2]);
      float d = act[i] - m, d0 = act[i] - old[i];
      float ratio = expf((d0 * d0 - d * d) / (2 * s2));
      int clipped = (adv[i] > 0 && ratio > hi) || (adv[i] < 0 && ratio < lo);
      coef[i] = clipped ? 0 : ratio * adv[i] * d / s2;
    }
    for (uint32_t j = 0; j < hidden; j++) {
      float g = 0;
      for (size_t i = 0; i < rows; i++) g += coef[i] * feature(j, x[3 * i], x[3 * i + 1], x[3 * i + 2]);
      wout[j] += (float)(lr_ * g / (double)rows);
    }
  }
  free(x), free(act), free(old), free(adv), free(coef), free(recs);
  wray_write_f64(out, reward / rows);
  return 0;
}

WRAY_TASKS({ "reset", reset }, { "step", step });
WRAY_METHODS(policy_methods, { "act", policy_act }, { "update", policy_update });
WRAY_ACTORS({ "CpuPolicy", policy_new, policy_methods, WRAY_COUNT(policy_methods) });
