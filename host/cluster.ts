/**
 * A host's membership of a cluster: registration and heartbeats with the
 * head, bottom-up placement of the tasks submitted here, tasks and actor
 * calls run here for other nodes, results reported to their owners, and
 * objects pulled between nodes in chunks.
 *
 * Design assumptions:
 * - Ownership (as in Ray): the node that submits a task owns its results.
 *   It resolves the task's arguments before placing it (a task leaves only
 *   with its arguments sealed, or known to be on another node), keeps the
 *   spec until the task is reported done, and resubmits it if the node
 *   running it dies. The node that runs it reports TASK_DONE straight to
 *   the owner: small results inline, large ones (and ones holding refs)
 *   kept where they were made until the owner frees them.
 * - Bottom-up: a task runs here when this node could ever run it, its
 *   queue is short (LOCAL_QUEUE_PER_CPU tasks per CPU waiting) and at most
 *   LOCALITY_BYTES of its arguments would have to be pulled; otherwise it
 *   goes to the head's global scheduler (scheduler/policy/locality.ts), or
 *   straight to a node the head recently gave tasks of its shape (leases,
 *   see LEASE_MS) when none of its arguments would have to be pulled.
 *   Actors always go through the head (it keeps their names unique).
 * - An object with a copy elsewhere stays pending here until something
 *   waits for it; then it is pulled (CHUNK_BYTES at a time, PULL_WINDOW
 *   chunks in flight) from the node holding it. Objects of other owners
 *   that reach a guest as refs inside values are found in the control
 *   store's object table, where a node records an object when a ref to it
 *   leaves the node.
 * - Messages to one peer keep their order (one connection per pair), so
 *   an actor's calls from one caller arrive in the order they were made.
 */
import { hostname } from "node:os";
import { bytesToHex, bytesToKey, hexToKey, keyToBytes, keyToHex, objectKey, taskIdFromKey } from "../common/ids.js";
import type { TaskId } from "../common/ids.js";
import type { Connection, LogBody, Message, MessageType, NodeInfo, PlacedReply, PullReply, TaskDoneBody, Transport, WireArg, WireResult, WireTask } from "../net/index.js";
import { CHUNK_BYTES, ChunkReply, MSG, RemoteError, WsTransport } from "../net/index.js";
import type { TaskSpec } from "../scheduler/index.js";
import { InfeasibleTaskError, PLACED_TASK_MS, UNIT, pickLeased, shapeFromEntries } from "../scheduler/index.js";
import type { LeaseNode } from "../scheduler/index.js";
import type { ObjectEntry, RemoteObjects } from "../store/index.js";
import { FAILED, INLINE_MAX, ObjectLostError, PENDING, READY, RemoteControlStore, TABLES, channelOf } from "../store/index.js";
import type { ActorOptionsResolved, ActorRecord } from "./actors.js";
import type { LogLevel, LogRecord } from "./log.js";
import { LOG_LEVELS } from "./isolate/protocol.js";
import { prepareComponent } from "./component.js";
import { ActorDiedError, ActorNameTakenError, ActorNotFoundError, NodeDiedError } from "./errors.js";
import type { ActorTableRecord, NodeRecord } from "./head.js";
import { KIND_CONSTRUCT, KIND_METHOD, KIND_TASK } from "./isolate/protocol.js";
import type { ClusterLink, ComponentRecord, HostNode } from "./node.js";
import { nestedOrUndefined } from "./node.js";
import { decodeError, encodeError } from "./remote-errors.js";

/** Tasks waiting per CPU before new ones go to the global scheduler. */
export const LOCAL_QUEUE_PER_CPU = 4;
/** Arguments that would have to be pulled, beyond which the global scheduler places the task. */
export const LOCALITY_BYTES = 1 << 20;
/** Chunks of one pull in flight at once. */
export const PULL_WINDOW = 4;
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
/** Least time between load reports sent early (when this node's queue drains) and the last heartbeat. */
const LOAD_REPORT_MS = 50;
/** How long calls that arrive before their actor is started here wait for it. */
const EARLY_CALL_WAIT_MS = 30_000;

export interface ClusterOptions {
  /** The head's address, `ws://HOST:PORT`. */
  address: string;
  /** The cluster token. */
  token: string;
  /** A driver's node: the global scheduler never places work on it. */
  driver?: boolean;
  /**
   * The address this node's peer server listens on and other nodes reach
   * it at (Ray's node IP address); 0.0.0.0 (or ::) listens on every
   * interface and is reached at the address this machine reaches the head
   * from. Default: that address (127.0.0.1 when the head is on loopback).
   */
  listenHost?: string;
  /** Port for this node's peer server. Default: any free one. */
  listenPort?: number;
  transport?: Transport;
  log?: (line: string) => void;
}

/** A task this node owns that runs elsewhere. */
interface Forwarded {
  task: TaskSpec;
  /** Where it was sent (undefined until the head answers). */
  node: string | undefined;
  wire: WireTask;
  /** Counted in #outstanding (a task placed through #forward). */
  counted?: boolean;
}

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
}

const EMPTY = new Uint8Array(0);

interface Pull {
  entry: ObjectEntry;
  node: string;
}

export class ClusterNode implements ClusterLink, RemoteObjects {
  readonly nodeId: string;
  readonly node: HostNode;
  readonly gcs: RemoteControlStore;
  readonly #head: Connection;
  readonly #transport: Transport;
  readonly #token: string;
  readonly #log: (line: string) => void;
  readonly #listener: { address: string; close(): Promise<void> };
  readonly #driver: boolean;
  readonly #peers = new Map<string, Promise<Connection>>();
  /** Peers whose connection is up (the synchronous path of #send). */
  readonly #open = new Map<string, Connection>();
  /** Sends to peers whose connection is being made, in order. */
  readonly #connecting = new Map<string, { type: MessageType; body: unknown; onError: ((e: Error) => void) | undefined }[]>();
  readonly #addresses = new Map<string, string>();
  readonly #dead = new Map<string, string>();
  readonly #forwarded = new Map<string, Forwarded>();
  /** Per resource shape: nodes the head placed such tasks on lately (see LEASE_MS). */
  readonly #leases = new Map<string, Lease>();
  /** Per node: tasks of ours placed there and not done yet (lease choices, policy rule 4). */
  readonly #outstanding = new Map<string, number>();
  readonly #actors = new Map<string, RemoteActor>();
  /** Results kept for their owners (large, or holding refs), until OBJECT_FREE or the owner's death. */
  readonly #held = new Map<string, { entry: ObjectEntry; owner: string }>();
  /** Guest log records waiting to go to their drivers (sent before the next result, or at once). */
  readonly #logs = new Map<string, LogBody["records"]>();
  #logsQueued = false;
  readonly #pulls = new Map<string, Pull>();
  readonly #published = new Set<string>();
  readonly #components = new Map<string, Promise<ComponentRecord>>();
  readonly #componentHashes = new Set<string>();
  /** TASK_RUN/ACTOR_* messages waiting for a component to load, in arrival order. */
  readonly #inbox: { hash: string; run: (c: ComponentRecord | undefined, err?: Error) => void }[] = [];
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #spinQueued = false;
  #lastBeat = 0;
  #closed = false;

  private constructor(node: HostNode, head: Connection, nodeId: string, listener: { address: string; close(): Promise<void> }, options: ClusterOptions, transport: Transport) {
    this.node = node;
    this.nodeId = nodeId;
    this.#head = head;
    this.#listener = listener;
    this.#transport = transport;
    this.#token = options.token;
    this.#log = options.log ?? ((l) => console.log(l));
    this.#driver = options.driver ?? false;
    this.gcs = new RemoteControlStore(head);
  }

  /** Connects `node` to the cluster at `options.address`: serves peers, registers, starts heartbeats. */
  static async join(node: HostNode, options: ClusterOptions): Promise<ClusterNode> {
    const transport = options.transport ?? new WsTransport();
    const log = options.log ?? ((l) => console.log(l));
    const nodeId = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
    let self: ClusterNode | undefined;
    const early: Connection[] = [];
    const head = await transport.connect(options.address, options.token, log);
    // the interface that reaches the head is the one the cluster's other nodes can reach us at
    const reached = head.localAddress?.replace(/^::ffff:/, "");
    const wildcard = options.listenHost === "0.0.0.0" || options.listenHost === "::";
    let listener: { address: string; close(): Promise<void> };
    try {
      const l = await transport.listen({ host: options.listenHost ?? reached, port: options.listenPort ?? 0, token: options.token, log }, (conn) => {
        if (self) self.#accept(conn);
        else early.push(conn);
      });
      // listening everywhere: advertised at the address that reaches the head
      listener = wildcard && reached !== undefined ? { address: withHost(l.address, reached), close: () => l.close() } : l;
    } catch (e) {
      head.close("could not listen");
      throw e;
    }
    self = new ClusterNode(node, head, nodeId, listener, options, transport);
    for (const c of early) self.#accept(c);
    head.handler = (m, c) => self!.#handle(m, c);
    head.onClose((why) => {
      if (!self!.#closed) log(`(wray) lost the connection to the head at ${options.address}: ${why}`);
    });
    const resources: Record<string, number> = {};
    for (const [k, v] of node.scheduler.resources.total) resources[k] = v;
    const info: NodeInfo = {
      nodeId,
      address: listener.address,
      resources,
      driver: self.#driver,
      pid: process.pid,
      hostname: hostname(),
      startedAt: Date.now(),
    };
    try {
      // learn of nodes (addresses, deaths) from the nodes table, then say who we are
      self.gcs.subscribe(channelOf(TABLES.nodes), (id, v) => self!.#nodeChanged(id, v as NodeRecord | undefined));
      for (const [id, rec] of await self.gcs.scan<NodeRecord>(TABLES.nodes)) self.#nodeChanged(id, rec);
      const reply = await head.request<{ heartbeatMs: number }>(MSG.NODE_REGISTER, info);
      node.cluster = self;
      node.store.cluster = self;
      self.#heartbeat = setInterval(() => self!.#beat(), reply.heartbeatMs);
      self.#heartbeat.unref();
      self.#beat();
    } catch (e) {
      head.close();
      await listener.close();
      throw e;
    }
    return self;
  }

  get address(): string {
    return this.#listener.address;
  }

  /** The head connection (for status and stop requests). */
  get head(): Connection {
    return this.#head;
  }

  // ---- membership ----------------------------------------------------------------------------

  #beat(): void {
    const available: Record<string, number> = {};
    for (const [k, v] of this.node.scheduler.resources.available) available[k] = Math.max(0, v);
    const st = this.node.store.stats();
    const queued = this.node.scheduler.backlog;
    const mean = this.node.scheduler.meanTaskMs;
    const taskMs = Number.isNaN(mean) ? PLACED_TASK_MS : mean;
    this.#lastBeat = performance.now();
    this.#head.notify(MSG.NODE_HEARTBEAT, {
      nodeId: this.nodeId,
      available,
      queued,
      queueMs: queued * taskMs,
      taskMs,
      objects: st.objects,
      storeUsed: st.arenaBytes,
      storeCapacity: st.arenaCapacity,
      actors: this.node.actors.count().alive,
    });
  }

  #nodeChanged(id: string, rec: NodeRecord | undefined): void {
    if (!rec) return;
    if (rec.address) this.#addresses.set(id, rec.address);
    if (rec.state === "dead" && !this.#dead.has(id)) this.#nodeDied(id, rec.death ?? "dead");
  }

  /** A node died: resubmit what it ran for us, fail what only it held. */
  #nodeDied(id: string, why: string): void {
    this.#dead.set(id, why);
    const peer = this.#peers.get(id);
    this.#peers.delete(id);
    this.#open.delete(id);
    peer?.then((c) => c.close("node died")).catch(() => {});
    if (id === this.nodeId) return;
    // what we kept for it (results it never fetched) and its log lines are of no use now
    for (const [key, h] of this.#held) {
      if (h.owner !== id) continue;
      this.#held.delete(key);
      this.node.store.release(h.entry);
    }
    this.#logs.delete(id);
    for (const l of this.#leases.values()) l.nodes = l.nodes.filter((n) => n.node !== id);
    const again: Forwarded[] = [];
    for (const f of this.#forwarded.values()) if (f.node === id) again.push(f);
    for (const f of again) {
      if (f.task.kind === KIND_METHOD) {
        this.#forwarded.delete(f.task.taskId.key);
        this.#finishForwarded(f.task, new ActorDiedError(f.wire.name, keyToHex(bytesToKey(f.wire.actor!, 0, 16)), `its node died (${why})`));
      } else this.#nodeDiedFor(f, id, why);
    }
    for (const a of this.#actors.values()) {
      if (a.node === id && !a.death) a.death = new ActorDiedError(a.className, keyToHex(a.key), `its node died (${why})`);
    }
    for (const p of this.#pulls.values()) if (p.node === id) this.#pullFailed(p, new ObjectLostError(keyToHex(p.entry.key), `the node holding it died (${why})`));
  }

  #accept(conn: Connection): void {
    conn.handler = (m, c) => this.#handle(m, c);
  }

  /** A connection to node `id` (made on first use). */
  #peer(id: string): Promise<Connection> {
    let p = this.#peers.get(id);
    if (p) return p;
    p = (async () => {
      const dead = this.#dead.get(id);
      if (dead) throw new NodeDiedError("cannot reach it", id, dead);
      let address = this.#addresses.get(id);
      if (!address) {
        const rec = await this.gcs.get<NodeRecord>(TABLES.nodes, id);
        if (!rec || !rec.address) throw new Error(`node ${id} is not known to the control store`);
        address = rec.address;
        this.#addresses.set(id, address);
      }
      const conn = await this.#transport.connect(address, this.#token, this.#log);
      conn.peer = `node ${id.slice(0, 8)}`;
      conn.handler = (m, c) => this.#handle(m, c);
      conn.onClose(() => {
        if (this.#peers.get(id) === p) this.#peers.delete(id);
        if (this.#open.get(id) === conn) this.#open.delete(id);
      });
      return conn;
    })();
    this.#peers.set(id, p);
    p.catch(() => {
      if (this.#peers.get(id) === p) this.#peers.delete(id);
    });
    return p;
  }

  /** Sends to node `id` in order with earlier sends to it. */
  #send(id: string, type: MessageType, body: unknown, onError?: (e: Error) => void): void {
    if (id === this.nodeId) {
      // to ourselves: the same handling, without a socket
      queueMicrotask(() => this.#handle({ type, id: 0, body }, this.#head));
      return;
    }
    const open = this.#open.get(id);
    if (open !== undefined) return open.notify(type, body);
    let queue = this.#connecting.get(id);
    if (queue !== undefined) {
      queue.push({ type, body, onError });
      return;
    }
    this.#connecting.set(id, (queue = [{ type, body, onError }]));
    this.#peer(id).then(
      (c) => {
        this.#connecting.delete(id);
        for (const m of queue) c.notify(m.type, m.body);
        if (!c.isClosed) this.#open.set(id, c);
      },
      (e: Error) => {
        this.#connecting.delete(id);
        for (const m of queue) m.onError?.(e);
      },
    );
  }

  // ---- messages ------------------------------------------------------------------------------

  #handle(m: Message, _conn: Connection): unknown {
    switch (m.type) {
      case MSG.GCS_EVENT:
        this.gcs.event(m.body as never);
        return null;
      case MSG.TASK_RUN:
        this.#run(m.body as WireTask);
        return null;
      case MSG.ACTOR_CREATE:
        this.#startActor(m.body as WireTask);
        return null;
      case MSG.ACTOR_CALL:
        this.#runCall(m.body as WireTask);
        return null;
      case MSG.ACTOR_KILL: {
        const r = this.node.actors.get(bytesToKey((m.body as { actor: Uint8Array }).actor, 0, 16));
        if (r) this.node.actors.kill(r);
        return null;
      }
      case MSG.TASK_DONE:
        this.#done(m.body as TaskDoneBody);
        return null;
      case MSG.OBJECT_PULL:
        return this.#serve(m.body as { id: Uint8Array; offset: number; length: number });
      case MSG.OBJECT_FREE:
        for (const id of (m.body as { ids: Uint8Array[] }).ids) {
          const key = bytesToKey(id);
          const h = this.#held.get(key);
          if (!h) continue;
          this.#held.delete(key);
          this.node.store.release(h.entry);
        }
        return null;
      case MSG.LOG: {
        const b = m.body as LogBody;
        for (const r of b.records) this.node.emitLog({ ...r, level: isLevel(r.level) ? r.level : "info", source: "guest", node: b.node });
        return null;
      }
      case MSG.CLUSTER_STOP:
        return null;
      default:
        throw new Error("not served by a host");
    }
  }

  // ---- components ----------------------------------------------------------------------------

  /** Puts a component's bytes in the functions table (once), so other nodes can load it. */
  async publishComponent(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.#componentHashes.has(hash)) return;
    if ((await this.gcs.get(TABLES.functions, hash)) === undefined) await this.gcs.put(TABLES.functions, hash, bytes);
    this.#componentHashes.add(hash);
  }

  #load(hash: string): Promise<ComponentRecord> {
    const have = this.node.componentByHash(hash);
    if (have) return Promise.resolve(have);
    let p = this.#components.get(hash);
    if (!p) {
      p = (async () => {
        const bytes = await this.gcs.get<Uint8Array>(TABLES.functions, hash);
        if (!bytes) throw new Error(`component ${hash.slice(0, 12)} is not in the control store's functions table`);
        const prepared = await prepareComponent(bytes, `component ${hash.slice(0, 12)}`);
        return this.node.addComponent(prepared, `component ${hash.slice(0, 12)}`);
      })();
      this.#components.set(hash, p);
      p.catch(() => this.#components.delete(hash));
    }
    return p;
  }

  /** Runs `run` with the component, in arrival order with the other messages that need one. */
  #withComponent(hash: string, run: (c: ComponentRecord | undefined, err?: Error) => void): void {
    const c = this.#inbox.length === 0 ? this.node.componentByHash(hash) : undefined;
    if (c) return run(c);
    this.#inbox.push({ hash, run });
    if (this.#inbox.length === 1) void this.#drainInbox();
  }

  async #drainInbox(): Promise<void> {
    while (this.#inbox.length > 0) {
      const next = this.#inbox[0]!;
      let c: ComponentRecord | undefined;
      let err: Error | undefined;
      try {
        c = await this.#load(next.hash);
      } catch (e) {
        err = e as Error;
      }
      this.#inbox.shift();
      next.run(c, err);
    }
  }

  // ---- owner side: placing tasks ----------------------------------------------------------------

  /** Places a task submitted here (ClusterLink). */
  submit(task: TaskSpec): void {
    this.#afterResolved(task.deps, () => this.#route(task));
  }

  /**
   * Owner-side resolution: calls `fn` once every one of `deps` is sealed
   * here or known to be elsewhere (at once if they all are).
   */
  #afterResolved(deps: readonly string[] | undefined, fn: () => void): void {
    let waiting = 1;
    const ready = () => {
      if (--waiting === 0) fn();
    };
    const store = this.node.store;
    for (const d of deps ?? []) {
      const e = store.entry(d);
      if (e === undefined || e.state !== PENDING || e.remote !== undefined) continue;
      waiting++;
      this.#whenResolved(e, ready);
    }
    ready();
  }

  readonly #resolving = new Map<ObjectEntry, (() => void)[]>();

  /** Calls `cb` once `e` is sealed here or has a remote copy, without asking for it to be pulled. */
  #whenResolved(e: ObjectEntry, cb: () => void): void {
    let list = this.#resolving.get(e);
    if (!list) {
      this.#resolving.set(e, (list = []));
      const fire = () => {
        const l = this.#resolving.get(e);
        this.#resolving.delete(e);
        if (l) for (const f of l) f();
      };
      this.node.store.whenSealed(e, fire);
    }
    list.push(cb);
  }

  /** `e` now has a remote copy: tasks waiting to be placed on it may go. */
  #resolvedRemotely(e: ObjectEntry): void {
    const l = this.#resolving.get(e);
    if (!l) return;
    this.#resolving.delete(e);
    for (const f of l) f();
  }

  #route(task: TaskSpec): void {
    const sched = this.node.scheduler;
    if (sched.resources.feasible(task.shape)) {
      const cpus = Math.max(1, (sched.resources.total.get("CPU") ?? 0) / UNIT);
      if (sched.backlog < LOCAL_QUEUE_PER_CPU * cpus && this.#bytesToPull(task) <= LOCALITY_BYTES) {
        sched.submit(task);
        return;
      }
    }
    const wire = this.#toWire(task);
    if (!wire) return;
    this.#forward(task, wire);
  }

  #bytesToPull(task: TaskSpec): number {
    if (task.deps === undefined) return 0;
    let n = 0;
    for (const d of task.deps) {
      const e = this.node.store.entry(d);
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
        const dead = this.#dead.get(r.node);
        if (dead) this.#nodeDiedFor(f, r.node, dead);
      },
      (e: Error) => {
        if (l) this.#renew(l, undefined);
        if (this.#forwarded.get(key) !== f) return;
        this.#forwarded.delete(key);
        this.#finishForwarded(f.task, remoteToLocal(e, f.task.name));
      },
    );
  }

  /** The head answered a request that renews `l` (undefined: it failed); the tasks held for it go. */
  #renew(l: Lease, r: PlacedReply | undefined): void {
    l.asking = false;
    if (r !== undefined) {
      l.nodes = (Array.isArray(r.lease) ? r.lease : []).filter((n) => isLeaseNode(n) && !this.#dead.has(n.node)).slice(0, LEASE_MAX_NODES);
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
    this.#send(node, MSG.TASK_RUN, f.wire, (e) => {
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
    } else this.#finishForwarded(f.task, new NodeDiedError(`task '${f.task.name}'`, node, why));
  }

  /** A task of ours that ran elsewhere is over: fail its results if `error`, drop its argument refs. */
  #finishForwarded(task: TaskSpec, error: Error | undefined): void {
    if (error) for (const e of task.returns) this.node.store.fail(e, error);
    this.node.releaseArgs(task);
    task.onDone?.(task);
  }

  /** The spec as it travels. Fails the task (and returns undefined) if an argument failed. */
  #toWire(task: TaskSpec, actor?: string, componentHash?: string): WireTask | undefined {
    const store = this.node.store;
    let deps: WireArg[] | undefined;
    if (task.deps) {
      deps = [];
      for (const d of task.deps) {
        const e = store.entry(d);
        if (e === undefined || e.state === FAILED) {
          this.node.reject(task, e?.error ?? new ObjectLostError(keyToHex(d), "freed before its task was placed"));
          return undefined;
        }
        const id = keyToBytes(d);
        if (e.state === PENDING) deps.push({ id, size: e.remote!.size, nodes: [e.remote!.node] });
        else if (!e.arena && !e.spill) deps.push({ id, size: e.bytes!.length, value: e.bytes! });
        else {
          // here, and where it was pulled from (which still has it)
          const nodes = e.remote && !this.#dead.has(e.remote.node) ? [this.nodeId, e.remote.node] : [this.nodeId];
          deps.push({ id, size: (e.arena?.len ?? e.spill?.len)!, nodes });
          this.#publish(e);
        }
      }
    }
    const nested = task.nested?.map((k) => {
      const e = store.entry(k);
      if (e) this.#publish(e);
      return keyToBytes(k);
    });
    const w: WireTask = {
      id: keyToBytes(task.taskId.key),
      owner: this.nodeId,
      component: componentHash ?? this.node.component(task.component).prepared.hash,
      name: task.name,
      kind: task.kind,
      args: task.args,
      numReturns: task.numReturns,
      retries: task.retriesLeft,
      timeoutMs: task.timeoutMs,
      resources: task.shape.entries.map(([k, v]) => [k, v]),
    };
    if (deps) w.deps = deps;
    if (nested) w.nested = nested;
    if (actor !== undefined) w.actor = keyToBytes(actor);
    if (task.job !== undefined) w.job = task.job;
    return w;
  }

  /** Records in the object table that this node holds `e` (its ref is leaving the node). */
  #publish(e: ObjectEntry): void {
    if (this.#published.has(e.key)) return;
    if (e.state === PENDING) {
      if (e.remote) return; // its holder publishes it
      this.node.store.whenSealed(e, () => this.#publish(e));
      return;
    }
    if (e.state !== READY) return;
    this.#published.add(e.key);
    const size = e.arena?.len ?? e.spill?.len ?? e.bytes?.length ?? 0;
    void this.gcs.put(TABLES.objects, keyToHex(e.key), { nodes: [this.nodeId], size }).catch(() => {});
    if (e.nested) for (const n of e.nested) {
      const ne = this.node.store.entry(n);
      if (ne) this.#publish(ne);
    }
  }

  // ---- executor side: running tasks for others ---------------------------------------------------

  /** Local entries for a wire task's arguments: values sealed here, others to be pulled on demand. */
  #argEntries(w: WireTask): string[] | undefined {
    if (!w.deps) return undefined;
    const store = this.node.store;
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

  #returnsFor(taskId: TaskId, n: number): { ids: string[]; entries: ObjectEntry[] } {
    const ids = new Array<string>(n);
    const entries = new Array<ObjectEntry>(n);
    for (let i = 0; i < n; i++) {
      ids[i] = objectKey(taskId, i + 1);
      entries[i] = this.node.store.expect(ids[i]!, 1);
    }
    return { ids, entries };
  }

  #run(w: WireTask): void {
    this.#withComponent(w.component, (c, err) => {
      const taskId = taskIdFromKey(bytesToKey(w.id, 0, 16));
      const { ids, entries } = this.#returnsFor(taskId, w.numReturns);
      if (!c) {
        for (const e of entries) this.node.store.fail(e, err ?? new Error("component unavailable"));
        this.#report(w, entries);
        return;
      }
      const opts = {
        numReturns: w.numReturns,
        maxRetries: w.retries,
        timeoutMs: w.timeoutMs,
        shape: shapeFromEntries(w.resources),
      };
      const deps = this.#argEntries(w);
      // nested refs are not resolved here: a guest's get finds them in the cluster (want)
      const task = this.node.makeTask(c, this.node.functionInfo(c, w.name), taskId, w.args, deps, undefined, opts, false, ids, entries, KIND_TASK);
      task.job = w.job ?? w.owner;
      task.onDone = () => this.#report(w, entries);
      this.node.scheduler.submit(task);
      this.#spinSoon();
    });
  }

  /**
   * After tasks from other nodes start here with none queued behind them
   * (a caller waiting on each): poll for their results for a moment
   * rather than sleep until an isolate rings, which costs a thread wake-up.
   */
  #spinSoon(): void {
    if (this.#spinQueued) return;
    this.#spinQueued = true;
    queueMicrotask(() => {
      this.#spinQueued = false;
      if (this.node.scheduler.backlog === 0) this.node.pool.pollAwhile();
    });
  }

  /** Tells the owner how `w` ended; keeps results it may pull. */
  #report(w: WireTask, entries: ObjectEntry[]): void {
    const body: TaskDoneBody = { id: w.id, node: this.nodeId };
    const store = this.node.store;
    const failed = entries.find((e) => e.state === FAILED);
    if (failed) body.error = encodeError(failed.error);
    else {
      const results: WireResult[] = [];
      for (const e of entries) {
        if (!e.arena && !e.spill && e.bytes && !e.nested) {
          results.push({ value: e.bytes });
          continue;
        }
        const size = e.arena?.len ?? e.spill?.len ?? e.bytes?.length ?? 0;
        const r: WireResult = { node: this.nodeId, size };
        if (e.nested) {
          r.nested = e.nested.map((k) => keyToBytes(k));
          for (const k of e.nested) {
            const ne = store.entry(k);
            if (ne) this.#publish(ne);
          }
        }
        results.push(r);
        store.addRef(e); // kept for the owner until it frees it
        this.#held.set(e.key, { entry: e, owner: w.owner });
      }
      body.results = results;
    }
    // the task's lines reach its driver before its result does
    if (this.#logs.size > 0) this.#flushLogs();
    this.#send(w.owner, MSG.TASK_DONE, body);
    for (const e of entries) store.release(e);
    // the queue drained: tell the head now, not at the next heartbeat, so the leases it gives meanwhile include this node
    if (this.node.scheduler.backlog === 0 && performance.now() - this.#lastBeat > LOAD_REPORT_MS) this.#beat();
  }

  // ---- owner side: results --------------------------------------------------------------------------

  #done(b: TaskDoneBody): void {
    const key = bytesToKey(b.id, 0, 16);
    const f = this.#forwarded.get(key);
    if (!f) {
      // a result nobody waits for (a resubmitted task's first run): free what was kept for us
      const ids: Uint8Array[] = [];
      (b.results ?? []).forEach((r, i) => {
        if (r.node !== undefined) ids.push(keyToBytes(objectKey(taskIdFromKey(key), i + 1)));
      });
      if (ids.length > 0) this.#send(b.node, MSG.OBJECT_FREE, { ids });
      return;
    }
    this.#forwarded.delete(key);
    this.#unplace(f);
    const store = this.node.store;
    if (b.error) {
      this.#finishForwarded(f.task, decodeError(b.error));
      return;
    }
    const results = b.results ?? [];
    f.task.returns.forEach((e, i) => {
      const r = results[i];
      if (!r) store.fail(e, new Error(`task '${f.task.name}' reported ${results.length} results, expected ${f.task.returns.length}`));
      else if (r.value) store.sealInline(e, r.value.slice(), nestedOrUndefined(r.value));
      else if (!e.live || e.state !== PENDING) this.#send(b.node, MSG.OBJECT_FREE, { ids: [keyToBytes(e.key)] });
      else {
        store.index(e);
        store.setRemote(e, { node: r.node!, size: r.size ?? 0 });
        this.#resolvedRemotely(e);
      }
    });
    this.#finishForwarded(f.task, undefined);
  }

  // ---- objects -----------------------------------------------------------------------------------

  /** An ID with no entry here: a pending entry (one ref, the caller's), filled from the cluster (ClusterLink). */
  want(id: string): ObjectEntry {
    const store = this.node.store;
    const e = store.expect(id, 1);
    if (e.state !== PENDING || e.remote || this.#pulls.has(id)) return e;
    const hex = keyToHex(id);
    let off: (() => void) | undefined;
    const found = (v: unknown) => {
      const loc = v as { nodes: string[]; size: number } | undefined;
      if (!loc || !e.live || e.state !== PENDING || e.remote) return;
      off?.();
      const node = loc.nodes.find((n) => !this.#dead.has(n));
      if (!node) store.fail(e, new ObjectLostError(hex, "every node holding it died"));
      else store.setRemote(e, { node, size: loc.size });
    };
    off = this.gcs.subscribe(channelOf(TABLES.objects, hex), (_k, v) => found(v));
    this.gcs.get(TABLES.objects, hex).then(found, () => {});
    return e;
  }

  /** Someone waits for `e`, which is on another node: pull it (RemoteObjects). */
  demand(e: ObjectEntry): void {
    if (this.#pulls.has(e.key) || !e.remote) return;
    const p: Pull = { entry: e, node: e.remote.node };
    this.#pulls.set(e.key, p);
    const dead = this.#dead.get(p.node);
    if (dead) {
      this.#pullFailed(p, new ObjectLostError(keyToHex(e.key), `the node holding it died (${dead})`));
      return;
    }
    this.#pull(p).catch((err: Error) => this.#pullFailed(p, err));
  }

  async #pull(p: Pull): Promise<void> {
    const e = p.entry;
    const size = e.remote!.size;
    const conn = await this.#peer(p.node);
    const id = keyToBytes(e.key);
    const store = this.node.store;
    const small = size <= INLINE_MAX;
    const ref = small ? undefined : store.alloc(size);
    const dest = small ? new Uint8Array(size) : store.arena.view(ref!);
    try {
      let next = 0;
      const one = async (): Promise<void> => {
        while (next < size) {
          const offset = next;
          const length = Math.min(CHUNK_BYTES, size - offset);
          next += length;
          const r = await conn.request<PullReply>(MSG.OBJECT_PULL, { id, offset, length });
          if (r.size !== size || r.data.length !== length) throw new ObjectLostError(keyToHex(e.key), `node ${p.node.slice(0, 8)} has a different object under this ID`);
          dest.set(r.data, offset);
        }
      };
      const workers = size === 0 ? [] : Array.from({ length: Math.min(PULL_WINDOW, Math.ceil(size / CHUNK_BYTES)) }, one);
      await Promise.all(workers);
    } catch (err) {
      if (ref) store.arena.free(ref);
      throw err;
    }
    this.#pulls.delete(e.key);
    if (!e.live || e.state !== PENDING) {
      if (ref) store.arena.free(ref);
      return;
    }
    if (ref) store.sealArena(e, ref, nestedOrUndefined(dest));
    else store.sealInline(e, dest, nestedOrUndefined(dest));
  }

  #pullFailed(p: Pull, err: Error): void {
    if (this.#pulls.get(p.entry.key) !== p) return;
    this.#pulls.delete(p.entry.key);
    const lost = err instanceof ObjectLostError ? err : new ObjectLostError(keyToHex(p.entry.key), `pulling it from node ${p.node.slice(0, 8)} failed: ${err.message}`);
    this.node.store.fail(p.entry, lost);
  }

  /** Serves a chunk of an object held here (waits for it while it is being made here). */
  #serve(b: { id: Uint8Array; offset: number; length: number }): ChunkReply | Promise<ChunkReply> {
    const store = this.node.store;
    const key = bytesToKey(b.id);
    const e = store.entry(key) ?? this.#held.get(key)?.entry;
    if (!e || !e.live) throw new ObjectLostError(bytesToHex(b.id), `node ${this.nodeId.slice(0, 8)} does not hold it`);
    if (e.state === PENDING && !e.remote) {
      return new Promise((resolve, reject) => {
        store.whenSealed(e, () => {
          try {
            resolve(this.#serve(b) as ChunkReply);
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

  /** `e` had a copy elsewhere and was freed here: the holder may drop what it kept for us (RemoteObjects). */
  freed(e: ObjectEntry): void {
    const node = e.remote?.node;
    if (!node || this.#dead.has(node) || this.#closed) return;
    this.#send(node, MSG.OBJECT_FREE, { ids: [keyToBytes(e.key)] });
  }

  // ---- actors ------------------------------------------------------------------------------------

  /** Creates an actor through the head (ClusterLink). Its calls queue here until it is placed. */
  createActor(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, options: ActorOptionsResolved, job: string | undefined): void {
    const ctor = this.node.makeTask(c, this.node.functionInfo(c, className), actorId, args, deps, nested, { numReturns: 0, maxRetries: 0, timeoutMs: 0, shape: options.shape }, false, [], [], KIND_CONSTRUCT);
    const a: RemoteActor = { key: actorId.key, className, node: undefined, waiting: [], outbox: [], death: undefined };
    this.#actors.set(actorId.key, a);
    const place = () => {
      const w = this.#toWire(ctor, actorId.key);
      if (!w) {
        a.death = new ActorDiedError(className, keyToHex(actorId.key), "an argument of its constructor failed");
        this.#flushActor(a);
        return;
      }
      if (options.name !== undefined) w.actorName = options.name;
      w.maxConcurrency = options.maxConcurrency;
      if (job !== undefined) w.job = job;
      if (options.lifetime === "detached") w.lifetime = "detached";
      this.#head.request<string>(MSG.ACTOR_CREATE, w).then(
        (node) => {
          a.node = node;
          this.node.releaseArgs(ctor);
          this.#flushActor(a);
        },
        (e: Error) => {
          this.node.releaseArgs(ctor);
          a.death = remoteToLocal(e, className);
          if (!(a.death instanceof ActorDiedError)) a.death = new ActorDiedError(className, keyToHex(actorId.key), a.death.message, a.death);
          this.#flushActor(a);
        },
      );
    };
    // the constructor's arguments must be resolved before it leaves
    this.#afterResolved(deps, place);
  }

  /** Sends the calls that waited for the actor's placement, or fails them. */
  #flushActor(a: RemoteActor): void {
    const calls = a.waiting ?? [];
    a.waiting = undefined;
    for (const w of calls) this.#sendCall(a, w);
  }

  /** Records an actor found in the control store (getActor). */
  #adoptActor(key: string, rec: ActorTableRecord): void {
    if (this.#actors.has(key) || this.node.actors.get(key)) return;
    const a: RemoteActor = { key, className: rec.className, node: undefined, waiting: undefined, outbox: [], death: undefined };
    this.#fromRecord(a, rec);
    this.#actors.set(key, a);
  }

  /** What the actors table says of `a`: its class, its node, and whether it is dead. */
  #fromRecord(a: RemoteActor, rec: ActorTableRecord): void {
    a.className = rec.className;
    a.node = rec.node;
    if (rec.state === "dead") a.death = new ActorDiedError(rec.className, keyToHex(a.key), rec.death ?? "dead");
    else if (this.#dead.has(rec.node)) a.death = new ActorDiedError(rec.className, keyToHex(a.key), `its node died (${this.#dead.get(rec.node)})`);
  }

  /** The actor's record in the control store. */
  #lookupActor(key: string): Promise<ActorTableRecord | undefined> {
    return this.gcs.get<ActorTableRecord>(TABLES.actors, keyToHex(key));
  }

  /** The live actor named `name` (ClusterLink). */
  async actorByName(name: string): Promise<string | undefined> {
    const hex = await this.gcs.get<string>(TABLES.actorNames, name);
    if (hex === undefined) return undefined;
    const key = hexToKey(hex);
    const rec = await this.#lookupActor(key);
    if (!rec || rec.state === "dead") return undefined;
    this.#adoptActor(key, rec);
    return key;
  }

  /** Calls a method of an actor on another node (ClusterLink). */
  callActor(actorKey: string, method: string, taskId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, numReturns: number, returnIds: string[], returns: ObjectEntry[]): boolean {
    let a = this.#actors.get(actorKey);
    if (!a) {
      // a handle that came in a value: find the actor first, keeping this call's place in line
      const found: RemoteActor = { key: actorKey, className: "actor", node: undefined, waiting: [], outbox: [], death: undefined };
      this.#actors.set(actorKey, (a = found));
      this.#lookupActor(actorKey).then(
        (rec) => {
          if (!rec) found.death = new ActorNotFoundError(`with ID ${keyToHex(actorKey)} in this cluster`);
          else this.#fromRecord(found, rec);
          this.#flushActor(found);
        },
        (e: Error) => {
          found.death = e;
          this.#flushActor(found);
        },
      );
    }
    const actor = a;
    const store = this.node.store;
    if (deps) for (const d of deps) store.addRef(d);
    if (nested) for (const d of nested) store.addRef(d);
    const task: TaskSpec = {
      taskId,
      name: method,
      nameBytes: EMPTY,
      stats: { avgMs: NaN },
      component: -1,
      kind: KIND_METHOD,
      args,
      deps,
      nested,
      numReturns,
      returnIds,
      returns,
      shape: shapeFromEntries([]),
      retriesLeft: 0,
      timeoutMs: 0,
      nestedSubmit: false,
      unresolved: 0,
      seq: 0,
      slot: -1,
      parent: undefined,
      onDone: undefined,
      job: undefined,
    };
    // calls leave in the order they were made: one whose arguments are not
    // resolved yet holds back the later ones (as at a local actor)
    const slot = { ready: false, send: () => {} };
    slot.send = () => {
      const w = this.#toWire(task, actorKey, "");
      if (!w) return;
      this.#forwarded.set(task.taskId.key, { task, node: actor.node, wire: w });
      if (actor.waiting) actor.waiting.push(w);
      else this.#sendCall(actor, w);
    };
    actor.outbox.push(slot);
    this.#afterResolved(deps, () => {
      slot.ready = true;
      this.#pumpCalls(actor);
    });
    return true;
  }

  #pumpCalls(a: RemoteActor): void {
    while (a.outbox.length > 0 && a.outbox[0]!.ready) a.outbox.shift()!.send();
  }

  #sendCall(a: RemoteActor, w: WireTask): void {
    const key = bytesToKey(w.id, 0, 16);
    const f = this.#forwarded.get(key);
    if (!f) return;
    if (a.death || !a.node) {
      this.#forwarded.delete(key);
      this.#finishForwarded(f.task, a.death ?? new ActorNotFoundError(`with ID ${keyToHex(a.key)}`));
      return;
    }
    f.node = a.node;
    const dead = this.#dead.get(a.node);
    if (dead) {
      this.#forwarded.delete(key);
      this.#finishForwarded(f.task, new ActorDiedError(a.className, keyToHex(a.key), `its node died (${dead})`));
      return;
    }
    this.#send(a.node, MSG.ACTOR_CALL, w, (e) => {
      if (this.#forwarded.get(key) !== f) return;
      this.#forwarded.delete(key);
      this.#finishForwarded(f.task, new ActorDiedError(a.className, keyToHex(a.key), e.message, e));
    });
  }

  /** Kills an actor wherever it is. */
  async killActor(key: string): Promise<boolean> {
    const a = this.#actors.get(key);
    let node = a?.node;
    if (!node) node = (await this.#lookupActor(key))?.node;
    if (!node) return false;
    this.#send(node, MSG.ACTOR_KILL, { actor: keyToBytes(key) });
    if (a) a.death ??= new ActorDiedError(a.className, keyToHex(key), "it was killed");
    return true;
  }

  /** An actor of this node died (ClusterLink): its record says so, and its name is free again. */
  actorDied(r: ActorRecord): void {
    if (this.#closed) return;
    const hex = keyToHex(r.key);
    void (async () => {
      const rec = await this.gcs.get<ActorTableRecord>(TABLES.actors, hex);
      if (!rec || rec.state === "dead") return;
      await this.gcs.put(TABLES.actors, hex, { ...rec, state: "dead", death: r.death?.reason ?? "dead" } satisfies ActorTableRecord);
      if (rec.name !== undefined && (await this.gcs.get<string>(TABLES.actorNames, rec.name)) === hex) await this.gcs.delete(TABLES.actorNames, rec.name);
    })().catch(() => {});
  }

  /** A guest's log record for driver `job` (ClusterLink): batched, sent before the next result or soon. */
  forwardLog(job: string, record: LogRecord): void {
    if (job === this.nodeId || this.#dead.has(job)) return;
    let list = this.#logs.get(job);
    if (!list) this.#logs.set(job, (list = []));
    const r: LogBody["records"][number] = { level: record.level, text: record.text };
    if (record.task !== undefined) r.task = record.task;
    if (record.actor !== undefined) r.actor = record.actor;
    if (record.actorId !== undefined) r.actorId = record.actorId;
    list.push(r);
    if (!this.#logsQueued) {
      this.#logsQueued = true;
      setImmediate(() => this.#flushLogs());
    }
  }

  #flushLogs(): void {
    this.#logsQueued = false;
    for (const [job, records] of this.#logs) this.#send(job, MSG.LOG, { node: this.nodeId, records } satisfies LogBody);
    this.#logs.clear();
  }

  /** The class of a remote actor, if known. */
  actorClass(key: string): string | undefined {
    return this.#actors.get(key)?.className;
  }

  /** ACTOR_CREATE from the head: start the actor here. */
  #startActor(w: WireTask): void {
    this.#withComponent(w.component, (c, err) => {
      const actorId = taskIdFromKey(bytesToKey(w.actor!, 0, 16));
      const hex = keyToHex(actorId.key);
      const job = w.job ?? w.owner;
      const rec: ActorTableRecord = { node: this.nodeId, className: w.name, owner: w.owner, job, state: "alive", methods: [] };
      if (w.actorName !== undefined) rec.name = w.actorName;
      if (w.lifetime === "detached") rec.lifetime = "detached";
      const options: ActorOptionsResolved = { name: w.actorName, maxConcurrency: w.maxConcurrency ?? 1, shape: shapeFromEntries(w.resources) };
      const deps = c ? this.#argEntries(w) : undefined;
      let failure = err;
      let r;
      if (c) {
        try {
          r = this.node.createActor(c, w.name, actorId, w.args, deps, undefined, options, job);
          rec.methods = [...r.methods];
        } catch (e) {
          failure = e as Error;
        }
      }
      if (!r) {
        rec.state = "dead";
        rec.death = failure?.message ?? "could not start";
      }
      void this.gcs.put(TABLES.actors, hex, rec).catch(() => {});
      if (rec.state === "dead" && w.actorName !== undefined) void this.gcs.delete(TABLES.actorNames, w.actorName).catch(() => {});
      this.#flushEarly(actorId.key);
    });
  }

  /** ACTOR_CALL from a caller: queue it on the local actor; report to the caller when done. */
  #runCall(w: WireTask): void {
    const key = bytesToKey(w.actor!, 0, 16);
    const early = this.#early.get(key);
    if (early) {
      early.calls.push(w);
      return;
    }
    const r = this.node.actors.get(key);
    if (!r) {
      // the call overtook the head's ACTOR_CREATE (they come by different connections), or the
      // actor's component is still loading: hold calls, in order, until it starts
      const e = { calls: [w], timer: setTimeout(() => this.#flushEarly(key), EARLY_CALL_WAIT_MS) };
      e.timer.unref();
      this.#early.set(key, e);
      return;
    }
    const taskId = taskIdFromKey(bytesToKey(w.id, 0, 16));
    const { ids, entries } = this.#returnsFor(taskId, w.numReturns);
    const deps = this.#argEntries(w);
    this.node.callActor(r, w.name, taskId, w.args, deps, undefined, w.numReturns, ids, entries, () => this.#report(w, entries));
    this.#spinSoon();
  }

  readonly #early = new Map<string, { calls: WireTask[]; timer: ReturnType<typeof setTimeout> }>();

  /** Runs (or, if the actor never started here, fails) the calls that came before the actor. */
  #flushEarly(key: string): void {
    const early = this.#early.get(key);
    if (!early) return;
    this.#early.delete(key);
    clearTimeout(early.timer);
    const r = this.node.actors.get(key);
    for (const w of early.calls) {
      if (r) {
        this.#runCall(w);
        continue;
      }
      const { entries } = this.#returnsFor(taskIdFromKey(bytesToKey(w.id, 0, 16)), w.numReturns);
      for (const e of entries) this.node.store.fail(e, new ActorNotFoundError(`with ID ${keyToHex(key)} on node ${this.nodeId.slice(0, 8)}`));
      this.#report(w, entries);
    }
  }

  // ---- status and shutdown -------------------------------------------------------------------------

  /** The cluster's status, from the head. */
  status(): Promise<unknown> {
    return this.#head.request(MSG.CLUSTER_STATUS, null, 10_000);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.node.cluster = undefined;
    this.node.store.cluster = undefined;
    for (const p of this.#peers.values()) p.then((c) => c.close("node leaving"), () => {});
    this.#head.close("node leaving");
    await this.#listener.close();
  }
}

/** A well-formed node of a lease from the head. */
function isLeaseNode(v: unknown): v is LeaseNode {
  const n = v as LeaseNode;
  return typeof n === "object" && n !== null && typeof n.node === "string" && Number.isFinite(n.waitMs) && n.taskMs >= 0 && n.cpus > 0;
}

/** A failure the head or a peer sent back, as the error class it names where we know it. */
function remoteToLocal(e: Error, name: string): Error {
  if (!(e instanceof RemoteError)) return e;
  if (e.remoteCode === "WRAY_TASK_INFEASIBLE") return new InfeasibleTaskError(name, e.message.replace(/^task '[^']*' can never be scheduled: /, ""));
  if (e.remoteCode === "WRAY_ACTOR_NAME_TAKEN") return new ActorNameTakenError(/'([^']*)'/.exec(e.message)?.[1] ?? "?");
  return e;
}

function isLevel(l: string): l is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(l);
}

/** `scheme://host:port` with another host. */
function withHost(address: string, host: string): string {
  const shown = host.includes(":") ? `[${host}]` : host;
  return address.replace(/^([a-z]+:\/\/)(\[[^\]]*\]|[^:/]*)/, `$1${shown}`);
}
