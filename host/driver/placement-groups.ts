/**
 * Placement groups from the driver's side (Ray's `ray.util.placement_group`):
 * the PlacementGroup handle, and who places groups — the driver's own node
 * when embedded (LocalGroups), the head in a cluster (ClusterGroups).
 *
 * @example
 * const pg = ray.placementGroup([{ CPU: 1 }, { CPU: 1 }], { strategy: "STRICT_SPREAD" });
 * await pg.ready();
 * const ref = mod.fn("work", { placementGroup: pg, bundleIndex: 0 }).remote();
 * await ray.removePlacementGroup(pg);
 */
import type { GroupCreateBody, GroupInfo } from "../../net/index.js";
import type { PlacementStrategy, Shape } from "../../scheduler/index.js";
import { PlacementGroupInfeasibleError, PlacementGroupRemovedError, STRATEGIES, UNIT, groupOfShape, placeBundles, shapeFromEntries, shapeOf } from "../../scheduler/index.js";
import type { ClusterNode } from "../cluster/index.js";
import type { GroupTarget, HostNode } from "../node/index.js";

/** A bundle as users write it, as in Ray: `{ CPU: 1, GPU: 0.5, myResource: 2 }`. */
export type Bundle = Record<string, number>;

/** Who places groups (the driver's node, or the head). */
export interface GroupCoordinator {
  /** Resolves once every bundle is reserved; rejects when it never can be or the group is removed. */
  create(id: string, bundles: readonly Shape[], strategy: PlacementStrategy, name: string | undefined): Promise<void>;
  remove(id: string): Promise<void>;
  byName(name: string): Promise<GroupInfo | undefined>;
}

/** A placement group: its bundles are reserved together, under its strategy; schedule into it with the `placementGroup` option. */
export class PlacementGroup implements GroupTarget {
  /** Its ID, hex. */
  readonly id: string;
  readonly bundleCount: number;
  readonly bundles: readonly Bundle[];
  readonly strategy: PlacementStrategy;
  readonly name: string | undefined;
  readonly #created: Promise<void>;
  #state: "pending" | "created" | "failed" = "pending";
  #error: Error | undefined;

  /** @internal */
  constructor(id: string, bundles: readonly Bundle[], strategy: PlacementStrategy, name: string | undefined, created: Promise<void>) {
    this.id = id;
    this.bundles = bundles;
    this.bundleCount = bundles.length;
    this.strategy = strategy;
    this.name = name;
    this.#created = created.then(
      () => {
        this.#state = "created";
      },
      (e: Error) => {
        this.#state = "failed";
        this.#error = e;
        throw e;
      },
    );
    // a group nobody waits on must not report an unhandled rejection
    this.#created.catch(() => {});
  }

  /** Resolves once every bundle is reserved. Rejects with PlacementGroupInfeasibleError, or PlacementGroupRemovedError. */
  ready(): Promise<void> {
    return this.#created;
  }

  /** @internal Runs `go` once the group is created (at once if it is), or `fail` with why it never will be. */
  _whenReady(go: () => void, fail: (e: Error) => void): void {
    if (this.#state === "created") go();
    else if (this.#state === "failed") fail(this.#error!);
    else this.#created.then(go, fail);
  }

  toString(): string {
    return `PlacementGroup(${this.id}${this.name !== undefined ? `, '${this.name}'` : ""})`;
  }
}

/** Checks the bundles as users give them and makes their shapes (RangeError/TypeError naming the bad one). */
export function bundleShapes(bundles: unknown): { shapes: Shape[]; bundles: Bundle[] } {
  if (!Array.isArray(bundles) || bundles.length === 0) throw new TypeError("placementGroup(bundles): bundles must be a non-empty array of { resource: amount } objects, e.g. [{ CPU: 1 }]");
  const out: Bundle[] = [];
  const shapes = bundles.map((b: unknown, i) => {
    if (typeof b !== "object" || b === null || Array.isArray(b)) throw new TypeError(`placementGroup(): bundle ${i} must be an object of resource: amount`);
    const { CPU, GPU, ...rest } = b as Bundle;
    let s: Shape;
    try {
      s = shapeOf({ numCpus: CPU ?? 0, numGpus: GPU ?? 0, resources: rest }, 0);
    } catch (e) {
      throw new RangeError(`placementGroup(): bundle ${i}: ${(e as Error).message.replace(/numCpus/, "CPU").replace(/numGpus/, "GPU")}`);
    }
    if (s.entries.length === 0) throw new RangeError(`placementGroup(): bundle ${i} asks for nothing; each bundle must ask for some resource`);
    out.push({ ...(b as Bundle) });
    return s;
  });
  return { shapes, bundles: out };
}

export function checkStrategy(s: unknown): PlacementStrategy {
  if (s === undefined) return "PACK";
  if (!STRATEGIES.includes(s as PlacementStrategy)) throw new TypeError(`placementGroup(): strategy must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(s)}`);
  return s as PlacementStrategy;
}

/** A user's bundle back from a shape. */
export function bundleOf(s: Shape): Bundle {
  return Object.fromEntries(s.entries.map(([k, v]) => [k, v / UNIT]));
}

/** How often a waiting group tries again on an embedded node. */
const RETRY_MS = 20;

/** Groups of an embedded cluster: its one node holds every bundle. */
export class LocalGroups implements GroupCoordinator {
  readonly #node: HostNode;
  readonly #groups = new Map<string, { shapes: readonly Shape[]; strategy: PlacementStrategy; name: string | undefined; created: boolean; waiters: { resolve: () => void; reject: (e: Error) => void }[] }>();
  readonly #names = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(node: HostNode) {
    this.#node = node;
    // an actor in a group still being made waits for it (rather than dying as infeasible)
    node.groupReady = (shape) => {
      const pg = groupOfShape(shape);
      const g = pg === undefined ? undefined : this.#groups.get(pg);
      if (pg === undefined || (g !== undefined && g.created)) return undefined;
      if (!g) return Promise.reject(new PlacementGroupRemovedError(pg));
      return new Promise((resolve, reject) => g.waiters.push({ resolve, reject }));
    };
  }

  create(id: string, shapes: readonly Shape[], strategy: PlacementStrategy, name: string | undefined): Promise<void> {
    const have = this.#groups.get(id);
    if (have) return have.created ? Promise.resolve() : new Promise((resolve, reject) => have.waiters.push({ resolve, reject }));
    if (name !== undefined && this.#names.has(name)) return Promise.reject(new RangeError(`a placement group named '${name}' already exists`));
    const pool = this.#node.scheduler.resources;
    const totals = { nodeId: "here", amounts: Object.fromEntries(pool.total) };
    if (placeBundles([totals], shapes, strategy) === undefined) {
      const want = shapes.map((s) => JSON.stringify(bundleOf(s))).join(", ");
      return Promise.reject(new PlacementGroupInfeasibleError(id, `${strategy} of ${want} does not fit this node (${JSON.stringify(bundleOf(shapeFromEntries([...pool.total])))}${strategy === "STRICT_SPREAD" && shapes.length > 1 ? "; STRICT_SPREAD needs a node per bundle, and an embedded cluster has one" : ""})`));
    }
    const g = { shapes, strategy, name, created: false, waiters: [] as { resolve: () => void; reject: (e: Error) => void }[] };
    this.#groups.set(id, g);
    if (name !== undefined) this.#names.set(name, id);
    const done = new Promise<void>((resolve, reject) => g.waiters.push({ resolve, reject }));
    if (!this.#try(id)) this.#retrying();
    return done;
  }

  /** Reserves every bundle of `id` now, or none (false). */
  #try(id: string): boolean {
    const g = this.#groups.get(id)!;
    const bundles = this.#node.bundles;
    const held: number[] = [];
    for (let i = 0; i < g.shapes.length; i++) {
      if (!bundles.prepare(id, i, g.shapes[i]!)) {
        for (const j of held) bundles.abort(id, j);
        return false;
      }
      held.push(i);
    }
    for (const i of held) bundles.commit(id, i);
    g.created = true;
    for (const w of g.waiters.splice(0)) w.resolve();
    return true;
  }

  /** Tries the waiting groups again every RETRY_MS while any wait (the timer holds the process while they do). */
  #retrying(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      let waiting = 0;
      for (const [id, g] of this.#groups) if (!g.created && !this.#try(id)) waiting++;
      if (waiting === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }, RETRY_MS);
  }

  async remove(id: string): Promise<void> {
    const g = this.#groups.get(id);
    if (!g) return;
    this.#groups.delete(id);
    if (g.name !== undefined) this.#names.delete(g.name);
    for (const w of g.waiters.splice(0)) w.reject(new PlacementGroupRemovedError(id));
    this.#node.bundles.remove(id);
  }

  async byName(name: string): Promise<GroupInfo | undefined> {
    const id = this.#names.get(name);
    const g = id === undefined ? undefined : this.#groups.get(id);
    if (!g) return undefined;
    return { id: id!, bundles: g.shapes.map((s) => s.entries.map(([k, v]) => [k, v])), strategy: g.strategy, name, state: g.created ? "created" : "pending" };
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const g of this.#groups.values()) for (const w of g.waiters.splice(0)) w.reject(new PlacementGroupRemovedError("(shutdown)"));
  }
}

/** Groups of a cluster: the head places them. */
export class ClusterGroups implements GroupCoordinator {
  readonly #cluster: ClusterNode;

  constructor(cluster: ClusterNode) {
    this.#cluster = cluster;
  }

  async create(id: string, shapes: readonly Shape[], strategy: PlacementStrategy, name: string | undefined): Promise<void> {
    const body: GroupCreateBody = { id, bundles: shapes.map((s) => s.entries.map(([k, v]) => [k, v])), strategy };
    if (name !== undefined) body.name = name;
    await this.#cluster.createGroup(body);
  }

  async remove(id: string): Promise<void> {
    await this.#cluster.removeGroup(id);
  }

  async byName(name: string): Promise<GroupInfo | undefined> {
    return (await this.#cluster.groupByName(name)) ?? undefined;
  }

  close(): void {}
}
