// The utilities' guest: a worker actor for ActorPool tests, and a task
// that uses an ActorPool inside the sandbox.
import type { Actor } from "wray/guest";
import { ActorPool, createActor } from "wray/guest";

/** A pool worker: `double` busies itself for `ms`, then returns 2x; `fail` throws. */
export class Worker {
  calls = 0;
  double(x: number, ms = 0): number {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // busy
    }
    this.calls++;
    return 2 * x;
  }
  fail(message: string): never {
    this.calls++;
    throw new RangeError(message);
  }
  count(): number {
    return this.calls;
  }
}

/** Doubles `xs` on a pool of `n` workers: in order, and as they finish (the first value is the slowest). */
export function poolMap(xs: number[], n: number): { ordered: number[]; unordered: number[] } {
  const actors: Actor<Worker>[] = [];
  for (let i = 0; i < n; i++) actors.push(createActor(Worker));
  const pool = new ActorPool(actors);
  const ordered = [...pool.map((a, x: number) => a.double.remote(x, x === xs[0] ? 1000 : 0), xs)] as number[];
  const unordered = [...pool.mapUnordered((a, x: number) => a.double.remote(x, x === xs[0] ? 1000 : 0), xs)] as number[];
  return { ordered, unordered };
}
