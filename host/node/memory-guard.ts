/**
 * The memory guard (Ray's memory monitor): a guest's `memoryMb` caps each
 * guest, but many guests under their caps can still take the machine. So
 * every PERIOD_MS the guard reads this process's resident memory and the
 * machine's; past the host's `hostMemoryLimitMb`, or past 95% of the
 * machine, it stops the isolate of the running guest that holds the most
 * linear memory. That guest's task fails with GuestOutOfMemoryError (an
 * actor dies) with the figures, and the host lives on, where otherwise
 * the system's OOM killer would take the whole host.
 *
 * Guests report their memory at the end of each task and at each host
 * call (the GUEST_MEMORY_KB word); a guest that allocates in a loop that
 * calls nothing is seen at its last report, so among running guests the
 * one with the most reported memory goes, and ties go to the one that has
 * run longest.
 */
import { freemem, totalmem } from "node:os";
import type { RunningIsolates } from "./timeouts.js";
import { RunStarts } from "./timeouts.js";

/** What the guard reads of the isolates: what the watchdog reads, and each guest's memory. */
export interface GuardedIsolates extends RunningIsolates {
  guestMemory(iso: number): number;
}

export interface MemoryReading {
  /** This process's resident memory, bytes. */
  rss: number;
  /** The machine's memory in use and in all, bytes. */
  systemUsed: number;
  systemTotal: number;
}

/** Why the guard stopped an isolate, for the error its task or actor gets. */
export interface GuardStop {
  message: string;
  limitMb: number;
  usedMb: number;
}

const PERIOD_MS = 100;
/** The machine's share of memory in use past which the guard acts (Ray's default threshold). */
export const SYSTEM_FRACTION = 0.95;
/** After a stop, the guard waits this long for the memory to be given back before it acts again. */
const SETTLE_MS = 1000;

function readMemory(): MemoryReading {
  const total = totalmem();
  return { rss: process.memoryUsage.rss(), systemUsed: total - freemem(), systemTotal: total };
}

const mib = (b: number) => Math.round(b / (1 << 20));

export class MemoryGuard {
  readonly #pool: GuardedIsolates;
  readonly #limit: number;
  readonly #read: () => MemoryReading;
  readonly #timer: ReturnType<typeof setInterval>;
  /** When each isolate's current task started, to break ties. */
  readonly #since = new RunStarts();
  readonly #stopped = new Map<number, GuardStop>();
  #quietUntil = 0;

  /** `limitMb`: the host's own limit on its resident memory (undefined: only the machine's 95%). */
  constructor(pool: GuardedIsolates, limitMb: number | undefined, read: () => MemoryReading = readMemory) {
    if (limitMb !== undefined && !(typeof limitMb === "number" && limitMb > 0 && Number.isFinite(limitMb))) throw new RangeError(`hostMemoryLimitMb must be a number of MiB > 0, got ${String(limitMb)}`);
    this.#pool = pool;
    this.#limit = limitMb === undefined ? Infinity : limitMb * (1 << 20);
    this.#read = read;
    this.#timer = setInterval(() => this.check(performance.now()), PERIOD_MS);
    this.#timer.unref();
  }

  /** Why the guard stopped `iso`, once (the host asks when the isolate has exited). */
  takeStop(iso: number): GuardStop | undefined {
    const s = this.#stopped.get(iso);
    this.#stopped.delete(iso);
    this.#since.forget(iso);
    return s;
  }

  /** Looks once; returns the isolate it stopped, if any. */
  check(now: number): number | undefined {
    const running: { iso: number; memory: number; since: number }[] = [];
    for (const iso of this.#pool.isolates()) {
      const r = this.#pool.running(iso);
      if (!r || r.slot < 0 || this.#stopped.has(iso)) continue;
      running.push({ iso, memory: this.#pool.guestMemory(iso), since: this.#since.at(iso, r.seq, now) });
    }
    if (running.length === 0 || now < this.#quietUntil) return undefined;
    const m = this.#read();
    const overHost = m.rss > this.#limit;
    const overSystem = m.systemUsed > SYSTEM_FRACTION * m.systemTotal;
    if (!overHost && !overSystem) return undefined;
    running.sort((a, b) => b.memory - a.memory || a.since - b.since);
    const victim = running[0]!;
    const limitMb = overHost ? mib(this.#limit) : mib(m.systemTotal * SYSTEM_FRACTION);
    const what = overHost
      ? `the host's resident memory reached ${mib(m.rss)} MiB, over its limit of ${limitMb} MiB (hostMemoryLimitMb)`
      : `the machine's memory in use reached ${mib(m.systemUsed)} of ${mib(m.systemTotal)} MiB, over ${SYSTEM_FRACTION * 100}%`;
    const stop: GuardStop = {
      message: `out of memory: ${what}; the host's memory guard stopped this guest, the largest of ${running.length} running (${mib(victim.memory)} MiB of linear memory when last measured)`,
      limitMb,
      usedMb: mib(victim.memory),
    };
    this.#stopped.set(victim.iso, stop);
    this.#quietUntil = now + SETTLE_MS;
    this.#pool.terminate(victim.iso);
    return victim.iso;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
