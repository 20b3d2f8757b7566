// Values in and out: echo, arithmetic, several returns, objects, refs.
import { ObjectRef, get, put } from "wray/guest";

export function echo<T>(v: T): T {
  return v;
}

export function add(a: number, b: number): number {
  return a + b;
}

/** Three returns: use with numReturns: 3. */
export function divmod(a: number, b: number): [number, number, string] {
  return [Math.floor(a / b), a % b, `${a}/${b}`];
}

/** Sums every `stride`-th byte (large objects arrive as values; an interpreter sums 64 MiB slowly). */
export function sumBytes(data: Uint8Array, stride = 1): number {
  let s = 0;
  for (let i = 0; i < data.length; i += stride) s += data[i]!;
  return s;
}

/** A value bigger than the inline limit, made inside the guest. */
export function makeBytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

/** Nested refs stay refs: report what arrived. */
export function describeArg(v: unknown): string {
  if (v instanceof ObjectRef) return "ref";
  if (Array.isArray(v)) return `array of ${v.map((x) => (x instanceof ObjectRef ? "ref" : typeof x)).join(",")}`;
  return typeof v;
}

/** Reads a nested ref itself. */
export function derefFirst(list: ObjectRef<number>[]): number {
  return get(list[0]!) * 10;
}

/** put() inside a guest, returning the ref inside a value. */
export function putAndReturnRef(v: number): { ref: ObjectRef<number> } {
  return { ref: put(v * 2) };
}

export function typed(a: Float64Array, b: Int32Array): { sum: number; out: Float32Array } {
  let sum = 0;
  for (const x of a) sum += x;
  for (const x of b) sum += x;
  return { sum, out: Float32Array.from([sum, -sum]) };
}

export function logSomething(msg: string): number {
  console.log(`guest says: ${msg}`);
  return msg.length;
}

export function clockAndRandom(): { now: number; perf: number; r1: number; r2: number } {
  return { now: Date.now(), perf: performance.now(), r1: Math.random(), r2: Math.random() };
}

/** The length of a string argument (large strings: decoding them must be proportional to their bytes). */
export function strlen(s: string): number {
  return s.length;
}
