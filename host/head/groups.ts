/**
 * Placement groups, kept by the head (Ray's GCS placement group manager).
 *
 * Design assumptions:
 * - Atomic: a group's bundles are reserved all or none. The head picks a
 *   node for each bundle (scheduler/policy/bundles.ts) from the free
 *   amounts the nodes last reported, asks each node to hold its bundles
 *   (PG_PREPARE, which a node refuses when they are not free now), and
 *   only when every node holds them makes them usable (PG_COMMIT);
 *   otherwise what was held is given back (PG_ABORT) and the group waits.
 * - A group that no set of live nodes could ever hold (their totals,
 *   under its strategy) is refused at once (PlacementGroupInfeasibleError).
 *   One that could, waits; the head tries again at each monitor tick.
 * - A committed bundle's resources are added to its node's totals here at
 *   once, so the global scheduler places the group's tasks without
 *   waiting for a heartbeat.
 * - A node that dies takes its bundles with it: the group is rescheduled
 *   (those bundles placed again; a STRICT_PACK group all of them, so they
 *   stay together) and placements into it wait until it is whole again.
 * - Removal kills what runs in the group, everywhere, and frees it.
 * - A group lives as long as the driver that made it (as a Ray job's).
 * - Groups live in the head's memory: a restarted head does not know the
 *   groups of the last one.
 */
import type { GroupCreateBody, GroupInfo, GroupPrepareBody, MessageType } from "../../net/index.js";
import { MSG } from "../../net/index.js";
import type { NodeEntry, PlacementStrategy, Shape } from "../../scheduler/index.js";
import { PlacementGroupInfeasibleError, PlacementGroupRemovedError, STRATEGIES, UNIT, bundleResources, placeBundles, shapeFromEntries } from "../../scheduler/index.js";

interface Group {
  readonly id: string;
  readonly name: string | undefined;
  readonly strategy: PlacementStrategy;
  readonly bundles: readonly Shape[];
  /** The driver (or node) that made it: it is removed when that one leaves, as Ray removes a job's groups. */
  readonly owner: string;
  /** The node holding each bundle (undefined: not reserved now). */
  readonly nodes: (string | undefined)[];
  /** A placement attempt is under way. */
  trying: boolean;
  removed: boolean;
  /** Waits for it to be whole (its creation, placements into it). */
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
}

/** What the group table uses of the head. */
export interface GroupHost {
  /** Every node the global scheduler knows. */
  nodes(): Iterable<NodeEntry>;
  node(id: string): NodeEntry | undefined;
  request<T>(nodeId: string, type: MessageType, body: unknown): Promise<T>;
  notify(nodeId: string, type: MessageType, body: unknown): void;
  log(line: string): void;
}

export class PlacementGroupTable {
  readonly #host: GroupHost;
  readonly #groups = new Map<string, Group>();
  readonly #names = new Map<string, string>();

  constructor(host: GroupHost) {
    this.#host = host;
  }

  /** PG_CREATE: resolves once every bundle is reserved; rejects for an infeasible or removed group. */
  create(b: GroupCreateBody, owner: string): Promise<null> {
    const have = this.#groups.get(b.id);
    if (have) return this.#whole(have).then(() => null);
    if (!STRATEGIES.includes(b.strategy as PlacementStrategy)) throw new TypeError(`placement group strategy must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(b.strategy)}`);
    if (b.bundles.length === 0) throw new RangeError("a placement group needs at least one bundle");
    const bundles = b.bundles.map((e) => shapeFromEntries(e));
    if (bundles.some((s) => s.entries.length === 0)) throw new RangeError("a placement group's bundles must each ask for some resource");
    if (b.name !== undefined && this.#names.has(b.name)) throw new RangeError(`a placement group named '${b.name}' already exists`);
    const strategy = b.strategy as PlacementStrategy;
    const why = this.#neverFits(bundles, strategy);
    if (why) throw new PlacementGroupInfeasibleError(b.id, why);
    const g: Group = { id: b.id, name: b.name, strategy, bundles, owner, nodes: bundles.map(() => undefined), trying: false, removed: false, waiters: [] };
    this.#groups.set(g.id, g);
    if (g.name !== undefined) this.#names.set(g.name, g.id);
    const whole = this.#whole(g);
    void this.#try(g);
    return whole.then(() => null);
  }

  /** Why no set of live nodes could ever hold `bundles` (their totals, under `strategy`), or undefined. */
  #neverFits(bundles: readonly Shape[], strategy: PlacementStrategy): string | undefined {
    const nodes = this.#hosts().map((n) => ({ nodeId: n.nodeId, amounts: n.total }));
    if (placeBundles(nodes, bundles, strategy) !== undefined) return undefined;
    const want = bundles.map((s) => `{${s.entries.map(([k, v]) => `${k}: ${v / UNIT}`).join(", ")}}`).join(", ");
    return `${strategy} of ${want} does not fit the ${nodes.length} live node(s) of the cluster (${nodes.map((n) => `${n.nodeId.slice(0, 8)}: ${(n.amounts.CPU ?? 0) / UNIT} CPU`).join("; ") || "none"})`;
  }

  #hosts(): NodeEntry[] {
    return [...this.#host.nodes()].filter((n) => n.alive && !n.driver);
  }

  /** Resolves once `g` holds every bundle (at once if it does). */
  #whole(g: Group): Promise<void> {
    if (g.removed) return Promise.reject(new PlacementGroupRemovedError(g.id));
    if (g.nodes.every((n) => n !== undefined)) return Promise.resolve();
    return new Promise((resolve, reject) => g.waiters.push({ resolve, reject }));
  }

  /** Resolves once group `id` is whole again (placements into a group being rescheduled wait); rejects once it is removed. */
  whenPlaced(id: string): Promise<void> {
    const g = this.#groups.get(id);
    return g ? this.#whole(g) : Promise.reject(new PlacementGroupRemovedError(id));
  }

  /** Whether group `id` exists and holds every bundle (placements into it need not wait). */
  whole(id: string): boolean {
    const g = this.#groups.get(id);
    return g !== undefined && !g.nodes.includes(undefined);
  }

  /** One attempt to reserve `g`'s missing bundles, two-phase. */
  async #try(g: Group): Promise<void> {
    if (g.trying || g.removed) return;
    const missing = g.nodes.flatMap((n, i) => (n === undefined ? [i] : []));
    if (missing.length === 0) return;
    g.trying = true;
    try {
      let hosts = this.#hosts();
      // STRICT_SPREAD: never beside a bundle of its own
      if (g.strategy === "STRICT_SPREAD") hosts = hosts.filter((n) => !g.nodes.includes(n.nodeId));
      const plan = placeBundles(
        hosts.map((n) => ({ nodeId: n.nodeId, amounts: n.available })),
        missing.map((i) => g.bundles[i]!),
        g.strategy,
      );
      if (plan === undefined) return;
      const prepared = await Promise.all(
        plan.map((node, j) => {
          const index = missing[j]!;
          const body: GroupPrepareBody = { id: g.id, index, bundle: g.bundles[index]!.entries.map(([k, v]) => [k, v]) };
          return this.#host.request<boolean>(node, MSG.PG_PREPARE, body).then((ok) => ok === true, () => false);
        }),
      );
      if (g.removed || prepared.includes(false)) {
        plan.forEach((node, j) => {
          if (prepared[j]) this.#host.notify(node, MSG.PG_ABORT, { id: g.id, index: missing[j]! });
        });
        return;
      }
      await Promise.all(plan.map((node, j) => this.#host.request(node, MSG.PG_COMMIT, { id: g.id, index: missing[j]! }).catch(() => {})));
      plan.forEach((node, j) => {
        const index = missing[j]!;
        g.nodes[index] = node;
        this.#charge(node, bundleResources(g.id, index, g.bundles[index]!), 1);
      });
      if (g.removed) return;
      this.#host.log(`(wray) placement group ${g.name !== undefined ? `'${g.name}' ` : ""}(${g.id.slice(0, 8)}) holds its ${g.bundles.length} bundle(s) on ${[...new Set(g.nodes)].map((n) => n!.slice(0, 8)).join(", ")}`);
      for (const w of g.waiters.splice(0)) w.resolve();
    } finally {
      g.trying = false;
    }
  }

  /** Adds (sign 1) or takes away (-1) a bundle's resources in the head's view of node `id`. */
  #charge(id: string, resources: [string, number][], sign: 1 | -1): void {
    const n = this.#host.node(id);
    if (!n) return;
    for (const [k, v] of resources) {
      const t = (n.total[k] ?? 0) + sign * v;
      if (t > 0) {
        n.total[k] = t;
        n.available[k] = (n.available[k] ?? 0) + sign * v;
      } else {
        delete n.total[k];
        delete n.available[k];
      }
    }
  }

  /** Tries again every group that waits for bundles (the head's monitor calls this). */
  retry(): void {
    for (const g of this.#groups.values()) if (!g.trying && g.nodes.includes(undefined)) void this.#try(g);
  }

  /** PG_REMOVE: ends what runs in the group on every node, frees its bundles, and forgets it. */
  async remove(id: string): Promise<null> {
    const g = this.#groups.get(id);
    if (!g) return null;
    g.removed = true;
    this.#groups.delete(id);
    if (g.name !== undefined) this.#names.delete(g.name);
    for (const w of g.waiters.splice(0)) w.reject(new PlacementGroupRemovedError(id));
    const nodes = new Set(g.nodes.filter((n): n is string => n !== undefined));
    g.nodes.forEach((n, i) => {
      if (n !== undefined) this.#charge(n, bundleResources(id, i, g.bundles[i]!), -1);
    });
    await Promise.all([...nodes].map((n) => this.#host.request(n, MSG.PG_DROP, { id }).catch(() => {})));
    return null;
  }

  /** PG_GET: the group named `name`, or null. */
  byName(name: string): GroupInfo | null {
    const id = this.#names.get(name);
    const g = id === undefined ? undefined : this.#groups.get(id);
    if (!g) return null;
    const info: GroupInfo = { id: g.id, bundles: g.bundles.map((s) => s.entries.map(([k, v]) => [k, v])), strategy: g.strategy, state: g.nodes.includes(undefined) ? "pending" : "created" };
    if (g.name !== undefined) info.name = g.name;
    return info;
  }

  /** Node `id` died: its bundles are placed again (a STRICT_PACK group's, all together); the groups it made are removed. */
  nodeDied(id: string): void {
    for (const g of [...this.#groups.values()]) if (g.owner === id) void this.remove(g.id);
    for (const g of this.#groups.values()) {
      if (!g.nodes.includes(id)) continue;
      g.nodes.forEach((n, i) => {
        if (n === id || (g.strategy === "STRICT_PACK" && n !== undefined)) {
          if (n !== id) this.#host.notify(n!, MSG.PG_DROP, { id: g.id });
          this.#charge(n!, bundleResources(g.id, i, g.bundles[i]!), -1);
          g.nodes[i] = undefined;
        }
      });
      this.#host.log(`(wray) placement group ${g.name !== undefined ? `'${g.name}' ` : ""}(${g.id.slice(0, 8)}) lost bundles with node ${id.slice(0, 8)}: placing them again`);
      void this.#try(g);
    }
  }

  /** Counts for status. */
  count(): { created: number; pending: number } {
    let created = 0;
    for (const g of this.#groups.values()) if (!g.nodes.includes(undefined)) created++;
    return { created, pending: this.#groups.size - created };
  }
}
