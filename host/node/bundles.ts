/**
 * The placement-group bundles reserved on this node (two-phase, as Ray's
 * GCS does it across nodes):
 *   prepare   takes the bundle's resources from the node if they are free
 *             now (false otherwise: the coordinator tries again later or
 *             elsewhere); nothing can use them meanwhile
 *   commit    adds them back under the group's names (bundleResources),
 *             for the group's tasks and actors
 *   abort     gives a prepared bundle's resources back
 *   remove    ends what runs in the group here (actors die, tasks fail
 *             with PlacementGroupRemovedError), then gives it all back
 * The coordinator is the head in a cluster, the driver when embedded.
 */
import type { Shape } from "../../scheduler/index.js";
import { PlacementGroupRemovedError, bundleResources } from "../../scheduler/index.js";
import type { LocalScheduler } from "../../scheduler/index.js";

interface Bundle {
  readonly shape: Shape;
  committed: boolean;
}

/** What ending a group's work needs of the node (HostNode implements it). */
export interface GroupEvictor {
  /** Ends the tasks and kills the actors of group `pg` here; `error` is what they fail with. */
  evictGroup(pg: string, error: PlacementGroupRemovedError): void;
}

export class BundleReservations {
  readonly #scheduler: LocalScheduler;
  readonly #evictor: GroupEvictor;
  /** By group (hex), then bundle index. */
  readonly #groups = new Map<string, Map<number, Bundle>>();

  constructor(scheduler: LocalScheduler, evictor: GroupEvictor) {
    this.#scheduler = scheduler;
    this.#evictor = evictor;
  }

  /** Takes bundle `index` of group `pg` if it fits now; true when it is held (again: idempotent). */
  prepare(pg: string, index: number, shape: Shape): boolean {
    const have = this.#groups.get(pg)?.get(index);
    if (have) return true;
    const pool = this.#scheduler.resources;
    if (!pool.fits(shape)) return false;
    pool.acquire(shape);
    let g = this.#groups.get(pg);
    if (!g) this.#groups.set(pg, (g = new Map()));
    g.set(index, { shape, committed: false });
    return true;
  }

  /** Makes a prepared bundle usable by the group's tasks and actors. False when it was not prepared here. */
  commit(pg: string, index: number): boolean {
    const b = this.#groups.get(pg)?.get(index);
    if (!b) return false;
    if (b.committed) return true;
    b.committed = true;
    for (const [name, units] of bundleResources(pg, index, b.shape)) this.#scheduler.resources.add(name, units);
    this.#scheduler.resourcesChanged();
    return true;
  }

  /** Gives a prepared (not committed) bundle back. */
  abort(pg: string, index: number): void {
    const g = this.#groups.get(pg);
    const b = g?.get(index);
    if (!b || b.committed) return;
    g!.delete(index);
    if (g!.size === 0) this.#groups.delete(pg);
    this.#scheduler.resources.release(b.shape);
    this.#scheduler.resourcesChanged();
  }

  /** Removes every bundle of group `pg` here, ending what runs in them first. */
  remove(pg: string): void {
    const g = this.#groups.get(pg);
    if (!g) return;
    this.#evictor.evictGroup(pg, new PlacementGroupRemovedError(pg));
    this.#groups.delete(pg);
    const pool = this.#scheduler.resources;
    for (const [index, b] of g) {
      if (b.committed) for (const [name, units] of bundleResources(pg, index, b.shape)) pool.remove(name, units);
      pool.release(b.shape);
    }
    this.#scheduler.resourcesChanged();
  }

  /** The bundles of `pg` held here (indices). */
  held(pg: string): number[] {
    return [...(this.#groups.get(pg)?.keys() ?? [])];
  }

  /** Every group with a bundle here. */
  groups(): string[] {
    return [...this.#groups.keys()];
  }
}
