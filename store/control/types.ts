/**
 * The control store (Ray's GCS): the cluster's shared state, as tables of
 * key → value, with pub/sub on changes. Two implementations sit behind
 * this one interface: the sharded LevelDB store itself (in the head's
 * process, or embedded) and a client of it over a connection.
 */

/** The tables and what their keys are. */
export const TABLES = {
  /** nodeId → NodeRecord */
  nodes: "nodes",
  /** component hash → component bytes */
  functions: "functions",
  /** task ID (hex) → task record (spec, status, owner, node) */
  tasks: "tasks",
  /** object ID (hex) → ObjectLocation */
  objects: "objects",
  /** actor ID (hex) → actor record (placement, state, name) */
  actors: "actors",
  /** actor name → actor ID (hex) */
  actorNames: "actorNames",
  /** job ID → JobRecord (host/driver/jobs.ts) */
  jobs: "jobs",
  /** job ID → { lines: JobLogLine[] }: the last lines its tasks and actors printed */
  jobLogs: "jobLogs",
} as const;

export type Table = (typeof TABLES)[keyof typeof TABLES];

export function isTable(t: unknown): t is Table {
  return typeof t === "string" && Object.prototype.hasOwnProperty.call(TABLES, t);
}

/**
 * A subscription channel: a whole table (`"nodes"`) or one key of it
 * (`"objects/0a1b…"`). Every put or delete publishes to both.
 */
export function channelOf(table: Table, key?: string): string {
  return key === undefined ? table : `${table}/${key}`;
}

/** Called with the key and its new value (undefined when deleted). */
export type ChangeListener = (key: string, value: unknown) => void;

export interface ControlStore {
  get<T = unknown>(table: Table, key: string): Promise<T | undefined>;
  /** Writes a value (anything MessagePack can hold); resolves once it is in LevelDB. */
  put(table: Table, key: string, value: unknown): Promise<void>;
  delete(table: Table, key: string): Promise<void>;
  /** Entries of `table` whose keys start with `prefix`, in key order. */
  scan<T = unknown>(table: Table, prefix?: string): Promise<[string, T][]>;
  /**
   * Calls `fn` on every change published to `channel` from now on (see
   * channelOf). Returns a function that ends the subscription.
   */
  subscribe(channel: string, fn: ChangeListener): () => void;
  close(): Promise<void>;
}
