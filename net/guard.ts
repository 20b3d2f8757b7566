/**
 * What a server does about peers that take without finishing: a deadline
 * for the handshake (TCP, TLS, token, upgrade), caps on connections per
 * address and in total, a budget for frames received only in part (and a
 * deadline for a frame that stops arriving), and refusals logged as
 * counts, not a line each. ws.ts wires it to sockets; it holds no socket
 * code itself, so its rules are testable with plain objects.
 */

/** A server's limits on its peers (every field has a default). */
export interface ConnectionLimits {
  /** A connection must finish its handshake within this, or is dropped. Default 5000 ms. */
  handshakeMs?: number;
  /** Open connections from one address. Default 64. */
  perAddress?: number;
  /** Open connections in all. Default 1024. */
  total?: number;
  /** Bytes of frames received in part, over all connections; past it, the connection holding the most is closed. Default 256 MiB. */
  partialBytes?: number;
  /** A frame begun must keep arriving: a connection whose frame stalls this long is closed. Default 30000 ms. */
  frameStallMs?: number;
  /** Refusals after the first of each kind are logged as counts, at most once per this. Default 10000 ms. */
  logEveryMs?: number;
}

const DEFAULT_LIMITS: Required<ConnectionLimits> = {
  handshakeMs: 5000,
  perAddress: 64,
  total: 1024,
  partialBytes: 256 << 20,
  frameStallMs: 30_000,
  logEveryMs: 10_000,
};

export function resolveLimits(l: ConnectionLimits | undefined): Required<ConnectionLimits> {
  const out = { ...DEFAULT_LIMITS, ...l };
  for (const [k, v] of Object.entries(out)) if (typeof v !== "number" || !(v > 0)) throw new RangeError(`connection limit ${k} must be a number > 0, got ${String(v)}`);
  return out;
}

/**
 * Refusals, logged as counts: the first of each reason at once (so the
 * log says what is happening), then one line per period with how many of
 * each, and from how many addresses.
 */
export class RefusalLog {
  readonly #log: (line: string) => void;
  readonly #everyMs: number;
  readonly #seen = new Set<string>();
  readonly #counts = new Map<string, number>();
  readonly #from = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(log: (line: string) => void, everyMs: number) {
    this.#log = log;
    this.#everyMs = everyMs;
  }

  refuse(address: string, reason: string): void {
    if (!this.#seen.has(reason)) {
      this.#seen.add(reason);
      this.#log(`(wray) refused a connection from ${address}: ${reason} (more refusals are counted, logged every ${Math.round(this.#everyMs / 1000)} s)`);
      return;
    }
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
    this.#from.add(address.replace(/:\d+$/, ""));
    this.#timer ??= setTimeout(() => this.flush(), this.#everyMs).unref();
  }

  /** Logs the counts so far (the timer does this; close does it last). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#counts.size === 0) return;
    let n = 0;
    const parts: string[] = [];
    for (const [why, c] of this.#counts) {
      n += c;
      parts.push(`${c} ${why}`);
    }
    this.#log(`(wray) refused ${n} more connection(s) from ${this.#from.size} address(es): ${parts.join("; ")}`);
    this.#counts.clear();
    this.#from.clear();
  }

  close(): void {
    this.flush();
  }
}

/** One connection as the budget sees it. */
export interface Receiving {
  /** Bytes of the frame it is receiving (0 between frames). */
  pending: number;
  /** When its last bytes came (performance.now()). */
  lastData: number;
  /** Closes it, saying why. */
  drop(why: string): void;
}

/**
 * The bytes of frames received in part, over all of a server's
 * connections. A connection's bytes count from the first of a frame until
 * the frame is whole; past the budget, the connection holding the most is
 * closed, and a frame that stops arriving for `stallMs` closes its
 * connection (a sweep looks every quarter of that, at least once a second).
 */
export class FrameBudget {
  readonly #limit: number;
  readonly #stallMs: number;
  readonly #conns = new Set<Receiving>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #everyMs: number;
  #lastSweep = performance.now();
  total = 0;

  constructor(limit: number, stallMs: number) {
    this.#limit = limit;
    this.#stallMs = stallMs;
    this.#everyMs = Math.max(10, Math.min(1000, stallMs / 4));
    this.#sweep = setInterval(() => this.sweep(performance.now()), this.#everyMs);
    this.#sweep.unref();
  }

  add(c: Receiving): void {
    this.#conns.add(c);
  }

  remove(c: Receiving): void {
    if (!this.#conns.delete(c)) return;
    this.total -= c.pending;
    c.pending = 0;
  }

  /** `n` more bytes came on `c`. */
  data(c: Receiving, n: number, now: number): void {
    c.pending += n;
    c.lastData = now;
    this.total += n;
    while (this.total > this.#limit) {
      let big: Receiving | undefined;
      for (const x of this.#conns) if (!big || x.pending > big.pending) big = x;
      if (!big || big.pending === 0) break;
      const held = big.pending;
      this.remove(big);
      big.drop(`frames received in part over all connections passed ${this.#limit >> 20} MiB; this connection held the most (${(held / (1 << 20)).toFixed(1)} MiB)`);
    }
  }

  /** `c` received a whole frame: its bytes no longer count. */
  whole(c: Receiving): void {
    this.total -= c.pending;
    c.pending = 0;
  }

  sweep(now: number): void {
    const late = now - this.#lastSweep > 2 * this.#everyMs + 1000;
    this.#lastSweep = now;
    if (late) {
      // this process was stopped (or starved), not its peers: their bytes are waiting to be read
      for (const c of this.#conns) if (c.pending > 0) c.lastData = now;
      return;
    }
    for (const c of [...this.#conns]) {
      if (c.pending > 0 && now - c.lastData > this.#stallMs) {
        const held = c.pending;
        this.remove(c);
        c.drop(`a frame stopped arriving for ${Math.round(now - c.lastData)} ms (${held} bytes of it received)`);
      }
    }
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#conns.clear();
    this.total = 0;
  }
}

/** Counts of open connections per address, for the caps. */
export class ConnectionCounts {
  readonly #perAddress: number;
  readonly #total: number;
  readonly #by = new Map<string, number>();
  open = 0;

  constructor(perAddress: number, total: number) {
    this.#perAddress = perAddress;
    this.#total = total;
  }

  /** Counts a new connection from `address`, or returns why it is refused (and counts nothing). */
  admit(address: string): string | undefined {
    if (this.open >= this.#total) return `the server has its most connections open (${this.#total})`;
    const n = this.#by.get(address) ?? 0;
    if (n >= this.#perAddress) return `${address} has its most connections open (${this.#perAddress})`;
    this.#by.set(address, n + 1);
    this.open++;
    return undefined;
  }

  closed(address: string): void {
    const n = (this.#by.get(address) ?? 1) - 1;
    if (n <= 0) this.#by.delete(address);
    else this.#by.set(address, n);
    this.open--;
  }
}
