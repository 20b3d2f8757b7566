/**
 * The head's side of the state API: the task events nodes send (kept in a
 * bounded TaskTable, common/task-events.ts) and the queries clients make
 * (`wray list`, `wray summary`, `wray get`, `wray timeline`, drivers'
 * `ray.state`, the dashboard): tasks from the table, actors from the
 * control store's actors table, nodes from the cluster's status.
 */
import type { ActorRow, TaskEventBatch } from "../../common/task-events.js";
import { TaskTable, actorRowMatches } from "../../common/task-events.js";
import type { StateQueryBody } from "../../net/index.js";
import type { ShardedControlStore } from "../../store/index.js";
import { TABLES } from "../../store/index.js";

/** What this file reads of an actors-table record (head.ts's ActorTableRecord). */
interface ActorTableView {
  node: string;
  className: string;
  name?: string;
  owner: string;
  job?: string;
  lifetime?: "detached";
  state: "alive" | "dead";
  death?: string;
  restarts?: number;
  hostRestarts?: number;
}

/** What this file reads of the cluster's status (head.ts's ClusterStatus). */
interface StatusView {
  nodes: { state: string; driver: boolean }[];
}

export interface HeadStateOptions {
  /** Tasks of each job the head keeps whole (older ones only count in summaries). Default 10,000. */
  maxTasksPerJob?: number;
}

export class HeadState {
  readonly tasks: TaskTable;
  readonly #store: ShardedControlStore;
  readonly #status: () => StatusView;

  constructor(store: ShardedControlStore, status: () => StatusView, options: HeadStateOptions = {}) {
    this.#store = store;
    this.#status = status;
    this.tasks = new TaskTable({ maxTasksPerJob: options.maxTasksPerJob });
  }

  /** A batch of task events from node `node` (the connection's, whatever the batch says). */
  ingest(batch: TaskEventBatch, node: string): void {
    this.tasks.ingest({ ...batch, node });
  }

  async query(q: StateQueryBody): Promise<unknown> {
    const limit = q.limit ?? 100;
    const filter = q.filter ?? {};
    switch (q.what) {
      case "tasks":
        return this.tasks.list(filter, limit);
      case "task":
        return this.tasks.get(q.id ?? "") ?? null;
      case "summary":
        return this.tasks.summary(filter.job);
      case "timeline":
        return this.tasks.timeline(filter.job);
      case "actors":
        return (await this.actors()).filter((a) => actorRowMatches(a, filter)).slice(0, limit);
      case "nodes":
        return this.#status().nodes.filter((n) => (filter.state === undefined || n.state === filter.state) && (filter.driver === undefined || String(n.driver) === filter.driver)).slice(0, limit);
    }
  }

  /** Every actor the actors table knows, live ones first. */
  async actors(): Promise<ActorRow[]> {
    const rows: ActorRow[] = [];
    for (const [id, v] of await this.#store.scan(TABLES.actors, "")) {
      const r = v as ActorTableView;
      const row: ActorRow = { actorId: id, className: r.className, state: r.state, node: r.node, job: r.job ?? r.owner, restarts: (r.restarts ?? 0) + (r.hostRestarts ?? 0) };
      if (r.name !== undefined) row.name = r.name;
      if (r.death !== undefined) row.death = r.death;
      if (r.lifetime) row.detached = true;
      rows.push(row);
    }
    return rows.sort((a, b) => (a.state === b.state ? 0 : a.state === "alive" ? -1 : 1));
  }
}
