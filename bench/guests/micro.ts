import { get, gpu } from "wray/guest";
// Tasks for the microbenchmarks (bench/run.mjs).
export function noop(): void {}

export function add(a: number, b: number): number {
  return a + b;
}

/** Nested tasks: each call submits two and waits for both (fib rows). */
export function fib(n: number): number {
  if (n < 2) return n;
  const [a, b] = get([fib.remote(n - 1), fib.remote(n - 2)]);
  return a + b;
}

export function size(b: Uint8Array): number {
  return b.length;
}

/** An actor whose methods do nothing: the cost of a call. */
export class Sink {
  noop(): void {}
  echo(x: unknown): unknown {
    return x;
  }
}

/** n:n rows: a task that makes `m` calls to its actor and waits for them. */
export function caller(h: { noop: { remote(): unknown }; echo: { remote(x: unknown): unknown } }, m: number, arg: unknown): number {
  const refs = [];
  for (let i = 0; i < m; i++) refs.push(arg === null ? h.noop.remote() : h.echo.remote(arg));
  get(refs as never);
  return m;
}

/** `n` zero bytes: a large result made without a loop in the interpreter (cross-host get gigabytes). */
export function zeros(n: number): Uint8Array {
  return new Uint8Array(n);
}

const BUMP = `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(1) fn main() { a[0] = a[0] + 1.0; }`;

/** gpu dispatch overhead: `n` round trips of a one-thread kernel (dispatch, then read 4 bytes back). */
export function gpuRoundTrips(n: number): number {
  const b = gpu.buffer(new Float32Array(1));
  const k = gpu.kernel(BUMP);
  let x = 0;
  for (let i = 0; i < n; i++) {
    k.dispatch([b], 1);
    x = b.read(Float32Array)[0]!;
  }
  return x;
}

/** One link of a chain (recovery rows): a copy of `data` marked with `i`, and `i` (a small result that reaches the owner at once). */
export function chainStep(data: Uint8Array, i: number): [Uint8Array, number] {
  const out = data.slice();
  out[0] = i & 255;
  out[1] = (i >> 8) & 255;
  return [out, i];
}
