// The paper's RL pattern (option 3, "policy evaluation on GPU"): simulators
// run as CPU tasks, and a policy actor evaluates each batch of their
// observations with a WGSL matrix multiply on the host's GPU. CpuPolicy is
// the same policy in plain guest code, for comparison.
import { gpu } from "wray/guest";

/** actions = tanh(obs · W): obs is batch × inputs, W is inputs × outputs (row-major). */
const POLICY = `
@group(0) @binding(0) var<storage, read> obs: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> act: array<f32>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let n = dims[0]; let k = dims[1]; let m = dims[2];
  if (id.y >= n || id.x >= m) { return; }
  var sum = 0.0;
  for (var i = 0u; i < k; i++) { sum += obs[id.y * k + i] * w[i * m + id.x]; }
  act[id.y * m + id.x] = tanh(sum);
}`;

/** A deterministic toy simulator: `steps` observations of a damped oscillator field. */
export function simulate(seed: number, steps: number, inputs: number): Float32Array {
  const out = new Float32Array(steps * inputs);
  let s = seed >>> 0 || 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Float32Array.from({ length: inputs }, rand);
  const v = new Float32Array(inputs);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < inputs; i++) {
      v[i] = 0.98 * v[i]! - 0.05 * x[i]! + 0.01 * rand();
      x[i] = x[i]! + v[i]!;
      out[t * inputs + i] = x[i]!;
    }
  }
  return out;
}

export class GpuPolicy {
  #w: ReturnType<typeof gpu.buffer>;
  #inputs: number;
  #outputs: number;
  constructor(weights: Float32Array, inputs: number, outputs: number) {
    // the weights stay on the device for the actor's life
    this.#w = gpu.buffer(weights);
    this.#inputs = inputs;
    this.#outputs = outputs;
  }
  adapter(): string {
    return gpu.adapter();
  }
  evaluate(obs: Float32Array): Float32Array {
    const n = obs.length / this.#inputs;
    const act = gpu.buffer(n * this.#outputs * 4);
    const bufs = [gpu.buffer(obs), this.#w, act, gpu.buffer(new Uint32Array([n, this.#inputs, this.#outputs]))];
    gpu.kernel(POLICY).dispatch(bufs, Math.ceil(this.#outputs / 8), Math.ceil(n / 8));
    const out = act.read(Float32Array);
    for (const b of bufs) if (b !== this.#w) b.destroy();
    return out;
  }
}

export class CpuPolicy {
  #w: Float32Array;
  #inputs: number;
  #outputs: number;
  constructor(weights: Float32Array, inputs: number, outputs: number) {
    this.#w = weights;
    this.#inputs = inputs;
    this.#outputs = outputs;
  }
  evaluate(obs: Float32Array): Float32Array {
    const k = this.#inputs;
    const m = this.#outputs;
    const n = obs.length / k;
    const w = this.#w;
    const act = new Float32Array(n * m);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < m; j++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += obs[r * k + i]! * w[i * m + j]!;
        act[r * m + j] = Math.tanh(sum);
      }
    }
    return act;
  }
}
