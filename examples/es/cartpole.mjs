// CartPole and its policy network in plain JavaScript: the one-thread
// baseline of the ES example, the same arithmetic as es.c.
export const INPUTS = 4;
export const HIDDEN = 8;
/** Parameters of the 4-8-1 tanh network: weights and biases of both layers. */
export const PARAMS = INPUTS * HIDDEN + HIDDEN + HIDDEN + 1;

/** One episode's return (steps balanced, up to `maxSteps`) of the network `p` (an array of PARAMS) from start state `seed`. */
export function episode(p, seed, maxSteps) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  let x = rnd() * 0.1;
  let v = rnd() * 0.1;
  let th = rnd() * 0.1;
  let w = rnd() * 0.1;
  let t = 0;
  for (; t < maxSteps; t++) {
    let a = p[PARAMS - 1];
    for (let j = 0; j < HIDDEN; j++) {
      const h = Math.tanh(p[j * 4] * x + p[j * 4 + 1] * v + p[j * 4 + 2] * th + p[j * 4 + 3] * w + p[32 + j]);
      a += p[40 + j] * h;
    }
    const force = a > 0 ? 10 : -10;
    const cos = Math.cos(th);
    const sin = Math.sin(th);
    const tmp = (force + 0.05 * w * w * sin) / 1.1;
    const thacc = (9.8 * sin - cos * tmp) / (0.5 * (4 / 3 - (0.1 * cos * cos) / 1.1));
    const xacc = tmp - (0.05 * thacc * cos) / 1.1;
    x += 0.02 * v;
    v += 0.02 * xacc;
    th += 0.02 * w;
    w += 0.02 * thacc;
    if (x < -2.4 || x > 2.4 || th < -0.2095 || th > 0.2095) return t + 1;
  }
  return t;
}

/** The mean return over `episodes` start states of `base`. */
export function score(p, base, episodes, maxSteps) {
  let total = 0;
  for (let e = 0; e < episodes; e++) total += episode(p, base + e, maxSteps);
  return total / episodes;
}

/**
 * A worker's share of one ES iteration: for each noise offset, the returns
 * of theta ± sigma·noise. Returns [offset, r+ - r-] pairs and the sum of all returns.
 */
export function evaluate(noise, theta, offsets, sigma, base, episodes, maxSteps) {
  const plus = new Float64Array(PARAMS);
  const minus = new Float64Array(PARAMS);
  const out = new Float64Array(2 * offsets.length);
  let sum = 0;
  offsets.forEach((off, k) => {
    for (let i = 0; i < PARAMS; i++) {
      plus[i] = theta[i] + sigma * noise[off + i];
      minus[i] = theta[i] - sigma * noise[off + i];
    }
    const rp = score(plus, base, episodes, maxSteps);
    const rm = score(minus, base, episodes, maxSteps);
    out[2 * k] = off;
    out[2 * k + 1] = rp - rm;
    sum += rp + rm;
  });
  return { pairs: out, sum };
}

/** Σ (r+ - r-)·noise over pairs: a partial gradient (unscaled). */
export function accumulate(noise, pairs, into = new Float64Array(PARAMS)) {
  for (let k = 0; k < pairs.length; k += 2) {
    const off = pairs[k];
    const d = pairs[k + 1];
    for (let i = 0; i < PARAMS; i++) into[i] += d * noise[off + i];
  }
  return into;
}
