/**
 * Task timeouts: while any open execution has a `timeoutMs`, a watchdog
 * looks every 20 ms at what each isolate runs, and stops an isolate whose
 * current task has run past its limit (the task then fails with
 * TaskTimeoutError, in HostNode.isolateExited).
 */
import type { Executions } from "./executions.js";

/** What the watchdog reads of the isolates: which record each runs (seq changes per record). */
export interface RunningIsolates {
  isolates(): Iterable<number>;
  running(iso: number): { slot: number; seq: number } | undefined;
  terminate(iso: number): void;
}

const CHECK_MS = 20;

/**
 * When each isolate's current task started, as seen by a timer that looks
 * now and then: a new run counter (RUNNING_SEQ) is a new task, so one long
 * task is told from many short ones. The watchdog and the memory guard
 * keep one each.
 */
export class RunStarts {
  readonly #since = new Map<number, { seq: number; since: number }>();

  /** When the task `iso` runs now (`seq` its run counter) was first seen. */
  at(iso: number, seq: number, now: number): number {
    let w = this.#since.get(iso);
    if (!w || w.seq !== seq) this.#since.set(iso, (w = { seq, since: now }));
    return w.since;
  }

  forget(iso: number): void {
    this.#since.delete(iso);
  }

  clear(): void {
    this.#since.clear();
  }
}

export class Watchdog {
  readonly #executions: Executions;
  readonly #pool: RunningIsolates;
  readonly #since = new RunStarts();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(executions: Executions, pool: RunningIsolates) {
    this.#executions = executions;
    this.#pool = pool;
  }

  /** An execution with a timeout opened: make sure the watchdog runs. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#check(), CHECK_MS);
    this.#timer.unref();
  }

  forget(iso: number): void {
    this.#since.forget(iso);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    if (this.#executions.timed <= 0) {
      this.close();
      this.#since.clear();
      return;
    }
    const now = performance.now();
    for (const iso of this.#pool.isolates()) {
      const r = this.#pool.running(iso);
      if (!r || r.slot < 0) {
        this.#since.forget(iso);
        continue;
      }
      const since = this.#since.at(iso, r.seq, now);
      const exec = this.#executions.at(r.slot);
      if (!exec || exec.iso !== iso || exec.task.timeoutMs <= 0) continue;
      if (now - since > exec.task.timeoutMs) {
        exec.timedOut = true;
        this.#pool.terminate(iso);
      }
    }
  }
}
