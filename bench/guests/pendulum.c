/* The `guest compute` kernel in C: see pendulum.ts (the same arithmetic). */
#define WRAY_IMPLEMENTATION
#include "wray.h"

#include <math.h>

static double pendulum(int64_t steps, uint32_t seed) {
  uint32_t s = seed;
#define RND() (s = s * 1664525u + 1013904223u, (double)s / 4294967296.0 - 0.5)
  double w1[48], b1[16], w2[16];
  for (int i = 0; i < 48; i++) w1[i] = RND();
  for (int i = 0; i < 16; i++) b1[i] = RND();
  for (int i = 0; i < 16; i++) w2[i] = RND();
  double b2 = RND();
  double th = RND() * 2 * M_PI;
  double thdot = RND() * 2;
#undef RND
  double total = 0;
  for (int64_t t = 0; t < steps; t++) {
    double c = cos(th), sn = sin(th), a = b2;
    for (int j = 0; j < 16; j++) a += w2[j] * tanh(w1[j * 3] * c + w1[j * 3 + 1] * sn + w1[j * 3 + 2] * thdot + b1[j]);
    double u = 2 * tanh(a);
    if (u > 2) u = 2;
    else if (u < -2) u = -2;
    double an = fmod(fmod(th + M_PI, 2 * M_PI) + 2 * M_PI, 2 * M_PI) - M_PI;
    total -= an * an + 0.1 * thdot * thdot + 0.001 * u * u;
    thdot += (15 * sn + 3 * u) * 0.05;
    if (thdot > 8) thdot = 8;
    else if (thdot < -8) thdot = -8;
    th += thdot * 0.05;
  }
  return total;
}

static int pendulum_task(wray_args *a, wray_writer *out) {
  int64_t steps, seed;
  if (!wray_read_i64(&a->r, &steps) || !wray_read_i64(&a->r, &seed)) return wray_fail(out, "TypeError", "pendulum(steps, seed) takes two integers");
  wray_write_f64(out, pendulum(steps, (uint32_t)seed));
  return 0;
}

/* The `task argument gigabytes` row: the length of a binary argument (the host copied it into this memory). */
static int byte_count_task(wray_args *a, wray_writer *out) {
  const uint8_t *b;
  uint32_t len;
  if (!wray_read_bin(&a->r, &b, &len)) return wray_fail(out, "TypeError", "byteCount(bytes) takes a Uint8Array");
  wray_write_i64(out, len);
  return 0;
}

WRAY_TASKS({ "pendulum", pendulum_task }, { "byteCount", byte_count_task });
WRAY_NO_ACTORS;
