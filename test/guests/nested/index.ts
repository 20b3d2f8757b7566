// Tasks that submit tasks and wait for them inside the sandbox.
import { get, put, remote, wait } from "wray/guest";

export function fib(n: number): number {
  if (n < 2) return n;
  const [a, b] = get([fib.remote(n - 1), fib.remote(n - 2)]);
  return a + b;
}

export function square(x: number): number {
  return x * x;
}

/** Fan out n children and sum them. */
export function sumOfSquares(n: number): number {
  const refs = [];
  for (let i = 0; i < n; i++) refs.push(remote(square, i));
  return get(refs).reduce((s, x) => s + x, 0);
}

export function sleepy(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: a guest has no timers
  }
  return ms;
}

/** wait() inside a guest: how many of [fast, slow] are ready quickly? */
export function waitInside(): { ready: number; pending: number } {
  const fast = remote(square, 3);
  const slow = remote(sleepy, 400);
  const r = wait([fast, slow], { numReturns: 1, timeoutMs: 5000 });
  return { ready: r.ready.length, pending: r.pending.length };
}

/** get() with a timeout inside a guest. */
export function getWithTimeout(ms: number): string {
  const slow = remote(sleepy, 2000);
  try {
    get(slow, { timeoutMs: ms });
    return "no timeout";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** Passes a ref made inside the guest to a child task. */
export function chain(x: number): number {
  const r = put(x);
  return get(remote(square, r as unknown as number));
}

/** Waits for a child with a deadline: it is never lent work, so it parks and its CPU goes elsewhere. */
export function parentWithDeadline(ms: number): number {
  return get(remote(sleepy, ms), { timeoutMs: 60_000 });
}

/** Submits square with one argument too many, catches the refusal and reports it. */
export function tooManyArgs(): string {
  try {
    (square.remote as unknown as (...a: number[]) => unknown)(1, 2);
    return "submitted";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}
