/**
 * An embedded driver's task table, in a thread of its own (state.ts's
 * TableThread): the node's event batches come in, the state API's task
 * queries are answered. A cluster's table is the head's, in its own
 * process; embedded, this keeps folding events in off the driver's
 * thread, which submits and gets.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { TaskEventBatch, TaskQuery, TaskTableOptions } from "../../common/task-events.js";
import { TaskTable } from "../../common/task-events.js";

/** What the driver sends: a batch, or a query to answer with its `id`. */
export type TableMessage = { batch: TaskEventBatch } | { id: number; query: TaskQuery };
/** The answer to query `id`: its result, or the error it raised. */
export interface TableReply {
  id: number;
  result?: unknown;
  error?: string;
}

const table = new TaskTable(workerData as TaskTableOptions);
parentPort!.on("message", (m: TableMessage) => {
  if ("batch" in m) {
    table.ingest(m.batch);
    return;
  }
  let reply: TableReply;
  try {
    reply = { id: m.id, result: table.answer(m.query) };
  } catch (e) {
    reply = { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply);
});
