// Large objects through tasks: sums that prove the bytes arrived, results
// larger than the inline limit, gets inside the guest, and a task that
// stays running (holding its arguments) until another task finishes.
import { ObjectRef, get, put } from "wray/guest";

/** FNV-1a over every `stride`-th byte, with the length folded in. */
export function digest(data: Uint8Array, stride = 1): number {
  let h = 0x811c9dc5 ^ data.length;
  for (let i = 0; i < data.length; i += stride) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/** A value bigger than the inline limit, made inside the guest: byte i is (seed + i * 7) & 255. */
export function makeBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7) & 255;
  return b;
}

/** put() of a large value inside the guest; returns its ref in a value. */
export function putBytes(n: number, seed: number): { ref: ObjectRef<Uint8Array> } {
  return { ref: put(makeBytes(n, seed)) };
}

/** Reads a nested ref inside the guest and digests it. */
export function digestRef(list: ObjectRef<Uint8Array>[], stride = 1): number {
  return digest(get(list[0]!), stride);
}

/** Waits for `gate` (a nested ref) before digesting `data`: it stays running, holding its argument. */
export function digestAfter(data: Uint8Array, gate: ObjectRef<number>[], stride = 1): number {
  get(gate[0]!);
  return digest(data, stride);
}

/** Gets a nested ref, then waits for `gate` before digesting what it got. */
export function getThenWait(list: ObjectRef<Uint8Array>[], gate: ObjectRef<number>[], stride = 1): number {
  const data = get(list[0]!);
  get(gate[0]!);
  return digest(data, stride);
}

export function sleepy(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: a guest has no timers
  }
  return ms;
}
