/**
 * Scheduling: resource shapes, task specs, and the local scheduler that
 * leases isolates to tasks.
 */
export { LocalScheduler } from "./local.js";
export type { Executor, LocalSchedulerOptions, ResourceShortfall, ResourceWait, SchedulerStats } from "./local.js";
export { ResourcePool, shapeOf, shapeFromEntries, within, UNIT } from "./resources.js";
export { place, charge, feasibleOn, leaseNodes, pickLeased, PLACED_TASK_MS } from "./policy/locality.js";
export { GlobalScheduler } from "./global.js";
export type { NodeEntry } from "./global.js";
export type { NodeLoad, ArgLocation, LeaseNode } from "./policy/locality.js";
export type { ResourceRequest, Shape } from "./resources.js";
export type { FunctionStats, TaskSpec, TaskFields } from "./task.js";
export { UNLIMITED_RETRIES, newTaskSpec, releaseArgs, cancelledBy } from "./task.js";
export { InfeasibleTaskError, TaskCancelledError, PlacementGroupInfeasibleError, PlacementGroupRemovedError } from "./errors.js";
export { Deque } from "./deque.js";
export { awaitDeps, depFailure } from "./resolve.js";
export type { Dependent, Watch } from "./resolve.js";
export { placeBundles, bundleResources, bundleShape, inGroup, groupOfShape, STRATEGIES, BUNDLE_UNITS } from "./policy/bundles.js";
export type { PlacementStrategy, BundleNode } from "./policy/bundles.js";
