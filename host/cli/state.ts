/**
 * The state commands (Ray's `ray list` / `ray summary` / `ray get` /
 * `ray timeline`): they ask the head's state API (STATE_QUERY) and print a
 * table, or JSON with --json.
 *
 *   wray list tasks|actors|nodes|drivers [--state S] [--filter key=value]... [--limit N] [--json]
 *   wray summary tasks [--json]
 *   wray get task <id> [--json]
 *   wray timeline [-o trace.json]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ActorRow, TaskRecord, TaskSummaryRow, TimelineEvent } from "../../common/task-events.js";
import { TASK_STATES } from "../../common/task-events.js";
import type { StateQueryBody } from "../../net/index.js";
import { MSG } from "../../net/index.js";
import type { LogLine, NodeStatus } from "../head/index.js";
import { HEAD_OPTIONS, UsageError, askHead, fmtBytes } from "./cluster.js";

const LIST_OPTIONS = { ...HEAD_OPTIONS, state: { type: "string" }, filter: { type: "string", multiple: true }, limit: { type: "string" } } as const;

function ask<T>(values: Parameters<typeof askHead>[0], q: StateQueryBody): Promise<T> {
  return askHead<T>(values, MSG.STATE_QUERY, q);
}

function filterOf(values: { state?: string; filter?: string[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of values.filter ?? []) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UsageError(`--filter takes key=value, got '${f}'`);
    out[f.slice(0, eq)] = f.slice(eq + 1);
  }
  if (values.state !== undefined) out.state = values.state.toLowerCase();
  return out;
}

function limitOf(v: string | undefined): number {
  if (v === undefined) return 100;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit takes a whole number >= 1, got '${v}'`);
  return n;
}

/** Columns of text, padded to the widest cell. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

function ms(x: number | undefined): string {
  if (x === undefined) return "-";
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 1) return `${x.toFixed(1)} ms`;
  return `${(x * 1000).toFixed(0)} us`;
}

function taskName(t: TaskRecord): string {
  return t.actor !== undefined && t.kind === "actor_method" ? `${t.actor.split(" ")[1] ?? "?"}.${t.name}` : t.name;
}

function oneLine(s: string, max = 60): string {
  const l = s.replace(/\s+/g, " ");
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
}

export async function list(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: LIST_OPTIONS, allowPositionals: true });
  const what = positionals[0];
  if (positionals.length !== 1 || !["tasks", "actors", "objects", "nodes", "drivers"].includes(what!)) throw new UsageError(`say what to list: tasks, actors, objects, nodes or drivers${positionals.length > 0 ? ` (got '${positionals.join(" ")}')` : ""}`);
  const filter = filterOf(values);
  const limit = limitOf(values.limit);
  const out = (x: unknown, text: () => string) => process.stdout.write(values.json ? JSON.stringify(x, null, 2) + "\n" : text());
  if (what === "tasks") {
    if (filter.state !== undefined && !(TASK_STATES as readonly string[]).includes(filter.state)) throw new UsageError(`unknown task state '${filter.state}' (states: ${TASK_STATES.join(", ")})`);
    const rows = await ask<TaskRecord[]>(values, { what: "tasks", filter, limit });
    out(rows, () => table(["TASK ID", "NAME", "STATE", "NODE", "ISOLATE", "DURATION", "ERROR"], rows.map((t) => [t.taskId, taskName(t), t.state, t.node.slice(0, 8), t.isolate >= 0 ? String(t.isolate) : "-", ms(t.durationMs), t.error ? oneLine(`${t.error.name}: ${t.error.message}`) : ""])));
  } else if (what === "actors") {
    const rows = await ask<ActorRow[]>(values, { what: "actors", filter, limit });
    out(rows, () => table(["ACTOR ID", "CLASS", "NAME", "STATE", "NODE", "RESTARTS", "DEATH"], rows.map((a) => [a.actorId, a.className, a.name ?? "", a.state, a.node.slice(0, 8), String(a.restarts), a.death ? oneLine(a.death) : ""])));
  } else if (what === "objects") {
    // every node's store (drivers included), largest first: what ray.memory() lists, cluster-wide
    const nodes = await ask<NodeMemory[]>(values, { what: "memory", limit });
    let rows = nodes.flatMap((n) => (n.memory?.objects ?? []).map((o) => ({ ...o, node: n.node })));
    for (const [k, v] of Object.entries(filter)) rows = rows.filter((o) => String((o as Record<string, unknown>)[k] ?? "").startsWith(v));
    rows = rows.sort((a, b) => b.size - a.size).slice(0, limit);
    out(rows, () => table(["OBJECT", "NODE", "STATE", "WHERE", "SIZE", "REFS", "PINS"], rows.map((o) => [o.id, o.node.slice(0, 8), o.state, o.where, fmtBytes(o.size), String(o.refs), String(o.pins)])));
  } else {
    filter.driver = what === "drivers" ? "true" : "false";
    const rows = await ask<NodeStatus[]>(values, { what: "nodes", filter, limit });
    out(rows, () =>
      table(
        ["NODE ID", "ADDRESS", "STATE", "HOST", "PID", "RESOURCES", "HEARTBEAT"],
        rows.map((n) => [n.nodeId, n.address, n.state, n.hostname, String(n.pid), Object.entries(n.resources).map(([k, v]) => `${k} ${n.available[k] ?? 0}/${v}`).join(", "), `${n.lastHeartbeatMs} ms ago`]),
      ),
    );
  }
  return 0;
}

export async function summary(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: HEAD_OPTIONS, allowPositionals: true });
  if (positionals.length !== 1 || positionals[0] !== "tasks") throw new UsageError("say what to summarize: tasks");
  const rows = await ask<TaskSummaryRow[]>(values, { what: "summary" });
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  const states = TASK_STATES.filter((s) => rows.some((r) => (r.states[s] ?? 0) > 0));
  process.stdout.write(table(["NAME", "KIND", "TOTAL", ...states.map((s) => s.toUpperCase()), "MEAN", "P50", "P99"], rows.map((r) => [r.name, r.kind, String(r.total), ...states.map((s) => String(r.states[s] ?? 0)), ms(r.meanMs), ms(r.p50Ms), ms(r.p99Ms)])));
  return 0;
}

export async function get(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: HEAD_OPTIONS, allowPositionals: true });
  if (positionals.length !== 2 || positionals[0] !== "task") throw new UsageError("usage: wray get task <id>");
  const id = positionals[1]!;
  if (!/^[0-9a-fA-F]{8,40}$/.test(id)) throw new UsageError(`a task ID is 8 to 32 hex digits (an object ID's first 32), got '${id}'`);
  const t = await ask<TaskRecord | null>(values, { what: "task", id: id.slice(0, 32) });
  if (!t) {
    process.stderr.write(`wray get: no task ${id} (the head keeps the latest tasks of each job; older ones are only counted)\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(t, null, 2) + "\n");
    return 0;
  }
  const lines = [`task ${t.taskId}`, `  name      ${taskName(t)} (${t.kind})`, `  state     ${t.state}`, `  node      ${t.node}`, `  isolate   ${t.isolate}`, `  job       ${t.job || "-"}`, `  attempts  ${t.attempts}`];
  if (t.actor) lines.push(`  actor     ${t.actor}`);
  if (t.durationMs !== undefined) lines.push(`  duration  ${ms(t.durationMs)}`);
  lines.push("  history");
  const times = Object.entries(t.times).sort((a, b) => a[1]! - b[1]!);
  for (const [state, at] of times) lines.push(`    ${new Date(at!).toISOString()}  ${state}`);
  if (t.error) {
    lines.push(`  error     ${t.error.code} ${t.error.name}: ${t.error.message}`);
    if (t.error.stack) lines.push("  guest stack", ...t.error.stack.split("\n").map((l) => `    ${l.trim()}`));
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

export async function timeline(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...HEAD_OPTIONS, output: { type: "string", short: "o" } }, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const events = await ask<TimelineEvent[]>(values, { what: "timeline" });
  const file = values.output ?? `timeline-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ traceEvents: events, displayTimeUnit: "ms" }));
  process.stdout.write(`wrote ${events.length} task runs to ${file} (open it in https://ui.perfetto.dev or chrome://tracing)\n`);
  return 0;
}

const LOG_OPTIONS = { ...HEAD_OPTIONS, actor: { type: "string" }, task: { type: "string" }, node: { type: "string" }, follow: { type: "boolean", short: "f" }, limit: { type: "string" } } as const;


function logLine(l: LogLine): string {
  const where = l.actor ? `${l.actor}.${l.task ?? "?"}` : (l.task ?? "?");
  const level = l.level === "info" ? "" : `${l.level} `;
  return `${new Date(l.time).toISOString().slice(11, 23)} ${l.node.slice(0, 8)} (${where}) ${level}${l.text}`;
}

/** `wray logs`: what guests printed, from the head (the latest lines of each node); --follow asks again every half second. */
export async function logs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: LOG_OPTIONS, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const filter: Record<string, string> = {};
  if (values.actor !== undefined) filter.actor = values.actor;
  if (values.task !== undefined) filter.task = values.task;
  if (values.node !== undefined) filter.node = values.node;
  const limit = limitOf(values.limit ?? "1000");
  let since = 0;
  for (;;) {
    const lines = await ask<LogLine[]>(values, { what: "logs", filter, limit, since });
    for (const l of lines) process.stdout.write(values.json ? JSON.stringify(l) + "\n" : logLine(l) + "\n");
    if (lines.length > 0) since = lines[lines.length - 1]!.seq;
    if (!values.follow) return 0;
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface NodeMemory {
  node: string;
  memory?: { totals: { objects: number; inlineBytes: number; arenaBytes: number; arenaCapacity: number; pinnedBytes: number; spilledBytes: number; spilledBytesTotal: number; restoredBytesTotal: number }; objects: { id: string; state: string; where: string; size: number; refs: number; pins: number }[]; omitted: number };
  error?: string;
}


/** `wray memory`: what `ray.memory()` shows, for every node (drivers included) of the cluster. */
export async function memory(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...HEAD_OPTIONS, limit: { type: "string" } }, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const nodes = await ask<NodeMemory[]>(values, { what: "memory", limit: limitOf(values.limit ?? "20") });
  if (values.json) {
    process.stdout.write(JSON.stringify(nodes, null, 2) + "\n");
    return 0;
  }
  const rows = nodes.map((n) => {
    const t = n.memory?.totals;
    return t ? [n.node, String(t.objects), fmtBytes(t.inlineBytes), fmtBytes(t.arenaBytes), fmtBytes(t.pinnedBytes), fmtBytes(t.spilledBytes), fmtBytes(t.arenaCapacity)] : [n.node, `(no answer: ${n.error ?? "?"})`, "", "", "", "", ""];
  });
  let out = table(["NODE", "OBJECTS", "INLINE", "SHARED", "PINNED", "SPILLED", "CAPACITY"], rows);
  const objects = nodes.flatMap((n) => (n.memory?.objects ?? []).map((o) => ({ ...o, node: n.node }))).sort((a, b) => b.size - a.size);
  if (objects.length > 0) out += "\n" + table(["OBJECT", "NODE", "STATE", "WHERE", "SIZE", "REFS", "PINS"], objects.map((o) => [o.id, o.node.slice(0, 8), o.state, o.where, fmtBytes(o.size), String(o.refs), String(o.pins)]));
  process.stdout.write(out);
  return 0;
}
