/**
 * Task and actor options as users give them, checked and normalized
 * (RangeError/TypeError naming the bad option), and the options a node
 * starts with.
 */
import type { ResourceRequest } from "../../scheduler/index.js";
import type { Shape } from "../../scheduler/index.js";
import { UNLIMITED_RETRIES, bundleShape, shapeOf } from "../../scheduler/index.js";
import { tmpdir, totalmem } from "node:os";
import type { GpuDevice, HostGpu } from "../../gpu/index.js";
import { Arena, ObjectStore, SpillFiles } from "../../store/index.js";
import type { LogRecord } from "../log.js";
import type { ActorOptionsResolved } from "./actors.js";
import type { GroupPlace, GroupTarget } from "./group-target.js";
import { MAX_GUEST_MEMORY_MB } from "./component.js";

/** Options of a task, as `fn(name, options)` and `.options()` take them. */
export interface TaskOptions extends ResourceRequest {
  /** How many ObjectRefs `remote` returns (the task returns an array of that length). Default 1. */
  numReturns?: number;
  /**
   * Runs left after the isolate or node running it dies, or its result is
   * lost with its node (it is then run again from its lineage); -1: no
   * limit. Default 3 (as Ray).
   */
  maxRetries?: number;
  /**
   * Also run it again (within maxRetries) when its guest throws: `true` for
   * any error, or the names of the errors to retry (the guest's error class
   * name, e.g. "RangeError"; "GuestTrapError" for a trap). Default false.
   */
  retryExceptions?: boolean | string[];
  /** Stops the task (and its isolate) after this long. Default: no limit. */
  timeoutMs?: number;
  /**
   * The most linear memory its guest may have, MiB (1 to 4096): past it,
   * memory.grow fails inside the guest and the task fails with
   * GuestOutOfMemoryError. Default: the host's `guestMemoryMb`.
   */
  memoryMb?: number;
  /** Runs it in a bundle of this placement group (`ray.placementGroup`): on the node holding the bundle, from its resources. */
  placementGroup?: GroupTarget;
  /** Which bundle of `placementGroup` (default -1: any of them). */
  bundleIndex?: number;
}

export { UNLIMITED_RETRIES };

export interface ResolvedOptions {
  numReturns: number;
  maxRetries: number;
  /** Guest errors that are retried (undefined: none). */
  retryExceptions?: true | readonly string[];
  timeoutMs: number;
  shape: ReturnType<typeof shapeOf>;
  /** The task's own memory cap, MiB (undefined: the host's). */
  memoryMb?: number;
  /** Its placement group and bundle (its shape already asks for the bundle's resources). */
  group?: GroupPlace;
}

/**
 * Checks `placementGroup`/`bundleIndex` options and turns `shape` into
 * the bundle's (bundleShape). Undefined when no group is named.
 */
export function resolveGroup(o: { placementGroup?: unknown; bundleIndex?: unknown }, shape: Shape): { group: GroupPlace; shape: Shape } | undefined {
  const g = o.placementGroup as GroupTarget | undefined;
  if (g === undefined || g === null) {
    if (o.bundleIndex !== undefined) throw new TypeError("option 'bundleIndex' needs 'placementGroup'");
    return undefined;
  }
  if (typeof g !== "object" || typeof g.id !== "string" || !/^[0-9a-f]{32}$/.test(g.id) || !Number.isInteger(g.bundleCount)) {
    throw new TypeError("option 'placementGroup' must be a placement group (from ray.placementGroup())");
  }
  const index = o.bundleIndex ?? -1;
  if (typeof index !== "number" || !Number.isInteger(index) || index < -1 || index >= g.bundleCount) {
    throw new RangeError(`bundleIndex must be -1 (any bundle) or a whole number below the group's ${g.bundleCount} bundles, got ${String(o.bundleIndex)}`);
  }
  return { group: { group: g, index }, shape: bundleShape(g.id, index, shape) };
}

/** Checks a `memoryMb` option (RangeError naming it). */
export function checkMemoryMb(v: unknown, what = "memoryMb"): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_GUEST_MEMORY_MB) throw new RangeError(`${what} must be a whole number of MiB from 1 to ${MAX_GUEST_MEMORY_MB} (wasm32's most), got ${String(v)}`);
  return v;
}

export const DEFAULT_RESOLVED: ResolvedOptions = { numReturns: 1, maxRetries: 3, timeoutMs: 0, shape: shapeOf({}) };
/** A constructor call: no results, no retries (an actor's state cannot be rebuilt yet). */
export const NO_RETURNS: ResolvedOptions = { numReturns: 0, maxRetries: 0, timeoutMs: 0, shape: shapeOf({}, 0) };

/** Options of an actor, as `mod.actor(name, options)` and `.options()` take them. */
export interface ActorOptions extends ResourceRequest {
  /** Registers the actor under this name (see `getActor`); names are unique while the actor lives. */
  name?: string;
  /** How many calls may run interleaved while earlier ones wait in `get` (default 1: one at a time). */
  maxConcurrency?: number;
  /**
   * "detached": on a cluster, the actor outlives the driver that made it
   * (find it by `name` from a later driver, end it with `kill`). Without
   * it an actor dies when its driver exits, as in Ray.
   */
  lifetime?: "detached";
  /** The most linear memory the actor's guest may have, MiB (as TaskOptions.memoryMb); past it the actor dies. */
  memoryMb?: number;
  /**
   * Times the actor is started again after it died of something other than
   * `kill` (its isolate or node died, a method trapped or ran out of
   * memory): its constructor runs again with the same arguments, on a live
   * node, under the same ID and name; -1: no limit. Default 0.
   */
  maxRestarts?: number;
  /**
   * Times a call in flight when the actor died is sent again to the
   * restarted actor (at-least-once); with 0 such calls fail with
   * ActorDiedError (at-most-once); -1: no limit. Default 0.
   */
  maxTaskRetries?: number;
  /**
   * Every this many calls the host saves the actor's state: the class must
   * have `checkpoint(): value` and `restore(value)` methods. A restart on
   * the same host restores the last checkpoint and replays, in order, the
   * calls made after it. Default 0 (none).
   */
  checkpointInterval?: number;
  /** Holds its resources from a bundle of this placement group (as TaskOptions.placementGroup). */
  placementGroup?: GroupTarget;
  /** Which bundle (default -1: any). */
  bundleIndex?: number;
}

const ACTOR_OPTION_KEYS = new Set(["name", "maxConcurrency", "lifetime", "memoryMb", "maxRestarts", "maxTaskRetries", "checkpointInterval", "numCpus", "numGpus", "resources", "placementGroup", "bundleIndex"]);

/** Checks actor options (RangeError/TypeError naming the bad option). Actors hold 0 CPUs unless asked. */
export function resolveActorOptions(raw: unknown): ActorOptionsResolved {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object") throw new TypeError("actor options must be an object");
  const o = raw as ActorOptions;
  for (const k of Object.keys(o)) if (!ACTOR_OPTION_KEYS.has(k)) throw new TypeError(`unknown actor option '${k}'`);
  if (o.name !== undefined && (typeof o.name !== "string" || o.name.length === 0)) throw new TypeError("actor option 'name' must be a non-empty string");
  const maxConcurrency = o.maxConcurrency ?? 1;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 1000) {
    throw new RangeError(`maxConcurrency must be a whole number from 1 to 1000, got ${o.maxConcurrency}`);
  }
  if (o.lifetime !== undefined && o.lifetime !== "detached") throw new TypeError(`actor option 'lifetime' must be "detached" (or left out), got ${JSON.stringify(o.lifetime)}`);
  const r: ActorOptionsResolved = { name: o.name, maxConcurrency, shape: shapeOf(o, 0) };
  const inGroup = resolveGroup(o, r.shape);
  if (inGroup) {
    r.shape = inGroup.shape;
    r.group = inGroup.group;
  }
  if (o.lifetime !== undefined) r.lifetime = o.lifetime;
  const memoryMb = checkMemoryMb(o.memoryMb);
  if (memoryMb !== undefined) r.memoryMb = memoryMb;
  const maxRestarts = checkRetries(o.maxRestarts, "maxRestarts", 0);
  if (maxRestarts > 0) r.maxRestarts = maxRestarts;
  const maxTaskRetries = checkRetries(o.maxTaskRetries, "maxTaskRetries", 0);
  if (maxTaskRetries > 0) r.maxTaskRetries = maxTaskRetries;
  const every = o.checkpointInterval ?? 0;
  if (typeof every !== "number" || !Number.isInteger(every) || every < 0 || every > 0xffff_ffff) throw new RangeError(`checkpointInterval must be a whole number of calls >= 0, got ${String(o.checkpointInterval)}`);
  if (every > 0) r.checkpointInterval = every;
  return r;
}

const OPTION_KEYS = new Set(["numReturns", "maxRetries", "retryExceptions", "timeoutMs", "memoryMb", "numCpus", "numGpus", "resources", "placementGroup", "bundleIndex"]);

/** Checks a `retryExceptions` option: undefined for none. */
export function checkRetryExceptions(v: unknown): true | readonly string[] | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return true;
  if (!Array.isArray(v) || v.length === 0 || v.length > 255 || !v.every((n) => typeof n === "string" && n.length > 0 && n.length < 256)) {
    throw new TypeError(`retryExceptions must be true, false, or a list of error names (e.g. ["RangeError"]), got ${JSON.stringify(v)}`);
  }
  return Object.freeze([...(v as string[])]);
}

/** Checks task options and normalizes them (RangeError/TypeError naming the bad option). */
export function resolveOptions(raw: unknown): ResolvedOptions {
  if (raw === undefined || raw === null) return DEFAULT_RESOLVED;
  if (typeof raw !== "object") throw new TypeError("task options must be an object");
  const o = raw as TaskOptions;
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new TypeError(`unknown task option '${k}'`);
  const numReturns = o.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 0 || numReturns > 10_000) throw new RangeError(`numReturns must be a whole number from 0 to 10000, got ${o.numReturns}`);
  const maxRetries = checkRetries(o.maxRetries, "maxRetries", 3);
  const timeoutMs = o.timeoutMs ?? 0;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`timeoutMs must be a number >= 0, got ${o.timeoutMs}`);
  let shape = shapeOf(o);
  const inGroup = resolveGroup(o, shape);
  if (inGroup) shape = inGroup.shape;
  const memoryMb = checkMemoryMb(o.memoryMb);
  const retryExceptions = checkRetryExceptions(o.retryExceptions);
  if (numReturns === 1 && maxRetries === 3 && timeoutMs === 0 && shape === DEFAULT_RESOLVED.shape && memoryMb === undefined && retryExceptions === undefined) return DEFAULT_RESOLVED;
  const r: ResolvedOptions = { numReturns, maxRetries, timeoutMs, shape };
  if (inGroup) r.group = inGroup.group;
  if (memoryMb !== undefined) r.memoryMb = memoryMb;
  if (retryExceptions !== undefined) r.retryExceptions = retryExceptions;
  return r;
}

/** A count of retries or restarts: a whole number >= 0, or -1 for no limit (UNLIMITED_RETRIES). */
export function checkRetries(v: unknown, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (v === -1) return UNLIMITED_RETRIES;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= UNLIMITED_RETRIES) throw new RangeError(`${what} must be a whole number >= 0, or -1 for no limit, got ${String(v)}`);
  return v;
}

export interface NodeOptions {
  /** CPUs this node offers to tasks. Default: the machine's cores. */
  numCpus?: number;
  /** GPUs this node offers. Default: 1 when it has a GPU device (`gpu`), else 0. */
  numGpus?: number;
  /**
   * The host's GPU device (`GpuDevice.open`), which the node then owns and
   * closes; a HostGpu (one that opens on first use); or why there is none,
   * for the errors of guests that ask for it. `init()` and `wray start`
   * find one by themselves.
   */
  gpu?: GpuDevice | HostGpu | string;
  /** Custom resources, e.g. `{ memoryBound: 2 }`. */
  resources?: Record<string, number>;
  /** Isolates started at once and kept. Default: numCpus (at least 1). */
  numIsolates?: number;
  /** Most isolates (blocked ones included). Default: max(16, 4 × numIsolates). */
  maxIsolates?: number;
  /** Bytes of shared memory for large objects. Default: 30% of RAM. */
  objectStoreMemory?: number;
  /**
   * Where objects are spilled when the store is full (a directory of this
   * process's own is made in it, and removed at shutdown). Default: the
   * system's temporary directory.
   */
  objectSpillingDirectory?: string;
  /** Spill to disk under pressure (default true); when false a full store refuses new objects. */
  objectSpilling?: boolean;
  /** The most linear memory a guest may have unless its task or actor says (`memoryMb`), MiB. Default 2048. */
  guestMemoryMb?: number;
  /**
   * The memory guard: when this process's resident memory passes this
   * many MiB, or the machine's memory is 95% used, the running guest
   * holding the most memory is stopped (GuestOutOfMemoryError) before the
   * system's OOM killer takes the host. Default: no limit of its own (the
   * machine's 95% still applies).
   */
  hostMemoryLimitMb?: number;
  /** How long a waiting thread spins before it sleeps, ms. Default 0.1. */
  spinMs?: number;
  /** Isolates beyond `numIsolates` are stopped after this long idle, ms. Default 10000. */
  idleIsolateTimeoutMs?: number;
  /**
   * Record each task's state transitions for the state API, the timeline
   * and the dashboard (Ray's task events). Default true; false costs the
   * hot path nothing but a branch, and leaves those empty.
   */
  taskEvents?: boolean;
  /**
   * Where log records go: what guests print (and, on a cluster, what the
   * driver's tasks and actors print on other nodes) and what wray says.
   * Default: one line each on the console (`formatLog`).
   */
  log?: (record: LogRecord) => void;
}

/** The object store `options` ask for (RangeError/TypeError naming a bad option). */
export function objectStoreFor(options: NodeOptions): ObjectStore {
  const capacity = options.objectStoreMemory ?? Math.floor(totalmem() * 0.3);
  if (typeof capacity !== "number" || !(capacity >= 1 << 20) || !Number.isFinite(capacity)) {
    throw new RangeError(`objectStoreMemory must be a number of bytes >= 1 MiB, got ${options.objectStoreMemory}`);
  }
  const spillDir = options.objectSpillingDirectory ?? tmpdir();
  if (typeof spillDir !== "string" || spillDir.length === 0) throw new TypeError("objectSpillingDirectory must be a non-empty path");
  const spill = options.objectSpilling === false ? undefined : new SpillFiles(spillDir);
  return new ObjectStore(new Arena({ capacity: Math.floor(capacity) }), { spill });
}
