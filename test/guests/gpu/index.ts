// GPU kernels from a guest: the WIT `gpu` interface through wray/guest.
import { GpuError, ObjectRef, get, gpu } from "wray/guest";

const SCALE = `
@group(0) @binding(0) var<storage, read_write> xs: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&xs)) { xs[id.x] = xs[id.x] * k[0]; }
}`;

/** C = A (n×k) · B (k×m), row-major; dims = [n, k, m]. */
export const MATMUL = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let n = dims[0]; let k = dims[1]; let m = dims[2];
  let row = id.y; let col = id.x;
  if (row >= n || col >= m) { return; }
  var sum = 0.0;
  for (var i = 0u; i < k; i++) { sum += a[row * k + i] * b[i * m + col]; }
  c[row * m + col] = sum;
}`;

export function adapter(): string {
  return gpu.adapter();
}

export function available(): boolean {
  return gpu.available();
}

export function scale(xs: Float32Array, k: number): Float32Array {
  const b = gpu.buffer(xs);
  gpu.kernel(SCALE).dispatch([b, gpu.buffer(new Float32Array([k]))], Math.ceil(xs.length / 64));
  return b.read(Float32Array, 0, xs.length * 4);
}

export function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float32Array {
  const c = gpu.buffer(n * m * 4);
  gpu.kernel(MATMUL).dispatch([gpu.buffer(a), gpu.buffer(b), c, gpu.buffer(new Uint32Array([n, k, m]))], Math.ceil(m / 8), Math.ceil(n / 8));
  return c.read(Float32Array);
}

/** Scales the typed array an object holds, read straight from the store; returns the result as a new object. */
export function scaleObject(refs: ObjectRef<Float32Array>[], k: number): ObjectRef<Float32Array>[] {
  const b = gpu.buffer(refs[0]!);
  gpu.kernel(SCALE).dispatch([b, gpu.buffer(new Float32Array([k]))], Math.ceil(b.read().length / 4 / 64));
  return [b.readObject(Float32Array)];
}

/** Writes, reads part of a buffer back, and frees it. */
export function partial(): number[] {
  const b = gpu.buffer(16);
  b.write(new Uint32Array([7, 8]), 8);
  const out = Array.from(b.read(Uint32Array));
  const tail = Array.from(b.read(Uint32Array, 8, 4));
  b.destroy();
  let freed = "";
  try {
    b.read();
  } catch (e) {
    freed = (e as GpuError).code;
  }
  return [...out, ...tail, freed === "WRAY_GPU_BAD_ARGUMENT" ? 1 : 0];
}

/** A shader with an error on line 4: left uncaught, the task fails with it. */
export function badShader(): number {
  gpu.kernel("@compute @workgroup_size(1)\nfn main() {\n  var x: f32 = 1.0;\n  x = undefined_thing;\n}");
  return 0;
}

/** The same, caught in the guest. */
export function catchBadShader(): { code: string; name: string; message: string } {
  try {
    gpu.kernel("@compute @workgroup_size(1)\nfn main() {\n  var x: f32 = 1.0;\n  x = undefined_thing;\n}");
    return { code: "", name: "", message: "compiled" };
  } catch (e) {
    const g = e as GpuError;
    return { code: g.code, name: g.name, message: g.message };
  }
}

/** A dispatch whose bindings do not match the kernel. */
export function badBindings(): string {
  try {
    gpu.kernel(SCALE).dispatch([gpu.buffer(16)], 1);
    return "dispatched";
  } catch (e) {
    return (e as GpuError).code;
  }
}

/** Holds the GPU for `ms` (with a kernel, so the device is really used); returns [start, end] wall times. */
export function hold(ms: number): number[] {
  const start = Date.now();
  const b = gpu.buffer(new Float32Array(64));
  const k = gpu.kernel(SCALE);
  const two = gpu.buffer(new Float32Array([2]));
  while (Date.now() - start < ms) k.dispatch([b, two], 1);
  return [start, Date.now()];
}

/** A policy that keeps its weights on the GPU between calls. */
export class Policy {
  #w: ReturnType<typeof gpu.buffer>;
  #dims: [number, number];
  constructor(weights: Float32Array, inputs: number, outputs: number) {
    this.#w = gpu.buffer(weights);
    this.#dims = [inputs, outputs];
  }
  /** obs: batch × inputs → batch × outputs */
  evaluate(obs: Float32Array): Float32Array {
    const [k, m] = this.#dims;
    const n = obs.length / k;
    const out = gpu.buffer(n * m * 4);
    gpu.kernel(MATMUL).dispatch([gpu.buffer(obs), this.#w, out, gpu.buffer(new Uint32Array([n, k, m]))], Math.ceil(m / 8), Math.ceil(n / 8));
    const r = out.read(Float32Array);
    out.destroy();
    return r;
  }
}

/** Gets a value first, then uploads it (a ref passed nested). */
export function sumOfRef(refs: ObjectRef<Float32Array>[]): number {
  const xs = get(refs[0]!);
  const back = gpu.buffer(xs).read(Float32Array);
  let s = 0;
  for (const x of back) s += x;
  return s;
}
