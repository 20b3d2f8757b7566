/**
 * The shared arena of one host's object store: SharedArrayBuffer segments
 * that every isolate of the host maps, so large objects are read in place
 * (zero-copy views) and copied once, into a guest's memory, when a guest
 * reads them.
 *
 * Design assumptions:
 * - Only objects larger than the inline limit live here (the rest travel
 *   inside task records), so the arena holds thousands of blocks, not
 *   millions, and a first-fit free list per segment is enough.
 * - Freed memory is kept and reused: writing into fresh pages costs page
 *   faults (about 5x slower than a copy into touched memory), so segments
 *   that become empty stay cached until the capacity is needed elsewhere.
 * - All allocation happens on the host thread; isolates ask for blocks over
 *   their channel.
 * - The arena never evicts: `tryAlloc` says when a block does not fit and
 *   the object store spills objects to make room (object-store.ts).
 */
import { ObjectStoreFullError, ObjectTooLargeError } from "./errors.js";

/** Where a block lives: segment ID, byte offset, length. */
export interface ArenaRef {
  seg: number;
  off: number;
  len: number;
}

/** Blocks are aligned to a cache line, which also aligns any typed view. */
export const BLOCK_ALIGN = 64;
const DEDICATED_ROUND = 1 << 20;

export interface ArenaOptions {
  /** Most bytes the arena may map, cached free segments included. */
  capacity: number;
  /** Size of shared segments; larger objects get a segment of their own. */
  segmentSize?: number;
}

interface Segment {
  id: number;
  sab: SharedArrayBuffer;
  size: number;
  /** Holds a single object (of more than half a segment). */
  dedicated: boolean;
  /** Free extents, sorted by offset, never adjacent (they are merged). */
  free: { off: number; len: number }[];
  used: number;
}

export interface ArenaListener {
  /** A segment was mapped; isolates must learn it before any record names it. */
  segmentAdded(id: number, sab: SharedArrayBuffer): void;
  /** A segment was unmapped; nothing refers to it any more. */
  segmentDropped(id: number): void;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export class Arena {
  readonly capacity: number;
  readonly segmentSize: number;
  readonly #segments = new Map<number, Segment>();
  #nextId = 0;
  #mapped = 0;
  #used = 0;
  #listener: ArenaListener | undefined;

  constructor(options: ArenaOptions) {
    if (!(options.capacity > 0)) throw new RangeError(`arena capacity must be positive, got ${options.capacity}`);
    this.capacity = options.capacity;
    this.segmentSize = Math.min(options.segmentSize ?? 64 << 20, alignUp(options.capacity, BLOCK_ALIGN));
  }

  setListener(l: ArenaListener): void {
    this.#listener = l;
  }

  /** Bytes held by live blocks. */
  get used(): number {
    return this.#used;
  }

  /** Bytes mapped (live blocks, free space in segments, cached segments). */
  get mapped(): number {
    return this.#mapped;
  }

  /** Every mapped segment, for an isolate that starts late. */
  segments(): [number, SharedArrayBuffer][] {
    return [...this.#segments.values()].map((s) => [s.id, s.sab]);
  }

  sab(id: number): SharedArrayBuffer {
    const s = this.#segments.get(id);
    if (!s) throw new RangeError(`arena segment ${id} is not mapped`);
    return s.sab;
  }

  view(ref: ArenaRef): Uint8Array {
    return new Uint8Array(this.sab(ref.seg), ref.off, ref.len);
  }

  /**
   * Allocates `len` bytes. With `lead` (< BLOCK_ALIGN) the bytes start
   * `lead` bytes into an aligned block, so that a small header can precede
   * an aligned payload (copies into aligned memory run faster).
   * Throws ObjectTooLargeError when the block could never fit and
   * ObjectStoreFullError when it does not fit now (the object store spills
   * to make room: see `tryAlloc`).
   */
  alloc(len: number, lead = 0): ArenaRef {
    const ref = this.tryAlloc(len, lead);
    if (ref) return ref;
    throw new ObjectStoreFullError(len, this.capacity, this.#used, 0);
  }

  /** Bytes of mapped memory a block of `len` bytes (after `lead`) needs. */
  footprint(len: number, lead = 0): number {
    const size = Math.max(BLOCK_ALIGN, alignUp(lead + len, BLOCK_ALIGN));
    return size > this.segmentSize / 2 ? alignUp(size, DEDICATED_ROUND) : size;
  }

  /**
   * Like `alloc`, but undefined when the block does not fit now. Throws
   * ObjectTooLargeError for a block larger than the whole arena.
   */
  tryAlloc(len: number, lead = 0): ArenaRef | undefined {
    if (!Number.isInteger(len) || len < 0) throw new RangeError(`cannot allocate ${len} bytes`);
    if (!Number.isInteger(lead) || lead < 0 || lead >= BLOCK_ALIGN) throw new RangeError(`lead must be from 0 to ${BLOCK_ALIGN - 1}`);
    const size = Math.max(BLOCK_ALIGN, alignUp(lead + len, BLOCK_ALIGN));
    if (this.footprint(len, lead) > this.capacity) throw new ObjectTooLargeError(len, this.capacity);
    if (size > this.segmentSize / 2) return this.#allocDedicated(len, size, lead) ?? this.#allocShared(len, size, lead, false);
    return this.#allocShared(len, size, lead, true);
  }

  /** First fit in the shared segments, mapping a new one if `mayMap`. */
  #allocShared(len: number, size: number, lead: number, mayMap: boolean): ArenaRef | undefined {
    for (const s of this.#segments.values()) {
      if (s.dedicated) continue;
      const off = this.#take(s, size);
      if (off >= 0) return this.#grant(s, off + lead, len, size);
    }
    if (!mayMap) return undefined;
    const s = this.#map(this.segmentSize, false);
    return s ? this.#grant(s, this.#take(s, size) + lead, len, size) : undefined;
  }

  /** Returns a block. Freeing twice is an error. */
  free(ref: ArenaRef): void {
    const s = this.#segments.get(ref.seg);
    if (!s) throw new RangeError(`free of a block in unmapped segment ${ref.seg}`);
    // blocks start aligned; a ref may point `lead` bytes into its block
    const start = ref.off - (ref.off % BLOCK_ALIGN);
    const size = Math.max(BLOCK_ALIGN, alignUp(ref.off - start + ref.len, BLOCK_ALIGN));
    s.used -= s.dedicated ? s.size : size;
    this.#used -= s.dedicated ? s.size : size;
    if (s.dedicated) {
      s.free = [{ off: 0, len: s.size }];
      return;
    }
    // insert and merge with neighbours
    const f = s.free;
    let i = 0;
    while (i < f.length && f[i]!.off < start) i++;
    const prev = f[i - 1];
    const next = f[i];
    if ((prev && prev.off + prev.len > start) || (next && start + size > next.off)) {
      throw new RangeError(`double free of arena block ${ref.seg}:${ref.off}`);
    }
    if (prev && prev.off + prev.len === start) {
      prev.len += size;
      if (next && prev.off + prev.len === next.off) {
        prev.len += next.len;
        f.splice(i, 1);
      }
    } else if (next && start + size === next.off) {
      next.off = start;
      next.len += size;
    } else f.splice(i, 0, { off: start, len: size });
  }

  #grant(s: Segment, off: number, len: number, size: number): ArenaRef {
    s.used += size;
    this.#used += size;
    return { seg: s.id, off, len };
  }

  #take(s: Segment, size: number): number {
    const f = s.free;
    for (let i = 0; i < f.length; i++) {
      const e = f[i]!;
      if (e.len < size) continue;
      const off = e.off;
      if (e.len === size) f.splice(i, 1);
      else (e.off += size), (e.len -= size);
      return off;
    }
    return -1;
  }

  #allocDedicated(len: number, size: number, lead: number): ArenaRef | undefined {
    // reuse an empty dedicated segment that fits without wasting more than half
    let best: Segment | undefined;
    for (const s of this.#segments.values()) {
      if (s.dedicated && s.used === 0 && s.size >= size && s.size <= 2 * size && (!best || s.size < best.size)) best = s;
    }
    const s = best ?? this.#map(alignUp(size, DEDICATED_ROUND), true);
    if (!s) return undefined;
    s.free = [];
    s.used = s.size;
    this.#used += s.size;
    return { seg: s.id, off: lead, len };
  }

  /** Maps a new segment, unmapping empty ones to stay within capacity; undefined when it cannot. */
  #map(size: number, dedicated: boolean): Segment | undefined {
    if (this.#mapped + size > this.capacity) this.#unmapEmpty(this.#mapped + size - this.capacity);
    if (this.#mapped + size > this.capacity) return undefined;
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(size);
    } catch {
      // the system is short of memory: give back every cached segment and try once more
      this.#unmapEmpty(Infinity);
      try {
        sab = new SharedArrayBuffer(size);
      } catch {
        return undefined;
      }
    }
    const s: Segment = { id: this.#nextId++, sab, size, dedicated, free: [{ off: 0, len: size }], used: 0 };
    this.#segments.set(s.id, s);
    this.#mapped += size;
    this.#listener?.segmentAdded(s.id, sab);
    return s;
  }

  /** Unmaps empty segments until `bytes` are released (or none are left). */
  #unmapEmpty(bytes: number): void {
    for (const s of [...this.#segments.values()].sort((a, b) => b.size - a.size)) {
      if (bytes <= 0) break;
      if (s.used !== 0) continue;
      this.#segments.delete(s.id);
      this.#mapped -= s.size;
      bytes -= s.size;
      this.#listener?.segmentDropped(s.id);
    }
  }

  /** Unmaps every empty segment (shutdown, or when memory is wanted back). */
  trim(): void {
    this.#unmapEmpty(Infinity);
  }
}
