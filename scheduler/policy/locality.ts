/**
 * Where the global scheduler puts a task (or an actor): the placement
 * policy of the bottom-up scheduler (paper §4.2.2).
 *
 * Decision rules, in order:
 * 1. Candidates are the live nodes that are not drivers' nodes and whose
 *    *total* resources cover the demand. None: the task is infeasible in
 *    the cluster as it is (the caller decides what to do with it).
 * 2. Each candidate gets an estimated start delay, in ms:
 *      wait     = 0 if its free resources (last heartbeat, minus what was
 *                 placed there since) cover the demand, else its reported
 *                 queued work (queueMs: tasks waiting × its mean task time)
 *                 plus PLACED_TASK_MS per task placed since that heartbeat
 *                 (a task of unknown length), divided by its CPUs;
 *      transfer = bytes of the task's arguments it does not hold
 *                 / TRANSFER_BYTES_PER_MS (about 1 GB/s, what a pull over
 *                 ws on loopback achieves here; see bench/RESULTS.md).
 *    The node with the least wait + transfer wins.
 * 3. Ties (within TIE_MS) go to the node holding more argument bytes, then
 *    to the one with more free CPU, then round-robin, so equal nodes share
 *    a stream of small tasks.
 * 4. With a task's placement the caller gets a lease (leaseNodes): every
 *    feasible node with its wait and CPUs, the chosen node first. For a
 *    short while (host/cluster/placement.ts, LEASE_MS) the caller sends further tasks
 *    of the same shape whose arguments travel with them straight to the
 *    leased node with the least
 *      wait + taskMs * (its own tasks outstanding there) / CPUs,
 *    where taskMs is the mean run time of the node's recent tasks
 *    (from its heartbeats; PLACED_TASK_MS until it reports one).
 *    without asking here: its own outstanding tasks stand in for the load
 *    the heartbeats have not reported yet.
 * For actors the demand is the actor's reservation, and `actors` (actors
 * placed there) counts as PLACED_TASK_MS each toward the wait, spreading
 * actors over nodes.
 */
import type { Shape } from "../resources.js";

export const PLACED_TASK_MS = 1;
export const TRANSFER_BYTES_PER_MS = 1_000_000;
export const TIE_MS = 0.05;

/** What the policy knows of a node. */
export interface NodeLoad {
  readonly nodeId: string;
  alive: boolean;
  readonly driver: boolean;
  /** Totals, fixed-point units. */
  readonly total: Record<string, number>;
  /** Free at the last heartbeat, minus placements since (fixed-point units). */
  available: Record<string, number>;
  /** Work queued there at the last heartbeat (ms). */
  queueMs: number;
  /** Mean run time of its recent tasks (ms). */
  taskMs: number;
  /** Tasks placed there since its last heartbeat. */
  placedSince: number;
  actors: number;
}

/** An argument of the task: its size and which nodes hold it. */
export interface ArgLocation {
  readonly size: number;
  readonly nodes: readonly string[];
}

function covers(have: Record<string, number>, shape: Shape): boolean {
  for (const [k, v] of shape.entries) if ((have[k] ?? 0) < v) return false;
  return true;
}

export function feasibleOn(n: NodeLoad, shape: Shape): boolean {
  return n.alive && !n.driver && covers(n.total, shape);
}

let rr = 0;

/** The node for a task, or undefined when no node could ever run it (rule 1). */
export function place(nodes: Iterable<NodeLoad>, shape: Shape, args: readonly ArgLocation[], forActor = false): NodeLoad | undefined {
  let best: NodeLoad | undefined;
  let bestCost = Infinity;
  let bestLocal = -1;
  let bestCpu = -1;
  const start = rr++;
  const list = [...nodes];
  for (let i = 0; i < list.length; i++) {
    const n = list[(start + i) % list.length]!;
    if (!feasibleOn(n, shape)) continue;
    const wait = waitOn(n, shape, forActor);
    let local = 0;
    let missing = 0;
    for (const a of args) {
      if (a.nodes.includes(n.nodeId)) local += a.size;
      else missing += a.size;
    }
    const cost = wait + missing / TRANSFER_BYTES_PER_MS;
    const cpu = n.available.CPU ?? 0;
    const better =
      cost < bestCost - TIE_MS || (Math.abs(cost - bestCost) <= TIE_MS && (local > bestLocal || (local === bestLocal && cpu > bestCpu)));
    if (better) {
      best = n;
      bestCost = cost;
      bestLocal = local;
      bestCpu = cpu;
    }
  }
  return best;
}

/** Rule 2's wait: the estimated ms before `n` could start a task of `shape`. */
export function waitOn(n: NodeLoad, shape: Shape, forActor = false): number {
  const cpus = cpusOf(n);
  let wait = covers(n.available, shape) ? 0 : (n.queueMs + n.placedSince * PLACED_TASK_MS) / cpus;
  if (forActor) wait += (n.actors * PLACED_TASK_MS) / cpus;
  return wait;
}

function cpusOf(n: NodeLoad): number {
  return Math.max(1, (n.total.CPU ?? 0) / 10_000);
}

/** A node of a lease (rule 4). */
export interface LeaseNode {
  node: string;
  /** Rule 2's wait there when the lease was made (ms). */
  waitMs: number;
  /** Its mean task time (ms). */
  taskMs: number;
  cpus: number;
}

/** Rule 4: the feasible nodes with their waits, `chosen` first. */
export function leaseNodes(nodes: Iterable<NodeLoad>, shape: Shape, chosen: NodeLoad): LeaseNode[] {
  const entry = (n: NodeLoad): LeaseNode => ({ node: n.nodeId, waitMs: waitOn(n, shape), taskMs: n.taskMs, cpus: cpusOf(n) });
  const out = [entry(chosen)];
  for (const n of nodes) if (n !== chosen && feasibleOn(n, shape)) out.push(entry(n));
  return out;
}

/** Rule 4's choice: the index in `lease` with the least wait plus the caller's outstanding tasks (`outstanding(node)`). */
export function pickLeased(lease: readonly LeaseNode[], outstanding: (node: string) => number): number {
  let best = 0;
  let bestCost = Infinity;
  for (let i = 0; i < lease.length; i++) {
    const n = lease[i]!;
    const cost = n.waitMs + (outstanding(n.node) * n.taskMs) / n.cpus;
    if (cost < bestCost) {
      best = i;
      bestCost = cost;
    }
  }
  return best;
}

/** Accounts a placement on `n` until its next heartbeat says what really happened. */
export function charge(n: NodeLoad, shape: Shape): void {
  n.placedSince++;
  for (const [k, v] of shape.entries) n.available[k] = (n.available[k] ?? 0) - v;
}
