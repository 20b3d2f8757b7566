/**
 * Objects between nodes. An object with a copy elsewhere stays pending
 * here until something waits for it; then it is pulled (CHUNK_BYTES at a
 * time, PULL_WINDOW chunks in flight) from the node holding it. Objects
 * of other owners that reach a guest as refs inside values are found in
 * the control store's object table, where a node records an object when a
 * ref to it leaves the node (publish). Results kept for their owners
 * (large ones, or ones holding refs) are held here until the owner frees
 * them or dies.
 */
import { copyInto } from "../../common/copy.js";
import { bytesToHex, bytesToKey, keyToBytes, keyToHex } from "../../common/ids.js";
import { binaryHeaderLength } from "../../common/msgpack-walk.js";
import type { ObjectLocationBody, PullReply, WireArg, WireTask } from "../../net/index.js";
import { CHUNK_BYTES, ChunkReply, MSG } from "../../net/index.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry, RemoteObjects } from "../../store/index.js";
import { BLOCK_ALIGN, FAILED, INLINE_MAX, ObjectLostError, OwnerDiedError, PENDING, READY, TABLES, channelOf } from "../../store/index.js";
import type { ObjectLocation } from "../head/index.js";
import type { RemoteControlStore } from "../../store/index.js";
import { nestedOrUndefined } from "../node/index.js";
import type { LocalNode } from "./local-node.js";
import type { Peers } from "./peers.js";
import type { HeadLink } from "./placement.js";

/** Chunks of one pull in flight at once. */
export const PULL_WINDOW = 4;

interface Pull {
  entry: ObjectEntry;
  node: string;
}

export class ClusterObjects implements RemoteObjects {
  readonly #node: LocalNode;
  readonly #gcs: RemoteControlStore;
  readonly #head: HeadLink;
  readonly #peers: Peers;
  readonly #pulls = new Map<string, Pull>();
  readonly #published = new Set<string>();
  /** Owners of the objects of other nodes found here through the objects table (an owner's death loses them: OwnerDiedError). */
  readonly #borrowed = new Map<string, string>();
  /** Results kept for their owners (large, or holding refs), until OBJECT_FREE or the owner's death. */
  readonly #held = new Map<string, { entry: ObjectEntry; owner: string }>();
  /** Set when the node leaves: nothing is sent any more. */
  closed = false;
  /**
   * Remakes a lost object of this node's from its lineage (Placement.rebuild):
   * undefined when it will be remade, else why it cannot be.
   */
  rebuild: (e: ObjectEntry, why: string) => string | undefined = (_e, why) => why;
  /** An object with a copy elsewhere was freed here (its lineage may go: Placement.forget). */
  onFreed: (e: ObjectEntry) => void = () => {};

  constructor(node: LocalNode, gcs: RemoteControlStore, head: HeadLink, peers: Peers) {
    this.#node = node;
    this.#gcs = gcs;
    this.#head = head;
    this.#peers = peers;
  }

  // ---- finding and pulling ------------------------------------------------------------

  /** An ID with no entry here: a pending entry (one ref, the caller's), filled from the cluster. */
  want(id: string): ObjectEntry {
    const store = this.#node.store;
    const e = store.expect(id, 1);
    if (e.state !== PENDING || e.remote || this.#pulls.has(id)) return e;
    const hex = keyToHex(id);
    let off: (() => void) | undefined;
    const found = (v: unknown) => {
      const loc = v as ObjectLocation | undefined;
      if (!loc || !e.live || e.state !== PENDING || e.remote) return;
      off?.();
      const node = loc.nodes.find((n) => this.#peers.deathOf(n) === undefined);
      if (node) {
        if (loc.owner !== undefined && loc.owner !== this.#peers.nodeId) this.#borrowed.set(e.key, loc.owner);
        store.setRemote(e, { node, size: loc.size });
        return;
      }
      store.fail(e, this.#lost(hex, loc.owner, "every node holding it died"));
    };
    const gcs = this.#gcs;
    off = gcs.subscribe(channelOf(TABLES.objects, hex), (_k, v) => found(v));
    gcs.get(TABLES.objects, hex).then(found, () => {});
    return e;
  }

  /** Someone waits for `e`, which is on another node: pull it (RemoteObjects). */
  demand(e: ObjectEntry): void {
    if (this.#pulls.has(e.key) || !e.remote) return;
    const p: Pull = { entry: e, node: e.remote.node };
    this.#pulls.set(e.key, p);
    const dead = this.#peers.deathOf(p.node);
    if (dead) {
      this.#pullFailed(p, `the node holding it died (${dead})`);
      return;
    }
    this.#pull(p).catch((err: Error) => this.#pullFailed(p, err instanceof ObjectLostError ? (err.why ?? err.message) : `pulling it from node ${p.node.slice(0, 8)} failed: ${err.message}`));
  }

  async #pull(p: Pull): Promise<void> {
    const e = p.entry;
    const size = e.remote!.size;
    const conn = await this.#peers.connect(p.node);
    const id = keyToBytes(e.key);
    const store = this.#node.store;
    const chunk = async (offset: number, length: number): Promise<Uint8Array> => {
      const r = await conn.request<PullReply>(MSG.OBJECT_PULL, { id, offset, length });
      if (r.size !== size || r.data.length !== length) throw new ObjectLostError(keyToHex(e.key), `node ${p.node.slice(0, 8)} has a different object under this ID`);
      return r.data;
    };
    // the first chunk says how long the value's header is: the block puts the
    // bytes after it at an aligned offset, so a typed array is read in place
    const first = size === 0 ? new Uint8Array(0) : await chunk(0, Math.min(CHUNK_BYTES, size));
    if (size <= INLINE_MAX) {
      const bytes = first.slice();
      this.#pulls.delete(e.key);
      if (e.live && e.state === PENDING) store.sealInline(e, bytes, nestedOrUndefined(bytes));
      return;
    }
    const ref = store.alloc(size, -binaryHeaderLength(first) & (BLOCK_ALIGN - 1));
    const dest = store.arena.view(ref);
    try {
      copyInto(dest, first);
      let next = first.length;
      const one = async (): Promise<void> => {
        while (next < size) {
          const offset = next;
          const length = Math.min(CHUNK_BYTES, size - offset);
          next += length;
          copyInto(dest, await chunk(offset, length), offset);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PULL_WINDOW, Math.ceil((size - next) / CHUNK_BYTES)) }, one));
    } catch (err) {
      store.arena.free(ref);
      throw err;
    }
    this.#pulls.delete(e.key);
    if (!e.live || e.state !== PENDING) {
      store.arena.free(ref);
      return;
    }
    store.sealArena(e, ref, nestedOrUndefined(dest));
  }

  /** A pull failed (`why`): the object is remade if it is ours and can be, else it fails. */
  #pullFailed(p: Pull, why: string): void {
    if (this.#pulls.get(p.entry.key) !== p) return;
    this.#pulls.delete(p.entry.key);
    const e = p.entry;
    if (!e.live || e.state !== PENDING) return;
    const left = this.rebuild(e, why);
    // remade (undefined): it stays pending, and is pulled from where the new run leaves it
    if (left !== undefined) this.#node.store.fail(e, this.#lost(keyToHex(e.key), this.#borrowed.get(e.key), left));
  }

  /** The error of an object that cannot be had (`why`): OwnerDiedError when its owner (another node) is dead — it is gone for good, as in Ray. */
  #lost(hex: string, owner: string | undefined, why: string): ObjectLostError {
    const ownerDeath = owner === undefined ? undefined : this.#peers.deathOf(owner);
    return ownerDeath !== undefined ? new OwnerDiedError(hex, owner!, ownerDeath) : new ObjectLostError(hex, why);
  }

  // ---- serving ------------------------------------------------------------------------

  /** Serves a chunk of an object held here (waits for it while it is being made here). */
  serve(b: { id: Uint8Array; offset: number; length: number }): ChunkReply | Promise<ChunkReply> {
    const store = this.#node.store;
    const key = bytesToKey(b.id);
    const e = store.entry(key) ?? this.#held.get(key)?.entry;
    if (!e || !e.live) throw new ObjectLostError(bytesToHex(b.id), `node ${this.#peers.nodeId.slice(0, 8)} does not hold it`);
    if (e.state === PENDING && !e.remote) {
      return new Promise((resolve, reject) => {
        store.whenSealed(e, () => {
          try {
            resolve(this.serve(b) as ChunkReply);
          } catch (err) {
            reject(err);
          }
        });
      });
    }
    if (e.state !== READY) throw e.error ?? new ObjectLostError(bytesToHex(b.id), "not here");
    // sent from the store's memory without a copy: pinned (kept in place, not freed) until the link has written it
    store.pin(e);
    const bytes = store.bytes(e)!;
    const end = Math.min(bytes.length, b.offset + b.length);
    return new ChunkReply(bytes.length, bytes.subarray(Math.min(b.offset, end), end), () => store.unpin(e));
  }

  /** Keeps result `e` for node `owner`, which may pull it, until it frees it (a reference of its own). */
  hold(e: ObjectEntry, owner: string): void {
    this.#node.store.addRef(e);
    this.#held.set(e.key, { entry: e, owner });
  }

  /** OBJECT_FREE: the owner no longer needs what was kept for it. */
  free(ids: Uint8Array[]): void {
    for (const id of ids) {
      const key = bytesToKey(id);
      const h = this.#held.get(key);
      if (!h) continue;
      this.#held.delete(key);
      this.#node.store.release(h.entry);
    }
  }

  /** `e` had a copy elsewhere and was freed here: the holder may drop what it kept for us (RemoteObjects). */
  freed(e: ObjectEntry): void {
    this.onFreed(e);
    this.#borrowed.delete(e.key);
    const node = e.remote?.node;
    if (!node || this.#peers.deathOf(node) !== undefined || this.closed) return;
    this.#peers.send(node, MSG.OBJECT_FREE, { ids: [keyToBytes(e.key)] });
  }

  /** Node `id` died: what was kept for it goes, and pulls from it fail. */
  nodeDied(id: string, why: string): void {
    for (const [key, h] of this.#held) {
      if (h.owner !== id) continue;
      this.#held.delete(key);
      this.#node.store.release(h.entry);
    }
    for (const p of [...this.#pulls.values()]) if (p.node === id) this.#pullFailed(p, `the node holding it died (${why})`);
  }

  // ---- refs leaving this node -----------------------------------------------------------

  /** Records in the object table that this node holds `e` (its ref is leaving the node). */
  publish(e: ObjectEntry): void {
    if (this.#published.has(e.key)) return;
    if (e.state === PENDING) {
      if (e.remote) return; // its holder publishes it
      this.#node.store.whenSealed(e, () => this.publish(e));
      return;
    }
    if (e.state !== READY) return;
    this.#published.add(e.key);
    const size = e.arena?.len ?? e.spill?.len ?? e.bytes?.length ?? 0;
    const body: ObjectLocationBody = { object: keyToHex(e.key), size };
    // kept here for the node that submitted its task: that node owns it
    const owner = this.#held.get(e.key)?.owner;
    if (owner !== undefined) body.owner = owner;
    this.#head.notify(MSG.OBJECT_LOCATION, body);
    if (e.nested) for (const n of e.nested) {
      const ne = this.#node.store.entry(n);
      if (ne) this.publish(ne);
    }
  }

  /**
   * A task's arguments as they travel: small values inline, others as
   * where they are. Fails the task (and returns undefined) if one failed.
   */
  wireArgs(task: TaskSpec): { deps: WireArg[] | undefined; nested: Uint8Array[] | undefined } | undefined {
    const store = this.#node.store;
    const self = this.#peers.nodeId;
    let deps: WireArg[] | undefined;
    if (task.deps) {
      deps = [];
      for (const d of task.deps) {
        const e = store.entry(d);
        if (e === undefined || e.state === FAILED) {
          this.#node.reject(task, e?.error ?? new ObjectLostError(keyToHex(d), "freed before its task was placed"));
          return undefined;
        }
        const id = keyToBytes(d);
        if (e.state === PENDING) deps.push({ id, size: e.remote!.size, nodes: [e.remote!.node] });
        else if (!e.arena && !e.spill) deps.push({ id, size: e.bytes!.length, value: e.bytes! });
        else {
          // here, and where it was pulled from (which still has it)
          const nodes = e.remote && this.#peers.deathOf(e.remote.node) === undefined ? [self, e.remote.node] : [self];
          deps.push({ id, size: (e.arena?.len ?? e.spill?.len)!, nodes });
          this.publish(e);
        }
      }
    }
    const nested = task.nested?.map((k) => {
      const e = store.entry(k);
      if (e) this.publish(e);
      return keyToBytes(k);
    });
    return { deps, nested };
  }

  /** Local entries for a wire task's arguments: values sealed here, others to be pulled on demand. */
  argEntries(w: WireTask): string[] | undefined {
    if (!w.deps) return undefined;
    const store = this.#node.store;
    const keys: string[] = [];
    for (const a of w.deps) {
      const key = bytesToKey(a.id);
      keys.push(key);
      const have = store.entry(key);
      if (have && have.state !== FAILED) continue;
      const e = store.expect(key, 0);
      if (a.value) store.sealInline(e, a.value.slice(), nestedOrUndefined(a.value));
      else if (a.nodes && a.nodes.length > 0) store.setRemote(e, { node: a.nodes[0]!, size: a.size });
    }
    return keys;
  }
}
