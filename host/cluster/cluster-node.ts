/**
 * A host's membership of a cluster (ClusterNode): registration and
 * heartbeats with the head, the nodes table (addresses, deaths), and the
 * messages other nodes and the head send, handed to the parts that do the
 * work:
 *
 *   peers.ts          connections to other nodes, in order; who died
 *   placement.ts      the owner side: where tasks submitted here run, leases, results
 *   remote-run.ts     the executor side: tasks, actors and calls run here for others
 *   remote-actors.ts  actors of other nodes, as callers here know them
 *   objects.ts        objects between nodes: find, pull, serve, hold for owners
 *
 * ClusterNode is the ClusterLink its HostNode calls, and the store's
 * RemoteObjects (through ClusterObjects). It knows the node only through
 * LocalNode (local-node.ts).
 */
import { hostname } from "node:os";
import { bytesToHex } from "../../common/ids.js";
import type { TaskId } from "../../common/ids.js";
import type { ActorCheckpointBody, Connection, LogBody, Message, MessageType, NodeInfo, GroupBundleBody, GroupCreateBody, GroupIdBody, GroupInfo, GroupPrepareBody, StateQueryBody, TaskCancelBody, TaskDoneBody, TlsOptions, Transport, WireTask } from "../../net/index.js";
import { MSG, ProtocolError, WsTransport } from "../../net/index.js";
import { NodeFencedError } from "../errors.js";
import { HEAD_RECONNECT_MS, HeadSession } from "./head-session.js";
import type { TaskSpec } from "../../scheduler/index.js";
import { PLACED_TASK_MS, shapeFromEntries } from "../../scheduler/index.js";
import type { ObjectEntry } from "../../store/index.js";
import { RemoteControlStore, TABLES, channelOf } from "../../store/index.js";
import type { NodeRecord } from "../head/index.js";
import type { LogLevel, LogRecord } from "../log.js";
import { LOG_LEVELS } from "../isolate/index.js";
import type { ActorOptionsResolved, ActorRecord, CancelOptions, ClusterLink, ComponentRecord } from "../node/index.js";
import type { LocalNode } from "./local-node.js";
import { ClusterObjects } from "./objects.js";
import { Peers } from "./peers.js";
import { Placement } from "./placement.js";
import { RemoteActors } from "./remote-actors.js";
import { RemoteRun, wireLog } from "./remote-run.js";

export { LOCAL_QUEUE_PER_CPU, LOCALITY_BYTES, LEASE_MS } from "./placement.js";
export { PULL_WINDOW } from "./objects.js";

/** Least time between load reports sent early (when this node's queue drains) and the last heartbeat. */
const LOAD_REPORT_MS = 50;

export interface ClusterOptions {
  /** The head's address, `ws://HOST:PORT`. */
  address: string;
  /** The cluster token. */
  token: string;
  /** A driver's node: the global scheduler never places work on it. */
  driver?: boolean;
  /**
   * How long to keep connecting to the head after its connection is lost
   * (it died, or restarts): the node runs on meanwhile. Default 60 s
   * (Ray's raylet). Then `onLost` hears of it.
   */
  headReconnectTimeoutMs?: number;
  /**
   * The head is gone for good (it did not come back in time) or declared
   * this node dead (NodeFencedError): the node has left the cluster (its
   * ClusterNode is closed). Default: a log line.
   */
  onLost?: (error: Error) => void;
  /**
   * The address this node's peer server listens on and other nodes reach
   * it at (Ray's node IP address); 0.0.0.0 (or ::) listens on every
   * interface and is reached at the address this machine reaches the head
   * from. Default: that address (127.0.0.1 when the head is on loopback).
   */
  listenHost?: string;
  /** Port for this node's peer server. Default: any free one. */
  listenPort?: number;
  /** TLS: a CA to check wss:// servers against, and a certificate and key for this node's own server. */
  tls?: TlsOptions;
  /**
   * The most lineage (specs of finished tasks whose results live only on
   * other nodes) this node keeps to remake lost results; the oldest goes
   * first. Default 1 GiB (Ray's max_lineage_bytes).
   */
  maxLineageBytes?: number;
  transport?: Transport;
  log?: (line: string) => void;
}

export class ClusterNode implements ClusterLink {
  readonly nodeId: string;
  readonly node: LocalNode;
  readonly gcs: RemoteControlStore;
  readonly #head: HeadSession;
  readonly #listener: { address: string; close(): Promise<void> };
  readonly #peers: Peers;
  readonly #objects: ClusterObjects;
  readonly #placement: Placement;
  readonly #actors: RemoteActors;
  readonly #run: RemoteRun;
  readonly #onLost: (error: Error) => void;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastBeat = 0;
  #closed = false;

  private constructor(node: LocalNode, conn: Connection, nodeId: string, listener: { address: string; close(): Promise<void> }, options: ClusterOptions, transport: Transport, info: NodeInfo) {
    this.node = node;
    this.nodeId = nodeId;
    this.#listener = listener;
    const log = options.log ?? ((l) => console.log(l));
    const head = new HeadSession(conn, {
      address: options.address,
      nodeId,
      reconnectMs: options.headReconnectTimeoutMs ?? HEAD_RECONNECT_MS,
      connect: () => transport.connect(options.address, options.token, log),
      handle: (m) => this.#fromHead(m),
      rejoin: (c) => this.#rejoin(c, info),
      onFenced: (e) => this.#leave(e),
      onGone: (e) => this.#leave(e),
      log,
    });
    this.#head = head;
    this.#onLost = options.onLost ?? ((e) => log(`(wray) left the cluster: ${e.message}`));
    this.gcs = new RemoteControlStore(head);
    this.#peers = new Peers({ nodeId, transport, token: options.token, gcs: this.gcs, log, handle: (m) => this.#handle(m) });
    this.#objects = new ClusterObjects(node, this.gcs, head, this.#peers);
    const placing = { store: node.store, scheduler: node.scheduler, reject: (t: TaskSpec, e: Error) => node.reject(t, e), releaseArgs: (t: TaskSpec) => node.releaseArgs(t), componentHash: (i: number) => node.components.at(i).prepared.hash, componentMemoryMb: (i: number) => {
        const c = node.components.at(i);
        return c.memoryMb === node.components.memoryMb ? undefined : c.memoryMb;
      } };
    this.#placement = new Placement(placing, this.#peers, head, (t) => this.#objects.wireArgs(t), options.maxLineageBytes);
    this.#objects.rebuild = (e, why) => this.#placement.rebuild(e, why);
    this.#objects.onFreed = (e) => this.#placement.forget(e);
    this.#actors = new RemoteActors(node, this.gcs, head, this.#peers, this.#placement);
    this.#placement.callLost = (actor, node, why, w) => this.#actors.callLost(actor, node, why, w);
    this.#run = new RemoteRun(node, this.gcs, head, this.#peers, this.#objects, () => {
      // the queue drained: tell the head now, not at the next heartbeat, so the leases it gives meanwhile include this node
      if (performance.now() - this.#lastBeat > LOAD_REPORT_MS) this.#beat();
    });
    // task events go to the head with each heartbeat, and sooner when the buffer is half full
    node.taskEvents.onHalf = () => setImmediate(() => this.#shipEvents());
  }

  /** Sends the task events recorded since the last batch to the head. */
  #shipEvents(): void {
    if (this.#closed) return;
    const batch = this.node.taskEvents.drain(this.nodeId);
    if (batch) this.#head.notify(MSG.TASK_EVENTS, batch);
  }

  /** Connects `node` to the cluster at `options.address`: serves peers, registers, starts heartbeats. */
  static async join(node: LocalNode, options: ClusterOptions): Promise<ClusterNode> {
    const transport = options.transport ?? new WsTransport({ tls: options.tls });
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
    const resources: Record<string, number> = {};
    for (const [k, v] of node.scheduler.resources.total) resources[k] = v;
    const info: NodeInfo = { nodeId, address: listener.address, resources, driver: options.driver ?? false, pid: process.pid, hostname: hostname(), startedAt: Date.now() };
    self = new ClusterNode(node, head, nodeId, listener, options, transport, info);
    for (const c of early) self.#accept(c);
    try {
      // learn of nodes (addresses, deaths) from the nodes table, then say who we are
      self.gcs.subscribe(channelOf(TABLES.nodes), (id, v) => self!.#nodeChanged(id, v as NodeRecord | undefined));
      for (const [id, rec] of await self.gcs.scan<NodeRecord>(TABLES.nodes)) self.#nodeChanged(id, rec);
      const reply = await head.request<{ heartbeatMs: number }>(MSG.NODE_REGISTER, info);
      node.cluster = self;
      node.store.cluster = self.#objects;
      self.#startBeating(reply.heartbeatMs);
    } catch (e) {
      self.#head.close("could not join");
      await listener.close();
      throw e;
    }
    return self;
  }

  #startBeating(ms: number): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#beat(), ms);
    this.#heartbeat.unref();
    this.#beat();
  }

  /**
   * A new connection to the head after the last one was lost: this node
   * registers again under its own ID (a head restarted on the same control
   * store knows it; one that declared it dead refuses: NodeFencedError),
   * listens again to what it listened to, and learns what changed.
   */
  async #rejoin(conn: Connection, info: NodeInfo): Promise<void> {
    const reply = await conn.request<{ heartbeatMs: number }>(MSG.NODE_REGISTER, { ...info, rejoin: true } satisfies NodeInfo);
    this.gcs.resubscribe(conn);
    const nodes = await conn.request<[string, NodeRecord][]>(MSG.GCS_SCAN, { table: TABLES.nodes, prefix: "" });
    queueMicrotask(() => {
      if (this.#closed) return;
      this.#startBeating(reply.heartbeatMs);
      // deaths the head recorded while we were away (nodes that did not come back to a restarted head)
      for (const [id, rec] of nodes) this.#nodeChanged(id, rec);
    });
  }

  /** The head declared this node dead, or is gone for good: it leaves the cluster. */
  #leave(error: Error): void {
    if (this.#closed) return;
    void this.close().finally(() => this.#onLost(error));
  }

  get address(): string {
    return this.#listener.address;
  }

  // ---- membership ----------------------------------------------------------------------------

  #beat(): void {
    const sched = this.node.scheduler;
    const available: Record<string, number> = {};
    for (const [k, v] of sched.resources.available) available[k] = Math.max(0, v);
    const st = this.node.store.stats();
    const queued = sched.backlog;
    const mean = sched.meanTaskMs;
    const taskMs = Number.isNaN(mean) ? PLACED_TASK_MS : mean;
    this.#lastBeat = performance.now();
    this.#shipEvents();
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
    if (rec.address) this.#peers.setAddress(id, rec.address);
    if (rec.state !== "dead") return;
    // the head declared this very node dead: it may not act as it any more
    if (id === this.nodeId) this.#leave(new NodeFencedError(id, rec.death ?? "dead"));
    else if (this.#peers.deathOf(id) === undefined) this.#nodeDied(id, rec.death ?? "dead");
  }

  /** A node died: resubmit what it ran for us, fail what only it held. */
  #nodeDied(id: string, why: string): void {
    this.#peers.died(id, why);
    if (id === this.nodeId) return;
    this.#run.nodeDied(id);
    this.#placement.nodeDied(id, why);
    this.#actors.nodeDied(id, why);
    // last: what it ran for us is resubmitted before the pulls from it fail
    this.#objects.nodeDied(id, why);
  }

  #accept(conn: Connection): void {
    conn.handler = (m) => this.#handle(m);
  }

  // ---- messages ------------------------------------------------------------------------------

  /** What only the head may ask (placement-group bundles), then what anyone may. */
  #fromHead(m: Message): unknown {
    const bundles = this.node.bundles;
    switch (m.type) {
      case MSG.PG_PREPARE: {
        const b = m.body as GroupPrepareBody;
        return bundles.prepare(b.id, b.index, shapeFromEntries(b.bundle));
      }
      case MSG.PG_COMMIT: {
        const b = m.body as GroupBundleBody;
        return bundles.commit(b.id, b.index);
      }
      case MSG.PG_ABORT: {
        const b = m.body as GroupBundleBody;
        bundles.abort(b.id, b.index);
        return null;
      }
      case MSG.PG_DROP:
        bundles.remove((m.body as GroupIdBody).id);
        return null;
      case MSG.JOB_ENDED:
        this.node.evictJob((m.body as { job: string }).job);
        return null;
      case MSG.NODE_MEMORY:
        return this.node.store.memory((m.body as { limit: number }).limit);
      default:
        return this.#handle(m);
    }
  }

  #handle(m: Message): unknown {
    switch (m.type) {
      case MSG.GCS_EVENT:
        this.gcs.event(m.body as never);
        return null;
      case MSG.TASK_RUN:
        this.#run.run(m.body as WireTask);
        return null;
      case MSG.ACTOR_CREATE:
        this.#run.startActor(m.body as WireTask);
        return null;
      case MSG.ACTOR_CALL:
        this.#run.runCall(m.body as WireTask);
        return null;
      case MSG.ACTOR_KILL:
        this.#run.kill((m.body as { actor: Uint8Array }).actor);
        return null;
      case MSG.ACTOR_CHECKPOINT:
        this.#actors.checkpointed(m.body as ActorCheckpointBody);
        return null;
      case MSG.TASK_CANCEL:
        this.#run.cancel(m.body as TaskCancelBody);
        return null;
      case MSG.TASK_DONE:
        this.#placement.done(m.body as TaskDoneBody);
        return null;
      case MSG.OBJECT_PULL:
        return this.#objects.serve(m.body as { id: Uint8Array; offset: number; length: number });
      case MSG.OBJECT_FREE:
        this.#objects.free((m.body as { ids: Uint8Array[] }).ids);
        return null;
      case MSG.LOG: {
        const b = m.body as LogBody;
        for (const r of b.records) this.node.emitLog({ ...r, level: isLevel(r.level) ? r.level : "info", source: "guest", node: b.node });
        return null;
      }
      case MSG.CLUSTER_STOP:
        return null;
      default:
        throw new ProtocolError("a host does not serve this message");
    }
  }

  // ---- ClusterLink: what the node asks ---------------------------------------------------------

  /** Places a task submitted here. */
  submit(task: TaskSpec): void {
    this.#placement.submit(task);
  }

  /** Cancels a task: where this node placed it, if it is ours and out; otherwise here. */
  cancel(taskKey: string, options: CancelOptions, result?: ObjectEntry): void {
    if (!this.#placement.cancel(taskKey, options)) this.node.cancelHere(taskKey, options, result);
  }

  /** An ID with no entry here: a pending entry (one ref, the caller's), filled from the cluster. */
  want(id: string): ObjectEntry {
    return this.#objects.want(id);
  }

  /** Creates an actor through the head. Its calls queue here until it is placed. */
  createActor(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, options: ActorOptionsResolved, job: string | undefined): void {
    this.#actors.create(c, className, actorId, args, deps, nested, options, job);
  }

  /** Calls a method of an actor on another node. */
  callActor(actorKey: string, method: string, taskId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, numReturns: number, returnIds: string[], returns: ObjectEntry[]): boolean {
    return this.#actors.call(actorKey, method, taskId, args, deps, nested, numReturns, returnIds, returns);
  }

  /** The live actor named `name`. */
  actorByName(name: string): Promise<string | undefined> {
    return this.#actors.byName(name);
  }

  /** An actor of this node died: its record says so, and its name is free again. */
  actorDied(r: ActorRecord): void {
    this.#run.actorDied(r.key);
    this.#actors.died(r);
  }

  /** An actor of this node restarted here: the head counts it against the actor's maxRestarts. */
  actorRestarted(r: ActorRecord): void {
    this.#actors.restarted(r);
  }

  /** An actor of this node saved a checkpoint: its owner keeps it (RemoteActors.checkpointed there). */
  actorCheckpointed(r: ActorRecord, value: Uint8Array, covered: string[]): void {
    this.#run.checkpointed(r.key, value, covered);
  }

  /** A guest's log record for driver `job`: batched, sent before the next result or soon. */
  /** Guest log records for the head, sent together soon. */
  #headLogs: LogBody["records"] = [];

  logToHead(record: LogRecord): void {
    if (this.#headLogs.push(wireLog(record)) === 1) {
      setImmediate(() => {
        const records = this.#headLogs;
        this.#headLogs = [];
        if (!this.#closed) this.#head.notify(MSG.LOG, { node: this.nodeId, records } satisfies LogBody);
      });
    }
  }

  forwardLog(job: string, record: LogRecord): void {
    this.#run.forwardLog(job, record);
  }

  // ---- the driver's requests ----------------------------------------------------------------------

  /** Puts a component's bytes in the functions table (once), so other nodes can load it. */
  publishComponent(hash: string, bytes: Uint8Array): Promise<void> {
    return this.#run.publishComponent(hash, bytes);
  }

  /** Kills an actor wherever it is. */
  killActor(key: string): Promise<boolean> {
    return this.#actors.kill(key);
  }

  /** The class of a remote actor, if known. */
  actorClass(key: string): string | undefined {
    return this.#actors.className(key);
  }

  /** The cluster's status, from the head. */
  /** Asks the head for a placement group; resolves once it holds every bundle. */
  createGroup(body: GroupCreateBody): Promise<unknown> {
    return this.#head.request(MSG.PG_CREATE, body);
  }

  removeGroup(id: string): Promise<unknown> {
    return this.#head.request(MSG.PG_REMOVE, { id });
  }

  groupByName(name: string): Promise<GroupInfo | null> {
    return this.#head.request<GroupInfo | null>(MSG.PG_GET, { name });
  }

  status(): Promise<unknown> {
    return this.#head.request(MSG.CLUSTER_STATUS, null, 10_000);
  }

  /** Asks the head `type` (a request any client may make: jobs, for one). */
  askHead<T>(type: MessageType, body: unknown, timeoutMs?: number): Promise<T> {
    return this.#head.request<T>(type, body, timeoutMs);
  }

  /** Asks the head's state API (after sending this node's task events, so they are in the answer). */
  state(q: StateQueryBody): Promise<unknown> {
    this.#shipEvents();
    return this.#head.request(MSG.STATE_QUERY, q, 30_000);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#shipEvents();
    this.#closed = true;
    this.#objects.closed = true;
    this.#actors.closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.node.cluster = undefined;
    this.node.store.cluster = undefined;
    this.#peers.close();
    this.#head.close("node leaving");
    await this.#listener.close();
    await this.gcs.close();
  }
}

function isLevel(l: string): l is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(l);
}

/** `scheme://host:port` with another host. */
function withHost(address: string, host: string): string {
  const shown = host.includes(":") ? `[${host}]` : host;
  return address.replace(/^([a-z]+:\/\/)(\[[^\]]*\]|[^:/]*)/, `$1${shown}`);
}
