/**
 * The state API from a driver (Ray's `ray.util.state`): tasks with their
 * state history, node, isolate and error; a summary by function; the
 * timeline; actors; nodes. On a cluster it asks the head, which keeps
 * every node's task events; embedded, the driver keeps its node's in a
 * table of its own (common/task-events.ts), drained every second.
 *
 * @example
 * const failed = await ray.state.listTasks({ state: "failed" });
 * console.log(failed[0]?.error?.stack);
 */
import type { ActorRow, TaskFilter, TaskRecord, TaskSummaryRow, TimelineEvent } from "../../common/task-events.js";
import { TaskTable, actorRowMatches, eventActorRow } from "../../common/task-events.js";
import type { NodeStatus } from "../head/index.js";
import type { ClusterNode } from "../cluster/index.js";
import type { StateQueryBody } from "../../net/index.js";
import type { HostNode } from "../node/index.js";
import { keyToHex } from "../../common/ids.js";

/** An embedded driver's node's events are drained into its table this often, ms. */
const DRAIN_MS = 1000;

export interface StateListOptions {
  /** The most rows (default 100). */
  limit?: number;
}

export class StateApi {
  readonly #node: HostNode;
  readonly #cluster: ClusterNode | undefined;
  /** Embedded: this driver's own table. */
  readonly #table: TaskTable | undefined;
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  /** @internal */
  constructor(node: HostNode, cluster: ClusterNode | undefined, options: { maxTasksPerJob?: number } = {}) {
    this.#node = node;
    this.#cluster = cluster;
    if (!cluster) {
      this.#table = new TaskTable(options);
      this.#timer = setInterval(() => this.#drain(), DRAIN_MS);
      this.#timer.unref();
      node.taskEvents.onHalf = () => setImmediate(() => this.#drain());
    }
  }

  #drain(): void {
    const b = this.#node.taskEvents.drain("local");
    if (b) this.#table!.ingest(b);
  }

  async #ask(q: StateQueryBody): Promise<unknown> {
    return this.#cluster!.state(q);
  }

  /** Tasks (newest first) that match each given field of `filter`: state, name (`fn` or `Class.method`), job, node, kind, actor. */
  async listTasks(filter: TaskFilter = {}, options: StateListOptions = {}): Promise<TaskRecord[]> {
    const limit = checkLimit(options.limit);
    const f = checkFilter(filter);
    if (this.#cluster) return (await this.#ask({ what: "tasks", filter: f, limit })) as TaskRecord[];
    this.#drain();
    return this.#table!.list(f, limit);
  }

  /** One task, by its ID (the hex of `ObjectRef.taskId`, or a unique prefix of 8 or more digits). */
  async getTask(id: string): Promise<TaskRecord | undefined> {
    if (typeof id !== "string" || !/^[0-9a-fA-F]{8,32}$/.test(id)) throw new TypeError(`getTask(id): id must be 8 to 32 hex digits, got ${JSON.stringify(id)}`);
    if (this.#cluster) return ((await this.#ask({ what: "task", id })) as TaskRecord | null) ?? undefined;
    this.#drain();
    return this.#table!.get(id);
  }

  /** Counts by function and latest state, and run times (mean, p50, p99), over every task seen. */
  async summarizeTasks(): Promise<TaskSummaryRow[]> {
    if (this.#cluster) return (await this.#ask({ what: "summary" })) as TaskSummaryRow[];
    this.#drain();
    return this.#table!.summary();
  }

  /** Chrome trace events, one per task run kept (ray.timeline() writes them as a file). */
  async timeline(): Promise<TimelineEvent[]> {
    if (this.#cluster) return (await this.#ask({ what: "timeline" })) as TimelineEvent[];
    this.#drain();
    return this.#table!.timeline();
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


