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
 *                 queued work (queueMs) plus PLACED_TASK_MS per task placed
 *                 since that heartbeat, divided by its CPUs;
 *      transfer = bytes of the task's arguments it does not hold
 *                 / TRANSFER_BYTES_PER_MS (about 1 GB/s, what a pull over
 *                 ws on loopback achieves here; see bench/RESULTS.md).
 *    The node with the least wait + transfer wins.
 * 3. Ties (within TIE_MS) go to the node holding more argument bytes, then
 *    to the one with more free CPU, then round-robin, so equal nodes share
 *    a stream of small tasks.
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
    const cpus = Math.max(1, (n.total.CPU ?? 0) / 10_000);
    let wait = covers(n.available, shape) ? 0 : (n.queueMs + n.placedSince * PLACED_TASK_MS) / cpus;
    if (forActor) wait += (n.actors * PLACED_TASK_MS) / cpus;
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

/** Accounts a placement on `n` until its next heartbeat says what really happened. */
export function charge(n: NodeLoad, shape: Shape): void {
  n.placedSince++;
  for (const [k, v] of shape.entries) n.available[k] = (n.available[k] ?? 0) - v;
}
