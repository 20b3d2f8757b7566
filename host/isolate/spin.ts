/**
 * Adaptive spin-waiting for the host thread and its isolates.
 *
 * A thread that waits for another thread of the same host (an isolate for
 * its next task or a reply, the host for results) may spin for a short
 * while before it sleeps: a wake-up costs 15–100 µs on virtual machines,
 * a spin hand-off under a microsecond. A spin pays only while the thread
 * it waits for is running on another core; on a busy machine it takes the
 * core that thread needs. So each thread spins only while both hold:
 *
 * - this host's threads that are awake (running guests, answering calls,
 *   or spinning) are at most one more than the cores: the host thread and
 *   a core's worth of isolates ping-pong well, but beyond that a spinner
 *   takes a core from a thread that works. Threads count themselves in the
 *   host bell's AWAKE word when they wake and leave it before they sleep
 *   (an isolate stopped while awake is taken off by the host, which reads
 *   the isolate's own ISOLATE_AWAKE word);
 * - its own recent spins paid off: a moving average of spins that found
 *   what they waited for stays above MIN_SUCCESS. Below it, the thread
 *   sleeps at once and probes with one spin in PROBE_EVERY waits, so it
 *   spins again when spins start to pay.
 */
import { spinUntil } from "./channel.js";

/** Below this share of successful spins, a thread stops spinning (but probes). */
export const MIN_SUCCESS = 0.1;
/** While a thread does not spin, one wait in this many still spins, to notice when spinning pays again. */
export const PROBE_EVERY = 16;
/** Weight of the latest spin in the moving average. */
const WEIGHT = 0.125;

/** Int32 index of the AWAKE word in the host bell (see channel.ts). */
export interface SpinShared {
  /** The host bell, shared by the host thread and every isolate. */
  readonly bell: Int32Array;
  /** Index of the AWAKE counter in `bell`. */
  readonly awakeIdx: number;
  /** Cores this host may use (cgroup quota and CPU affinity included). */
  readonly cores: number;
}

/** One thread's spin policy (not shared between threads). */
export class Spinner {
  readonly #shared: SpinShared;
  readonly #maxMs: number;
  #success = 1;
  #skipped = 0;

  constructor(shared: SpinShared, maxMs: number) {
    this.#shared = shared;
    this.#maxMs = maxMs;
  }

  /** Whether a spin may start now (cheap: one shared load and a compare). */
  allowed(): boolean {
    if (this.#maxMs <= 0) return false;
    const s = this.#shared;
    if (Atomics.load(s.bell, s.awakeIdx) > s.cores + 1) return false;
    if (this.#success >= MIN_SUCCESS) return true;
    return ++this.#skipped % PROBE_EVERY === 0;
  }

  /** Records whether a spin found what it waited for. */
  record(found: boolean): void {
    this.#success += WEIGHT * ((found ? 1 : 0) - this.#success);
  }

  /**
   * Spins until `ready()` or `ms` (default: this spinner's limit) pass, if
   * spinning is allowed now; returns `ready()`.
   */
  spin(ready: () => boolean, ms = this.#maxMs): boolean {
    if (ready()) return true;
    if (!this.allowed()) return false;
    const found = spinUntil(ready, ms);
    this.record(found);
    return found;
  }

  /** The moving average of successful spins (for tests and stats). */
  get success(): number {
    return this.#success;
  }
}

/** This thread leaves the awake count (it is about to sleep). */
export function sleeping(s: SpinShared): void {
  Atomics.sub(s.bell, s.awakeIdx, 1);
}

/** This thread joins the awake count (it woke up). */
export function awake(s: SpinShared): void {
  Atomics.add(s.bell, s.awakeIdx, 1);
}
