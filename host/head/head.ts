/**
 * The head's services: the control store (served to every connection),
 * the global scheduler, node registration, heartbeats and failure
 * detection, and the cluster's status. Hosts (the head's own included)
 * and drivers connect to it over the transport.
 */
import { createHash } from "node:crypto";
import { bytesToHex, hexToKey, keyToBytes } from "../../common/ids.js";
import type { ActorStateBody, Connection, ConnectionLimits, FunctionPutBody, HeartbeatBody, Listener, Message, NodeInfo, ObjectLocationBody, PlacedReply, TlsOptions, Transport, WireTask } from "../../net/index.js";
import { MSG, PermissionDeniedError, ProtocolError, WsTransport } from "../../net/index.js";
import type { NodeEntry } from "../../scheduler/index.js";
import { GlobalScheduler, InfeasibleTaskError, UNIT, shapeFromEntries } from "../../scheduler/index.js";
import { ControlStoreService, ShardedControlStore, TABLES } from "../../store/index.js";
import { ActorDiedError, ActorNameTakenError, ComponentIntegrityError, NodeDiedError } from "../errors.js";

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
  /** How often hosts report; a node that misses 1.5 periods is dead. Default 1000 ms. */
  heartbeatMs?: number;
  transport?: Transport;
  log?: (line: string) => void;
  /** Called when a client asks the cluster to stop (`wray stop`). */
  onStop?: () => void;
}

/** What `wray status` shows of a node. */
export interface NodeStatus {
  nodeId: string;
  address: string;
  hostname: string;
  pid: number;
  driver: boolean;
  state: "alive" | "dead";
  death?: string;
  resources: Record<string, number>;
  available: Record<string, number>;
  queued: number;
  objects: number;
  storeUsed: number;
  storeCapacity: number;
  actors: number;
  lastHeartbeatMs: number;
}

export interface ClusterStatus {
  address: string;
  heartbeatMs: number;
  nodes: NodeStatus[];
  /** Tasks and actors the global scheduler placed. */
  placed: number;
  actors: { alive: number; dead: number };
  controlStore: { shards: number; writes: number };
}

/** A node record in the control store. */
export interface NodeRecord extends NodeInfo {
  state: "alive" | "dead";
  death?: string;
}

/** An actor record in the control store. */
export interface ActorTableRecord {
  node: string;
  className: string;
  name?: string;
  /** The node that created it. */
  owner: string;
  /** The driver whose program created it (the owner, unless a task of that driver's made it elsewhere). */
  job?: string;
  /** "detached": it outlives its driver, until killed. */
  lifetime?: "detached";
  state: "alive" | "dead";
  death?: string;
  methods: string[];
}

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
  /** Control-store work started by events (a node's death): close waits for it before it closes the store. */
  readonly #work = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(store: ShardedControlStore, listener: Listener, scheduler: GlobalScheduler, log: (line: string) => void, onStop: (() => void) | undefined) {
    this.store = store;
    this.scheduler = scheduler;
    // clients read the tables; only this class writes them
    this.#service = new ControlStoreService(store, []);
    this.#listener = listener;
    this.address = listener.address;
    this.#log = log;
    this.#onStop = onStop;
    this.#monitor = setInterval(() => {
      for (const n of this.scheduler.overdue()) this.#dead(n.nodeId, `missed heartbeats for ${Math.round(performance.now() - n.lastBeat)} ms`);
    }, Math.max(5, scheduler.heartbeatMs / 4));
    this.#monitor.unref();
  }

  static async start(options: HeadOptions): Promise<Head> {
    const log = options.log ?? ((l) => console.log(l));
    const heartbeatMs = options.heartbeatMs ?? 1000;
    if (!(heartbeatMs >= 10)) throw new RangeError(`heartbeatMs must be at least 10, got ${options.heartbeatMs}`);
    const store = await ShardedControlStore.open({ directory: options.directory, shards: options.shards ?? 4 });
    const scheduler = new GlobalScheduler({ heartbeatMs });
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
    head = new Head(store, listener, scheduler, log, options.onStop);
    for (const c of pending) head.#accept(c);
    return head;
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
        return node === undefined ? null : this.store.put(TABLES.objects, b.object, { nodes: [node], size: b.size });
      }
      case MSG.ACTOR_STATE:
        return this.#actorState(m.body as ActorStateBody, conn);
      case MSG.CLUSTER_STATUS:
        return this.status();
      case MSG.CLUSTER_STOP:
        this.#log("(wray) stop requested");
        setImmediate(() => this.#onStop?.());
        return null;
      default:
        throw new ProtocolError("the head does not serve this message");
    }
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
      await this.store.put(TABLES.actors, b.actor, { ...rec, methods: b.methods } satisfies ActorTableRecord);
      return null;
    }
    await this.store.put(TABLES.actors, b.actor, { ...rec, state: "dead", death: b.death ?? "dead" } satisfies ActorTableRecord);
    if (rec.name !== undefined && (await this.store.get<string>(TABLES.actorNames, rec.name)) === b.actor) await this.store.delete(TABLES.actorNames, rec.name);
    return null;
  }

  async #register(info: NodeInfo, conn: Connection): Promise<{ nodeId: string; heartbeatMs: number }> {
    if (this.#info.has(info.nodeId)) throw new ProtocolError(`node ${info.nodeId} is already registered`);
    if (conn.tag !== undefined) throw new ProtocolError(`this connection already registered node ${conn.tag}`);
    for (const [k, v] of Object.entries(info.resources)) {
      if (v > MAX_NODE_RESOURCE * UNIT) throw new ProtocolError(`node ${info.nodeId.slice(0, 8)} offers ${v / UNIT} ${k}, over the most a node may offer (${MAX_NODE_RESOURCE}); registration refused`);
    }
    conn.tag = info.nodeId;
    conn.peer = `node ${info.nodeId.slice(0, 8)}`;
    this.#conns.set(info.nodeId, conn);
    this.#info.set(info.nodeId, info);
    this.scheduler.addNode(info.nodeId, info.resources, info.driver);
    await this.store.put(TABLES.nodes, info.nodeId, { ...info, state: "alive" } satisfies NodeRecord);
    this.#log(`(wray) ${info.driver ? "driver" : "node"} ${info.nodeId.slice(0, 8)} joined from ${info.hostname} (pid ${info.pid}${info.address ? `, ${info.address}` : ""})`);
    return { nodeId: info.nodeId, heartbeatMs: this.scheduler.heartbeatMs };
  }

  #dead(nodeId: string, why: string): void {
    // closing: the connections close with the listener; the cluster is going, not its nodes
    if (this.#closed || !this.scheduler.markDead(nodeId, why)) return;
    this.#conns.get(nodeId)?.close(`declared dead: ${why}`);
    this.#conns.delete(nodeId);
    const info = this.#info.get(nodeId);
    const driver = info?.driver === true;
    this.#log(driver ? `(wray) driver ${nodeId.slice(0, 8)} left: ${why}` : `(wray) node ${nodeId.slice(0, 8)} is dead: ${why}`);
    if (driver) {
      // a driver that left is not a dead node: it leaves the table (after its peers saw it go, to free what they kept for it)
      this.scheduler.remove(nodeId);
      this.#info.delete(nodeId);
    }
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
      await this.store.put(TABLES.actors, key, { ...a, state: "dead", death: here ? `its node died (${why})` : why } satisfies ActorTableRecord);
      if (a.name !== undefined && (await this.store.get<string>(TABLES.actorNames, a.name)) === key) await this.store.delete(TABLES.actorNames, a.name);
      if (!here) this.#conns.get(a.node)?.notify(MSG.ACTOR_KILL, { actor: keyToBytes(hexToKey(key)) });
    }
  }

  /** Sends a task to the node the policy picks; the reply names that node. */
  /** Places a task, starts it there, and answers with the node and a lease for its shape. */
  #placeTask(t: WireTask): PlacedReply {
    const shape = shapeFromEntries(t.resources);
    const args = (t.deps ?? []).map((d) => ({ size: d.size, nodes: d.value ? [t.owner] : (d.nodes ?? []) }));
    const n = this.scheduler.place(shape, args, false, t.tried);
    if (!n) throw new InfeasibleTaskError(t.name, this.#shortfall(shape.entries));
    this.#conns.get(n.nodeId)!.notify(MSG.TASK_RUN, t);
    return { node: n.nodeId, lease: this.scheduler.lease(shape, n) };
  }

  /** Places an actor: checks its name is free, picks a node, records it, and starts it there. */
  async #placeActor(t: WireTask): Promise<string> {
    const shape = shapeFromEntries(t.resources);
    const key = bytesToHex(t.actor!);
    if (t.actorName !== undefined) {
      const holder = await this.store.get<string>(TABLES.actorNames, t.actorName);
      if (holder !== undefined) throw new ActorNameTakenError(t.actorName);
    }
    const n = this.scheduler.place(shape, [], true, t.tried);
    if (!n) throw new InfeasibleTaskError(t.name, this.#shortfall(shape.entries));
    if (t.actorName !== undefined) await this.store.put(TABLES.actorNames, t.actorName, key);
    const job = t.job ?? t.owner;
    const rec: ActorTableRecord = { node: n.nodeId, className: t.name, owner: t.owner, job, state: "alive", methods: [] };
    if (t.actorName !== undefined) rec.name = t.actorName;
    if (t.lifetime === "detached") rec.lifetime = "detached";
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

  #shortfall(entries: readonly (readonly [string, number])[]): string {
    const want = entries.map(([k, v]) => `${v / UNIT} ${k}`).join(", ") || "nothing";
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
    // stop accepting, let the store's writes in progress end, close the store last
    await this.#listener.close();
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    await this.store.close();
  }
}

function units(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v / UNIT]));
}

