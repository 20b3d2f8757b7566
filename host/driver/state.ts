/**
 * The state API from a driver (Ray's `ray.util.state`): tasks with their
 * state history, node, isolate and error; a summary by function; the
 * timeline; actors; nodes. On a cluster it asks the head, which keeps
 * every node's task events; embedded, the driver keeps its node's in a
 * table of its own (common/task-events.ts), drained every second into a
 * thread of its own (table-worker.ts), so folding them in costs the
 * driver's thread nothing.
 *
 * @example
 * const failed = await ray.state.listTasks({ state: "failed" });
 * console.log(failed[0]?.error?.stack);
 */
import { Worker } from "node:worker_threads";
import type { ActorRow, TaskEventBatch, TaskFilter, TaskQuery, TaskRecord, TaskSummaryRow, TaskTableOptions, TimelineEvent } from "../../common/task-events.js";
import { actorRowMatches, eventActorRow } from "../../common/task-events.js";
import type { TableMessage, TableReply } from "./table-worker.js";
import type { NodeStatus } from "../head/index.js";
import type { ClusterNode } from "../cluster/index.js";
import type { StateQueryBody } from "../../net/index.js";
import type { HostNode } from "../node/index.js";
import { keyToHex } from "../../common/ids.js";
import { ShutdownError } from "../errors.js";

/** An embedded driver's node's events are drained into its table this often, ms. */
const DRAIN_MS = 1000;

const TABLE_WORKER_URL = new URL("./table-worker.js", import.meta.url);

/**
 * An embedded driver's task table, in a worker thread (table-worker.ts),
 * started with the first batch. It does not keep the process alive,
 * except while a query waits for its answer. If the thread dies (it is
 * out of memory), waiting queries fail, and the next batch starts a new,
 * empty table. Closed (the driver shut down), it takes nothing more: a
 * drain already scheduled must not start a thread nobody stops.
 */
class TableThread {
  readonly #options: TaskTableOptions;
  #worker: Worker | undefined;
  #closed = false;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(options: TaskTableOptions) {
    this.#options = options;
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(TABLE_WORKER_URL, { workerData: this.#options, execArgv: [] });
    w.unref();
    w.on("message", (r: TableReply) => {
      const q = this.#waiting.get(r.id);
      if (!q) return;
      this.#waiting.delete(r.id);
      if (this.#waiting.size === 0) w.unref();
      if (r.error !== undefined) q.reject(new Error(`the task table could not answer: ${r.error}`));
      else q.resolve(r.result);
    });
    const gone = (why: string) => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      for (const q of this.#waiting.values()) q.reject(new Error(`the task table's thread ended (${why}); its history is lost`));
      this.#waiting.clear();
    };
    w.on("error", (e) => gone(e.message));
    w.on("exit", (code) => gone(`exit code ${code}`));
    this.#worker = w;
    return w;
  }

  /** Hands a batch over (its columns move to the thread). */
  ingest(b: TaskEventBatch): void {
    if (this.#closed) return;
    const cols = [b.ids, b.states, b.kinds, b.times, b.isos, b.ms, b.sched, b.submitted, b.nameIx, b.jobIx, b.actorIx];
    const buffers = [...new Set(cols.map((c) => c.buffer as ArrayBuffer))];
    this.#started().postMessage({ batch: b } satisfies TableMessage, buffers);
  }

  ask(query: TaskQuery): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ShutdownError("the state API"));
    const w = this.#started();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, query } satisfies TableMessage);
    });
  }

  close(): void {
    this.#closed = true;
    // queries still waiting end with the driver (the thread's exit would not reach them: it is no longer ours)
    for (const q of this.#waiting.values()) q.reject(new ShutdownError("the state API"));
    this.#waiting.clear();
    void this.#worker?.terminate();
    this.#worker = undefined;
  }
}

export interface StateListOptions {
  /** The most rows (default 100). */
  limit?: number;
}

export class StateApi {
  readonly #node: HostNode;
  readonly #cluster: ClusterNode | undefined;
  /** Embedded: this driver's own table. */
  readonly #table: TableThread | undefined;
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  /** @internal */
  constructor(node: HostNode, cluster: ClusterNode | undefined, options: { maxTasksPerJob?: number } = {}) {
    this.#node = node;
    this.#cluster = cluster;
    if (!cluster) {
      this.#table = new TableThread(options);
      this.#timer = setInterval(() => this.#drain(), DRAIN_MS);
      this.#timer.unref();
      node.taskEvents.onHalf = () => setImmediate(() => this.#drain());
    }
  }

  /** Hands the node's events to the table (`everything`: the young pending tasks too, for a query). */
  #drain(everything = false): void {
    const b = this.#node.taskEvents.drain("local", everything);
    if (b) this.#table!.ingest(b);
  }

  /** The head's answer, or embedded, the table's (after this node's latest events). */
  async #ask(q: StateQueryBody): Promise<unknown> {
    if (this.#cluster) return this.#cluster.state(q);
    this.#drain(true);
    return this.#table!.ask({ ...q, what: q.what as TaskQuery["what"] });
  }

  /** Tasks (newest first) that match each given field of `filter`: state, name (`fn` or `Class.method`), job, node, kind, actor. */
  async listTasks(filter: TaskFilter = {}, options: StateListOptions = {}): Promise<TaskRecord[]> {
    const limit = checkLimit(options.limit);
    const f = checkFilter(filter);
    return (await this.#ask({ what: "tasks", filter: f, limit })) as TaskRecord[];
  }

  /** One task, by its ID (the hex of `ObjectRef.taskId`, or a unique prefix of 8 or more digits). */
  async getTask(id: string): Promise<TaskRecord | undefined> {
    if (typeof id !== "string" || !/^[0-9a-fA-F]{8,32}$/.test(id)) throw new TypeError(`getTask(id): id must be 8 to 32 hex digits, got ${JSON.stringify(id)}`);
    return ((await this.#ask({ what: "task", id })) as TaskRecord | null) ?? undefined;
  }

  /** Counts by function and latest state, and run times (mean, p50, p99), over every task seen. */
  async summarizeTasks(): Promise<TaskSummaryRow[]> {
    return (await this.#ask({ what: "summary" })) as TaskSummaryRow[];
  }

  /** Chrome trace events, one per task run kept (ray.timeline() writes them as a file). */
  async timeline(): Promise<TimelineEvent[]> {
    return (await this.#ask({ what: "timeline" })) as TimelineEvent[];
  }

  /** Actors, live ones first, that match each given field: state, class, name, node, job. */
  async listActors(filter: Record<string, string> = {}, options: StateListOptions = {}): Promise<ActorRow[]> {
    const limit = checkLimit(options.limit);
    const f = checkFilter(filter);
    if (this.#cluster) return (await this.#ask({ what: "actors", filter: f, limit })) as ActorRow[];
    const rows = [...this.#node.actors.all()].map((r) => eventActorRow(keyToHex(r.key), r.className, r.name, r.state, "local", r.restarts, r.death?.message));
    return rows.filter((a) => actorRowMatches(a, f)).slice(0, limit);
  }

  /** The cluster's nodes (drivers included, as `driver: true`); embedded, none. */
  async listNodes(filter: Record<string, string> = {}, options: StateListOptions = {}): Promise<NodeStatus[]> {
    const limit = checkLimit(options.limit);
    const f = checkFilter(filter);
    if (this.#cluster) return (await this.#ask({ what: "nodes", filter: f, limit })) as NodeStatus[];
    return [];
  }

  /** @internal */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#table?.close();
  }
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return 100;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be an integer >= 1, got ${String(limit)}`);
  return limit;
}

function checkFilter(filter: unknown): Record<string, string> {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) throw new TypeError("filter must be an object of field: value strings");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(filter)) {
    if (v === undefined) continue;
    if (typeof v !== "string") throw new TypeError(`filter.${k} must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}


