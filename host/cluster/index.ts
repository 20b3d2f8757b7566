/**
 * Cluster membership and remote execution: a host's node joined to a
 * cluster (ClusterNode) — registration and heartbeats, placing the tasks
 * it owns (placement.ts), running tasks and actor calls for other nodes
 * (remote-run.ts), actors of other nodes (remote-actors.ts), moving
 * objects between nodes (objects.ts), connections to peers (peers.ts).
 *
 * Imports: node/ (through LocalNode, local-node.ts: the one seam to the
 * node it joins), head/ (the control store's record types), net/, store/,
 * scheduler/, common/ and host's shared errors and log. Never imports
 * driver/ or cli/.
 */
export { ClusterNode, LOCAL_QUEUE_PER_CPU, LOCALITY_BYTES, LEASE_MS, PULL_WINDOW } from "./cluster-node.js";
export type { ClusterOptions } from "./cluster-node.js";
export type { LocalNode, LocalQueue } from "./local-node.js";
