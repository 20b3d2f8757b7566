// Tasks for the microbenchmarks (bench/run.mjs).
export function noop(): void {}

export function add(a: number, b: number): number {
  return a + b;
}

export function size(b: Uint8Array): number {
  return b.length;
}
