/**
 * Resource quantities. Amounts are kept in fixed point (1/10000 of a unit,
 * as Ray does) so that fractional requests add and subtract exactly.
 */
export const UNIT = 10_000;

/** What a task or actor asks for, as users write it. */
export interface ResourceRequest {
  /** CPUs (default 1 for tasks). */
  numCpus?: number;
  /** GPUs (default 0). */
  numGpus?: number;
  /** Custom resources by name. */
  resources?: Record<string, number>;
}

/** A normalized demand: sorted (name, units) pairs and a key naming the shape. */
export interface Shape {
  readonly key: string;
  readonly entries: readonly (readonly [string, number])[];
}

function units(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`resource '${name}' must be a finite number >= 0, got ${String(v)}`);
  }
  const u = Math.round(v * UNIT);
  if (v > 0 && u === 0) throw new RangeError(`resource '${name}' = ${v} is below the smallest unit (1/${UNIT})`);
  return u;
}

const shapes = new Map<string, Shape>();

/** Normalizes a request into a Shape (cached: equal requests share one object). */
export function shapeOf(req: ResourceRequest, defaultCpus = 1): Shape {
  const m = new Map<string, number>();
  const cpu = units("numCpus", req.numCpus ?? defaultCpus);
  if (cpu > 0) m.set("CPU", cpu);
  const gpu = units("numGpus", req.numGpus ?? 0);
  if (gpu > 0) m.set("GPU", gpu);
  if (req.resources !== undefined) {
    if (req.resources === null || typeof req.resources !== "object") throw new TypeError("resources must be an object of name: amount");
    for (const [k, v] of Object.entries(req.resources)) {
      if (k === "CPU" || k === "GPU") throw new RangeError(`use numCpus/numGpus rather than resources.${k}`);
      const u = units(k, v);
      if (u > 0) m.set(k, u);
    }
  }
  return shapeFromEntries([...m]);
}

/** The Shape of (name, fixed-point units) pairs, as `Shape.entries` holds them (from the wire). */
export function shapeFromEntries(pairs: readonly (readonly [string, number])[]): Shape {
  const entries = pairs.filter((p) => p[1] > 0).sort((a, b) => (a[0] < b[0] ? -1 : 1)) as (readonly [string, number])[];
  const key = entries.map(([k, v]) => `${k}=${v / UNIT}`).join(",");
  let s = shapes.get(key);
  if (!s) {
    s = { key, entries };
    shapes.set(key, s);
  }
  return s;
}

/** True when every demand of `inner` is at most what `outer` holds. */
export function within(inner: Shape, outer: Shape): boolean {
  for (const [k, v] of inner.entries) {
    const o = outer.entries.find((e) => e[0] === k);
    if (!o || o[1] < v) return false;
  }
  return true;
}

/** A node's resources: what it has and what is free now. */
export class ResourcePool {
  readonly total = new Map<string, number>();
  readonly available = new Map<string, number>();

  constructor(total: Record<string, number>) {
    for (const [k, v] of Object.entries(total)) {
      const u = units(k, v);
      this.total.set(k, u);
      this.available.set(k, u);
    }
  }

  /** Could this shape ever run here? */
  feasible(s: Shape): boolean {
    for (const [k, v] of s.entries) if ((this.total.get(k) ?? 0) < v) return false;
    return true;
  }

  fits(s: Shape): boolean {
    for (const [k, v] of s.entries) if ((this.available.get(k) ?? 0) < v) return false;
    return true;
  }

  acquire(s: Shape): void {
    for (const [k, v] of s.entries) {
      // a resource taken away while it was held (a removed placement group's) stays away
      const a = this.available.get(k);
      if (a !== undefined) this.available.set(k, a - v);
    }
  }

  release(s: Shape): void {
    for (const [k, v] of s.entries) {
      const a = this.available.get(k);
      if (a !== undefined) this.available.set(k, a + v);
    }
  }

  /** Adds `units` of resource `name` (a reserved placement group bundle's), to the total and the free amount. */
  add(name: string, units: number): void {
    this.total.set(name, (this.total.get(name) ?? 0) + units);
    this.available.set(name, (this.available.get(name) ?? 0) + units);
  }

  /** Takes `units` of `name` away again; at none left, the resource is gone (what still holds it gives nothing back). */
  remove(name: string, units: number): void {
    const t = (this.total.get(name) ?? 0) - units;
    if (t > 0) {
      this.total.set(name, t);
      this.available.set(name, (this.available.get(name) ?? 0) - units);
    } else {
      this.total.delete(name);
      this.available.delete(name);
    }
  }

  /** The first resource that makes `s` infeasible, for error messages. */
  shortfall(s: Shape): string {
    for (const [k, v] of s.entries) {
      const t = this.total.get(k) ?? 0;
      if (t < v) return `${k}: needs ${v / UNIT}, the node has ${t / UNIT}`;
    }
    return "";
  }

  snapshot(): { total: Record<string, number>; available: Record<string, number> } {
    const f = (m: Map<string, number>) => Object.fromEntries([...m].map(([k, v]) => [k, v / UNIT]));
    return { total: f(this.total), available: f(this.available) };
  }
}
