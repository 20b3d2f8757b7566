// PPO's GPU side: the policy's forward pass and its update as WGSL kernels
// on the host's GPU (WebGPU through Dawn; lavapipe where there is no GPU).
// sim.c's CpuPolicy is the same arithmetic on the CPU.
import { gpu } from "wray/guest";

/** Per hidden unit j: feat[4j..4j+2] are its input weights, feat[4j+3] its bias. */
const HEAD = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> feat: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
fn feature(j: u32, r: u32) -> f32 {
  return tanh(feat[4u * j] * x[3u * r] + feat[4u * j + 1u] * x[3u * r + 1u] + feat[4u * j + 2u] * x[3u * r + 2u] + feat[4u * j + 3u]);
}
fn mean(r: u32) -> f32 {
  var m = 0.0;
  for (var j = 0u; j < dims[1]; j++) { m += w[j] * feature(j, r); }
  return m;
}`;

/** mu[r]: the policy's mean action for row r. */
const FORWARD = `${HEAD}
@group(0) @binding(4) var<storage, read_write> mu: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < dims[0]) { mu[id.x] = mean(id.x); }
}`;

/** coef[r]: PPO's clipped surrogate gradient with respect to the mean, for row r. aoa holds action, old mean, advantage per row; p is [sigma², 1 - clip, 1 + clip, lr]. */
const COEF = `${HEAD}
@group(0) @binding(4) var<storage, read> aoa: array<f32>;
@group(0) @binding(5) var<storage, read_write> coef: array<f32>;
@group(0) @binding(6) var<storage, read> p: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  let r = id.x;
  if (r >= dims[0]) { return; }
  let a = aoa[3u * r]; let adv = aoa[3u * r + 2u];
  let d = a - mean(r); let d0 = a - aoa[3u * r + 1u];
  let ratio = exp((d0 * d0 - d * d) / (2.0 * p[0]));
  let clipped = (adv > 0.0 && ratio > p[2]) || (adv < 0.0 && ratio < p[1]);
  coef[r] = select(ratio * adv * d / p[0], 0.0, clipped);
}`;

/** w[j] += lr · mean over rows of coef[r] · feature_j(r). */
const STEP = `${HEAD}
@group(0) @binding(4) var<storage, read> coef: array<f32>;
@group(0) @binding(5) var<storage, read> p: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  let j = id.x;
  if (j >= dims[1]) { return; }
  var g = 0.0;
  for (var r = 0u; r < dims[0]; r++) { g += coef[r] * feature(j, r); }
  w[j] = w[j] + p[3] * g / f32(dims[0]);
}`;

const RECORD = 6;

export class GpuPolicy {
  #feat: ReturnType<typeof gpu.buffer>;
  #w: ReturnType<typeof gpu.buffer>;
  #hidden: number;
  #hyper: Float64Array;
  #forward = gpu.kernel(FORWARD);
  #coef = gpu.kernel(COEF);
  #step = gpu.kernel(STEP);

  constructor(w1: Float32Array, b1: Float32Array, w: Float32Array, hyper: Float64Array) {
    const h = b1.length;
    const feat = new Float32Array(4 * h);
    for (let j = 0; j < h; j++) {
      feat.set(w1.subarray(3 * j, 3 * j + 3), 4 * j);
      feat[4 * j + 3] = b1[j]!;
    }
    // the network stays on the device for the actor's life
    this.#feat = gpu.buffer(feat);
    this.#w = gpu.buffer(w);
    this.#hidden = h;
    this.#hyper = hyper;
  }

  adapter(): string {
    return gpu.adapter();
  }

  act(...states: Float64Array[]): Float32Array {
    let n = 0;
    for (const s of states) n += s.length / 2;
    const x = new Float32Array(3 * n);
    let r = 0;
    for (const s of states) {
      for (let e = 0; e < s.length; e += 2, r++) {
        x[3 * r] = Math.cos(s[e]!);
        x[3 * r + 1] = Math.sin(s[e]!);
        x[3 * r + 2] = s[e + 1]!;
      }
    }
    const xb = gpu.buffer(x);
    const dims = gpu.buffer(new Uint32Array([n, this.#hidden]));
    const mu = gpu.buffer(4 * n);
    this.#forward.dispatch([xb, this.#feat, this.#w, dims, mu], Math.ceil(n / 64));
    const out = mu.read(Float32Array);
    for (const b of [xb, dims, mu]) b.destroy();
    return out;
  }

  update(groups: number, ...records: Float32Array[]): number {
    const steps = records.length / groups;
    const envs = records[0]!.length / RECORD;
    const rows = groups * steps * envs;
    const [sigma, clip, lr, epochs, gamma] = this.#hyper as unknown as number[];
    const x = new Float32Array(3 * rows);
    const aoa = new Float32Array(3 * rows);
    const ret = new Float64Array(rows);
    let reward = 0;
    let r = 0;
    for (let g = 0; g < groups; g++) {
      for (let e = 0; e < envs; e++, r += steps) {
        let acc = 0;
        for (let t = steps - 1; t >= 0; t--) {
          const rec = records[g * steps + t]!;
          const o = e * RECORD;
          const row = r + t;
          x.set(rec.subarray(o, o + 3), 3 * row);
          aoa[3 * row] = rec[o + 3]!;
          aoa[3 * row + 1] = rec[o + 4]!;
          acc = rec[o + 5]! + gamma! * acc;
          reward += rec[o + 5]!;
          ret[row] = acc;
        }
      }
    }
    // the baseline: each step's returns are normalised among the environments at that step
    const trajectories = rows / steps;
    for (let t = 0; t < steps; t++) {
      let sum = 0;
      let sq = 0;
      for (let k = 0; k < trajectories; k++) {
        const v = ret[k * steps + t]!;
        sum += v;
        sq += v * v;
      }
      const mean = sum / trajectories;
      const sd = Math.sqrt(Math.max(sq / trajectories - mean * mean, 0)) + 1e-6;
      for (let k = 0; k < trajectories; k++) aoa[3 * (k * steps + t) + 2] = (ret[k * steps + t]! - mean) / sd;
    }
    const bufs = {
      x: gpu.buffer(x),
      aoa: gpu.buffer(aoa),
      coef: gpu.buffer(4 * rows),
      dims: gpu.buffer(new Uint32Array([rows, this.#hidden])),
      p: gpu.buffer(new Float32Array([sigma! * sigma!, 1 - clip!, 1 + clip!, lr!])),
    };
    for (let ep = 0; ep < epochs!; ep++) {
      this.#coef.dispatch([bufs.x, this.#feat, this.#w, bufs.dims, bufs.aoa, bufs.coef, bufs.p], Math.ceil(rows / 64));
      this.#step.dispatch([bufs.x, this.#feat, this.#w, bufs.dims, bufs.coef, bufs.p], Math.ceil(this.#hidden / 64));
    }
    for (const b of Object.values(bufs)) b.destroy();
    return reward / rows;
  }
}
