/**
 * Placement groups (Ray's): where each bundle of a group goes, and the
 * resources a reserved bundle adds to its node.
 *
 * A bundle is a resource shape reserved on one node for the group's
 * lifetime. Reserving it takes its resources from the node and adds them
 * back under names of the group's own (as Ray renames them):
 *   `<R>_group_<i>_<pg>`  what bundle i holds of resource R
 *   `<R>_group_<pg>`      what the group's bundles on that node hold of R
 *   `bundle_group_<i>_<pg>`, `bundle_group_<pg>`  BUNDLE_UNITS each, so a
 *                         task that asks for no CPU still lands in its bundle
 * A task or actor scheduled into the group asks for those names instead
 * of R (bundleShape), so the schedulers need nothing else to place it.
 *
 * Strategies, for `placeBundles` (free amounts as given; totals to tell
 * "not now" from "never"):
 *   STRICT_PACK    every bundle on one node
 *   PACK           one node if one fits them all; otherwise each bundle on
 *                  the node that already has most of the group, then the
 *                  one with the most free CPU
 *   STRICT_SPREAD  every bundle on a different node
 *   SPREAD         each bundle on the node with fewest of the group's
 *                  bundles so far that fits it, then the most free CPU
 */
import type { Shape } from "../resources.js";
import { UNIT, shapeFromEntries } from "../resources.js";

export type PlacementStrategy = "PACK" | "SPREAD" | "STRICT_PACK" | "STRICT_SPREAD";
export const STRATEGIES: readonly PlacementStrategy[] = ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"];

/** What each bundle's `bundle_group_*` resources hold (fixed-point units). */
export const BUNDLE_UNITS = 1000 * UNIT;
/** What a task in a group asks of its bundle's `bundle_group_*` resource (0.001, as Ray). */
export const BUNDLE_TASK_UNITS = UNIT / 1000;

/** A node as bundle placement sees it: free (or total) amounts in fixed-point units. */
export interface BundleNode {
  readonly nodeId: string;
  readonly amounts: Record<string, number>;
}

/**
 * Picks a node for each bundle (nodeIds in bundle order), or undefined
 * when `nodes` cannot hold them under `strategy`. Each node's amounts are
 * charged for what it is given as it goes, so a node is never given more
 * than it has.
 */
export function placeBundles(nodes: readonly BundleNode[], bundles: readonly Shape[], strategy: PlacementStrategy): string[] | undefined {
  const left = nodes.map((n) => ({ nodeId: n.nodeId, amounts: { ...n.amounts }, mine: 0 }));
  const fits = (n: (typeof left)[number], s: Shape) => s.entries.every(([k, v]) => (n.amounts[k] ?? 0) >= v);
  const take = (n: (typeof left)[number], s: Shape) => {
    for (const [k, v] of s.entries) n.amounts[k] = (n.amounts[k] ?? 0) - v;
    n.mine++;
  };
  const cpu = (n: (typeof left)[number]) => n.amounts.CPU ?? 0;
  if (strategy === "STRICT_PACK" || strategy === "PACK") {
    const sum = shapeFromEntries(sumEntries(bundles));
    const one = left.filter((n) => fits(n, sum)).sort((a, b) => cpu(b) - cpu(a))[0];
    if (one) return bundles.map(() => one.nodeId);
    if (strategy === "STRICT_PACK") return undefined;
  }
  const out: string[] = [];
  for (const b of bundles) {
    let candidates = left.filter((n) => fits(n, b));
    if (strategy === "STRICT_SPREAD") candidates = candidates.filter((n) => n.mine === 0);
    if (candidates.length === 0) return undefined;
    const byGroup = strategy === "PACK" ? (a: (typeof left)[number], c: (typeof left)[number]) => c.mine - a.mine : (a: (typeof left)[number], c: (typeof left)[number]) => a.mine - c.mine;
    candidates.sort((a, c) => byGroup(a, c) || cpu(c) - cpu(a));
    const n = candidates[0]!;
    take(n, b);
    out.push(n.nodeId);
  }
  return out;
}

function sumEntries(bundles: readonly Shape[]): [string, number][] {
  const m = new Map<string, number>();
  for (const b of bundles) for (const [k, v] of b.entries) m.set(k, (m.get(k) ?? 0) + v);
  return [...m];
}

/** The resources a reserved bundle `index` of group `pg` (hex) adds to its node, fixed-point units. */
export function bundleResources(pg: string, index: number, bundle: Shape): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of bundle.entries) {
    out.push([`${k}_group_${index}_${pg}`, v]);
    out.push([`${k}_group_${pg}`, v]);
  }
  out.push([`bundle_group_${index}_${pg}`, BUNDLE_UNITS]);
  out.push([`bundle_group_${pg}`, BUNDLE_UNITS]);
  return out;
}

/** `shape` as a task or actor in bundle `index` of group `pg` asks for it (index -1: any bundle of the group). */
export function bundleShape(pg: string, index: number, shape: Shape): Shape {
  const suffix = index < 0 ? `_group_${pg}` : `_group_${index}_${pg}`;
  const entries: [string, number][] = shape.entries.map(([k, v]) => [`${k}${suffix}`, v]);
  entries.push([`bundle${suffix}`, BUNDLE_TASK_UNITS]);
  return shapeFromEntries(entries);
}

/** Whether `shape` asks for resources of group `pg` (hex). */
export function inGroup(shape: Shape, pg: string): boolean {
  const tail = `_${pg}`;
  return shape.entries.some(([k]) => k.endsWith(tail) && k.includes("_group_"));
}

/** The group (hex) a shape asks for resources of, if any (its `bundle_group_*` entry names it). */
export function groupOfShape(shape: Shape): string | undefined {
  for (const [k] of shape.entries) if (k.startsWith("bundle_group_")) return k.slice(k.length - 32);
  return undefined;
}
