// The async guests' fixture: async tasks that await ObjectRefs (and
// getAsync/waitAsync), and an actor whose methods are async.
import type { ObjectRef } from "wray/guest";
import { getActor, getAsync, remote, waitAsync } from "wray/guest";

const now = (): number => Date.now();

/** Busy for `ms`, then returns `x`. */
export function slow(x: number, ms: number): number {
  const end = now() + ms;
  while (now() < end) {
    // busy
  }
  return x;
}

/** Submits two children and awaits them (an ObjectRef is awaitable). */
export async function sumOfTwo(a: number, b: number): Promise<number> {
  const ra = remote(slow, a, 50);
  const rb = remote(slow, b, 10);
  const x = await ra;
  const y = await rb;
  return x + y;
}

/**
 * Awaits all of them together, and the first one ready: the last is
 * finished before the others start, and they run for seconds, so it is
 * first whatever the machine's load (a race of short busy loops is not).
 */
export async function gather(xs: number[]): Promise<{ all: number[]; first: number }> {
  const last = remote(slow, xs[xs.length - 1]!, 0);
  await last;
  const refs = [...xs.slice(0, -1).map((x) => remote(slow, x, 2000)), last];
  const { ready } = await waitAsync(refs, { numReturns: 1 });
  const first = await ready[0]!;
  const all = (await getAsync(refs)) as number[];
  return { all, first };
}

/** An awaited child's failure is thrown at the await, and can be caught. */
export async function catches(): Promise<string> {
  try {
    await remote(boom);
    return "no error";
  } catch (e) {
    return `caught: ${(e as Error).message}`;
  }
}

export function boom(): number {
  throw new RangeError("boom in a child");
}

/** Awaits with a timeout that passes. */
export async function timesOut(): Promise<string> {
  try {
    await getAsync(remote(slow, 1, 2000), { timeoutMs: 50 });
    return "in time";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** An async task that awaits nothing. */
export async function immediate(x: number): Promise<number> {
  return x * 2;
}

/** An actor with async methods: each awaits a child, and the calls keep their order. */
export class Accumulator {
  total = 0;
  log: string[] = [];
  async add(x: number): Promise<number> {
    const v = (await remote(slow, x, 5)) as number;
    this.total += v;
    this.log.push(`add ${x}`);
    return this.total;
  }
  /** Logs its start, awaits a child that takes `ms`, logs its end. */
  async step(tag: string, ms: number): Promise<string> {
    this.log.push(`start ${tag}`);
    await remote(slow, 0, ms);
    this.log.push(`end ${tag}`);
    return tag;
  }
  /** Awaits a call to itself (registered as `name`), queued behind this one. */
  async selfAwait(name: string): Promise<number> {
    return (await getActor<Accumulator>(name).add.remote(1)) as number;
  }
  read(): { total: number; log: string[] } {
    return { total: this.total, log: this.log };
  }
  /** Returns a ref inside an array (an async function's returned ref would be awaited, as JavaScript awaits what a promise resolves to). */
  async child(x: number): Promise<ObjectRef[]> {
    return [remote(slow, x, 1)];
  }
}

/** Awaits a child that takes `ms`; returns how it ended. */
export async function awaitsLong(ms: number): Promise<string> {
  console.log("awaitsLong: awaiting");
  try {
    await remote(slow, 1, ms);
    return "finished";
  } catch (e) {
    console.log(`awaitsLong: ${(e as { code?: string }).code}`);
    throw e;
  }
}
