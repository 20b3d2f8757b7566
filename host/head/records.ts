/**
 * The head's record shapes that other files of the head read (state.ts)
 * as well as head.ts: the cluster's status as `wray status` shows it, and
 * an actor's record in the control store's actors table.
 */
import type { WireTask } from "../../net/index.js";

/** What `wray status` shows of a node. */
export interface NodeStatus {
  nodeId: string;
  address: string;
  hostname: string;
  pid: number;
  driver: boolean;
  state: "alive" | "dead";
  death?: string;
  resources: Record<string, number>;
  available: Record<string, number>;
  queued: number;
  objects: number;
  storeUsed: number;
  storeCapacity: number;
  actors: number;
  lastHeartbeatMs: number;
}

export interface ClusterStatus {
  address: string;
  heartbeatMs: number;
  /** Heartbeats a host may miss before it is declared dead. */
  missedHeartbeats: number;
  nodes: NodeStatus[];
  /** Tasks and actors the global scheduler placed. */
  placed: number;
  actors: { alive: number; dead: number };
  controlStore: { shards: number; writes: number };
}

/** An actor record in the control store. */
export interface ActorTableRecord {
  node: string;
  className: string;
  name?: string;
  /** The node that created it. */
  owner: string;
  /** The driver whose program created it (the owner, unless a task of that driver's made it elsewhere). */
  job?: string;
  /** "detached": it outlives its driver, until killed. */
  lifetime?: "detached";
  state: "alive" | "dead";
  death?: string;
  methods: string[];
  /** Restarts left after node deaths (maxRestarts; UNLIMITED_RETRIES for -1), and restarts so far. */
  restartsLeft?: number;
  restarts?: number;
  /** Times a call in flight at a death is sent again (callers read it). */
  maxTaskRetries?: number;
  /** Restarts on its current node, as that node last reported them (ACTOR_STATE). */
  hostRestarts?: number;
  /** Its constructor as it travels: sent again to start it on another node. */
  spec?: WireTask;
}
