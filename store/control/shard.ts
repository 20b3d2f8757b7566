/**
 * One shard of the control store: a LevelDB database (npm `level`).
 *
 * Keys are `table \0 key`; values are MessagePack. Writes made in one turn
 * of the event loop go to LevelDB as one chained batch (about 4× the
 * throughput of separate puts, LIMITS.md); reads see writes not yet
 * committed, including those of the batch being written. `sync` makes
 * each batch durable against a machine crash (fsync) rather than only a
 * process crash.
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { Level } from "level";
import { ControlStoreError } from "./errors.js";
import type { Table } from "./types.js";

const SEP = "\u0000";
const DELETED = Symbol("deleted");

export interface ShardOptions {
  /** fsync every batch. Default false. */
  sync?: boolean;
}

export class ControlShard {
  readonly path: string;
  readonly #db: Level<string, Uint8Array>;
  readonly #sync: boolean;
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #decoder = new Decoder();
  /** Written but not committed yet, in write order. */
  #unwritten = new Map<string, Uint8Array | typeof DELETED>();
  /**
   * The batch LevelDB is writing: a read made meanwhile may run beside the
   * write on LevelDB's threads and miss it, so reads look here first.
   */
  #writing: Map<string, Uint8Array | typeof DELETED> | undefined;
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #committing: Promise<void> | undefined;
  #queued = false;
  /** Batches and entries committed, for stats. */
  batches = 0;
  writes = 0;

  private constructor(path: string, db: Level<string, Uint8Array>, sync: boolean) {
    this.path = path;
    this.#db = db;
    this.#sync = sync;
  }

  static async open(path: string, options: ShardOptions = {}): Promise<ControlShard> {
    const db = new Level<string, Uint8Array>(path, { valueEncoding: "view" });
    try {
      await db.open();
    } catch (e) {
      throw new ControlStoreError(`cannot open the control store shard at ${path}: ${(e as Error).message}`, e);
    }
    return new ControlShard(path, db, options.sync ?? false);
  }

  #decode(bytes: Uint8Array): unknown {
    return this.#decoder.decode(bytes);
  }

  async get(table: Table, key: string): Promise<unknown> {
    const k = table + SEP + key;
    const u = this.#unwritten.get(k) ?? this.#writing?.get(k);
    if (u === DELETED) return undefined;
    if (u !== undefined) return this.#decode(u);
    const v = await this.#db.get(k);
    return v === undefined ? undefined : this.#decode(v);
  }

  put(table: Table, key: string, value: unknown): Promise<void> {
    return this.#write(table + SEP + key, this.#encoder.encode(value));
  }

  delete(table: Table, key: string): Promise<void> {
    return this.#write(table + SEP + key, DELETED);
  }

  #write(k: string, v: Uint8Array | typeof DELETED): Promise<void> {
    this.#unwritten.delete(k); // keep write order: the last write of a key goes last
    this.#unwritten.set(k, v);
    const p = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#queued) {
      this.#queued = true;
      setImmediate(() => void this.#commit());
    }
    return p;
  }

  /** Writes what is unwritten as one batch (after the batch in progress, if any). */
  async #commit(): Promise<void> {
    if (this.#committing) await this.#committing.catch(() => {});
    this.#queued = false;
    if (this.#unwritten.size === 0) return;
    const entries = this.#unwritten;
    const waiters = this.#waiters;
    this.#unwritten = new Map();
    this.#waiters = [];
    const batch = this.#db.batch();
    for (const [k, v] of entries) {
      if (v === DELETED) batch.del(k);
      else batch.put(k, v);
    }
    const done = batch.write({ sync: this.#sync });
    this.#committing = done;
    this.#writing = entries;
    try {
      await done;
      this.batches++;
      this.writes += entries.size;
      for (const w of waiters) w.resolve();
    } catch (e) {
      const err = new ControlStoreError(`a write to the control store shard at ${this.path} failed: ${(e as Error).message}`, e);
      // nothing of this batch is in LevelDB: reads must not see it either
      for (const w of waiters) w.reject(err);
    } finally {
      // committed (reads find it in LevelDB), or failed (reads must not see it)
      if (this.#writing === entries) this.#writing = undefined;
      if (this.#committing === done) this.#committing = undefined;
    }
  }

  /** Resolves once every write made so far is committed (a commit is always queued while some are not). */
  async flushed(): Promise<void> {
    while (this.#unwritten.size > 0 || this.#committing) await (this.#committing ?? new Promise((r) => setImmediate(r))).catch(() => {});
  }

  async scan(table: Table, prefix: string): Promise<[string, unknown][]> {
    await this.flushed();
    const start = table + SEP + prefix;
    const out: [string, unknown][] = [];
    const skip = table.length + 1;
    for await (const [k, v] of this.#db.iterator({ gte: start, lt: start + "\uffff" })) out.push([k.slice(skip), this.#decode(v)]);
    return out;
  }

  async close(): Promise<void> {
    await this.flushed().catch(() => {});
    await this.#db.close();
  }
}
