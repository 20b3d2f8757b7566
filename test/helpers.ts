import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Driver, InitOptions } from "wray";
import { formatLog, init } from "wray";
import type { LogRecord } from "wray";

/** A log option that keeps each record as the line it prints as (formatLog). */
export function logInto(lines: string[]): (r: LogRecord) => void {
  return (r) => lines.push(formatLog(r));
}

/** Path of a built guest fixture (scripts/build-guests.mjs). */
export function guest(name: string): string {
  return fileURLToPath(new URL(`./guests/${name}/${name}.wasm`, import.meta.url));
}

/** Starts an embedded cluster for one test and always shuts it down. */
export async function withRay<T>(options: InitOptions, fn: (ray: Driver) => Promise<T>): Promise<T> {
  const ray = await init({ log: () => {}, ...options });
  try {
    return await fn(ray);
  } finally {
    await ray.shutdown();
  }
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Collects garbage and lets FinalizationRegistry callbacks run (they are
 * tasks of their own after a collection), so dropped ObjectRefs and views
 * release their objects.
 */
export async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Polls `cond` until it holds or `ms` pass; returns whether it held. */
export async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await collect();
  }
  return true;
}

/** C = A (n×k) · B (k×m), row-major, with bindings a, b, c and dims = [n, k, m]: the GPU tests' kernel. */
export const MATMUL_WGSL = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> dims: array<u32>;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let n = dims[0]; let k = dims[1]; let m = dims[2];
  if (id.y >= n || id.x >= m) { return; }
  var sum = 0.0;
  for (var i = 0u; i < k; i++) { sum += a[id.y * k + i] * b[i * m + id.x]; }
  c[id.y * m + id.x] = sum;
}`;

/** The CPU reference for MATMUL_WGSL. */
export function cpuMatmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float32Array {
  const c = new Float32Array(n * m);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += a[r * k + i]! * b[i * m + j]!;
      c[r * m + j] = s;
    }
  }
  return c;
}
