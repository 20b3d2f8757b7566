/**
 * The control store itself: N LevelDB shards, a key's shard chosen by a
 * hash of its table and key, and pub/sub in this process (the server
 * forwards it to remote subscribers).
 *
 * Events are published when a write is accepted, before it is committed,
 * so subscribers learn of it without waiting for the disk; a reader that
 * then asks gets the new value (shards read their uncommitted writes).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ControlShard } from "./shard.js";
import type { ChangeListener, ControlStore, Table } from "./types.js";
import { channelOf, isTable } from "./types.js";

export interface ShardedControlStoreOptions {
  /** Directory holding one LevelDB directory per shard (`shard-0`, ...). */
  directory: string;
  /** Number of shards. Default 1. */
  shards?: number;
  /** fsync every batch. Default false. */
  sync?: boolean;
}

/** FNV-1a over the table and key: cheap, and spreads keys evenly. */
export function shardOf(table: string, key: string, n: number): number {
  if (n === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < table.length; i++) h = Math.imul(h ^ table.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x2f, 0x01000193);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

function checkKey(table: unknown, key: unknown): void {
  if (!isTable(table)) throw new TypeError(`unknown control store table '${String(table)}'`);
  if (typeof key !== "string") throw new TypeError("control store keys must be strings");
}

export class ShardedControlStore implements ControlStore {
  readonly shards: readonly ControlShard[];
  readonly #subs = new Map<string, Set<ChangeListener>>();

  private constructor(shards: ControlShard[]) {
    this.shards = shards;
  }

  static async open(options: ShardedControlStoreOptions): Promise<ShardedControlStore> {
    const n = options.shards ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`shards must be a whole number from 1 to 256, got ${options.shards}`);
    await mkdir(options.directory, { recursive: true });
    const shards: ControlShard[] = [];
    try {
      for (let i = 0; i < n; i++) shards.push(await ControlShard.open(join(options.directory, `shard-${i}`), { sync: options.sync }));
    } catch (e) {
      for (const s of shards) await s.close();
      throw e;
    }
    return new ShardedControlStore(shards);
  }

  #shard(table: Table, key: string): ControlShard {
    return this.shards[shardOf(table, key, this.shards.length)]!;
  }

  async get<T = unknown>(table: Table, key: string): Promise<T | undefined> {
    checkKey(table, key);
    return (await this.#shard(table, key).get(table, key)) as T | undefined;
  }

  async put(table: Table, key: string, value: unknown): Promise<void> {
    checkKey(table, key);
    if (value === undefined) throw new TypeError("control store values cannot be undefined (use delete)");
    const p = this.#shard(table, key).put(table, key, value);
    this.#publish(table, key, value);
    return p;
  }

  async delete(table: Table, key: string): Promise<void> {
    checkKey(table, key);
    const p = this.#shard(table, key).delete(table, key);
    this.#publish(table, key, undefined);
    return p;
  }

  async scan<T = unknown>(table: Table, prefix = ""): Promise<[string, T][]> {
    checkKey(table, prefix);
    if (this.shards.length === 1) return (await this.shards[0]!.scan(table, prefix)) as [string, T][];
    const parts = await Promise.all(this.shards.map((s) => s.scan(table, prefix)));
    return (parts.flat() as [string, T][]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  subscribe(channel: string, fn: ChangeListener): () => void {
    let set = this.#subs.get(channel);
    if (!set) this.#subs.set(channel, (set = new Set()));
    // each subscription is its own entry, even for the same function
    const entry: ChangeListener = (k, v) => fn(k, v);
    set.add(entry);
    return () => {
      const s = this.#subs.get(channel);
      if (!s) return;
      s.delete(entry);
      if (s.size === 0) this.#subs.delete(channel);
    };
  }

  #publish(table: Table, key: string, value: unknown): void {
    if (this.#subs.size === 0) return;
    for (const ch of [channelOf(table), channelOf(table, key)]) {
      const set = this.#subs.get(ch);
      if (!set) continue;
      for (const fn of [...set]) {
        try {
          fn(key, value);
        } catch {
          // a subscriber's failure is its own
        }
      }
    }
  }

  /** Writes committed and batches, per shard. */
  stats(): { shard: number; writes: number; batches: number }[] {
    return this.shards.map((s, shard) => ({ shard, writes: s.writes, batches: s.batches }));
  }

  async close(): Promise<void> {
    this.#subs.clear();
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
