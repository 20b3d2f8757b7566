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
