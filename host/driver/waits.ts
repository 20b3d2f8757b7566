/**
 * The driver's waits for objects (`get`, `wait`): a short spin that polls
 * the isolates when a result is microseconds away, then a promise resolved
 * by the seals, with the process kept alive meanwhile (isolates do not
 * hold it) and every wait failed at shutdown.
 */
import type { ObjectEntry } from "../../store/index.js";
import { GetTimeoutError, PENDING, unwatch, watch } from "../../store/index.js";

/** What waits use of the node: its isolates, to poll while spinning. */
export interface PolledNode {
  expectingSoon(): boolean;
  poll(): number;
  readonly pool: { spin(done: () => boolean, ms: number): void };
}

export class Waits {
  readonly #node: PolledNode;
  readonly #spinMs: number;
  #waiting = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Rejecters of gets and waits in progress, failed at shutdown. */
  readonly #pending = new Set<(e: Error) => void>();

  constructor(node: PolledNode, spinMs: number) {
    this.#node = node;
    this.#spinMs = spinMs;
  }

  /**
   * Resolves once `need` of the entries are sealed. Spins (polling the
   * isolates) for a moment first: a result that is microseconds away is
   * then picked up without a thread wake-up.
   */
  async until(entries: ObjectEntry[], need: number, timeoutMs: number, fetchLocal = true): Promise<void> {
    if (!fetchLocal) return this.#located(entries, need, timeoutMs);
    let ready = 0;
    for (const e of entries) if (e.state !== PENDING) ready++;
    if (ready >= need) return;
    let remaining = need - ready;
    let done: (() => void) | undefined;
    const onSealed = () => {
      if (--remaining === 0) done?.();
    };
    const watched: ObjectEntry[] = [];
    for (const e of entries) {
      if (e.state !== PENDING) continue;
      // on another node: bring it here (a demand may seal it at once, failed: then it is not watched)
      if (e.remote !== undefined) e.store.demand(e);
      if (e.state === PENDING) {
        watch(e, onSealed);
        watched.push(e);
      } else remaining--;
    }
    if (remaining <= 0) {
      for (const e of watched) unwatch(e, onSealed);
      return;
    }
    // objects still pending when we stop waiting must not call back later
    const forget = () => {
      for (const e of watched) if (e.state === PENDING) unwatch(e, onSealed);
    };
    // spin only for results this node's isolates are about to produce: a
    // result from another node arrives on the event loop, which a spin
    // blocks (and so does a result that a call deferred: once nothing runs
    // here any more, nothing here will produce it soon)
    if (this.#spinMs > 0 && this.#node.expectingSoon()) {
      const node = this.#node;
      node.pool.spin(() => {
        node.poll();
        return remaining <= 0 || !node.expectingSoon();
      }, Math.min(this.#spinMs, timeoutMs >= 0 ? timeoutMs : Infinity));
      if (remaining <= 0) {
        if (need < entries.length) forget();
        return;
      }
    }
    await this.#park(timeoutMs, () => remaining, forget, (d) => (done = d));
    if (need < entries.length) forget();
  }

  /**
   * Waits, holding the process, until the function `arm` is handed is
   * called, or `timeoutMs` passes (GetTimeoutError naming `left()` objects
   * not ready), or the driver closes; `forget` runs when it ends failed.
   */
  async #park(timeoutMs: number, left: () => number, forget: () => void, arm: (done: () => void) => void): Promise<void> {
    this.#hold(1);
    try {
      await new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (err?: Error) => {
          if (timer) clearTimeout(timer);
          this.#pending.delete(fail);
          if (err) reject(err);
          else resolve();
        };
        const fail = (err: Error) => {
          forget();
          finish(err);
        };
        arm(() => finish());
        if (timeoutMs >= 0) timer = setTimeout(() => fail(new GetTimeoutError(timeoutMs, left())), timeoutMs);
        this.#pending.add(fail);
      });
    } finally {
      this.#hold(-1);
    }
  }

  /**
   * Resolves once `need` of the entries are sealed here or known to be on
   * another node, bringing none of them here (`wait` with fetchLocal:
   * false, as Ray's).
   */
  async #located(entries: ObjectEntry[], need: number, timeoutMs: number): Promise<void> {
    let remaining = need;
    for (const e of entries) if (isLocated(e)) remaining--;
    if (remaining <= 0) return;
    let done: (() => void) | undefined;
    const onLocated = () => {
      if (--remaining === 0) done?.();
    };
    const watched: ObjectEntry[] = [];
    for (const e of entries) if (e.store.whenLocated(e, onLocated)) watched.push(e);
    const forget = () => {
      for (const e of watched) e.store.unwatchLocated(e, onLocated);
    };
    try {
      await this.#park(timeoutMs, () => remaining, () => {}, (d) => (done = d));
    } finally {
      forget();
    }
  }

  /** Keeps the process alive while the driver waits for isolates (they do not hold it). */
  #hold(d: number): void {
    this.#waiting += d;
    if (this.#waiting > 0 && !this.#keepAlive) this.#keepAlive = setInterval(() => {}, 1 << 30);
    else if (this.#waiting === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  /** Fails every wait in progress with `error`; no wait keeps the process alive any more. */
  close(error: Error): void {
    for (const reject of this.#pending) reject(error);
    this.#pending.clear();
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }
}

/** Sealed here, or known to have a copy on another node. */
export function isLocated(e: ObjectEntry): boolean {
  return e.state !== PENDING || e.remote !== undefined;
}
