/**
 * The head: the cluster's control-store service, its global scheduler,
 * node registration and failure detection (Head), the records it keeps in
 * the control store's tables, and the files that say where a running head
 * is (head.json, the token, the session's node files).
 *
 * Imports: net/, store/, scheduler/, common/ and host's shared errors.
 * Never imports node/, isolate/, cluster/, driver/ or cli/: the head runs
 * no guests and knows nodes only by what they send it.
 */
export { Head } from "./head.js";
export type { HeadOptions, ClusterStatus, NodeStatus, NodeRecord, ActorTableRecord, ObjectLocation, JobService } from "./head.js";
export * from "./files.js";
export type { LogLine } from "./state.js";
