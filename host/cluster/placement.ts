/**
 * The owner side of tasks: where a task submitted here runs, and what
 * happens to it until its result comes back.
 *
 * Design assumptions:
 * - Ownership (as in Ray): the node that submits a task owns its results.
 *   It resolves the task's arguments before placing it (a task leaves only
 *   with its arguments sealed, or known to be on another node), keeps the
 *   spec until the task is reported done, and resubmits it if the node
 *   running it dies.
 * - Bottom-up: a task runs here when this node could ever run it, its
 *   queue is short (LOCAL_QUEUE_PER_CPU tasks per CPU waiting) and at most
 *   LOCALITY_BYTES of its arguments would have to be pulled; otherwise it
 *   goes to the head's global scheduler (scheduler/policy/locality.ts), or
 *   straight to a node the head recently gave tasks of its shape (leases,
 *   see LEASE_MS) when none of its arguments would have to be pulled.
 *
 * - Lineage: while a result of a finished task lives only on another
 *   node, the task's spec (and its argument refs) stays here, within
 *   maxLineageBytes; a result lost with its node is made again by running
 *   the task once more (paper §4.2.3).
 *
 * Its seams are narrow so that a test can drive it with fake peers and a
 * fake head (test/host/cluster/placement.test.ts).
 *
 * This file's parts:
 *   seams            PlacingNode, PlacingPeers, HeadLink, Forwarded, Lineage, Lease
 *   Placement        resolution of arguments, routing (here, a lease, or the head), leases
 *   finishing        finish, tracked actor calls, toWire
 *   lineage          keeping, evicting and forgetting lineage; rebuild of a lost result
 *   reports          done (TASK_DONE; fencing; a lost argument), node deaths
 */
import { bytesToKey, keyToBytes, keyToHex, objectKey, taskIdFromKey } from "../../common/ids.js";
import type { MessageType, PlacedReply, TaskCancelBody, TaskDoneBody, WireArg, WireTask } from "../../net/index.js";
import { MSG } from "../../net/index.js";
import type { LeaseNode, TaskSpec } from "../../scheduler/index.js";
import { TaskCancelledError, UNIT, awaitDeps, cancelledBy, pickLeased } from "../../scheduler/index.js";
import type { ObjectEntry, ObjectStore } from "../../store/index.js";
import { FAILED, ObjectLostError, PENDING } from "../../store/index.js";
import { ActorDiedError, NodeDiedError, TaskError } from "../errors.js";
import { KIND_TASK } from "../isolate/index.js";
import type { LocalQueue } from "./local-node.js";
import { decodeError } from "./remote-errors.js";
import type { CancelOptions } from "../node/index.js";
import { forcedActorCall, nestedOrUndefined } from "../node/index.js";

/** Tasks waiting per CPU before new ones go to the global scheduler. */
export const LOCAL_QUEUE_PER_CPU = 4;
/** Arguments that would have to be pulled, beyond which the global scheduler places the task. */
export const LOCALITY_BYTES = 1 << 20;
/**
 * Leases (Ray's worker leases, per owner and resource shape): the head's
 * answer to a placement names the nodes that may take more tasks of that
 * shape with their load (policy rule 4), and for LEASE_MS tasks of that
 * shape whose arguments travel with them go straight to the leased node
 * with the least load plus tasks of ours outstanding there, saving the
 * hop through the head. In the lease's second half one task goes
 * through the head again to renew it with fresh load figures. While no
 * lease is fresh, one task asks the head and the others wait for its
 * answer (so a burst costs the head one request, not one per task).
 */
export const LEASE_MS = 200;
const LEASE_MAX_NODES = 64;

/** What placement uses of the node it places for. */
export interface PlacingNode {
  readonly store: ObjectStore;
  readonly scheduler: LocalQueue;
  reject(task: TaskSpec, error: Error): void;
  releaseArgs(task: TaskSpec): void;
  /** The hash other nodes know component `index` by. */
  componentHash(index: number): string;
  /** The memory cap of component `index`, when it is not the node's own (a task's or actor's `memoryMb`). */
  componentMemoryMb(index: number): number | undefined;
}

/** What placement uses of the other nodes (Peers; a fake in tests). */
export interface PlacingPeers {
  readonly nodeId: string;
  deathOf(id: string): string | undefined;
  send(id: string, type: MessageType, body: unknown, onError?: (e: Error) => void): void;
}

/** The head as the cluster node's parts ask it: placement (a fake in tests) requests, others also notify. */
export interface HeadLink {
  request<T>(type: MessageType, body: unknown): Promise<T>;
  notify(type: MessageType, body: unknown): void;
}

/** A task's arguments as they travel (ClusterObjects.wireArgs; a fake in tests). */
export type WireArgs = (task: TaskSpec) => { deps: WireArg[] | undefined; nested: Uint8Array[] | undefined } | undefined;

/** A task this node owns that runs elsewhere. */
export interface Forwarded {
  task: TaskSpec;
  /** Where it was sent (undefined until the head answers). */
  node: string | undefined;
  wire: WireTask;
  /** Counted in #outstanding (a task placed through #forward). */
  counted?: boolean;
  /** Cancelled before it had a node: the cancel goes to the node it is placed on. */
  cancel?: CancelOptions;
}

/**
 * Lineage (paper §4.2.3): a finished task of ours whose results live on
 * other nodes, kept so that they can be made again if every copy is lost
 * with its node. It holds the task's arguments (one reference each) for
 * as long as it is kept.
 */
interface Lineage {
  task: TaskSpec;
  /** Bytes it counts against maxLineageBytes. */
  bytes: number;
  /** Its results not freed yet; at 0 the lineage goes. */
  live: number;
  /** A run that remakes its results is under way. */
  rebuilding: boolean;
}

/** Times a task is placed again because an argument was lost where it ran. */
const MAX_ARG_LOSSES = 3;
/** Ray's default bound on the lineage an owner keeps (max_lineage_bytes). */
export const MAX_LINEAGE_BYTES = 1 << 30;
/** What a task's spec costs in lineage beyond its argument bytes (its fields and bookkeeping). */
const LINEAGE_TASK_BYTES = 256;

/** A lease for one resource shape (see LEASE_MS). */
interface Lease {
  nodes: LeaseNode[];
  /** performance.now() after which it is stale. */
  expires: number;
  /** A request through the head that renews it is in flight. */
  asking: boolean;
  /** Tasks waiting for that request's answer (no fresh lease when they came). */
  held: Forwarded[];
}

export class Placement {
  readonly #node: PlacingNode;
  readonly #peers: PlacingPeers;
  readonly #head: Pick<HeadLink, "request">;
  readonly #wireArgs: WireArgs;
  readonly #forwarded = new Map<string, Forwarded>();
  /** Per resource shape: nodes the head placed such tasks on lately (see LEASE_MS). */
  readonly #leases = new Map<string, Lease>();
  /** Per node: tasks of ours placed there and not done yet (lease choices, policy rule 4). */
  readonly #outstanding = new Map<string, number>();
  /** Entries tasks wait on to be placed: sealed here, or a copy elsewhere (see done). */
  readonly #resolving = new Map<ObjectEntry, { waiting: (() => void)[]; sealed: () => void }>();
  readonly #whenResolved = (id: string, cb: () => void): boolean => this.#watch(id, cb);
  /** Lineage by the keys of the results it can remake; oldest first (the order eviction takes). */
  readonly #lineage = new Map<string, Lineage>();
  readonly #lineageOrder = new Set<Lineage>();
  #lineageBytes = 0;
  readonly #maxLineageBytes: number;
  /** Why results of ours with no lineage cannot be remade (an actor's, retries spent, lineage evicted). */
  readonly #noLineage = new WeakMap<ObjectEntry, string>();
  /** Tasks placed again because an argument was lost where they ran, and how often. */
  readonly #argRetries = new WeakMap<TaskSpec, number>();

  constructor(node: PlacingNode, peers: PlacingPeers, head: Pick<HeadLink, "request">, wireArgs: WireArgs, maxLineageBytes = MAX_LINEAGE_BYTES) {
    this.#node = node;
    this.#peers = peers;
    this.#head = head;
    this.#wireArgs = wireArgs;
    this.#maxLineageBytes = maxLineageBytes;
  }

  /** Places a task submitted here, once its arguments are resolved. */
  submit(task: TaskSpec): void {
    this.afterResolved(task.deps, () => this.#route(task));
  }

  /**
   * Owner-side resolution: calls `fn` once every one of `deps` is sealed
   * here or known to be elsewhere (at once if they all are).
   */
  afterResolved(deps: readonly string[] | undefined, fn: () => void): void {
    if (deps === undefined || !awaitDeps({ deps, name: "", unresolved: 0 }, this.#whenResolved, fn)) fn();
  }

  #watch(id: string, cb: () => void): boolean {
    const e = this.#node.store.entry(id);
    if (e === undefined || e.state !== PENDING) return false;
    if (e.remote !== undefined) {
      const dead = this.#peers.deathOf(e.remote.node);
      if (dead === undefined) return false;
      // its only copy died with its node: remade from its lineage (waited for below), or failed now
      const why = this.rebuild(e, `the node holding it died (${dead})`);
      if (why !== undefined) {
        this.#node.store.fail(e, new ObjectLostError(keyToHex(e.key), why));
        return false;
      }
    }
    let w = this.#resolving.get(e);
    if (!w) {
      const sealed = () => this.#resolved(e);
      this.#resolving.set(e, (w = { waiting: [], sealed }));
      this.#node.store.whenSealed(e, sealed);
    }
    w.waiting.push(cb);
    return true;
  }

  /**
   * `e` is sealed here or has a remote copy: the tasks waiting for it to be
   * placed go on. Its seal watch goes first: placing needs a location, not
   * the bytes, and a watch would make the store pull them (setRemote).
   */
  #resolved(e: ObjectEntry): void {
    const w = this.#resolving.get(e);
    if (!w) return;
    this.#resolving.delete(e);
    this.#node.store.unwatch(e, w.sealed);
    // a failure fails the tasks waiting on it, whose results may fail the next ones: a chain of
    // tasks must not become a chain of stack frames, so failures go on from the microtask queue
    if (e.state === FAILED) queueMicrotask(() => {
      for (const f of w.waiting) f();
    });
    else for (const f of w.waiting) f();
  }

  #route(task: TaskSpec): void {
    const cancelled = cancelledBy(task);
    if (cancelled) return this.#node.reject(task, cancelled);
    const sched = this.#node.scheduler;
    if (sched.resources.feasible(task.shape)) {
      const cpus = Math.max(1, (sched.resources.total.get("CPU") ?? 0) / UNIT);
      if (sched.backlog < LOCAL_QUEUE_PER_CPU * cpus && this.#bytesToPull(task) <= LOCALITY_BYTES) {
        sched.submit(task);
        return;
      }
    }
    const wire = this.toWire(task);
    if (!wire) return;
    this.#forward(task, wire);
  }

  #bytesToPull(task: TaskSpec): number {
    if (task.deps === undefined) return 0;
    let n = 0;
    for (const d of task.deps) {
      const e = this.#node.store.entry(d);
      if (e && e.state === PENDING && e.remote) n += e.remote.size;
    }
    return n;
  }

  #forward(task: TaskSpec, wire: WireTask): void {
    const f: Forwarded = { task, node: undefined, wire };
    this.#forwarded.set(task.taskId.key, f);
    // locality does not matter for a task whose arguments travel with it: it may use a lease
    if (wire.tried !== undefined || (wire.deps !== undefined && !wire.deps.every((d) => d.value !== undefined))) return this.#viaHead(f, undefined);
    let l = this.#leases.get(task.shape.key);
    if (l === undefined) this.#leases.set(task.shape.key, (l = { nodes: [], expires: 0, asking: false, held: [] }));
    const now = performance.now();
    if (l.nodes.length > 0 && now < l.expires) {
      // in its second half a lease is renewed by sending one task through the head
      if (!l.asking && now > l.expires - LEASE_MS / 2) return this.#viaHead(f, l);
      return this.#sendLeased(f, l);
    }
    if (l.asking) l.held.push(f);
    else this.#viaHead(f, l);
  }

  /** Asks the head to place `f`; with `l`, its answer renews that lease and releases the tasks held for it. */
  #viaHead(f: Forwarded, l: Lease | undefined): void {
    const key = f.task.taskId.key;
    if (l) l.asking = true;
    this.#head.request<PlacedReply>(MSG.TASK_SUBMIT, f.wire).then(
      (r) => {
        if (l) this.#renew(l, r);
        if (this.#forwarded.get(key) !== f) return;
        this.#placedOn(f, r.node);
        // it died between placement and now: as if it died with the task
        const dead = this.#peers.deathOf(r.node);
        if (dead) this.#nodeDiedFor(f, r.node, dead);
      },
      (e: Error) => {
        if (l) this.#renew(l, undefined);
        if (this.#forwarded.get(key) !== f) return;
        this.#forwarded.delete(key);
        this.finish(f.task, e);
      },
    );
  }

  /** The head answered a request that renews `l` (undefined: it failed); the tasks held for it go. */
  #renew(l: Lease, r: PlacedReply | undefined): void {
    l.asking = false;
    if (r !== undefined) {
      l.nodes = (Array.isArray(r.lease) ? r.lease : []).filter((n) => isLeaseNode(n) && this.#peers.deathOf(n.node) === undefined).slice(0, LEASE_MAX_NODES);
      l.expires = performance.now() + LEASE_MS;
    }
    const held = l.held;
    l.held = [];
    for (const h of held) {
      if (this.#forwarded.get(h.task.taskId.key) !== h) continue;
      if (l.nodes.length > 0 && r !== undefined) this.#sendLeased(h, l);
      else this.#viaHead(h, undefined);
    }
  }

  /** `f` went to `node`: counted there until it is done (the load lease choices see). */
  #placedOn(f: Forwarded, node: string): void {
    f.node = node;
    f.counted = true;
    this.#outstanding.set(node, (this.#outstanding.get(node) ?? 0) + 1);
    // cancelled while it was being placed: the node drops it when it comes (or stops it)
    if (f.cancel) this.#sendCancel(f, node, f.cancel);
  }

  /**
   * Cancels a task of ours that is out on another node, or on its way to
   * one: its results fail now, and the node it went to is told (it reports
   * TASK_DONE as for any end). False when no task of ours with this key is
   * out. Throws TypeError for `force` on an actor call.
   */
  cancel(key: string, options: CancelOptions): boolean {
    const f = this.#forwarded.get(key);
    if (!f) return false;
    if (options.force && f.wire.actor !== undefined) throw forcedActorCall(f.task.name);
    f.task.retriesLeft = 0;
    f.wire.retries = 0;
    const error = new TaskCancelledError(f.task.name, keyToHex(key), options.force ? " (its isolate was stopped)" : "");
    for (const e of f.task.returns) this.#node.store.fail(e, error);
    if (f.node === undefined) f.cancel = options;
    else this.#sendCancel(f, f.node, options);
    return true;
  }

  #sendCancel(f: Forwarded, node: string, options: CancelOptions): void {
    const body: TaskCancelBody = { task: keyToBytes(f.task.taskId.key), force: options.force, recursive: options.recursive };
    this.#peers.send(node, MSG.TASK_CANCEL, body, () => {});
  }

  #unplace(f: Forwarded): void {
    if (!f.counted) return;
    f.counted = false;
    const n = (this.#outstanding.get(f.node!) ?? 1) - 1;
    if (n > 0) this.#outstanding.set(f.node!, n);
    else this.#outstanding.delete(f.node!);
  }

  #sendLeased(f: Forwarded, lease: Lease): void {
    const node = lease.nodes[pickLeased(lease.nodes, (n) => this.#outstanding.get(n) ?? 0)]!.node;
    this.#placedOn(f, node);
    this.#peers.send(node, MSG.TASK_RUN, f.wire, (e) => {
      if (this.#forwarded.get(f.task.taskId.key) === f) this.#nodeDiedFor(f, node, e.message);
    });
  }

  #nodeDiedFor(f: Forwarded, node: string, why: string): void {
    this.#forwarded.delete(f.task.taskId.key);
    this.#unplace(f);
    if (f.task.retriesLeft > 0) {
      f.task.retriesLeft--;
      f.wire.retries = f.task.retriesLeft;
      (f.wire.tried ??= []).push(node);
      this.#forward(f.task, f.wire);
    } else this.finish(f.task, new NodeDiedError(`task '${f.task.name}'`, node, why));
  }

  /** A task of ours that ran elsewhere is over: fail its results if `error`, drop its argument refs (unless its lineage keeps them). */
  finish(task: TaskSpec, error: Error | undefined): void {
    if (error) for (const e of task.returns) this.#node.store.fail(e, error);
    if (error || !this.#keepLineage(task)) this.#node.releaseArgs(task);
    task.onDone?.(task);
  }

  // ---- lineage ----------------------------------------------------------------------------------

  /**
   * After a run of `task` on another node: keeps its lineage while a result
   * of it lives only there. True when the lineage took the run's argument
   * references (the caller must not release them).
   */
  #keepLineage(task: TaskSpec): boolean {
    // most results came back inline (or failed): nothing to keep, nothing allocated
    if (!task.returns.some(onlyElsewhere)) return false;
    const held = task.returns.filter(onlyElsewhere);
    // a rebuild's run: the lineage has its own references (its end is #rebuilt)
    if (this.#lineage.get(held[0]!.key)?.task === task) return false;
    if (task.kind !== KIND_TASK) {
      for (const e of held) this.#noLineage.set(e, `it was made by actor call '${task.name}', which is not run again`);
      return false;
    }
    if (task.retriesLeft <= 0) {
      for (const e of held) this.#noLineage.set(e, `its task '${task.name}' has no retries left to run again (maxRetries)`);
      return false;
    }
    const lin: Lineage = { task, bytes: LINEAGE_TASK_BYTES + task.args.length, live: held.length, rebuilding: false };
    for (const e of held) this.#lineage.set(e.key, lin);
    this.#lineageOrder.add(lin);
    this.#lineageBytes += lin.bytes;
    while (this.#lineageBytes > this.#maxLineageBytes) {
      const oldest = this.#lineageOrder.values().next().value as Lineage;
      this.#dropLineage(oldest, `its lineage was evicted (over maxLineageBytes, ${this.#maxLineageBytes} bytes)`);
      if (oldest === lin) return false;
    }
    return true;
  }

  #dropLineage(lin: Lineage, why: string | undefined): void {
    if (!this.#lineageOrder.delete(lin)) return;
    this.#lineageBytes -= lin.bytes;
    for (const e of lin.task.returns) {
      if (this.#lineage.get(e.key) !== lin) continue;
      this.#lineage.delete(e.key);
      if (why !== undefined && e.live) this.#noLineage.set(e, why);
    }
    this.#node.releaseArgs(lin.task);
  }

  /** Result `e` of ours was freed here: its lineage goes with the last of its task's results. */
  forget(e: ObjectEntry): void {
    const lin = this.#lineage.get(e.key);
    if (lin === undefined) return;
    this.#lineage.delete(e.key);
    if (--lin.live <= 0) this.#dropLineage(lin, undefined);
  }

  /**
   * Every copy of `e` elsewhere is lost (`why`): if it is a result of ours
   * with lineage and retries left, its task runs again (once, whoever asks)
   * and `e` stays pending until it is made; returns undefined then. Else
   * returns why it cannot be remade (the caller fails it).
   */
  rebuild(e: ObjectEntry, why: string): string | undefined {
    const lin = this.#lineage.get(e.key);
    if (lin === undefined) return this.#noLineage.get(e) ?? why;
    if (lin.rebuilding) {
      e.remote = undefined;
      return undefined;
    }
    const task = lin.task;
    if (task.retriesLeft <= 0) return `${why}, and its task '${task.name}' has no retries left to run again (maxRetries)`;
    task.retriesLeft--;
    lin.rebuilding = true;
    // every result of the run that was only over there waits for the new run
    for (const r of task.returns) if (onlyElsewhere(r) && this.#lineage.get(r.key) === lin) r.remote = undefined;
    // the run takes references of its own; the lineage keeps its set
    const store = this.#node.store;
    if (task.deps) for (const d of task.deps) store.addRef(d);
    if (task.nested) for (const d of task.nested) store.addRef(d);
    const then = task.onDone;
    task.onDone = () => {
      task.onDone = then;
      this.#rebuilt(lin);
      then?.(task);
    };
    this.submit(task);
    return undefined;
  }

  /** A run that remade `lin`'s results ended (here or elsewhere): the lineage stays while one of them is only elsewhere. */
  #rebuilt(lin: Lineage): void {
    lin.rebuilding = false;
    const elsewhere = lin.task.returns.some((r) => this.#lineage.get(r.key) === lin && onlyElsewhere(r));
    if (!elsewhere) this.#dropLineage(lin, undefined);
  }

  /** Follows a task of ours sent elsewhere by other means (an actor call): its TASK_DONE is handled here. */
  track(f: Forwarded): void {
    this.#forwarded.set(f.task.taskId.key, f);
  }

  /** The task of ours with this key, still out. */
  tracked(key: string): Forwarded | undefined {
    return this.#forwarded.get(key);
  }

  /** Ends a tracked task without a result (`error` fails it). */
  drop(f: Forwarded, error: Error | undefined): void {
    if (this.#forwarded.get(f.task.taskId.key) !== f) return;
    this.#forwarded.delete(f.task.taskId.key);
    this.#unplace(f);
    this.finish(f.task, error);
  }

  /** The spec as it travels. Fails the task (and returns undefined) if an argument failed. */
  toWire(task: TaskSpec, actor?: string, componentHash?: string): WireTask | undefined {
    const args = this.#wireArgs(task);
    if (!args) return undefined;
    const w: WireTask = {
      id: keyToBytes(task.taskId.key),
      owner: this.#peers.nodeId,
      component: componentHash ?? this.#node.componentHash(task.component),
      name: task.name,
      kind: task.kind,
      args: task.args,
      numReturns: task.numReturns,
      retries: task.retriesLeft,
      timeoutMs: task.timeoutMs,
      resources: task.shape.entries.map(([k, v]) => [k, v]),
    };
    if (args.deps) w.deps = args.deps;
    if (args.nested) w.nested = args.nested;
    if (actor !== undefined) w.actor = keyToBytes(actor);
    if (task.job !== undefined) w.job = task.job;
    if (task.retryExceptions !== undefined) w.retryExceptions = task.retryExceptions;
    if (!Number.isNaN(task.submittedAt)) w.submittedAt = task.submittedAt;
    if (componentHash === undefined) {
      const mb = this.#node.componentMemoryMb(task.component);
      if (mb !== undefined) w.memoryMb = mb;
    }
    return w;
  }

  /** TASK_DONE: a task of ours finished on node `b.node`. */
  done(b: TaskDoneBody): void {
    // fencing: a node declared dead is dead; what it sends later is ignored (its tasks were placed again)
    if (this.#peers.deathOf(b.node) !== undefined) return;
    const key = bytesToKey(b.id, 0, 16);
    const f = this.#forwarded.get(key);
    if (!f) {
      // a result nobody waits for (a resubmitted task's first run): free what was kept for us
      const ids: Uint8Array[] = [];
      (b.results ?? []).forEach((r, i) => {
        if (r.node !== undefined) ids.push(keyToBytes(objectKey(taskIdFromKey(key), i + 1)));
      });
      if (ids.length > 0) this.#peers.send(b.node, MSG.OBJECT_FREE, { ids });
      return;
    }
    this.#forwarded.delete(key);
    this.#unplace(f);
    const store = this.#node.store;
    if (b.error) {
      const error = decodeError(b.error);
      if (error instanceof ObjectLostError && this.#argLost(f.task, error)) return;
      this.finish(f.task, error);
      return;
    }
    const results = b.results ?? [];
    f.task.returns.forEach((e, i) => {
      const r = results[i];
      if (!r) store.fail(e, new TaskError(f.task.name, "HostError", `node ${b.node.slice(0, 8)} reported ${results.length} results, expected ${f.task.returns.length}`, ""));
      else if (r.value) store.sealInline(e, r.value.slice(), nestedOrUndefined(r.value));
      else if (!e.live || e.state !== PENDING) this.#peers.send(b.node, MSG.OBJECT_FREE, { ids: [keyToBytes(e.key)] });
      else {
        store.index(e);
        const waiting = this.#resolving.get(e);
        if (waiting) store.unwatch(e, waiting.sealed);
        store.setRemote(e, { node: r.node!, size: r.size ?? 0 });
        this.#resolved(e);
      }
    });
    this.finish(f.task, undefined);
  }

  /**
   * `task` failed where it ran because argument `error.objectHex` was lost
   * there: when that argument is ours and can be remade, it is, and the
   * task is placed again once it is (true). It may be lost before this node
   * hears that its holder died: the pull fails first.
   */
  #argLost(task: TaskSpec, error: ObjectLostError): boolean {
    const key = task.deps?.find((d) => keyToHex(d) === error.objectHex);
    const e = key === undefined ? undefined : this.#node.store.entry(key);
    if (e === undefined || e.state === FAILED) return false;
    // bounded: an argument lost again and again (its holders keep dying) ends the task
    const tries = (this.#argRetries.get(task) ?? 0) + 1;
    if (tries > MAX_ARG_LOSSES) return false;
    this.#argRetries.set(task, tries);
    if (e.state === PENDING && e.remote !== undefined) {
      const why = this.rebuild(e, error.message);
      if (why !== undefined) {
        this.#node.store.fail(e, new ObjectLostError(error.objectHex, why));
        return false;
      }
    }
    // placed again (with its own references still held) once the argument is made again
    this.submit(task);
    return true;
  }

  /**
   * An actor call in flight to a node that died: undefined when its actor
   * takes it again after a restart (RemoteActors.callLost), else what its
   * ActorDiedError adds to the reason.
   */
  callLost: (actorKey: string, node: string, why: string, w: WireTask) => string | undefined = () => "";

  /** Node `id` died: resubmit what it ran for us; fail the actor calls sent to it (or keep them for a restart). */
  nodeDied(id: string, why: string): void {
    for (const l of this.#leases.values()) l.nodes = l.nodes.filter((n) => n.node !== id);
    const again: Forwarded[] = [];
    for (const f of this.#forwarded.values()) if (f.node === id) again.push(f);
    for (const f of again) {
      if (f.wire.actor === undefined) {
        this.#nodeDiedFor(f, id, why);
        continue;
      }
      const actor = bytesToKey(f.wire.actor, 0, 16);
      // a restartable actor's call in flight waits for the restart (maxTaskRetries), else fails
      const lost = this.callLost(actor, id, why, f.wire);
      if (lost === undefined) {
        this.#unplace(f);
        f.node = undefined;
        continue;
      }
      this.drop(f, new ActorDiedError(f.wire.name, keyToHex(actor), `its node died (${why})${lost}`));
    }
  }
}

/** A result of ours whose only copy is on another node (what lineage is kept for). */
function onlyElsewhere(e: ObjectEntry): boolean {
  return e.live && e.state === PENDING && e.remote !== undefined;
}

/** A well-formed node of a lease from the head. */
function isLeaseNode(v: unknown): v is LeaseNode {
  const n = v as LeaseNode;
  return typeof n === "object" && n !== null && typeof n.node === "string" && Number.isFinite(n.waitMs) && n.taskMs >= 0 && n.cpus > 0;
}
