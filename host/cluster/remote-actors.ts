/**
 * Actors of other nodes, as callers on this node know them: creation
 * through the head (which keeps names unique and places the actor), calls
 * sent straight to the actor's node in the order they were made, lookups
 * by name or ID in the control store's actors table, and kills.
 */
import type { TaskId } from "../../common/ids.js";
import { bytesToKey, hexToKey, keyToBytes, keyToHex } from "../../common/ids.js";
import type { ActorCheckpointBody, ActorStateBody, WireTask } from "../../net/index.js";
import { MSG } from "../../net/index.js";
import { cancelledBy, newTaskSpec, shapeFromEntries } from "../../scheduler/index.js";
import type { ObjectEntry, RemoteControlStore } from "../../store/index.js";
import { TABLES, channelOf } from "../../store/index.js";
import { ActorDiedError, ActorNotFoundError } from "../errors.js";
import type { ActorTableRecord } from "../head/index.js";
import { KIND_CONSTRUCT, KIND_METHOD } from "../isolate/index.js";
import type { ActorOptionsResolved, ActorRecord, ComponentRecord } from "../node/index.js";
import { functionInfo, makeTask, restoreArgs } from "../node/index.js";
import type { LocalNode } from "./local-node.js";
import type { Peers } from "./peers.js";
import type { HeadLink, Placement } from "./placement.js";

/** An actor on another node, as its callers here know it. */
interface RemoteActor {
  key: string;
  className: string;
  /** Undefined until the head says where it went. */
  node: string | undefined;
  /** Calls made before the placement was known, in order. */
  waiting: WireTask[] | undefined;
  /** Calls not sent yet (an argument unresolved, or behind one that is), in order. */
  outbox: { ready: boolean; send: () => void }[];
  death: Error | undefined;
  /** Restarts it may still have (from its options or its record), and how often a call in flight at a death is sent again. */
  maxRestarts: number;
  maxTaskRetries: number;
  /** Waiting for the head to start it again elsewhere: stops watching its record. */
  unwatch: (() => void) | undefined;
  /**
   * Checkpointed (the creator's view, with checkpointInterval): its last
   * checkpoint, and the calls sent from here since that it does not cover,
   * in order (replayed after a restart on another node).
   */
  checkpoints: { saved: Uint8Array | undefined; log: WireTask[] } | undefined;
}

const EMPTY = new Uint8Array(0);
const NO_RESOURCES = shapeFromEntries([]);

export class RemoteActors {
  readonly #node: LocalNode;
  readonly #gcs: RemoteControlStore;
  readonly #head: HeadLink;
  readonly #peers: Peers;
  readonly #placement: Placement;
  readonly #actors = new Map<string, RemoteActor>();
  /** Set when the node leaves: deaths are no longer recorded. */
  closed = false;
  /** Times each call was sent again after its actor's node died (maxTaskRetries). */
  readonly #resent = new WeakMap<WireTask, number>();
  /** Calls in flight at a death that were not sent again (never replayed). */
  readonly #lostCalls = new WeakSet<WireTask>();

  constructor(node: LocalNode, gcs: RemoteControlStore, head: HeadLink, peers: Peers, placement: Placement) {
    this.#node = node;
    this.#gcs = gcs;
    this.#head = head;
    this.#peers = peers;
    this.#placement = placement;
  }

  /** Creates an actor through the head. Its calls queue here until it is placed. */
  create(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, options: ActorOptionsResolved, job: string | undefined): void {
    const ctorOptions = { numReturns: 0, maxRetries: 0, timeoutMs: 0, shape: options.shape, memoryMb: options.memoryMb };
    const ctor = makeTask(this.#node.store, { component: c, fn: functionInfo(c, className), taskId: actorId, args, deps, nested, options: ctorOptions, returnIds: [], returns: [], kind: KIND_CONSTRUCT });
    const a: RemoteActor = { key: actorId.key, className, node: undefined, waiting: [], outbox: [], death: undefined, maxRestarts: options.maxRestarts ?? 0, maxTaskRetries: options.maxTaskRetries ?? 0, unwatch: undefined, checkpoints: options.checkpointInterval ? { saved: undefined, log: [] } : undefined };
    this.#actors.set(actorId.key, a);
    const place = () => {
      const w = this.#placement.toWire(ctor, actorId.key);
      if (!w) {
        a.death = new ActorDiedError(className, keyToHex(actorId.key), "an argument of its constructor failed");
        this.#flush(a);
        return;
      }
      if (options.name !== undefined) w.actorName = options.name;
      w.maxConcurrency = options.maxConcurrency;
      if (job !== undefined) w.job = job;
      if (options.lifetime === "detached") w.lifetime = "detached";
      if (options.maxRestarts !== undefined || options.maxTaskRetries !== undefined || options.checkpointInterval !== undefined) {
        w.restart = { maxRestarts: options.maxRestarts ?? 0, maxTaskRetries: options.maxTaskRetries ?? 0, checkpointInterval: options.checkpointInterval ?? 0 };
      }
      this.#head.request<string>(MSG.ACTOR_CREATE, w).then(
        (node) => {
          a.node = node;
          this.#node.releaseArgs(ctor);
          this.#flush(a);
        },
        (e: Error) => {
          this.#node.releaseArgs(ctor);
          // the head's typed refusal (a name taken, no node that fits) is the death's cause
          a.death = e instanceof ActorDiedError ? e : new ActorDiedError(className, keyToHex(actorId.key), e.message, e);
          this.#flush(a);
        },
      );
    };
    // the constructor's arguments must be resolved before it leaves
    this.#placement.afterResolved(deps, place);
  }

  /** Sends the calls that waited for the actor's placement, or fails them. */
  #flush(a: RemoteActor): void {
    const calls = a.waiting ?? [];
    a.waiting = undefined;
    for (const w of calls) this.#send(a, w);
  }

  /** What the actors table says of `a`: its class, its node, and whether it is dead. */
  #fromRecord(a: RemoteActor, rec: ActorTableRecord): void {
    a.className = rec.className;
    a.node = rec.node;
    a.maxRestarts = rec.restartsLeft ?? 0;
    a.maxTaskRetries = rec.maxTaskRetries ?? 0;
    const nodeDeath = this.#peers.deathOf(rec.node);
    if (rec.state === "dead") a.death = new ActorDiedError(rec.className, keyToHex(a.key), rec.death ?? "dead");
    else if (nodeDeath !== undefined) a.death = new ActorDiedError(rec.className, keyToHex(a.key), `its node died (${nodeDeath})`);
  }

  /** The actor's record in the control store. */
  #lookup(key: string): Promise<ActorTableRecord | undefined> {
    return this.#gcs.get<ActorTableRecord>(TABLES.actors, keyToHex(key));
  }

  /** The live actor named `name` (its key), recorded here so that calls can follow. */
  async byName(name: string): Promise<string | undefined> {
    const hex = await this.#gcs.get<string>(TABLES.actorNames, name);
    if (hex === undefined) return undefined;
    const key = hexToKey(hex);
    const rec = await this.#lookup(key);
    if (!rec || rec.state === "dead") return undefined;
    if (!this.#actors.has(key) && !this.#node.actors.get(key)) {
      const a: RemoteActor = { key, className: rec.className, node: undefined, waiting: undefined, outbox: [], death: undefined, maxRestarts: 0, maxTaskRetries: 0, unwatch: undefined, checkpoints: undefined };
      this.#fromRecord(a, rec);
      this.#actors.set(key, a);
    }
    return key;
  }

  /** Calls a method of an actor on another node. */
  call(actorKey: string, method: string, taskId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, numReturns: number, returnIds: string[], returns: ObjectEntry[]): boolean {
    let a = this.#actors.get(actorKey);
    if (!a) {
      // a handle that came in a value: find the actor first, keeping this call's place in line
      const found: RemoteActor = { key: actorKey, className: "actor", node: undefined, waiting: [], outbox: [], death: undefined, maxRestarts: 0, maxTaskRetries: 0, unwatch: undefined, checkpoints: undefined };
      this.#actors.set(actorKey, (a = found));
      this.#lookup(actorKey).then(
        (rec) => {
          if (!rec) found.death = new ActorNotFoundError(`with ID ${keyToHex(actorKey)} in this cluster`);
          else this.#fromRecord(found, rec);
          this.#flush(found);
        },
        (e: Error) => {
          found.death = e;
          this.#flush(found);
        },
      );
    }
    const actor = a;
    const store = this.#node.store;
    if (deps) for (const d of deps) store.addRef(d);
    if (nested) for (const d of nested) store.addRef(d);
    // an actor call in flight to another node: nothing of it runs here
    const task = newTaskSpec({ taskId, name: method, nameBytes: EMPTY, stats: { avgMs: NaN }, component: -1, kind: KIND_METHOD, args, deps, nested, numReturns, returnIds, returns, shape: NO_RESOURCES, retriesLeft: 0, timeoutMs: 0 });
    // calls leave in the order they were made: one whose arguments are not
    // resolved yet holds back the later ones (as at a local actor)
    const slot = { ready: false, send: () => {} };
    slot.send = () => {
      const cancelled = cancelledBy(task);
      if (cancelled) return this.#placement.finish(task, cancelled);
      const w = this.#placement.toWire(task, actorKey, "");
      if (!w) return;
      this.#placement.track({ task, node: actor.node, wire: w });
      if (actor.waiting) actor.waiting.push(w);
      else this.#send(actor, w);
    };
    actor.outbox.push(slot);
    this.#placement.afterResolved(deps, () => {
      slot.ready = true;
      while (actor.outbox.length > 0 && actor.outbox[0]!.ready) actor.outbox.shift()!.send();
    });
    return true;
  }

  #send(a: RemoteActor, w: WireTask): void {
    const placement = this.#placement;
    const f = placement.tracked(bytesToKey(w.id, 0, 16));
    if (!f) return;
    const cancelled = cancelledBy(f.task);
    if (cancelled) return placement.drop(f, cancelled);
    if (a.death || !a.node) {
      placement.drop(f, a.death ?? new ActorNotFoundError(`with ID ${keyToHex(a.key)}`));
      return;
    }
    f.node = a.node;
    const dead = this.#peers.deathOf(a.node);
    if (dead) {
      placement.drop(f, new ActorDiedError(a.className, keyToHex(a.key), `its node died (${dead})`));
      return;
    }
    a.checkpoints?.log.push(w);
    this.#peers.send(a.node, MSG.ACTOR_CALL, w, (e) => placement.drop(f, new ActorDiedError(a.className, keyToHex(a.key), e.message, e)));
  }

  /** ACTOR_CHECKPOINT from an actor's node: the calls it covers need no replay any more. */
  checkpointed(b: ActorCheckpointBody): void {
    const a = this.#actors.get(bytesToKey(b.actor, 0, 16));
    const cp = a?.checkpoints;
    if (!cp) return;
    cp.saved = b.value.slice();
    const covered = new Set(b.covered.map((id: Uint8Array) => bytesToKey(id, 0, 16)));
    cp.log = cp.log.filter((w) => !covered.has(bytesToKey(w.id, 0, 16)));
  }

  /**
   * `a` restarted on another node: before anything else it gets, it
   * restores its last checkpoint and replays, in order, the calls made
   * from here after it that had finished (their results are taken; the
   * calls in flight follow, as maxTaskRetries says).
   */
  #restore(a: RemoteActor): void {
    const cp = a.checkpoints;
    if (!cp || cp.saved === undefined || !a.node) return;
    const waiting = new Set(a.waiting ?? []);
    const again = cp.log.filter((w) => !waiting.has(w) && !this.#lostCalls.has(w));
    cp.log = [];
    const restore: WireTask = { id: crypto.getRandomValues(new Uint8Array(16)), owner: this.#peers.nodeId, component: "", name: "restore", kind: KIND_METHOD, args: restoreArgs(cp.saved), numReturns: 1, retries: 0, timeoutMs: 0, resources: [], actor: keyToBytes(a.key) };
    this.#peers.send(a.node, MSG.ACTOR_CALL, restore);
    for (const w of again) {
      cp.log.push(w);
      this.#peers.send(a.node, MSG.ACTOR_CALL, w);
    }
  }

  /** Kills an actor wherever it is. */
  async kill(key: string): Promise<boolean> {
    const a = this.#actors.get(key);
    let node = a?.node;
    if (!node) node = (await this.#lookup(key))?.node;
    if (!node) return false;
    this.#peers.send(node, MSG.ACTOR_KILL, { actor: keyToBytes(key) });
    if (a) a.death ??= new ActorDiedError(a.className, keyToHex(key), "it was killed");
    return true;
  }

  /** An actor of this node died: its record says so, and its name is free again. */
  died(r: ActorRecord): void {
    if (this.closed) return;
    const body: ActorStateBody = { actor: keyToHex(r.key), state: "dead", methods: [], death: r.death?.reason ?? "dead" };
    this.#head.request(MSG.ACTOR_STATE, body).catch(() => {});
  }

  /** An actor of this node restarted here: the head counts it against its maxRestarts (what is left for restarts elsewhere). */
  restarted(r: ActorRecord): void {
    if (this.closed) return;
    const body: ActorStateBody = { actor: keyToHex(r.key), state: "alive", methods: [...r.methods], restarts: r.restarts };
    this.#head.request(MSG.ACTOR_STATE, body).catch(() => {});
  }

  /** The class of a remote actor, if known. */
  className(key: string): string | undefined {
    return this.#actors.get(key)?.className;
  }

  /**
   * Node `id` died: the actors on it are dead, unless they may restart:
   * then their calls wait (those in flight first, see `callLost`) until the
   * head has started them on another node.
   */
  nodeDied(id: string, why: string): void {
    for (const a of this.#actors.values()) {
      if (a.node !== id || a.death) continue;
      if (a.maxRestarts > 0) this.#awaitRestart(a, id, why);
      else a.death = new ActorDiedError(a.className, keyToHex(a.key), `its node died (${why})`);
    }
  }

  /**
   * A call to an actor whose node died was in flight (Placement.nodeDied):
   * undefined when it waits for the actor's restart to be sent again
   * (within maxTaskRetries); else it fails (at-most-once), with what its
   * ActorDiedError adds to the reason.
   */
  callLost(actorKey: string, node: string, why: string, w: WireTask): string | undefined {
    const a = this.#actors.get(actorKey);
    if (!a || a.death || a.maxRestarts <= 0) return "";
    if (a.node === node) this.#awaitRestart(a, node, why);
    const tries = this.#resent.get(w) ?? 0;
    if (tries >= a.maxTaskRetries) {
      this.#lostCalls.add(w);
      return "; it restarts, and a call in flight then is not sent again (maxTaskRetries)";
    }
    this.#resent.set(w, tries + 1);
    (a.waiting ??= []).push(w);
    return undefined;
  }

  /** Holds `a`'s calls until its record names a live node again (restarted) or says it is dead. */
  #awaitRestart(a: RemoteActor, deadNode: string, why: string): void {
    if (a.unwatch !== undefined) return;
    a.node = undefined;
    a.waiting ??= [];
    const hex = keyToHex(a.key);
    const seen = (rec: ActorTableRecord | undefined) => {
      if (a.unwatch === undefined || !rec) return;
      if (rec.state === "dead") a.death = new ActorDiedError(a.className, hex, rec.death ?? `its node died (${why})`);
      else if (rec.node === deadNode || this.#peers.deathOf(rec.node) !== undefined) return;
      a.unwatch();
      a.unwatch = undefined;
      if (!a.death) {
        this.#fromRecord(a, rec);
        this.#restore(a);
      }
      this.#flush(a);
    };
    a.unwatch = this.#gcs.subscribe(channelOf(TABLES.actors, hex), (_k, v) => seen(v as ActorTableRecord | undefined));
    this.#gcs.get<ActorTableRecord>(TABLES.actors, hex).then(seen, () => {});
  }
}
