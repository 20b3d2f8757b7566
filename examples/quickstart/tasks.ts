// Tasks for the quickstart: every exported function is a task.
import { get } from "wray/guest";

export function add(a: number, b: number): number {
  return a + b;
}

/** Nested tasks: fib submits fib, and waits for its children with get(). */
export function fib(n: number): number {
  if (n < 2) return n;
  const [x, y] = get([fib.remote(n - 1), fib.remote(n - 2)]);
  return x + y;
}

/** Sums the bytes of a (large) object; pass an ObjectRef and it arrives as its value. */
export function checksum(data: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i += 4096) s = (s + data[i]!) | 0;
  return s;
}
