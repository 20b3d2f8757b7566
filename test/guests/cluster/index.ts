// The cluster tests' guest: tasks that say where they ran (their host's
// log), large values, gets of refs made on other nodes, and an actor that
// guests call across nodes.
import type { Actor, ObjectRef } from "wray/guest";
import { createActorWith, get, put } from "wray/guest";

/** Logs `ran <tag>` (the line lands in the log of the host that ran it) and returns the tag. */
export function where(tag: string): string {
  console.log(`ran ${tag}`);
  return tag;
}

/** FNV-1a over every byte, with the length folded in. */
export function digest(data: Uint8Array): number {
  let h = 0x811c9dc5 ^ data.length;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/** Byte i is (seed + i * 7) & 255. */
export function makeBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7) & 255;
  return b;
}

/** Its argument, as a value made on the node that ran it. */
export function echo<T>(v: T): T {
  return v;
}

/** Digests its argument and says where it ran. */
export function digestAt(data: Uint8Array, tag: string): number {
  console.log(`ran ${tag}`);
  return digest(data);
}

/** Gets a ref made elsewhere (nested, so the guest's get fetches it) and digests it. */
export function digestRef(list: ObjectRef<Uint8Array>[]): number {
  return digest(get(list[0]!));
}

/** put() inside the guest; the ref travels back in the result. */
export function putBytes(n: number, seed: number): { ref: ObjectRef<Uint8Array> } {
  return { ref: put(makeBytes(n, seed)) };
}

/** Busy for `ms` (a guest has no timers), then says where it ran. */
export function sleepy(ms: number, tag: string): string {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
  console.log(`ran ${tag}`);
  return tag;
}

export class Counter {
  private value: number;
  constructor(start: number) {
    this.value = start;
  }
  inc(by = 1): number {
    this.value += by;
    return this.value;
  }
  read(): number {
    return this.value;
  }
  /** Busy for `ms`, then adds 1: a call still running when its node dies. */
  slowInc(ms: number): number {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // busy
    }
    this.value += 1;
    return this.value;
  }
  /** Logs `text` as a warning (it reaches the driver that made the actor) and returns the value. */
  say(text: string): number {
    console.warn(text);
    return this.value;
  }
}

/** Submits `where(tag)` from inside the sandbox and waits for it: the child's log line is the driver's too. */
export function relay(tag: string): string {
  console.log(`relaying ${tag}`);
  return get(where.remote(tag));
}

/** A task that calls an actor it was handed (the actor may be on another node). */
export function bump(c: Actor<Counter>, times: number): number {
  let last = 0;
  for (let i = 0; i < times; i++) last = get(c.inc.remote(1));
  return last;
}

/** Busy for `ms`, then creates an actor named `name`: by then the driver that ran this may have left. */
export function spawnLater(ms: number, name: string): string {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
  createActorWith(Counter, { name }, 0);
  return name;
}

/** Each byte of `data` XOR `k`, logged as `xor <tag>`: a large result made from a large argument (a chain to rebuild). */
export function xorBytes(data: Uint8Array, k: number, tag: string): Uint8Array {
  console.log(`xor ${tag}`);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ k;
  return out;
}

/** Counts its runs on `c` and throws a RangeError until the count passes `failures` (retryExceptions' test). */
export function failsUntil(c: Actor<Counter>, failures: number): number {
  const n = get(c.inc.remote(1));
  if (n <= failures) throw new RangeError(`run ${n} fails`);
  return n;
}
