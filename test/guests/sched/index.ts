// Tasks for the scheduler's tests: short ones, long ones, runaway ones, and
// an actor that holds a custom resource for life.

/** Busy for `ms` milliseconds (a guest has no timers), then returns `tag`. */
export function busy(ms: number, tag: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
  return tag;
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
