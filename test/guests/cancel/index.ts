// The cancel tests' guest: tasks that loop (polling cancelled(), or not at
// all), that submit and wait on children, that cancel other tasks, and an
// actor whose calls record what ran.
import type { ObjectRef } from "wray/guest";
import { cancel, cancelled, get, getActor, remote } from "wray/guest";

const now = (): number => Date.now();

/** Never returns, and never looks at cancelled(): only a forced cancel ends it. */
export function spin(): number {
  let i = 0;
  for (;;) i = (i + 1) | 0;
}

/** Loops until it is cancelled, then returns how long it ran (its result fails with the cancel anyway). */
export function poll(): number {
  const t0 = now();
  while (!cancelled()) {
    // busy
  }
  console.log(`poll saw its cancel after ${(now() - t0).toFixed(0)} ms`);
  return now() - t0;
}

/** Busy for `ms`, then returns `x`. */
export function busy(ms: number, x: unknown): unknown {
  const end = now() + ms;
  while (now() < end) {
    // busy
  }
  return x;
}

/** Submits `n` polling children and waits for them (a get that a cancel ends). */
export function parent(n: number): number {
  const children: ObjectRef<number>[] = [];
  for (let i = 0; i < n; i++) children.push(remote(poll));
  console.log(`parent submitted ${n} children`);
  get(children);
  return n;
}

/** Cancels the task behind the first ref, then reports whether its own task was cancelled (false). */
export function canceller(refs: ObjectRef[], force: boolean): boolean {
  cancel(refs[0]!, { force });
  return cancelled();
}

/** Returns `x`. */
export function echo(x: unknown): unknown {
  return x;
}

/** An actor whose calls say what ran, in order. */
export class Recorder {
  ran: string[] = [];
  /** Busy for `ms`, then records `tag`. */
  work(tag: string, ms: number): string {
    const end = now() + ms;
    while (now() < end && !cancelled()) {
      // busy
    }
    this.ran.push(cancelled() ? `${tag} (cancelled)` : tag);
    return tag;
  }
  /** Loops until this call is cancelled. */
  poll(): string {
    while (!cancelled()) {
      // busy
    }
    this.ran.push("poll (cancelled)");
    return "stopped";
  }
  log(): string[] {
    return this.ran;
  }
  /** Calls itself (registered as `name`) and waits for that call: a deadlock unless calls may interleave. */
  selfGet(name: string): string {
    return get(getActor<Recorder>(name).work.remote("inner", 0));
  }
}
