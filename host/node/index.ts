/**
 * The node: one host's object store, local scheduler, isolate pool and
 * actors, wired together (HostNode), and what a submission becomes on it;
 * guests' memory caps (component.ts, components.ts) and the memory guard
 * that stops the largest guest before the host runs out (memory-guard.ts).
 *
 * Imports: isolate/, scheduler/, store/, gpu/, common/ and host's shared
 * errors and log. Never imports cluster/, head/, driver/ or cli/: a node
 * reaches its cluster only through the ClusterLink it is given.
 */
export { HostNode } from "./node.js";
export type { NodeOptions } from "./options.js";
export type { ClusterLink } from "./link.js";
export { ActorManager, restoreArgs } from "./actors.js";
export type { ActorRecord, ActorState, ActorOptionsResolved } from "./actors.js";
export { Components, functionInfo, makeTask, releaseArgs } from "./components.js";
export type { ComponentRecord, FunctionInfo, TaskParts } from "./components.js";
export { prepareComponent } from "./component.js";
export type { ComponentManifest, PreparedComponent } from "./component.js";
export { resolveOptions, resolveActorOptions, DEFAULT_RESOLVED } from "./options.js";
export type { TaskOptions, ActorOptions, ResolvedOptions } from "./options.js";
export type { GroupTarget, GroupPlace } from "./group-target.js";
export { argRefs, beyondTop, nestedOrUndefined } from "./values.js";
export { hostCores } from "./machine.js";
export { cancelOptions, forcedActorCall } from "./cancel.js";
export type { CancelOptions, CancelOutcome } from "./cancel.js";
export { BundleReservations } from "./bundles.js";
export { TaskEvents } from "./task-events.js";
