// A parameter server (paper §5.1's building block): workers pull the
// weights, compute a gradient on a minibatch, and push it back.
// Synthetic linear regression: y = x·w* + noise, squared loss.
import type { Actor } from "wray/guest";
import { get } from "wray/guest";

export class ParameterServer {
  private weights: Float64Array;
  private updates = 0;
  constructor(dim: number) {
    this.weights = new Float64Array(dim);
  }
  get(): Float64Array {
    return this.weights;
  }
  /** Applies one gradient step; returns how many updates it has seen. */
  update(grad: Float64Array, lr: number): number {
    const w = this.weights;
    for (let i = 0; i < w.length; i++) w[i]! -= lr * grad[i]!;
    return ++this.updates;
  }
}

/** The ground truth the data is made from: w*[i] = sin(i). */
export function truth(dim: number): Float64Array {
  const w = new Float64Array(dim);
  for (let i = 0; i < dim; i++) w[i] = Math.sin(i);
  return w;
}

/** A small deterministic PRNG, so every run sees the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
}

/** The gradient of the mean squared error on one minibatch. */
export function gradient(w: Float64Array, wStar: Float64Array, batch: number, seed: number): Float64Array {
  const dim = w.length;
  const r = rng(seed);
  const g = new Float64Array(dim);
  const x = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    let pred = 0;
    let y = 0;
    for (let i = 0; i < dim; i++) {
      const v = r();
      x[i] = v;
      pred += v * w[i]!;
      y += v * wStar[i]!;
    }
    const err = (pred - y) / batch;
    for (let i = 0; i < dim; i++) g[i]! += 2 * err * x[i]!;
  }
  return g;
}

/** One worker: `steps` rounds of pull, compute, push. */
export function worker(ps: Actor<ParameterServer>, id: number, steps: number, batch: number, lr: number): number {
  const w0 = get(ps.get.remote());
  const wStar = truth(w0.length);
  let seen = 0;
  for (let s = 0; s < steps; s++) {
    const w = get(ps.get.remote());
    seen = get(ps.update.remote(gradient(w, wStar, batch, id * 1_000_003 + s), lr));
  }
  return seen;
}
