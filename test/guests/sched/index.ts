// Tasks for the scheduler's tests: short ones, long ones, runaway ones, and
// an actor that holds a custom resource for life.
import { get } from "wray/guest";

/** Busy for `ms` milliseconds (a guest has no timers), then returns `tag`. */
export function busy(ms: number, tag: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
  return tag;
}

/**
 * Submits a long child and a short one, then waits for the long one first:
 * its isolate parks while the long child runs elsewhere, with the short one
 * queued (work of its own it can run meanwhile, without a new isolate).
 */
export function parentOfLong(ms: number): number {
  const long = busy.remote(ms, 1);
  const short = busy.remote(1, 2);
  return get(long) + get(short);
}

/** Never returns. */
export function forever(): number {
  let i = 0;
  for (;;) i = (i + 1) | 0;
}

export function add(a: number, b: number): number {
  return a + b;
}

/** Holds whatever resources it was created with, for life. */
export class Holder {
  ping(): string {
    return "pong";
  }
}
