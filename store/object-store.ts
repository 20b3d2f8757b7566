/**
 * The object table of one host: every object's state, bytes and reference
 * count.
 *
 * Entries are found by key only once *indexed*. The driver's own task
 * results and puts are reached through their ObjectRefs, so they are
 * indexed only when their ID escapes (into a value, or to a guest): at a
 * hundred thousand tasks a second the hash table was a tenth of the host's
 * time. Small objects (at most INLINE_MAX bytes) are kept as plain byte
 * arrays and travel inside task records; larger ones live in the shared
 * arena and travel as references to it.
 *
 * An object is freed when its count drops to zero. Counts are held by
 * driver ObjectRefs (released by a FinalizationRegistry), by tasks for
 * their arguments until they finish, by running tasks for the refs they
 * create, by driver views into arena memory, and by objects for the refs
 * nested in their values. Objects are immutable: sealing twice keeps the
 * first value.
 */
import type { Arena, ArenaRef } from "./arena.js";

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
  objects: number;
  pending: number;
  inlineBytes: number;
  arenaBytes: number;
  arenaMapped: number;
  arenaCapacity: number;
}

export class ObjectStore {
  readonly arena: Arena;
  readonly #entries = new Map<string, ObjectEntry>();
  #inlineBytes = 0;
  #pending = 0;
  #live = 0;

  constructor(arena: Arena) {
    this.arena = arena;
  }

  /** Live objects, indexed or not. */
  get size(): number {
    return this.#live;
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
    return { state: PENDING, bytes: undefined, arena: undefined, error: undefined, refs, waiters: undefined, nested: undefined, key: id, live: true, indexed: false, store: this };
  }

  /** Makes `e` findable by its key (its ID is about to be seen elsewhere). */
  index(e: ObjectEntry): void {
    if (e.indexed || !e.live) return;
    e.indexed = true;
    this.#entries.set(e.key, e);
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
      const ref = this.arena.alloc(bytes.length);
      this.arena.view(ref).set(bytes);
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
      e.nested = nested;
      for (const n of nested) {
        const t = this.#entries.get(n);
        if (t) t.refs++;
      }
    }
    const w = e.waiters;
    if (w) {
      e.waiters = undefined;
      if (typeof w === "function") w();
      else for (let i = 0; i < w.length; i++) w[i]!();
    }
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
    if (e.arena) this.arena.free(e.arena);
    else if (e.bytes) this.#inlineBytes -= e.bytes.length;
    e.bytes = undefined;
    e.arena = undefined;
    if (e.nested) for (const n of e.nested) this.release(n);
  }

  stats(): StoreStats {
    return {
      objects: this.#live,
      pending: this.#pending,
      inlineBytes: this.#inlineBytes,
      arenaBytes: this.arena.used,
      arenaMapped: this.arena.mapped,
      arenaCapacity: this.arena.capacity,
    };
  }
}
