// The jobs tests' guest: entry tasks a job runs (test/host/jobs.cluster.test.ts).
// `main` logs, runs a nested task and returns a value; `fails` throws from a
// named function (its stack names it); `hold` makes an actor, an object and
// two children that poll until they are cancelled, and never returns on its
// own.
import type { ObjectRef } from "wray/guest";
import { cancelled, createActorWith, get, put } from "wray/guest";

export function add(a: number, b: number): number {
  console.log(`adding ${a} and ${b}`);
  return a + b;
}

/** The entry of a job that succeeds: `{ sum: a + b, words }`, through a nested task. */
export function main(a: number, b: number, ...words: string[]): { sum: number; words: string[] } {
  console.log(`main started with ${a} and ${b}`);
  const sum = get(add.remote(a, b));
  console.warn(`main got ${sum}`);
  return { sum, words };
}

function explode(why: string): never {
  throw new RangeError(`exploded on purpose: ${why}`);
}

/** The entry of a job that fails: a RangeError thrown from explode(). */
export function fails(why: string): number {
  console.log("about to fail");
  return explode(why);
}

/** Loops until it is cancelled. */
export function poll(tag: string): number {
  console.log(`poll ${tag} running`);
  while (!cancelled()) {
    // busy
  }
  return 0;
}

export class Keeper {
  private held: ObjectRef<Uint8Array> | undefined;
  keep(ref: ObjectRef<Uint8Array>[]): number {
    this.held = ref[0];
    return get(this.held!).length;
  }
}

/** The entry of a job that runs until stopped: an actor named `keeper-<tag>`, an object it holds, and two polling children. */
export function hold(tag: string): number {
  const keeper = createActorWith(Keeper, { name: `keeper-${tag}` });
  const data = put(new Uint8Array(1 << 20).fill(7));
  console.log(`hold ${tag}: keeper holds ${get(keeper.keep.remote([data]))} bytes`);
  const children = [poll.remote(`${tag}-a`), poll.remote(`${tag}-b`)];
  get(children);
  return 1;
}

/** The entry of a job that returns at once, leaving two polling children it never waits for. */
export function leave(tag: string): string {
  poll.remote(`${tag}-a`);
  poll.remote(`${tag}-b`);
  console.log(`leave ${tag}: children submitted`);
  return tag;
}
