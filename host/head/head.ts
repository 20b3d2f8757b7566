/**
 * The head's services: the control store (served to every connection),
 * the global scheduler, node registration, heartbeats and failure
 * detection, and the cluster's status. Hosts (the head's own included)
 * and drivers connect to it over the transport.
 *
 * Fault tolerance: deaths are decided here only, from missed heartbeats
 * measured while the head itself runs (a pause of its own moves every
 * deadline on) or a closed connection; a node declared dead is fenced
 * (its connection closed with CLOSE_FENCED, its registration refused). A
 * head started on a control store that holds a cluster (a restart) waits
 * for that cluster's nodes to connect again. Actors with restarts left
 * whose node died are placed again from their creation spec.
 *
 * This file's parts:
 *   records          HeadOptions, status shapes, NodeRecord, ActorTableRecord
 *   Head             start, restore of a restarted head, connections, the messages it serves
 *   tables           functions (write-once), actor state, registration and fencing
 *   deaths           #dead, the actors that die (or restart) with a node
 *   placement        tasks and actors through the global scheduler (placement groups: groups.ts)
 *   (task events and the state API: state.ts)
 *   status, close
 */
import { createHash } from "node:crypto";
import { bytesToHex, hexToKey, keyToBytes } from "../../common/ids.js";
import type { JobIdBody, JobListBody, JobLogsBody, JobSubmitBody, LogBody, StateQueryBody, ActorStateBody, Connection, GroupCreateBody, GroupIdBody, ConnectionLimits, FunctionPutBody, HeartbeatBody, Listener, Message, NodeInfo, ObjectLocationBody, PlacedReply, TlsOptions, Transport, WireTask } from "../../net/index.js";
import { CLOSE_FENCED, MSG, PermissionDeniedError, ProtocolError, WsTransport } from "../../net/index.js";
import type { NodeEntry } from "../../scheduler/index.js";
import type { Shape } from "../../scheduler/index.js";
import { GlobalScheduler, InfeasibleTaskError, UNIT, UNLIMITED_RETRIES, groupOfShape, shapeFromEntries } from "../../scheduler/index.js";
import { ControlStoreService, ShardedControlStore, TABLES } from "../../store/index.js";
import { ActorDiedError, ActorNameTakenError, ComponentIntegrityError, NodeDiedError, NodeFencedError } from "../errors.js";
import { PlacementGroupTable } from "./groups.js";
import { HeadState } from "./state.js";
import type { ActorTableRecord, ClusterStatus, NodeStatus } from "./records.js";

export type { ActorTableRecord, ClusterStatus, NodeStatus } from "./records.js";

/** What the head asks of its job runner (host/jobs/runner.ts): the JOB_* requests. */
export interface JobService {
  submit(b: JobSubmitBody): Promise<{ id: string }>;
  list(b: JobListBody): Promise<unknown[]>;
  get(id: string): Promise<unknown>;
  logs(b: JobLogsBody): Promise<unknown[] | null>;
  stop(id: string): Promise<unknown>;
}
import type { TaskEventBatch } from "../../common/task-events.js";

export interface HeadOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 6380. */
  port?: number;
  /** The cluster token peers must present (not empty). */
  token: string;
  /** A certificate and key: the head listens on wss:// (see docs/security.md). */
  tls?: TlsOptions;
  /** Limits on connections: handshake deadline, caps, frames in part (net/guard.ts). */
  limits?: ConnectionLimits;
  /** Where the control store's shards live. */
  directory: string;
  /** Control-store shards. Default 4. */
  shards?: number;
  /** How often hosts report. Default 1000 ms. */
  heartbeatMs?: number;
  /**
   * Heartbeats a host may miss before the head declares it dead (measured
   * on the head's clock, while the head itself runs). Default 5: with the
   * default period, a silent host is declared dead 5 to 5.25 s after its
   * last heartbeat.
   */
  missedHeartbeats?: number;
  transport?: Transport;
  log?: (line: string) => void;
  /** Called when a client asks the cluster to stop (`wray stop`). */
  onStop?: () => void;
  /** Tasks of each job whose task events the head keeps whole (older ones only count in summaries). Default 10,000. */
  maxTasksPerJob?: number;
}

/** Where an object whose ref left its node is, in the control store's objects table. */
export interface ObjectLocation {
  nodes: string[];
  size: number;
  /** The node that owns it (its put's, or the submitter of the task that made it). */
  owner?: string;
}

/** A node record in the control store. */
export interface NodeRecord extends NodeInfo {
  state: "alive" | "dead";
  death?: string;
}


/** Least time a restarted head waits for the last head's nodes to connect again. */
const REJOIN_GRACE_MS = 10_000;

/** The most of any one resource a node may offer (whole units): beyond any machine, and far from where fixed-point sums lose precision. */
export const MAX_NODE_RESOURCE = 1_000_000;

export class Head {
  readonly address: string;
  readonly store: ShardedControlStore;
  readonly scheduler: GlobalScheduler;
  readonly #service: ControlStoreService;
  readonly #listener: Listener;
  readonly #log: (line: string) => void;
  readonly #conns = new Map<string, Connection>();
  readonly #info = new Map<string, NodeInfo>();
  readonly #monitor: ReturnType<typeof setInterval>;
  readonly #onStop: (() => void) | undefined;
  /**
   * Nodes the control store had alive when this head started on it (a
   * restart): they may register again under their IDs until `#rejoinBy`;
   * those that do not are declared dead then.
   */
  readonly #expected = new Map<string, NodeRecord>();
  #rejoinTimer: ReturnType<typeof setTimeout> | undefined;
  /** Placements waiting for the last head's nodes (nothing alive fits them yet). */
  readonly #onRejoin: (() => void)[] = [];
  /** Control-store work started by events (a node's death): close waits for it before it closes the store. */
  readonly #work = new Set<Promise<unknown>>();
  #closed = false;

  readonly #directory: string;
  /** Placement groups (groups.ts). */
  readonly #groups: PlacementGroupTable;
  /** Task events and the state API (state.ts). */
  readonly state: HeadState;
  /** Runs the jobs clients submit (host/jobs; `wray start --head` sets it). */
  jobs: JobService | undefined;

  private constructor(store: ShardedControlStore, listener: Listener, scheduler: GlobalScheduler, log: (line: string) => void, onStop: (() => void) | undefined, directory: string, maxTasksPerJob: number | undefined) {
    this.#directory = directory;
    this.state = new HeadState(store, () => this.status(), { maxTasksPerJob });
    this.state.askNodes = (limit) =>
      Promise.all(
        [...this.#conns].map(async ([node, conn]) => {
          try {
            return { node, memory: await conn.request(MSG.NODE_MEMORY, { limit }, 10_000) };
          } catch (e) {
            return { node, error: (e as Error).message };
          }
        }),
      );
    this.store = store;
    this.scheduler = scheduler;
    // clients read the tables; only this class writes them
    this.#service = new ControlStoreService(store, []);
    this.#listener = listener;
    this.address = listener.address;
    this.#log = log;
    this.#onStop = onStop;
    this.#groups = new PlacementGroupTable({
      nodes: () => scheduler.nodes(),
      node: (id) => scheduler.node(id),
      request: (id, type, body) => {
        const conn = this.#conns.get(id);
        return conn ? conn.request(type, body) : Promise.reject(new NodeDiedError(`placement group bundle`, id, "it is not connected"));
      },
      notify: (id, type, body) => this.#conns.get(id)?.notify(type, body),
      log,
    });
    const tickMs = Math.max(5, scheduler.heartbeatMs / 4);
    let lastTick = performance.now();
    this.#monitor = setInterval(() => {
      const now = performance.now();
      const paused = now - lastTick - tickMs;
      lastTick = now;
      if (paused > scheduler.heartbeatMs / 2) {
        // this process did not run for a while (a long GC, a stall, SIGSTOP): the heartbeats sent
        // meanwhile wait unread in its sockets. Silence it did not hear is not the nodes' fault:
        // their deadlines move on by the pause, and the heartbeats are read before the next check.
        this.scheduler.rearm(paused);
        this.#log(`(wray) the head did not run for ${Math.round(paused)} ms: heartbeat deadlines moved on by as much`);
        return;
      }
      for (const n of this.scheduler.overdue(now)) this.#dead(n.nodeId, `missed heartbeats for ${Math.round(now - n.lastBeat)} ms`);
      // groups that wait for bundles try again with the free amounts of the latest heartbeats
      this.#groups.retry();
    }, tickMs);
    this.#monitor.unref();
  }

  static async start(options: HeadOptions): Promise<Head> {
    const log = options.log ?? ((l) => console.log(l));
    const heartbeatMs = options.heartbeatMs ?? 1000;
    if (!(heartbeatMs >= 10)) throw new RangeError(`heartbeatMs must be at least 10, got ${options.heartbeatMs}`);
    const store = await ShardedControlStore.open({ directory: options.directory, shards: options.shards ?? 4 });
    const missed = options.missedHeartbeats ?? 5;
    if (!(missed >= 1)) throw new RangeError(`missedHeartbeats must be at least 1, got ${options.missedHeartbeats}`);
    const scheduler = new GlobalScheduler({ heartbeatMs, deadAfterBeats: missed });
    let head: Head | undefined;
    const pending: Connection[] = [];
    let listener: Listener;
    try {
      listener = await (options.transport ?? new WsTransport({ tls: options.tls, limits: options.limits })).listen({ host: options.host, port: options.port ?? 6380, token: options.token, log }, (conn) => {
        if (head) head.#accept(conn);
        else pending.push(conn);
      });
    } catch (e) {
      await store.close();
      throw e;
    }
    head = new Head(store, listener, scheduler, log, options.onStop, options.directory, options.maxTasksPerJob);
    await head.#restore();
    for (const c of pending) head.#accept(c);
    return head;
  }

  /**
   * A head started on a control store that already holds a cluster (`wray
   * start --head --restore` after the last head died): the functions,
   * actors, names and object locations are all in it; the nodes it lists
   * alive are given time to connect again (they keep trying for their
   * headReconnectTimeoutMs), and those that do not are dead.
   */
  async #restore(): Promise<void> {
    for (const [id, rec] of await this.store.scan<NodeRecord>(TABLES.nodes)) if (rec.state === "alive") this.#expected.set(id, rec);
    if (this.#expected.size === 0) return;
    const graceMs = Math.max(REJOIN_GRACE_MS, 2 * this.scheduler.heartbeatMs * this.scheduler.deadAfterBeats);
    this.#log(`(wray) restored the cluster from ${this.#directory}: waiting up to ${Math.round(graceMs / 1000)} s for its ${this.#expected.size} node(s) and driver(s) to connect again`);
    this.#rejoinTimer = setTimeout(() => {
      for (const [id, rec] of [...this.#expected]) this.#neverCameBack(id, rec);
    }, graceMs);
    this.#rejoinTimer.unref();
  }

  /** Resolves when the next of the last head's nodes connects again, or is given up on. */
  #rejoined(): Promise<void> {
    return new Promise((resolve) => this.#onRejoin.push(resolve));
  }

  #someRejoined(): void {
    for (const f of this.#onRejoin.splice(0)) f();
  }

  /** A node of the last head's that did not connect to this one in time: dead, with what ran there. */
  #neverCameBack(nodeId: string, rec: NodeRecord): void {
    if (!this.#expected.has(nodeId)) return;
    // known here as the last head knew it, then dead like any node (fenced if it turns up after all;
    // a driver's record published dead before it goes, so that nodes free what they kept for it)
    const { state: _state, death: _death, ...info } = rec;
    this.#info.set(nodeId, info);
    this.scheduler.addNode(nodeId, rec.resources, rec.driver);
    this.#dead(nodeId, "it did not connect again after the head restarted");
    this.#someRejoined();
  }

  #accept(conn: Connection): void {
    conn.handler = (m, c) => this.#handle(m, c);
    conn.onClose((why) => {
      const id = conn.tag;
      if (id !== undefined && this.#conns.get(id) === conn) this.#dead(id, `its connection to the head closed (${why})`);
    });
  }

  #handle(m: Message, conn: Connection): unknown {
    const r = this.#serve(m, conn);
    if (r instanceof Promise) this.#track(r);
    return r;
  }

  /** Keeps `p` until it settles, so that close() waits for it before it closes the store (its failure is its caller's to report). */
  #track(p: Promise<unknown>): void {
    this.#work.add(p);
    p.catch(() => {}).finally(() => this.#work.delete(p));
  }

  #serve(m: Message, conn: Connection): unknown {
    const gcs = this.#service.handle(m, conn);
    if (gcs) return gcs.value;
    switch (m.type) {
      case MSG.NODE_REGISTER:
        return this.#register(m.body as NodeInfo, conn);
      case MSG.NODE_HEARTBEAT: {
        const b = m.body as HeartbeatBody;
        if (conn.tag === b.nodeId) this.scheduler.heartbeat(b.nodeId, b);
        return null;
      }
      case MSG.TASK_SUBMIT:
        return this.#placeTask(m.body as WireTask);
      case MSG.ACTOR_CREATE:
        return this.#placeActor(m.body as WireTask);
      case MSG.FUNCTION_PUT:
        return this.#putFunction(m.body as FunctionPutBody);
      case MSG.OBJECT_LOCATION: {
        // a notification: from a connection that has not registered, dropped without a word (nothing to log per message)
        const b = m.body as ObjectLocationBody;
        const node = this.#nodeOf(conn);
        return node === undefined ? null : this.store.put(TABLES.objects, b.object, { nodes: [node], size: b.size, owner: b.owner ?? node } satisfies ObjectLocation);
      }
      case MSG.ACTOR_STATE:
        return this.#actorState(m.body as ActorStateBody, conn);
      case MSG.PG_CREATE:
        return this.#groups.create(m.body as GroupCreateBody, this.#registered(conn));
      case MSG.PG_REMOVE:
        this.#registered(conn);
        return this.#groups.remove((m.body as GroupIdBody).id);
      case MSG.PG_GET:
        return this.#groups.byName((m.body as { name: string }).name);
      case MSG.CLUSTER_STATUS:
        return this.status();
      case MSG.TASK_EVENTS: {
        const node = this.#nodeOf(conn);
        if (node !== undefined) this.state.ingest(m.body as TaskEventBatch, node);
        return null;
      }
      case MSG.STATE_QUERY:
        return this.state.query(m.body as StateQueryBody);
      case MSG.LOG: {
        const node = this.#nodeOf(conn);
        if (node !== undefined) this.state.log(node, (m.body as LogBody).records);
        return null;
      }
      case MSG.JOB_SUBMIT:
        return this.#jobService().submit(m.body as JobSubmitBody);
      case MSG.JOB_LIST:
        return this.#jobService().list(m.body as JobListBody);
      case MSG.JOB_GET:
        return this.#jobService().get((m.body as JobIdBody).id);
      case MSG.JOB_LOGS:
        return this.#jobService().logs(m.body as JobLogsBody);
      case MSG.JOB_STOP:
        return this.#jobService().stop((m.body as JobIdBody).id);
      case MSG.CLUSTER_STOP:
        this.#log("(wray) stop requested");
        setImmediate(() => this.#onStop?.());
        return null;
      default:
        throw new ProtocolError("the head does not serve this message");
    }
  }

  /**
   * Job `job` (its driver's node ID) has ended: every node stops what it
   * still runs or queues for it (tasks its entry submitted and did not
   * wait for), before the driver leaves.
   */
  jobEnded(job: string): void {
    for (const [node, conn] of this.#conns) if (node !== job && this.#info.get(node)?.driver !== true) conn.notify(MSG.JOB_ENDED, { job });
  }

  #jobService(): JobService {
    if (this.jobs === undefined) throw new ProtocolError("this head runs no jobs (it was started without a job runner: `wray start --head` has one)");
    return this.jobs;
  }

  /** The node a connection registered as, if it has (and is still that node's connection). */
  #nodeOf(conn: Connection): string | undefined {
    return conn.tag !== undefined && this.#conns.get(conn.tag) === conn ? conn.tag : undefined;
  }

  /** The node a connection registered as (PermissionDeniedError before it has). */
  #registered(conn: Connection): string {
    const node = this.#nodeOf(conn);
    if (node === undefined) throw new PermissionDeniedError("register as a node first");
    return node;
  }

  /**
   * A component for the functions table: named by the SHA-256 of its bytes,
   * checked here, and written once (a second put of the same name holds the
   * same bytes, so it is a no-op).
   */
  async #putFunction(b: FunctionPutBody): Promise<null> {
    const actual = createHash("sha256").update(b.bytes).digest("hex");
    if (actual !== b.hash) throw new ComponentIntegrityError(b.hash, actual, "the functions table was offered");
    if ((await this.store.get(TABLES.functions, b.hash)) === undefined) await this.store.put(TABLES.functions, b.hash, b.bytes);
    return null;
  }

  /** The node running an actor reports that it started or died; no other node may. */
  async #actorState(b: ActorStateBody, conn: Connection): Promise<null> {
    const node = this.#registered(conn);
    const rec = await this.store.get<ActorTableRecord>(TABLES.actors, b.actor);
    if (!rec) throw new ProtocolError(`actor ${b.actor} is not in the actor table`);
    if (rec.node !== node) throw new PermissionDeniedError(`node ${node.slice(0, 8)} may not change actor ${b.actor.slice(0, 8)}, which runs on node ${rec.node.slice(0, 8)}`);
    if (rec.state === "dead") return null;
    if (b.state === "alive") {
      const next: ActorTableRecord = { ...rec, methods: b.methods };
      // restarts on its node come out of the same budget as the head's after node deaths
      const more = (b.restarts ?? 0) - (rec.hostRestarts ?? 0);
      if (more > 0 && rec.restartsLeft !== undefined) {
        next.hostRestarts = b.restarts;
        next.restarts = (rec.restarts ?? 0) + more;
        if (rec.restartsLeft < UNLIMITED_RETRIES) next.restartsLeft = Math.max(0, rec.restartsLeft - more);
        this.#log(`(wray) actor ${rec.className}${rec.name !== undefined ? ` '${rec.name}'` : ""} (${b.actor.slice(0, 8)}) restarted on node ${node.slice(0, 8)}: ${next.restartsLeft! >= UNLIMITED_RETRIES ? "no limit" : `${next.restartsLeft} restart(s) left`}`);
      }
      await this.store.put(TABLES.actors, b.actor, next);
      return null;
    }
    await this.store.put(TABLES.actors, b.actor, { ...rec, state: "dead", death: b.death ?? "dead" } satisfies ActorTableRecord);
    if (rec.name !== undefined && (await this.store.get<string>(TABLES.actorNames, rec.name)) === b.actor) await this.store.delete(TABLES.actorNames, rec.name);
    return null;
  }

  async #register(info: NodeInfo, conn: Connection): Promise<{ nodeId: string; heartbeatMs: number }> {
    if (conn.tag !== undefined) throw new ProtocolError(`this connection already registered node ${conn.tag}`);
    // fencing: a node declared dead stays dead (whatever it did since is ignored); it joins again as a new node
    const known = this.scheduler.node(info.nodeId);
    if (known !== undefined && !known.alive) throw new NodeFencedError(info.nodeId, known.death ?? "dead");
    if (this.#info.has(info.nodeId)) throw new ProtocolError(`node ${info.nodeId} is already registered`);
    if (info.rejoin === true) {
      // after the head restarted: the control store says whether the node was alive when it went
      const rec = await this.store.get<NodeRecord>(TABLES.nodes, info.nodeId);
      if (rec?.state === "dead") throw new NodeFencedError(info.nodeId, rec.death ?? "dead");
      if (rec === undefined && !info.driver) throw new NodeFencedError(info.nodeId, "this head has no record of it");
      this.#expected.delete(info.nodeId);
    }
    delete info.rejoin;
    for (const [k, v] of Object.entries(info.resources)) {
      if (v > MAX_NODE_RESOURCE * UNIT) throw new ProtocolError(`node ${info.nodeId.slice(0, 8)} offers ${v / UNIT} ${k}, over the most a node may offer (${MAX_NODE_RESOURCE}); registration refused`);
    }
    conn.tag = info.nodeId;
    conn.peer = `node ${info.nodeId.slice(0, 8)}`;
    this.#conns.set(info.nodeId, conn);
    this.#info.set(info.nodeId, info);
    this.scheduler.addNode(info.nodeId, info.resources, info.driver);
    await this.store.put(TABLES.nodes, info.nodeId, { ...info, state: "alive" } satisfies NodeRecord);
    this.#someRejoined();
    this.#log(`(wray) ${info.driver ? "driver" : "node"} ${info.nodeId.slice(0, 8)} joined from ${info.hostname} (pid ${info.pid}${info.address ? `, ${info.address}` : ""})`);
    return { nodeId: info.nodeId, heartbeatMs: this.scheduler.heartbeatMs };
  }

  #dead(nodeId: string, why: string): void {
    // closing: the connections close with the listener; the cluster is going, not its nodes
    if (this.#closed || !this.scheduler.markDead(nodeId, why)) return;
    // fencing: the node hears it was declared dead by this close code, whenever it reads it
    this.#conns.get(nodeId)?.close(`declared dead: ${why}`, CLOSE_FENCED);
    this.#expected.delete(nodeId);
    this.#conns.delete(nodeId);
    const info = this.#info.get(nodeId);
    const driver = info?.driver === true;
    this.#log(driver ? `(wray) driver ${nodeId.slice(0, 8)} left: ${why}` : `(wray) node ${nodeId.slice(0, 8)} is dead: ${why}`);
    if (driver) {
      // a driver that left is not a dead node: it leaves the table (after its peers saw it go, to free what they kept for it)
      this.scheduler.remove(nodeId);
      this.#info.delete(nodeId);
    }
    this.#groups.nodeDied(nodeId);
    const work = (async () => {
      if (info) await this.store.put(TABLES.nodes, nodeId, { ...info, state: "dead", death: why } satisfies NodeRecord);
      if (driver) await this.store.delete(TABLES.nodes, nodeId);
      await this.#actorsDied(nodeId, driver ? `its driver ${nodeId.slice(0, 8)} exited` : `its node died (${why})`);
    })();
    work.catch((e: Error) => this.#log(`(wray) recording the death of node ${nodeId.slice(0, 8)} failed: ${e.message}`));
    this.#track(work);
  }

  /**
   * Node `nodeId` is gone: its actors are dead, and so are the actors its
   * program owns elsewhere (as in Ray, an actor lives as long as the driver
   * that made it, unless detached); those are killed where they run.
   */
  async #actorsDied(nodeId: string, why: string): Promise<void> {
    for (const [key, a] of await this.store.scan<ActorTableRecord>(TABLES.actors)) {
      if (a.state === "dead") continue;
      const here = a.node === nodeId;
      const owned = (a.job ?? a.owner) === nodeId && a.lifetime !== "detached";
      if (!here && !owned) continue;
      if (here && !owned && (await this.#restartActor(key, a, why))) continue;
      await this.store.put(TABLES.actors, key, { ...a, state: "dead", death: here ? `its node died (${why})` : why } satisfies ActorTableRecord);
      if (a.name !== undefined && (await this.store.get<string>(TABLES.actorNames, a.name)) === key) await this.store.delete(TABLES.actorNames, a.name);
      if (!here) this.#conns.get(a.node)?.notify(MSG.ACTOR_KILL, { actor: keyToBytes(hexToKey(key)) });
    }
  }

  /**
   * Actor `key`'s node died (`why`): with restarts left and its owner alive
   * (or detached), it is placed on another node and started there from its
   * constructor, under the same ID and name. False when it is not.
   */
  async #restartActor(key: string, a: ActorTableRecord, why: string): Promise<boolean> {
    if (!a.spec || !(a.restartsLeft! > 0)) return false;
    const job = a.job ?? a.owner;
    if (a.lifetime !== "detached" && this.scheduler.node(job)?.alive !== true && !this.#expected.has(job)) return false;
    const spec = a.spec;
    const n = this.scheduler.place(shapeFromEntries(spec.resources), [], true, [a.node]);
    const conn = n === undefined ? undefined : this.#conns.get(n.nodeId);
    if (!n || !conn) return false;
    const left = a.restartsLeft! >= UNLIMITED_RETRIES ? a.restartsLeft! : a.restartsLeft! - 1;
    const rec: ActorTableRecord = { ...a, node: n.nodeId, state: "alive", restartsLeft: left, restarts: (a.restarts ?? 0) + 1, hostRestarts: 0, methods: [] };
    await this.store.put(TABLES.actors, key, rec);
    this.#log(`(wray) actor ${a.className}${a.name !== undefined ? ` '${a.name}'` : ""} (${key.slice(0, 8)}) restarts on node ${n.nodeId.slice(0, 8)}: its node died (${why})`);
    // its budget on the new node is what is left
    conn.notify(MSG.ACTOR_CREATE, { ...spec, restart: { ...spec.restart!, maxRestarts: left } } satisfies WireTask);
    return true;
  }

  /** Sends a task to the node the policy picks; the reply names that node. */
  /** Places a task, starts it there, and answers with the node and a lease for its shape. */
  #placeTask(t: WireTask): PlacedReply | Promise<PlacedReply> {
    const shape = shapeFromEntries(t.resources);
    const args = (t.deps ?? []).map((d) => ({ size: d.size, nodes: d.value ? [t.owner] : (d.nodes ?? []) }));
    const n = this.scheduler.place(shape, args, false, t.tried);
    if (!n) {
      // after a restart, the node that fits may be one that has not connected again yet
      if (this.#expected.size > 0) return this.#rejoined().then(() => this.#placeTask(t));
      const waitFor = this.#groupWait(shape);
      if (waitFor) return waitFor.then(() => this.#placeTask(t));
      throw new InfeasibleTaskError(t.name, this.#shortfall(shape));
    }
    this.#conns.get(n.nodeId)!.notify(MSG.TASK_RUN, t);
    return { node: n.nodeId, lease: this.scheduler.lease(shape, n) };
  }

  /** Places an actor: checks its name is free, picks a node, records it, and starts it there. */
  async #placeActor(t: WireTask): Promise<string> {
    const shape = shapeFromEntries(t.resources);
    const key = bytesToHex(t.actor!);
    // asked again (the reply was lost with a connection to the last head): placed once, answered again
    const placed = await this.store.get<ActorTableRecord>(TABLES.actors, key);
    if (placed !== undefined) {
      if (placed.state === "dead") throw new ActorDiedError(placed.className, key, placed.death ?? "dead");
      return placed.node;
    }
    if (t.actorName !== undefined) {
      const holder = await this.store.get<string>(TABLES.actorNames, t.actorName);
      if (holder !== undefined) throw new ActorNameTakenError(t.actorName);
    }
    let n = this.scheduler.place(shape, [], true, t.tried);
    while (!n && this.#expected.size > 0) {
      await this.#rejoined();
      n = this.scheduler.place(shape, [], true, t.tried);
    }
    while (!n) {
      // in a placement group being made (or made again): wait for it
      const w = this.#groupWait(shape);
      if (!w) break;
      await w;
      n = this.scheduler.place(shape, [], true, t.tried);
    }
    if (!n) throw new InfeasibleTaskError(t.name, this.#shortfall(shape));
    if (t.actorName !== undefined) await this.store.put(TABLES.actorNames, t.actorName, key);
    const job = t.job ?? t.owner;
    const rec: ActorTableRecord = { node: n.nodeId, className: t.name, owner: t.owner, job, state: "alive", methods: [] };
    if (t.actorName !== undefined) rec.name = t.actorName;
    if (t.lifetime === "detached") rec.lifetime = "detached";
    if (t.restart !== undefined && t.restart.maxRestarts > 0) {
      rec.restartsLeft = t.restart.maxRestarts;
      rec.restarts = 0;
      rec.maxTaskRetries = t.restart.maxTaskRetries;
      rec.spec = t;
    }
    await this.store.put(TABLES.actors, key, rec);
    if (rec.lifetime !== "detached" && this.scheduler.node(job)?.alive !== true) {
      // its driver left while it was being placed, after the sweep of that driver's actors: it dies with it here
      const why = `its driver ${job.slice(0, 8)} exited while it was being placed`;
      await this.store.put(TABLES.actors, key, { ...rec, state: "dead", death: why } satisfies ActorTableRecord);
      if (t.actorName !== undefined) await this.store.delete(TABLES.actorNames, t.actorName);
      throw new ActorDiedError(t.name, key, why);
    }
    const conn = this.#conns.get(n.nodeId);
    if (!conn || !n.alive) throw new NodeDiedError(`actor ${t.name}`, n.nodeId, "while the actor was placed");
    conn.notify(MSG.ACTOR_CREATE, t);
    return n.nodeId;
  }

  /**
   * For a shape in a placement group being made (or made again after a
   * node died): a wait until it holds its bundles, which rejects with
   * PlacementGroupRemovedError once it is removed (at once for a group
   * that is gone). Undefined for a shape in no group, or in a whole one.
   */
  #groupWait(shape: Shape): Promise<void> | undefined {
    const pg = groupOfShape(shape);
    return pg === undefined || this.#groups.whole(pg) ? undefined : this.#groups.whenPlaced(pg);
  }

  /** Why no node fits `shape`: no node has it, or (in a placement group) its bundle does not hold it. */
  #shortfall(shape: Shape): string {
    const want = shape.entries.map(([k, v]) => `${v / UNIT} ${k}`).join(", ") || "nothing";
    if (groupOfShape(shape) !== undefined) return `its placement group's bundle does not hold ${want}`;
    const alive = [...this.scheduler.nodes()].filter((n) => n.alive && !n.driver).length;
    return `no node of the cluster (${alive} alive) has ${want}`;
  }

  status(): ClusterStatus {
    const now = performance.now();
    const nodes: NodeStatus[] = [];
    let actorsAlive = 0;
    for (const n of this.scheduler.nodes() as IterableIterator<NodeEntry>) {
      const info = this.#info.get(n.nodeId)!;
      const s: NodeStatus = {
        nodeId: n.nodeId,
        address: info.address,
        hostname: info.hostname,
        pid: info.pid,
        driver: info.driver,
        state: n.alive ? "alive" : "dead",
        resources: units(n.total),
        available: units(n.available),
        queued: n.queued,
        objects: n.objects,
        storeUsed: n.storeUsed,
        storeCapacity: n.storeCapacity,
        actors: n.actors,
        lastHeartbeatMs: Math.round(now - n.lastBeat),
      };
      if (n.death) s.death = n.death;
      if (n.alive) actorsAlive += n.actors;
      nodes.push(s);
    }
    const stats = this.store.stats();
    return {
      address: this.address,
      heartbeatMs: this.scheduler.heartbeatMs,
      missedHeartbeats: this.scheduler.deadAfterBeats,
      nodes,
      placed: this.scheduler.placed,
      actors: { alive: actorsAlive, dead: 0 },
      controlStore: { shards: stats.length, writes: stats.reduce((a, s) => a + s.writes, 0) },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#monitor);
    clearTimeout(this.#rejoinTimer);
    this.#expected.clear();
    this.#someRejoined();
    // stop accepting, let the store's writes in progress end, close the store last
    await this.#listener.close();
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    await this.store.close();
  }
}

function units(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v / UNIT]));
}

