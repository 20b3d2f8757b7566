/**
 * The shared-memory channel between the host thread and one isolate.
 *
 * One SharedArrayBuffer holds two single-producer/single-consumer byte
 * rings (host → isolate: tasks; isolate → host: results and requests) and
 * a reply area for the isolate's blocking calls (`get`, `wait`, `alloc`).
 * A record is `u32 length, u32 type, payload`, padded to 8 bytes; a length
 * of WRAP_MARK tells the reader to continue at the ring's start.
 *
 * Waiting is spin-then-park: a reader that finds nothing spins for a
 * bounded time (cross-thread wake-ups cost 15–100 µs on virtual machines,
 * a spin hand-off under 1 µs), then announces itself parked and sleeps in
 * `Atomics.wait` (isolates) or `Atomics.waitAsync` (the host). A writer
 * rings the reader's bell after each commit and only pays for `notify`
 * when the reader is parked.
 *
 * Positions are u32 byte counters that only grow (mod 2^32); a ring's
 * capacity is a power of two, so `pos & mask` is the byte offset.
 */

// ---- layout of the control words (Int32 indices, 64 bytes apart) ----------
const LINE = 16; // Int32 slots per 64-byte cache line
/** Host → isolate ring: write position (written by the host). */
export const TO_ISOLATE_WRITE = 0 * LINE;
/** Host → isolate ring: read position (written by the isolate; by the host only while the isolate is blocked). */
export const TO_ISOLATE_READ = 1 * LINE;
/** Isolate → host ring: write position (written by the isolate). */
export const TO_HOST_WRITE = 2 * LINE;
/** Isolate → host ring: read position (written by the host). */
export const TO_HOST_READ = 3 * LINE;
/** Futex word the isolate sleeps on while idle; the host bumps it after writing. */
export const ISOLATE_BELL = 4 * LINE;
/** 1 while the isolate is parked (or about to park) on ISOLATE_BELL. */
export const ISOLATE_PARKED = 4 * LINE + 1;
/**
 * State of the isolate's blocking call: REPLY_PENDING until the host has
 * looked at it, REPLY_PARKED when the host will answer only later (the
 * objects are not ready), REPLY_READY once the reply is written.
 */
export const REPLY_STATE = 5 * LINE;
export const REPLY_PENDING = 0;
export const REPLY_READY = 1;
export const REPLY_PARKED = 2;
/** The reply area: u32 kind, u32 payload length, payload. */
export const REPLY_HEADER = 8;
/** Slot of the task the isolate is running, or -1 when idle (for watchdogs). */
export const RUNNING_SLOT = 6 * LINE;
/** Counts task starts, so a watchdog can tell one long task from many short ones. */
export const RUNNING_SEQ = 6 * LINE + 1;
/** The linear memory of the guest instance that last ran, KiB (for the host's memory guard). */
export const GUEST_MEMORY_KB = 6 * LINE + 2;
/**
 * Slot of a running task that was cancelled, or -1 (written by the host;
 * the guest's `cancelled()` compares it with RUNNING_SLOT). The host sets
 * it back to -1 before it reuses the slot, so a later task never reads an
 * old cancel as its own.
 */
export const CANCEL_SLOT = 6 * LINE + 3;
/**
 * 1 while the isolate counts itself in the host bell's AWAKE word (it
 * clears this before it leaves the count, and sets it after it joins), so
 * the host can take an isolate stopped while awake off the count.
 */
export const ISOLATE_AWAKE = 7 * LINE;
const CONTROL_BYTES = 8 * 64;

// Host bell: one small SharedArrayBuffer per host, shared by all isolates.
/** Futex word the host thread waits on (waitAsync); isolates bump it after writing. */
export const HOST_BELL = 0;
/**
 * 0 while the host thread runs; while it is parked on HOST_BELL, the number
 * of that park (so each isolate notifies it at most once per park).
 */
export const HOST_PARKED = LINE;
/**
 * How many of this host's threads (the host thread and its isolates) are
 * awake: each adds itself when it wakes and takes itself off before it
 * sleeps. Spinning is allowed only while few enough are (spin.ts).
 */
export const HOST_AWAKE = 2 * LINE;
export const HOST_BELL_BYTES = 3 * 64;

export const WRAP_MARK = 0xffffffff;
export const RECORD_HEADER = 8;

export interface ChannelSizes {
  /** Bytes of the host → isolate ring (power of two). */
  toIsolate: number;
  /** Bytes of the isolate → host ring (power of two). */
  toHost: number;
  /** Bytes of the reply area. */
  reply: number;
}

export const DEFAULT_SIZES: ChannelSizes = { toIsolate: 1 << 20, toHost: 1 << 20, reply: 1 << 18 };

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** The views over one channel's SharedArrayBuffer, the same on both sides. */
export class ChannelMemory {
  readonly sab: SharedArrayBuffer;
  readonly sizes: ChannelSizes;
  readonly ctl: Int32Array;
  readonly toIsolate: Uint8Array;
  readonly toHost: Uint8Array;
  readonly reply: Uint8Array;

  constructor(sab: SharedArrayBuffer, sizes: ChannelSizes) {
    for (const k of ["toIsolate", "toHost"] as const) {
      const n = sizes[k];
      if (n < 4096 || (n & (n - 1)) !== 0) throw new RangeError(`channel ring size ${k} must be a power of two >= 4096, got ${n}`);
    }
    this.sab = sab;
    this.sizes = sizes;
    this.ctl = new Int32Array(sab, 0, CONTROL_BYTES / 4);
    this.toIsolate = new Uint8Array(sab, CONTROL_BYTES, sizes.toIsolate);
    this.toHost = new Uint8Array(sab, CONTROL_BYTES + sizes.toIsolate, sizes.toHost);
    this.reply = new Uint8Array(sab, CONTROL_BYTES + sizes.toIsolate + sizes.toHost, sizes.reply);
  }

  static create(sizes: ChannelSizes = DEFAULT_SIZES): ChannelMemory {
    const sab = new SharedArrayBuffer(CONTROL_BYTES + sizes.toIsolate + sizes.toHost + sizes.reply);
    const m = new ChannelMemory(sab, sizes);
    Atomics.store(m.ctl, RUNNING_SLOT, -1);
    Atomics.store(m.ctl, CANCEL_SLOT, -1);
    return m;
  }
}

/** What both ends of a ring share: the bytes and the two shared positions. */
abstract class RingEnd {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The ring as 32-bit words, for atomic access to records' type words (records are 8-aligned). */
  protected readonly words: Int32Array;
  protected readonly ctl: Int32Array;
  protected readonly writeIdx: number;
  protected readonly readIdx: number;
  protected readonly mask: number;

  constructor(bytes: Uint8Array, ctl: Int32Array, writeIdx: number, readIdx: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    this.ctl = ctl;
    this.writeIdx = writeIdx;
    this.readIdx = readIdx;
    this.mask = bytes.length - 1;
  }
}

/**
 * The producer end of a ring. `begin` reserves room for one record and
 * returns the offset of its payload in `bytes`; fill it, then `commit`.
 * Nothing is visible to the reader before `commit`.
 */
export class RingWriter extends RingEnd {
  #pos: number; // our own write position; only we change it
  #pending = -1; // position after the reserved record, -1 when none

  constructor(bytes: Uint8Array, ctl: Int32Array, writeIdx: number, readIdx: number) {
    super(bytes, ctl, writeIdx, readIdx);
    this.#pos = Atomics.load(ctl, writeIdx) >>> 0;
  }

  /** The largest payload a record can ever carry in this ring. */
  get maxPayload(): number {
    return (this.bytes.length >>> 1) - RECORD_HEADER;
  }

  /** Bytes free for writing right now. */
  free(): number {
    return this.bytes.length - ((this.#pos - (Atomics.load(this.ctl, this.readIdx) >>> 0)) >>> 0);
  }

  /**
   * Reserves a record of `type` with `payload` bytes; returns the payload's
   * offset in `bytes`, or -1 when the ring has no room now.
   */
  begin(type: number, payload: number): number {
    if (payload > this.maxPayload) throw new RangeError(`record of ${payload} bytes exceeds the ring's limit of ${this.maxPayload}`);
    const need = align8(RECORD_HEADER + payload);
    const cap = this.bytes.length;
    let at = this.#pos & this.mask;
    const tail = cap - at;
    const free = this.free();
    let pos = this.#pos;
    if (tail < need) {
      // not enough contiguous room before the end: mark a wrap and start over at 0
      if (free < tail + need) return -1;
      this.view.setUint32(at, WRAP_MARK, true);
      pos = (pos + tail) >>> 0;
      at = 0;
    } else if (free < need) return -1;
    this.view.setUint32(at, payload, true);
    this.view.setUint32(at + 4, type, true);
    this.#pending = (pos + need) >>> 0;
    this.#pos = pos; // the wrap mark (if any) is committed together with the record
    return at + RECORD_HEADER;
  }

  /** Publishes the reserved record to the reader. */
  commit(): void {
    if (this.#pending < 0) throw new Error("commit() without begin()");
    this.#pos = this.#pending;
    this.#pending = -1;
    Atomics.store(this.ctl, this.writeIdx, this.#pos | 0);
  }

  /**
   * Marks everything written as read. Only for an isolate that is blocked in
   * a call (it reads nothing then, and resyncs when it resumes): the host
   * takes back the tasks it had not started.
   */
  discardUnread(): void {
    Atomics.store(this.ctl, this.readIdx, this.#pos | 0);
  }

  /**
   * Compare-and-swap of the type word of the record that starts at
   * position `pos`, if the reader has not released it yet (only then is
   * the record still there: the writer reuses released bytes). Returns the
   * type found, or -1 when the record was released. Safe against a reader
   * that claims the same word at the same time: exactly one swap wins.
   */
  swapType(pos: number, expected: number, replacement: number): number {
    const read = Atomics.load(this.ctl, this.readIdx) >>> 0;
    if (((pos - read) | 0) < 0) return -1;
    return Atomics.compareExchange(this.words, ((pos & this.mask) + 4) >>> 2, expected, replacement);
  }

  /** Convenience: one record whose payload is `data`. Returns false when full. */
  write(type: number, data: Uint8Array): boolean {
    const at = this.begin(type, data.length);
    if (at < 0) return false;
    this.bytes.set(data, at);
    this.commit();
    return true;
  }

  /** True when everything written has been read. */
  drained(): boolean {
    return (Atomics.load(this.ctl, this.readIdx) >>> 0) === this.#pos;
  }

  /**
   * Our write position; between `begin` and `commit`, the position of the
   * record being written (what `swapType` takes).
   */
  get position(): number {
    return this.#pos;
  }
}

/**
 * The consumer end of a ring. `next` returns the next record's type and
 * sets `at`/`length` to its payload; the record's bytes stay valid until
 * `release` (call it after each batch, or each record, to free room).
 */
export class RingReader extends RingEnd {
  #pos: number;
  /** Offset of the current record's payload in `bytes`. */
  at = 0;
  /** Length of the current record's payload. */
  length = 0;

  constructor(bytes: Uint8Array, ctl: Int32Array, writeIdx: number, readIdx: number) {
    super(bytes, ctl, writeIdx, readIdx);
    this.#pos = Atomics.load(ctl, readIdx) >>> 0;
  }

  /** True when a record is waiting. */
  ready(): boolean {
    return (Atomics.load(this.ctl, this.writeIdx) >>> 0) !== this.#pos;
  }

  /** The next record's type, or -1 when the ring is empty. */
  next(): number {
    const end = Atomics.load(this.ctl, this.writeIdx) >>> 0;
    if (end === this.#pos) return -1;
    let at = this.#pos & this.mask;
    let len = this.view.getUint32(at, true);
    if (len === WRAP_MARK) {
      this.#pos = (this.#pos + (this.bytes.length - at)) >>> 0;
      at = 0;
      len = this.view.getUint32(0, true);
    }
    this.at = at + RECORD_HEADER;
    this.length = len;
    this.#pos = (this.#pos + align8(RECORD_HEADER + len)) >>> 0;
    return this.view.getUint32(at + 4, true);
  }

  /**
   * Compare-and-swap of the current record's type word (see
   * RingWriter.swapType); returns the type found.
   */
  swapType(expected: number, replacement: number): number {
    return Atomics.compareExchange(this.words, (this.at - 4) >>> 2, expected, replacement);
  }

  /** Frees everything read so far for the writer. */
  release(): void {
    Atomics.store(this.ctl, this.readIdx, this.#pos | 0);
  }

  /** Our read position. */
  get position(): number {
    return this.#pos;
  }

  /** Takes up the shared read position again (after the writer discarded records). */
  resync(): void {
    this.#pos = Atomics.load(this.ctl, this.readIdx) >>> 0;
  }
}

/** Both ends as the host sees them. */
export function hostEnds(m: ChannelMemory): { tasks: RingWriter; events: RingReader } {
  return {
    tasks: new RingWriter(m.toIsolate, m.ctl, TO_ISOLATE_WRITE, TO_ISOLATE_READ),
    events: new RingReader(m.toHost, m.ctl, TO_HOST_WRITE, TO_HOST_READ),
  };
}

/** Both ends as the isolate sees them. */
export function isolateEnds(m: ChannelMemory): { tasks: RingReader; events: RingWriter } {
  return {
    tasks: new RingReader(m.toIsolate, m.ctl, TO_ISOLATE_WRITE, TO_ISOLATE_READ),
    events: new RingWriter(m.toHost, m.ctl, TO_HOST_WRITE, TO_HOST_READ),
  };
}

/**
 * Spins until `ready()` or `spinMs` pass. Returns true if ready. The spin
 * reads shared memory only; it never writes, so it does not slow the writer.
 */
export function spinUntil(ready: () => boolean, spinMs: number): boolean {
  if (ready()) return true;
  if (spinMs <= 0) return false;
  const deadline = performance.now() + spinMs;
  for (let i = 0; ; i++) {
    if (ready()) return true;
    // reading the clock costs more than a check; look at it every 32 rounds
    if ((i & 31) === 31 && performance.now() > deadline) return ready();
  }
}
