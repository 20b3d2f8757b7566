/**
 * The object table of one host: every object's state, bytes and reference
 * count, and what happens under memory pressure.
 *
 * Entries are found by key only once *indexed*. The driver's own task
 * results and puts are reached through their ObjectRefs, so they are
 * indexed only when their ID escapes (into a value, or to a guest): at a
 * hundred thousand tasks a second the hash table was a tenth of the host's
 * time. Every live entry is on an intrusive list all the same, so that
 * `memory()` can show them. Small objects (at most INLINE_MAX bytes) are
 * kept as plain byte arrays and travel inside task records; larger ones
 * live in the shared arena and travel as references to it.
 *
 * An object is freed when its count drops to zero. Counts are held by
 * driver ObjectRefs (released by a FinalizationRegistry), by tasks for
 * their arguments until they finish, by running tasks for the refs they
 * create, by pins, and by objects for the refs nested in their values.
 * Objects are immutable: sealing twice keeps the first value.
 *
 * Pressure: an arena object that is *pinned* (a running task's argument,
 * a value handed to a guest's `get`, a driver view into shared memory) is
 * never moved. The others are kept in least-recently-used order; when an
 * allocation does not fit, the oldest are spilled to disk (store/spill.ts)
 * until it does, and a spilled object is read back into the arena when it
 * is next used. A restored object keeps its copy on disk until it is
 * freed, so evicting it again costs no write. Inline objects live in the
 * JavaScript heap and are not spilled (Ray keeps its small objects in the
 * owner's memory in the same way).
 *
 * This file's parts:
 *   entries              ObjectEntry, states, watchers, RemoteObjects (the cluster's hook), ObjectTable
 *   ObjectStore          create/expect/seal/fail, refs, pins, reading bytes back
 *   pressure             spilling to disk under pressure, and reading back
 *   introspection        stats and memory() summaries
 */
import { keyToHex } from "../common/ids.js";
import type { Arena, ArenaRef } from "./arena.js";
import { BLOCK_ALIGN } from "./arena.js";
import { copierStats, copyBytes } from "./copier.js";
import { ObjectStoreFullError, SpillError } from "./errors.js";
import type { SpillFiles, SpillRef } from "./spill.js";

/** Objects up to this size travel inline with tasks (Ray's limit too). */
export const INLINE_MAX = 100 * 1024;

export const PENDING = 0;
export const READY = 1;
export const FAILED = 2;
export type ObjectState = typeof PENDING | typeof READY | typeof FAILED;

export interface ObjectEntry {
  state: ObjectState;
  /** The value's MessagePack bytes: owned inline bytes, or a view of the arena block. */
  bytes: Uint8Array | undefined;
  /** The arena block, for large objects. */
  arena: ArenaRef | undefined;
  /** For FAILED objects: what `get` raises. */
  error: Error | undefined;
  refs: number;
  /** Callbacks for when it is sealed: one function, or several (most objects have one). */
  waiters: (() => void) | (() => void)[] | undefined;
  /** Objects whose refs are nested in this one's value (kept alive by it). */
  nested: string[] | undefined;
  /** The object's key. */
  readonly key: string;
  /** False once freed (an entry held elsewhere then no longer counts). */
  live: boolean;
  /** In the table (findable by key). */
  indexed: boolean;
  /** The store the entry belongs to. */
  readonly store: ObjectStore;
  /** Uses that need the bytes to stay where they are (each also holds a reference). */
  pins: number;
  /** The copy on disk, if it was ever spilled (kept after a restore). */
  spill: SpillRef | undefined;
  /** On the eviction list: sealed, in the arena, not pinned. */
  lru: boolean;
  lruPrev: ObjectEntry | undefined;
  lruNext: ObjectEntry | undefined;
  /**
   * A copy on another node (cluster): the object stays PENDING here until
   * someone waits for it, which asks for it to be pulled (`onDemand`).
   */
  remote: RemoteCopy | undefined;
  /** Neighbours on the list of all live entries. */
  prev: ObjectEntry | undefined;
  next: ObjectEntry | undefined;
}

/** Adds a callback for when `e` is sealed (the caller checked it is pending). */
export function watch(e: ObjectEntry, cb: () => void): void {
  const w = e.waiters;
  if (w === undefined) e.waiters = cb;
  else if (typeof w === "function") e.waiters = [w, cb];
  else w.push(cb);
}

/** Removes one registration of `cb` from `e`. */
export function unwatch(e: ObjectEntry, cb: () => void): void {
  const w = e.waiters;
  if (w === cb) e.waiters = undefined;
  else if (Array.isArray(w)) {
    const i = w.indexOf(cb);
    if (i >= 0) w.splice(i, 1);
  }
}

export interface StoreStats {
  /** Live objects (pending ones included). */
  objects: number;
  pending: number;
  /** Bytes of small objects, kept in the JavaScript heap. */
  inlineBytes: number;
  /** Bytes of shared memory held by objects (and task arguments in transit). */
  arenaBytes: number;
  /** Bytes of shared memory mapped (cached free segments included). */
  arenaMapped: number;
  /** The store's size: `objectStoreMemory`. */
  arenaCapacity: number;
  /** Objects whose bytes are pinned in shared memory now, and their bytes. */
  pinnedObjects: number;
  pinnedBytes: number;
  /** Objects only on disk now, and their bytes. */
  spilledObjects: number;
  spilledBytes: number;
  /** Since start: objects written to disk, bytes written, objects read back, bytes read. */
  spillsTotal: number;
  spilledBytesTotal: number;
  restoresTotal: number;
  restoredBytesTotal: number;
  /** Spill files on disk and their bytes (dead objects in live files included). */
  spillFiles: number;
  spillDiskBytes: number;
  /** For the whole process: large copies shared out to copy threads, and the pieces those threads copied (copier.ts). */
  sharedCopies: number;
  helperCopyPieces: number;
  /** The spill directory, once one was made; undefined when spilling is off or has not happened. */
  spillDirectory: string | undefined;
}

/** One object as `memory()` shows it. */
export interface ObjectInfo {
  /** The object ID (hex). */
  id: string;
  state: "pending" | "ready" | "failed";
  /** Where its bytes are: inline (JS heap), shared (the arena), spilled (disk only), remote (on another node only), none (pending or failed). */
  where: "inline" | "shared" | "spilled" | "remote" | "none";
  /** Bytes of its value (0 while pending or for a failure). */
  size: number;
  /** References held on it (refs, task arguments, containing objects, pins). */
  refs: number;
  /** Pins: uses that keep it in shared memory. */
  pins: number;
  /** It has a copy on disk. */
  onDisk: boolean;
  /** Refs nested in its value (kept alive by it). */
  nested: number;
}

/** What `memory()` returns: totals over every object, and the largest objects. */
export interface MemorySummary {
  totals: StoreStats;
  /** The largest objects first, at most `limit` of them. */
  objects: ObjectInfo[];
  /** Objects left out of `objects` by the limit. */
  omitted: number;
}

/** Where an object's value is when it is on another node. */
export interface RemoteCopy {
  /** The node holding it. */
  readonly node: string;
  /** Bytes of its value. */
  readonly size: number;
}

export interface ObjectStoreOptions {
  /** Where evicted objects go; without it nothing is spilled and a full store refuses new objects. */
  spill?: SpillFiles;
}

/** What a cluster node does for objects that live elsewhere (see `ObjectStore.cluster`). */
export interface RemoteObjects {
  /** Someone waits for `e`, which has a remote copy: bring it here (and seal it). */
  demand(e: ObjectEntry): void;
  /** `e`, which had a remote copy, was freed here. */
  freed(e: ObjectEntry): void;
}

/**
 * The object table as the scheduler and isolates' blocking calls read it:
 * entries and their seal notifications (ObjectStore implements it; tests
 * may use a fake).
 */
export interface ObjectTable {
  entry(id: string): ObjectEntry | undefined;
  /** Calls `cb` once the object is no longer pending (false, and no call, if it is not pending now). */
  whenSealed(id: string | ObjectEntry, cb: () => void): boolean;
  /** Removes a callback registered with whenSealed. */
  unwatch(id: string | ObjectEntry, cb: () => void): void;
}

export class ObjectStore implements ObjectTable {
  readonly arena: Arena;
  readonly #spill: SpillFiles | undefined;
  readonly #entries = new Map<string, ObjectEntry>();
  /** Waits for a location rather than the bytes (whenLocated). */
  readonly #located = new Map<ObjectEntry, (() => void)[]>();
  #inlineBytes = 0;
  #pending = 0;
  #live = 0;
  /** All live entries, oldest first. */
  #first: ObjectEntry | undefined;
  #last: ObjectEntry | undefined;
  /** Evictable entries, least recently used first. */
  #lruFirst: ObjectEntry | undefined;
  #lruLast: ObjectEntry | undefined;
  #pinnedObjects = 0;
  #pinnedBytes = 0;
  #spilledObjects = 0;
  #spilledBytes = 0;
  #spillsTotal = 0;
  #spilledBytesTotal = 0;
  #restoresTotal = 0;
  #restoredBytesTotal = 0;

  /** Set by a cluster node: how objects with remote copies are brought here. */
  cluster: RemoteObjects | undefined;

  constructor(arena: Arena, options: ObjectStoreOptions = {}) {
    this.arena = arena;
    this.#spill = options.spill;
  }

  /**
   * Records that `e`'s value is on another node. It stays pending here;
   * anyone waiting for it (now or later) makes the cluster pull it.
   */
  setRemote(e: ObjectEntry, copy: RemoteCopy): void {
    if (!e.live || e.state !== PENDING) return;
    e.remote = copy;
    if (this.#located.size > 0) this.#fireLocated(e);
    if (e.waiters !== undefined) this.cluster?.demand(e);
  }

  /**
   * Calls `cb` once `e` is sealed or known to have a copy on another node,
   * without asking for it to be brought here (a wait with fetchLocal:
   * false). Returns false, without registering, when it already is.
   * Such waits are rare: they live in a map of their own, not in entries.
   */
  whenLocated(e: ObjectEntry, cb: () => void): boolean {
    if (!e.live || e.state !== PENDING || e.remote !== undefined) return false;
    const list = this.#located.get(e);
    if (list) list.push(cb);
    else this.#located.set(e, [cb]);
    return true;
  }

  /** Drops a registration of whenLocated. */
  unwatchLocated(e: ObjectEntry, cb: () => void): void {
    const list = this.#located.get(e);
    if (!list) return;
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#located.delete(e);
  }

  #fireLocated(e: ObjectEntry): void {
    const list = this.#located.get(e);
    if (!list) return;
    this.#located.delete(e);
    for (const cb of list) cb();
  }

  /** Asks for `e` to be brought here if it is pending with a remote copy (the driver's waits call this). */
  demand(e: ObjectEntry): void {
    if (e.remote !== undefined && e.state === PENDING) this.cluster?.demand(e);
  }

  /** Live objects, indexed or not. */
  get size(): number {
    return this.#live;
  }

  /** Bytes of shared memory pinned now. */
  get pinnedBytes(): number {
    return this.#pinnedBytes;
  }

  entry(id: string): ObjectEntry | undefined {
    return this.#entries.get(id);
  }

  /**
   * Registers an object that will be sealed later (a task's return), with
   * `refs` initial references. Returns the existing entry if there is one.
   */
  expect(id: string, refs = 0): ObjectEntry {
    let e = this.#entries.get(id);
    if (e) {
      e.refs += refs;
      return e;
    }
    e = this.create(id, refs);
    this.index(e);
    return e;
  }

  /** A new pending entry, not indexed: the caller keeps it (see `index`). */
  create(id: string, refs = 0): ObjectEntry {
    this.#pending++;
    this.#live++;
    const e: ObjectEntry = {
      state: PENDING,
      bytes: undefined,
      arena: undefined,
      error: undefined,
      refs,
      waiters: undefined,
      nested: undefined,
      key: id,
      live: true,
      indexed: false,
      store: this,
      pins: 0,
      spill: undefined,
      remote: undefined,
      lru: false,
      lruPrev: undefined,
      lruNext: undefined,
      prev: this.#last,
      next: undefined,
    };
    if (this.#last) this.#last.next = e;
    else this.#first = e;
    this.#last = e;
    return e;
  }

  /** Makes `e` findable by its key (its ID is about to be seen elsewhere). */
  index(e: ObjectEntry): void {
    if (e.indexed || !e.live) return;
    e.indexed = true;
    this.#entries.set(e.key, e);
  }

  /**
   * Shared memory for `len` bytes (after `lead`, see Arena.alloc), spilling
   * the least recently used objects until it fits. Throws
   * ObjectTooLargeError for more than the whole store, ObjectStoreFullError
   * when the rest is pinned (or spilling is off or failed).
   */
  alloc(len: number, lead = 0): ArenaRef {
    for (;;) {
      const ref = this.arena.tryAlloc(len, lead);
      if (ref) return ref;
      const victim = this.#lruFirst;
      if (!victim || !this.#spill) throw this.#full(len, this.#spill ? "" : "spilling is off");
      try {
        this.#evict(victim);
      } catch (e) {
        if (e instanceof SpillError) throw this.#full(len, `spilling failed: ${e.message}`, e);
        throw e;
      }
    }
  }

  #full(len: number, why: string, cause?: unknown): ObjectStoreFullError {
    return new ObjectStoreFullError(len, this.arena.capacity, this.arena.used, this.#pinnedBytes, why, cause);
  }

  /**
   * Stores `bytes` as the value of `id` (a key, made and indexed if new, or
   * an entry), copying them: inline when small, into the arena otherwise.
   */
  putBytes(id: string | ObjectEntry, bytes: Uint8Array, refs = 0, nested?: string[]): ObjectEntry {
    const e = typeof id === "string" ? this.expect(id, refs) : id;
    if (e.state !== PENDING) return e;
    if (bytes.length <= INLINE_MAX) this.sealInline(e, bytes.slice(), nested);
    else {
      const ref = this.alloc(bytes.length);
      copyBytes(this.arena.view(ref), bytes);
      this.sealArena(e, ref, nested);
    }
    return e;
  }

  /** The live entry for `e`'s key: `e` itself unless it was freed (and perhaps made again). */
  #current(e: ObjectEntry): ObjectEntry | undefined {
    return e.live ? e : this.#entries.get(e.key);
  }

  /** Seals `id` with inline bytes the store now owns. */
  sealInline(id: string | ObjectEntry, bytes: Uint8Array, nested?: string[]): void {
    const e = typeof id === "string" ? this.#entries.get(id) : this.#current(id);
    if (!e || e.state !== PENDING) return;
    e.bytes = bytes;
    this.#inlineBytes += bytes.length;
    this.#ready(e, READY, nested);
  }

  /** Seals `id` with an arena block that already holds its bytes. The store now owns the block. */
  sealArena(id: string | ObjectEntry, ref: ArenaRef, nested?: string[]): void {
    const e = typeof id === "string" ? this.#entries.get(id) : this.#current(id);
    if (!e || e.state !== PENDING) {
      this.arena.free(ref);
      return;
    }
    e.arena = ref;
    e.bytes = this.arena.view(ref);
    if (e.pins === 0) this.#lruAppend(e);
    this.#ready(e, READY, nested);
  }

  /** Seals `id` as failed: reading it raises `error`. */
  fail(id: string | ObjectEntry, error: Error): void {
    const e = typeof id === "string" ? this.#entries.get(id) : this.#current(id);
    if (!e || e.state !== PENDING) return;
    e.error = error;
    this.#ready(e, FAILED, undefined);
  }

  #ready(e: ObjectEntry, state: ObjectState, nested: string[] | undefined): void {
    e.state = state;
    this.#pending--;
    if (nested && nested.length > 0) {
      // only objects this store has get a reference (and only those are released with it):
      // a ref to an object it never had (another node's) must not take one from a later entry
      let kept: string[] | undefined;
      for (const n of nested) {
        const t = this.#entries.get(n);
        if (!t) continue;
        t.refs++;
        (kept ??= []).push(n);
      }
      e.nested = kept;
    }
    const w = e.waiters;
    if (w) {
      e.waiters = undefined;
      if (typeof w === "function") w();
      else for (let i = 0; i < w.length; i++) w[i]!();
    }
    if (this.#located.size > 0) this.#fireLocated(e);
  }

  #find(id: string | ObjectEntry): ObjectEntry | undefined {
    return typeof id === "string" ? this.#entries.get(id) : this.#current(id);
  }

  /**
   * Calls `cb` once `id` is sealed (ready or failed). Returns false, without
   * registering, if it already is (or does not exist).
   */
  whenSealed(id: string | ObjectEntry, cb: () => void): boolean {
    const e = this.#find(id);
    if (!e || e.state !== PENDING) return false;
    // asked for before the callback is registered: a demand that fails at once (its holder is
    // known dead) seals the entry now, and then there is nothing to wait for
    if (e.remote !== undefined) this.cluster?.demand(e);
    if (e.state !== PENDING) return false;
    watch(e, cb);
    return true;
  }

  /** Removes a callback registered with whenSealed (a timed-out wait). */
  unwatch(id: string | ObjectEntry, cb: () => void): void {
    const e = this.#find(id);
    if (e) unwatch(e, cb);
  }

  addRef(id: string | ObjectEntry, n = 1): void {
    const e = this.#find(id);
    if (e) e.refs += n;
  }

  /** Drops a reference; frees the object when none are left. */
  release(id: string | ObjectEntry, n = 1): void {
    const e = this.#find(id);
    if (!e) return;
    e.refs -= n;
    if (e.refs > 0) return;
    if (e.indexed && this.#entries.get(e.key) === e) this.#entries.delete(e.key);
    e.live = false;
    this.#live--;
    if (e.state === PENDING) this.#pending--;
    if (e.lru) this.#lruRemove(e);
    if (e.arena) this.arena.free(e.arena);
    else if (e.spill) {
      this.#spilledObjects--;
      this.#spilledBytes -= e.spill.len;
    } else if (e.bytes) this.#inlineBytes -= e.bytes.length;
    if (e.spill) this.#spill?.free(e.spill);
    e.bytes = undefined;
    e.arena = undefined;
    e.spill = undefined;
    // off the list of live entries
    if (e.prev) e.prev.next = e.next;
    else this.#first = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#last = e.prev;
    e.prev = e.next = undefined;
    if (e.nested) for (const n of e.nested) this.release(n);
    if (e.remote !== undefined) this.cluster?.freed(e);
  }

  // ---- pressure ----------------------------------------------------------------------

  /**
   * Keeps `e`'s bytes in shared memory, where they are, until `unpin`:
   * reads it back first if it was spilled. Takes a reference too, so a
   * pinned object is never freed under a reader. Throws what `alloc`
   * throws, or SpillError, when it cannot be read back.
   */
  pin(e: ObjectEntry): void {
    if (e.spill && !e.arena && e.state === READY) this.#restore(e);
    e.refs++;
    if (e.pins++ === 0 && e.arena) {
      if (e.lru) this.#lruRemove(e);
      this.#pinnedObjects++;
      this.#pinnedBytes += e.arena.len;
    }
  }

  /** Ends a pin (and drops its reference). */
  unpin(e: ObjectEntry): void {
    if (--e.pins === 0 && e.arena) {
      this.#pinnedObjects--;
      this.#pinnedBytes -= e.arena.len;
      if (e.live && e.state === READY) this.#lruAppend(e);
    }
    this.release(e);
  }

  /**
   * `e`'s bytes, in memory: read back from disk if it was spilled (which
   * may spill others), and marked as just used. Undefined while pending or
   * failed.
   */
  bytes(e: ObjectEntry): Uint8Array | undefined {
    if (e.state !== READY) return undefined;
    if (!e.arena) {
      if (!e.spill) return e.bytes;
      this.#restore(e);
    } else if (e.lru && e !== this.#lruLast) {
      this.#lruRemove(e);
      this.#lruAppend(e);
    }
    return e.bytes;
  }

  #restore(e: ObjectEntry): void {
    const s = e.spill!;
    const ref = this.alloc(s.len, s.lead);
    const view = this.arena.view(ref);
    try {
      this.#spill!.read(s, view);
    } catch (err) {
      this.arena.free(ref);
      throw err;
    }
    e.arena = ref;
    e.bytes = view;
    this.#spilledObjects--;
    this.#spilledBytes -= s.len;
    this.#restoresTotal++;
    this.#restoredBytesTotal += s.len;
    if (e.pins === 0) this.#lruAppend(e);
  }

  /** Moves `e` out of shared memory: written to disk unless a copy is there already. */
  #evict(e: ObjectEntry): void {
    if (!e.spill) {
      const ref = e.arena!;
      e.spill = this.#spill!.write(e.bytes!, ref.off % BLOCK_ALIGN);
      this.#spillsTotal++;
      this.#spilledBytesTotal += ref.len;
    }
    this.#lruRemove(e);
    this.arena.free(e.arena!);
    e.arena = undefined;
    e.bytes = undefined;
    this.#spilledObjects++;
    this.#spilledBytes += e.spill.len;
  }

  #lruAppend(e: ObjectEntry): void {
    e.lru = true;
    e.lruNext = undefined;
    e.lruPrev = this.#lruLast;
    if (this.#lruLast) this.#lruLast.lruNext = e;
    else this.#lruFirst = e;
    this.#lruLast = e;
  }

  #lruRemove(e: ObjectEntry): void {
    e.lru = false;
    if (e.lruPrev) e.lruPrev.lruNext = e.lruNext;
    else this.#lruFirst = e.lruNext;
    if (e.lruNext) e.lruNext.lruPrev = e.lruPrev;
    else this.#lruLast = e.lruPrev;
    e.lruPrev = e.lruNext = undefined;
  }

  /** At shutdown: unmaps what is free and removes the spill files and their directory. */
  close(): void {
    this.arena.trim();
    this.#spill?.close();
  }

  // ---- introspection ------------------------------------------------------------------

  stats(): StoreStats {
    const spill = this.#spill?.stats();
    return {
      objects: this.#live,
      pending: this.#pending,
      inlineBytes: this.#inlineBytes,
      arenaBytes: this.arena.used,
      arenaMapped: this.arena.mapped,
      arenaCapacity: this.arena.capacity,
      pinnedObjects: this.#pinnedObjects,
      pinnedBytes: this.#pinnedBytes,
      spilledObjects: this.#spilledObjects,
      spilledBytes: this.#spilledBytes,
      spillsTotal: this.#spillsTotal,
      spilledBytesTotal: this.#spilledBytesTotal,
      restoresTotal: this.#restoresTotal,
      restoredBytesTotal: this.#restoredBytesTotal,
      spillFiles: spill?.files ?? 0,
      spillDiskBytes: spill?.diskBytes ?? 0,
      ...copierStats(),
      spillDirectory: spill?.directory,
    };
  }

  /** Every live object (the largest `limit` listed one by one) and the totals: Ray's `ray memory`. */
  memory(limit = 1000): MemorySummary {
    if (!(limit >= 0)) throw new RangeError(`memory(): limit must be >= 0, got ${limit}`);
    const all: ObjectEntry[] = [];
    for (let e = this.#first; e; e = e.next) all.push(e);
    all.sort((a, b) => sizeOf(b) - sizeOf(a));
    const objects = all.slice(0, limit).map(info);
    return { totals: this.stats(), objects, omitted: all.length - objects.length };
  }
}

function sizeOf(e: ObjectEntry): number {
  return e.arena ? e.arena.len : e.spill ? e.spill.len : (e.bytes?.length ?? 0);
}

function info(e: ObjectEntry): ObjectInfo {
  return {
    id: keyToHex(e.key),
    state: e.state === PENDING ? "pending" : e.state === READY ? "ready" : "failed",
    where: e.state !== READY ? (e.remote ? "remote" : "none") : e.arena ? "shared" : e.spill ? "spilled" : "inline",
    size: sizeOf(e),
    refs: e.refs,
    pins: e.pins,
    onDisk: e.spill !== undefined,
    nested: e.nested?.length ?? 0,
  };
}
