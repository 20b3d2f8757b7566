// The guest conformance behaviours (test/conformance.test.ts), in TypeScript on QuickJS.
import { get } from "wray/guest";

export function echo(x: unknown): unknown {
  return x;
}

export function add(a: number, b: number): number {
  if (typeof a !== "number" || typeof b !== "number") throw new TypeError("add(a, b) takes two numbers");
  return a + b;
}

export function fail(message: string): never {
  throw new Error(message);
}

/** Traps: the engine's own clock is stubbed out of the sandbox and reaches `unreachable`. */
export function trap(): number {
  const RealDate = Date.prototype.constructor as DateConstructor;
  return RealDate.now();
}

export function square(x: number): number {
  return x * x;
}

export function sumSquares(n: number): number {
  const refs = [];
  for (let i = 0; i < n; i++) refs.push(square.remote(i));
  return get(refs).reduce((a: number, b: number) => a + b, 0);
}

/** tally(map, set, buffer): [map.size, sum of its values, set.size, sum of it, buffer bytes, sum of them] */
export function tally(m: Map<unknown, number>, s: Set<number>, b: ArrayBuffer): number[] {
  let mv = 0;
  for (const v of m.values()) mv += v;
  let sv = 0;
  for (const v of s) sv += v;
  const bytes = new Uint8Array(b);
  let bv = 0;
  for (let i = 0; i < bytes.length; i++) bv += bytes[i]!;
  return [m.size, mv, s.size, sv, bytes.length, bv];
}

/** collections(n): [Map of "k<i>" -> i, Set of 0..n-1, ArrayBuffer of bytes i & 255], for i < n */
export function collections(n: number): [Map<string, number>, Set<number>, ArrayBuffer] {
  const m = new Map<string, number>();
  const s = new Set<number>();
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    m.set(`k${i}`, i);
    s.add(i);
    b[i] = i & 255;
  }
  return [m, s, b.buffer];
}

export class Counter {
  value: number;
  constructor(start = 0) {
    this.value = start;
  }
  incr(by = 1): number {
    this.value += by;
    return this.value;
  }
  get(): number {
    return this.value;
  }
}
