/**
 * The global scheduler (one per cluster, in the head): what it knows of
 * every node — totals, and load from heartbeats — and where tasks and
 * actors go when a host forwards them (policy/locality.ts), and which
 * nodes have missed their heartbeats.
 *
 * Design assumptions:
 * - Hosts schedule bottom-up: most tasks never reach this class. Those
 *   that do were too big for their host, or their host was busy, or their
 *   arguments are elsewhere.
 * - Load is as of the last heartbeat, corrected by what was placed since
 *   (`charge`), so a burst of forwarded tasks spreads instead of piling on
 *   the node that looked idle.
 * - A node is dead once it has missed its heartbeats for
 *   `deadAfterBeats` periods (5 by default, as Ray's health checks), or
 *   when its connection to the head closes (a killed process closes its
 *   socket). The clock is the head's, and only while the head runs: after
 *   a pause of the head's own, every deadline moves on by the pause
 *   (`rearm`). Death is final: a node that comes back registers as a new
 *   node.
 *   Drivers' nodes are exempt from the heartbeat rule (the user's program
 *   runs on that thread and may block it); they die by disconnecting.
 */
import type { ArgLocation, LeaseNode, NodeLoad } from "./policy/locality.js";
import { PLACED_TASK_MS, charge, feasibleOn, leaseNodes, place } from "./policy/locality.js";
import type { Shape } from "./resources.js";

export interface NodeEntry extends NodeLoad {
  /** When the last heartbeat (or registration) arrived, performance.now(). */
  lastBeat: number;
  queued: number;
  objects: number;
  storeUsed: number;
  storeCapacity: number;
  /** Why it died, once it did. */
  death: string | undefined;
}

export class GlobalScheduler {
  readonly heartbeatMs: number;
  readonly deadAfterBeats: number;
  readonly #deadAfterMs: number;
  readonly #nodes = new Map<string, NodeEntry>();
  /** Tasks and actors placed, for status. */
  placed = 0;

  constructor(options: { heartbeatMs: number; deadAfterBeats?: number }) {
    this.heartbeatMs = options.heartbeatMs;
    this.deadAfterBeats = options.deadAfterBeats ?? 5;
    this.#deadAfterMs = options.heartbeatMs * this.deadAfterBeats;
  }

  addNode(nodeId: string, total: Record<string, number>, driver: boolean): NodeEntry {
    const n: NodeEntry = {
      nodeId,
      alive: true,
      driver,
      total: { ...total },
      available: { ...total },
      queueMs: 0,
      taskMs: PLACED_TASK_MS,
      placedSince: 0,
      actors: 0,
      lastBeat: performance.now(),
      queued: 0,
      objects: 0,
      storeUsed: 0,
      storeCapacity: 0,
      death: undefined,
    };
    this.#nodes.set(nodeId, n);
    return n;
  }

  node(nodeId: string): NodeEntry | undefined {
    return this.#nodes.get(nodeId);
  }

  nodes(): IterableIterator<NodeEntry> {
    return this.#nodes.values();
  }

  heartbeat(nodeId: string, load: { available: Record<string, number>; queued: number; queueMs: number; taskMs: number; objects: number; storeUsed: number; storeCapacity: number; actors: number }): void {
    const n = this.#nodes.get(nodeId);
    if (!n || !n.alive) return;
    n.lastBeat = performance.now();
    n.available = { ...load.available };
    n.queueMs = load.queueMs;
    n.taskMs = load.taskMs;
    n.queued = load.queued;
    n.placedSince = 0;
    n.objects = load.objects;
    n.storeUsed = load.storeUsed;
    n.storeCapacity = load.storeCapacity;
    n.actors = load.actors;
  }

  /** Picks a node for a task (or actor) and charges it; undefined when none could ever run it. */
  place(shape: Shape, args: readonly ArgLocation[], forActor = false, avoid?: readonly string[]): NodeEntry | undefined {
    let candidates: Iterable<NodeEntry> = this.#nodes.values();
    if (avoid && avoid.length > 0) {
      const rest = [...this.#nodes.values()].filter((n) => !avoid.includes(n.nodeId) && feasibleOn(n, shape));
      if (rest.length > 0) candidates = rest;
    }
    const n = place(candidates, shape, args, forActor) as NodeEntry | undefined;
    if (!n) return undefined;
    charge(n, shape);
    if (forActor) n.actors++;
    this.placed++;
    return n;
  }

  /** Nodes a caller may send more tasks of `shape` to for a while (policy rule 4), `chosen` first. */
  lease(shape: Shape, chosen: NodeEntry): LeaseNode[] {
    return leaseNodes(this.#nodes.values(), shape, chosen);
  }

  /** Could any live node ever run `shape`? */
  feasible(shape: Shape): boolean {
    for (const n of this.#nodes.values()) if (feasibleOn(n, shape)) return true;
    return false;
  }

  /** Marks a node dead; false if it already was (or is unknown). */
  markDead(nodeId: string, why: string): boolean {
    const n = this.#nodes.get(nodeId);
    if (!n || !n.alive) return false;
    n.alive = false;
    n.death = why;
    return true;
  }

  /** Forgets a node (a driver that left: it is not shown as dead). */
  remove(nodeId: string): void {
    this.#nodes.delete(nodeId);
  }

  /** The head did not run for `ms`: every live node's deadline moves on by as much. */
  rearm(ms: number, now = performance.now()): void {
    for (const n of this.#nodes.values()) if (n.alive) n.lastBeat = Math.min(now, n.lastBeat + ms);
  }

  /** Nodes whose heartbeats stopped, as of `now` (not marked; the caller does). */
  overdue(now = performance.now()): NodeEntry[] {
    const out: NodeEntry[] = [];
    // a driver's thread runs the user's program, which may block it for long: drivers die only by disconnecting
    for (const n of this.#nodes.values()) if (n.alive && !n.driver && now - n.lastBeat > this.#deadAfterMs) out.push(n);
    return out;
  }
}
