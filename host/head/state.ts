/**
 * The head's side of the state API: the task events nodes send (kept in a
 * bounded TaskTable, common/task-events.ts) and the queries clients make
 * (`wray list`, `wray summary`, `wray get`, `wray timeline`, drivers'
 * `ray.state`, the dashboard): tasks from the table, actors from the
 * control store's actors table, nodes from the cluster's status.
 */
import type { ActorRow, BatchColumns, TaskEventBatch } from "../../common/task-events.js";
import { TaskTable, actorRowMatches, batchColumns } from "../../common/task-events.js";
import type { LogBody, StateQueryBody } from "../../net/index.js";
import type { ShardedControlStore } from "../../store/index.js";
import { TABLES } from "../../store/index.js";
import type { ActorTableRecord, ClusterStatus } from "./records.js";

export interface HeadStateOptions {
  /** Tasks of each job the head keeps whole (older ones only count in summaries). Default 10,000. */
  maxTasksPerJob?: number;
  /** Guest log lines the head keeps of each node (the latest). Default 2,000. */
  logLinesPerNode?: number;
}

/** A guest's log line as the head keeps it. */
export interface LogLine {
  /** Its order among every line the head got (`since` in a query). */
  seq: number;
  /** When the head got it, ms since the epoch. */
  time: number;
  node: string;
  level: string;
  text: string;
  task?: string;
  actor?: string;
  actorId?: string;
}

/** Events the head folds in at a time: between slices it relays tasks (a big batch never holds them up). */
const FOLD_SLICE = 2048;

export class HeadState {
  readonly #tasks: TaskTable;
  /** Batches received and checked, not folded in yet (the first one from `#at`). */
  readonly #pending: BatchColumns[] = [];
  #at = 0;
  #folding = false;
  readonly #store: ShardedControlStore;
  readonly #status: () => ClusterStatus;
  readonly #logs = new Map<string, LogLine[]>();
  readonly #logCap: number;
  #seq = 0;

  /** Asks each live node for its store's summary (wired by the head: NODE_MEMORY over its connections). */
  askNodes: (limit: number) => Promise<{ node: string; memory?: unknown; error?: string }[]> = async () => [];

  constructor(store: ShardedControlStore, status: () => ClusterStatus, options: HeadStateOptions = {}) {
    this.#store = store;
    this.#status = status;
    this.#tasks = new TaskTable({ maxTasksPerJob: options.maxTasksPerJob });
    this.#logCap = options.logLinesPerNode ?? 2000;
  }

  /** Log lines from node `node`'s guests. */
  log(node: string, records: LogBody["records"]): void {
    let ring = this.#logs.get(node);
    if (!ring) this.#logs.set(node, (ring = []));
    const time = Date.now();
    for (const r of records) ring.push({ seq: ++this.#seq, time, node, ...r });
    if (ring.length > this.#logCap) ring.splice(0, ring.length - this.#logCap);
  }

  /** The latest `limit` log lines after `since` that match: node (a prefix), actor (class or ID prefix), task, level. */
  logs(filter: Record<string, string>, limit: number, since = 0): LogLine[] {
    const out: LogLine[] = [];
    for (const [node, ring] of this.#logs) {
      if (filter.node !== undefined && !node.startsWith(filter.node)) continue;
      for (const l of ring) {
        if (l.seq <= since) continue;
        if (filter.actor !== undefined && l.actor !== filter.actor && !(l.actorId ?? "").startsWith(filter.actor)) continue;
        if (filter.task !== undefined && l.task !== filter.task) continue;
        if (filter.level !== undefined && l.level !== filter.level) continue;
        out.push(l);
      }
    }
    out.sort((a, b) => a.seq - b.seq);
    return out.slice(-limit);
  }

  /** The task table, every batch received so far folded in. */
  get tasks(): TaskTable {
    this.#fold(Infinity);
    return this.#tasks;
  }

  /**
   * A batch of task events from node `node` (the connection's, whatever
   * the batch says): checked now (RangeError), folded in soon, a slice
   * at a time.
   */
  ingest(batch: TaskEventBatch, node: string): void {
    this.#pending.push(batchColumns({ ...batch, node }));
    this.#foldSoon();
  }

  #foldSoon(): void {
    if (this.#folding || this.#pending.length === 0) return;
    this.#folding = true;
    setImmediate(() => {
      this.#folding = false;
      this.#fold(FOLD_SLICE);
      this.#foldSoon();
    });
  }

  /** Folds up to `budget` pending events in. */
  #fold(budget: number): void {
    while (budget > 0 && this.#pending.length > 0) {
      const c = this.#pending[0]!;
      const end = Math.min(c.batch.n, this.#at + budget);
      this.#tasks.fold(c, this.#at, end);
      budget -= end - this.#at;
      this.#at = end;
      if (end === c.batch.n) {
        this.#pending.shift();
        this.#at = 0;
      }
    }
  }

  async query(q: StateQueryBody): Promise<unknown> {
    const limit = q.limit ?? 100;
    const filter = q.filter ?? {};
    switch (q.what) {
      case "tasks":
      case "task":
      case "summary":
      case "timeline":
        return this.tasks.answer({ ...q, what: q.what });
      case "actors":
        return (await this.actors()).filter((a) => actorRowMatches(a, filter)).slice(0, limit);
      case "nodes":
        return this.#status().nodes.filter((n) => (filter.state === undefined || n.state === filter.state) && (filter.driver === undefined || String(n.driver) === filter.driver)).slice(0, limit);
      case "logs":
        return this.logs(filter, limit, q.since ?? 0);
      case "memory":
        return this.askNodes(limit);
    }
  }


  /** Every actor the actors table knows, live ones first. */
  async actors(): Promise<ActorRow[]> {
    const rows: ActorRow[] = [];
    for (const [id, v] of await this.#store.scan(TABLES.actors, "")) {
      const r = v as ActorTableRecord;
      const row: ActorRow = { actorId: id, className: r.className, state: r.state, node: r.node, job: r.job ?? r.owner, restarts: (r.restarts ?? 0) + (r.hostRestarts ?? 0) };
      if (r.name !== undefined) row.name = r.name;
      if (r.death !== undefined) row.death = r.death;
      if (r.lifetime) row.detached = true;
      row.calls = this.tasks.actorCalls(id);
      rows.push(row);
    }
    return rows.sort((a, b) => (a.state === b.state ? 0 : a.state === "alive" ? -1 : 1));
  }
}
