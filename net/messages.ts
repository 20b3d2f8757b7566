/**
 * The bodies of the cluster's messages, as types: what wire.ts checks and
 * codec.ts lays out. Types only, so both can use them without importing
 * each other.
 */
/** A failure sent back for a request. */
export interface FailBody {
  code: string;
  message: string;
  /** The error itself (common/error-codec.ts): the requester gets the same class where it knows it. */
  error?: Uint8Array;
}

export interface GcsKeyBody {
  table: string;
  key: string;
}
export interface GcsPutBody extends GcsKeyBody {
  value: unknown;
}
export interface GcsScanBody {
  table: string;
  prefix: string;
}
export interface GcsChannelBody {
  channel: string;
}
/** A change in the control store: `value` null when the key was deleted. */
export interface GcsEventBody {
  channel: string;
  key: string;
  value: unknown;
}

/** A component's bytes, under the SHA-256 (hex) they must hash to. */
export interface FunctionPutBody {
  hash: string;
  bytes: Uint8Array;
}

/** The sender holds object `object` (hex ID) of `size` bytes. */
export interface ObjectLocationBody {
  object: string;
  size: number;
  /** Its owner when that is not the sender (a result the sender keeps for the node that submitted its task). */
  owner?: string;
}

/** Cancel the task (or actor call) with this 16-byte ID: from its owner to the node it sent it to. */
export interface TaskCancelBody {
  task: Uint8Array;
  force: boolean;
  recursive: boolean;
}

/** An actor's checkpoint, from its node to its owner: the value and the IDs of the calls it covers. */
export interface ActorCheckpointBody {
  actor: Uint8Array;
  value: Uint8Array;
  covered: Uint8Array[];
}

/** An actor the sender runs started (with its methods) or died. */
export interface ActorStateBody {
  /** The actor's ID, hex. */
  actor: string;
  state: "alive" | "dead";
  methods: string[];
  death?: string;
  /** Times it restarted on this node so far (its crashes there): they count against its maxRestarts at the head too. */
  restarts?: number;
}

/** A node as it registers (and as the nodes table holds it). */
export interface NodeInfo {
  nodeId: string;
  /** ws:// address of its peer server ("" for a node that serves no peers). */
  address: string;
  /** Resource totals in fixed-point units (scheduler/resources.ts UNIT). */
  resources: Record<string, number>;
  /** A driver's node: never chosen by the global scheduler. */
  driver: boolean;
  pid: number;
  hostname: string;
  startedAt: number;
  /** Registering again under the same ID after the head's connection was lost (a restarted head takes it back). */
  rejoin?: boolean;
}

export interface HeartbeatBody {
  nodeId: string;
  /** Free resources now (fixed-point units). */
  available: Record<string, number>;
  /** Tasks queued, waiting for arguments or running. */
  queued: number;
  /** Estimated ms of queued work (tasks waiting × taskMs). */
  queueMs: number;
  /** Mean run time of its recent tasks (ms). */
  taskMs: number;
  objects: number;
  storeUsed: number;
  storeCapacity: number;
  actors: number;
}

/** An argument of a task sent to another node: its value inline, or where to pull it from. */
export interface WireArg {
  /** 20-byte object ID. */
  id: Uint8Array;
  size: number;
  /** The encoded value, for small objects. */
  value?: Uint8Array;
  /** Nodes holding a copy, for large ones. */
  nodes?: string[];
}

/** A task (or actor call) as it travels between nodes. */
export interface WireTask {
  /** 16-byte task ID. */
  id: Uint8Array;
  /** The node that owns its results (where they are reported). */
  owner: string;
  /** Hash of its component (the functions table key). */
  component: string;
  name: string;
  /** KIND_TASK, KIND_CONSTRUCT or KIND_METHOD. */
  kind: number;
  args: Uint8Array;
  /** Top-level ObjectRef arguments, in order. */
  deps?: WireArg[];
  /** 20-byte IDs of refs nested deeper in the arguments. */
  nested?: Uint8Array[];
  numReturns: number;
  retries: number;
  timeoutMs: number;
  /** Resource demand as [name, fixed-point units] pairs. */
  resources: [string, number][];
  /** For actor calls and constructors: the actor's 16-byte ID. */
  actor?: Uint8Array;
  /** For constructors: actor options (name, maxConcurrency). */
  actorName?: string;
  maxConcurrency?: number;
  /** Nodes already tried (the global scheduler avoids them when it can). */
  tried?: string[];
  /**
   * The driver (node ID) whose program the task belongs to, when not its
   * owner: the task's logs go there, and an actor it creates dies when
   * that driver leaves (unless detached).
   */
  job?: string;
  /** For constructors: "detached" keeps the actor alive after its driver leaves. */
  lifetime?: "detached";
  /** The guest's own linear memory cap, MiB (else the running node's). */
memoryMb?: number;
  /** Guest errors it is retried on: all (true), or these error names. */
  retryExceptions?: true | readonly string[];
  /** An actor's constructor: its restart options (ActorOptions), when any is set. */
  restart?: { maxRestarts: number; maxTaskRetries: number; checkpointInterval: number };
  /** When its owner submitted it (ms since the epoch), when the owner records task events: its runner's events carry it. */
  submittedAt?: number;
}

/** What a STATE_QUERY asks the head (the state API): tasks, one task, a summary, the timeline, actors or nodes. */
export interface StateQueryBody {
  what: "tasks" | "task" | "summary" | "timeline" | "actors" | "nodes" | "logs" | "memory";
  /** Fields a row must match (tasks: state, name, job, node, kind, actor). */
  filter?: Record<string, string>;
  limit?: number;
  /** The task ("task"). */
  id?: string;
  /** Logs: only records after this sequence number (`wray logs --follow` asks again with the last one it got). */
  since?: number;
}

/** A job for the head to run (host/jobs): the component is in the functions table already (FUNCTION_PUT). */
export interface JobSubmitBody {
  /** The component's SHA-256 (hex). */
  component: string;
  /** The task the job runs: its entry point. */
  entry: string;
  /** The entry's arguments, a MessagePack array. */
  args: Uint8Array;
  /** What the entry task needs (`{ CPU: 1 }` unless given). */
  resources?: Record<string, number>;
  /** Stopped after this long, ms (0 or none: no limit). */
  timeoutMs?: number;
  /** A name to show beside the ID. */
  name?: string;
}

/** One job, by ID (JOB_GET, JOB_STOP). */
export interface JobIdBody {
  id: string;
}

/** A job's log lines after `since` (a line's `seq`), at most `limit`. */
export interface JobLogsBody {
  id: string;
  since?: number;
  limit?: number;
}

/** The latest `limit` jobs. */
export interface JobListBody {
  limit?: number;
}

/** Guest log lines sent to the driver whose program made them. */
export interface LogBody {
  /** The node where they were written. */
  node: string;
  records: { level: string; text: string; task?: string; actor?: string; actorId?: string }[];
}

/** The head's answer to TASK_SUBMIT: where the task went, and where more of its shape may go for a while. */
export interface PlacedReply {
  node: string;
  /** The lease (scheduler/policy/locality.ts rule 4): feasible nodes with their waits. */
  lease: { node: string; waitMs: number; taskMs: number; cpus: number }[];
}

/** A result reported to a task's owner. */
export interface WireResult {
  /** The encoded value, for small results. */
  value?: Uint8Array;
  /** For results kept by the node that made them: its ID and the size. */
  node?: string;
  size?: number;
  /** 20-byte IDs of refs inside the value. */
  nested?: Uint8Array[];
}

export interface TaskDoneBody {
  id: Uint8Array;
  /** Results in order, when the task succeeded. */
  results?: WireResult[];
  /** The failure, when it did not: an encoded error (common/error-codec.ts). */
  error?: Uint8Array;
  /** The node that ran it. */
  node: string;
}

export interface PullBody {
  id: Uint8Array;
  offset: number;
  length: number;
}
/** Reply to OBJECT_PULL: the object's size and the bytes asked for. */
export interface PullReply {
  size: number;
  data: Uint8Array;
}

export interface FreeBody {
  ids: Uint8Array[];
}

export interface ActorKillBody {
  actor: Uint8Array;
}

/** PG_CREATE: a placement group, as a client asks the head for it. The reply comes once it is placed. */
export interface GroupCreateBody {
  /** Hex, 32 characters (made by the client: a retried request names the same group). */
  id: string;
  /** Each bundle's resources: [name, fixed-point units] pairs. */
  bundles: [string, number][][];
  strategy: string;
  name?: string;
}

/** PG_PREPARE: hold bundle `index` of group `id` (its resources) if they are free now; the reply says whether. */
export interface GroupPrepareBody {
  id: string;
  index: number;
  bundle: [string, number][];
}

/** PG_COMMIT, PG_ABORT: bundle `index` of group `id`. */
export interface GroupBundleBody {
  id: string;
  index: number;
}

/** PG_DROP, PG_REMOVE: group `id`. */
export interface GroupIdBody {
  id: string;
}

/** PG_GET's reply: the group named so, as it was created (null: none). */
export interface GroupInfo {
  id: string;
  bundles: [string, number][][];
  strategy: string;
  name?: string;
  state: "pending" | "created" | "rescheduling";
}
