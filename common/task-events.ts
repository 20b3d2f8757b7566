/**
 * Task events (Ray 2.x's task event buffer) as they travel and as they are
 * kept: nodes record each task's state transitions in a bounded buffer
 * (host/node/task-events.ts) and ship them in columnar batches; the head
 * (or, embedded, the driver) folds them into a TaskTable, which keeps the
 * latest `maxTasksPerJob` tasks of each job whole and only counts and
 * duration histograms for all of them, so its memory stays bounded over
 * any number of tasks. The table answers the state API: lists, one task,
 * summaries and the timeline.
 *
 * This file's parts:
 *   batches          states, TaskEventBatch (the wire shape), its columns
 *   records          TaskRecord, TaskFilter, TaskSummaryRow
 *   TaskTable        ingest, eviction, queries, summary, timeline
 */
import { bytesToHex } from "./ids.js";

// ---- batches ----------------------------------------------------------------------------

/** A task's states, in the order they come. */
export const TASK_STATES = ["submitted", "pending_args", "scheduled", "running", "finished", "failed"] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const EV_SUBMITTED = 0;
export const EV_PENDING_ARGS = 1;
export const EV_SCHEDULED = 2;
/** (no event of its own: a finish says when the run started, from its duration) */
export const EV_RUNNING = 3;
export const EV_FINISHED = 4;
export const EV_FAILED = 5;

export const TASK_KINDS = ["task", "actor_creation", "actor_method"] as const;

/** One failure in a batch: the event it belongs to and the error. */
export interface TaskEventError {
  at: number;
  code: string;
  name: string;
  message: string;
  /** The guest's stack, mapped to its sources, when it has one. */
  stack?: string;
}

/**
 * A batch of events from one node, columnar (typed arrays as their
 * little-endian bytes, so a batch of 100,000 events encodes as a few
 * copies): event `i` is task `ids[16i..16i+16]`, in state `states[i]` at
 * time `times[i]` (ms since the Unix epoch), on isolate `isos[i]`, and for
 * a finish its run took `ms[i]`. Names, jobs and actors are tables indexed
 * by `nameIx`, `jobIx` (0: none) and `actorIx` (0: none).
 */
export interface TaskEventBatch {
  node: string;
  n: number;
  ids: Uint8Array;
  states: Uint8Array;
  kinds: Uint8Array;
  times: Uint8Array;
  isos: Uint8Array;
  ms: Uint8Array;
  names: string[];
  nameIx: Uint8Array;
  jobs: string[];
  jobIx: Uint8Array;
  /** Actors as "<id hex> <class>". */
  actors: string[];
  actorIx: Uint8Array;
  errors: TaskEventError[];
  /** Events the node's buffer had no room for since its last batch. */
  dropped: number;
}

/** A typed array's bytes (a view, no copy). */
export function bytesOf(a: ArrayBufferView, n: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, n);
}

/** The bytes of a column as a typed array (copied when unaligned, as bytes off the wire may be). */
function column<T>(b: Uint8Array, make: new (buf: ArrayBuffer, off: number, len: number) => T, size: number): T {
  // (a copy by the Uint8Array constructor: a Node Buffer's slice() would be a view at the same offset)
  const aligned = b.byteOffset % size === 0 ? b : new Uint8Array(b);
  return new make(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.length / size);
}

// ---- records ----------------------------------------------------------------------------

/** One task as the state API shows it. */
export interface TaskRecord {
  taskId: string;
  name: string;
  kind: (typeof TASK_KINDS)[number];
  state: TaskState;
  /** The driver whose program it belongs to (its node ID; "local" embedded). */
  job: string;
  /** The node that ran it (or last reported it). */
  node: string;
  isolate: number;
  /** The actor, for a method or a constructor: "<id hex> <class>". */
  actor?: string;
  /** When it entered each state it went through, ms since the epoch. */
  times: Partial<Record<TaskState, number>>;
  /** How long its run took, ms. */
  durationMs?: number;
  error?: Omit<TaskEventError, "at">;
  /** Times it ran (retries count). */
  attempts: number;
}

/** What a list of tasks keeps: each given field must match. */
export interface TaskFilter {
  state?: string;
  name?: string;
  job?: string;
  node?: string;
  kind?: string;
  actor?: string;
}

export interface TaskSummaryRow {
  name: string;
  kind: string;
  /** Tasks by their latest state. */
  states: Partial<Record<TaskState, number>>;
  total: number;
  /** Run times of the finished and failed ones, ms (p50/p99 from a histogram: within 10%). */
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface TimelineEvent {
  name: string;
  cat: string;
  ph: "X";
  /** µs since the epoch. */
  ts: number;
  dur: number;
  pid: string;
  tid: number;
  args: Record<string, unknown>;
}

export interface TaskTableOptions {
  /** Tasks of each job kept whole (older ones only count in the summary). Default 10,000. */
  maxTasksPerJob?: number;
}

// A duration histogram: bucket b holds durations in [BASE * GROWTH^(b-1), BASE * GROWTH^b) ms (b 0: below BASE).
const H_BASE = 0.001;
const H_GROWTH = 1.1;
const H_BUCKETS = 240; // up to ~1e7 s
const LOG_GROWTH = Math.log(H_GROWTH);

function bucketOf(ms: number): number {
  if (!(ms > H_BASE)) return 0;
  return Math.min(H_BUCKETS - 1, 1 + Math.floor(Math.log(ms / H_BASE) / LOG_GROWTH));
}

/** A bucket's middle, ms. */
function bucketValue(b: number): number {
  return b === 0 ? H_BASE / 2 : H_BASE * Math.pow(H_GROWTH, b - 0.5);
}

interface FunctionStats {
  name: string;
  kind: string;
  /** Tasks by their latest state (a task moves from one count to the next). */
  states: Float64Array;
  runs: number;
  totalMs: number;
  hist: Uint32Array;
}

/** What the table keeps of one task: the record, and its stats row. */
interface Kept {
  rec: TaskRecord;
  stats: FunctionStats;
}

// ---- TaskTable --------------------------------------------------------------------------

export class TaskTable {
  readonly maxTasksPerJob: number;
  /** Tasks kept whole, by job, in the order they were first seen (the oldest is evicted first). */
  readonly #jobs = new Map<string, Map<string, Kept>>();
  /** Counts and histograms by job, then "<kind> <name>". */
  readonly #stats = new Map<string, Map<string, FunctionStats>>();
  /** The latest state of evicted tasks still running (so a later event moves the right count): by task ID. */
  readonly #evictedStates = new Map<string, { stats: FunctionStats; state: number }>();
  /** Events nodes dropped (their buffers were full). */
  dropped = 0;
  /** Events taken in. */
  events = 0;
  /** Tasks evicted from the whole records (they remain in the counts). */
  evicted = 0;

  constructor(options: TaskTableOptions = {}) {
    const max = options.maxTasksPerJob ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxTasksPerJob must be an integer >= 1, got ${String(max)}`);
    this.maxTasksPerJob = max;
  }

  /** Tasks kept whole now, over every job. */
  get size(): number {
    let n = 0;
    for (const m of this.#jobs.values()) n += m.size;
    return n;
  }

  /** Folds a node's batch in. */
  ingest(b: TaskEventBatch): void {
    const n = b.n;
    const sizes: [string, Uint8Array, number][] = [["ids", b.ids, 16], ["states", b.states, 1], ["kinds", b.kinds, 1], ["times", b.times, 8], ["isos", b.isos, 4], ["ms", b.ms, 8], ["nameIx", b.nameIx, 4], ["jobIx", b.jobIx, 4], ["actorIx", b.actorIx, 4]];
    for (const [what, col, size] of sizes) if (col.length !== n * size) throw new RangeError(`a task event batch of ${n} events has ${col.length} bytes of ${what}, not ${n * size}`);
    this.dropped += b.dropped;
    this.events += n;
    const states = b.states;
    const kinds = b.kinds;
    const times = column(b.times, Float64Array, 8);
    const isos = column(b.isos, Int32Array, 4);
    const ms = column(b.ms, Float64Array, 8);
    const nameIx = column(b.nameIx, Uint32Array, 4);
    const jobIx = column(b.jobIx, Uint32Array, 4);
    const actorIx = column(b.actorIx, Uint32Array, 4);
    let e = 0;
    const errors = b.errors;
    for (let i = 0; i < n; i++) {
      const id = bytesToHex(b.ids, i * 16, 16);
      // a task with no job is the reporting node's own (a driver's)
      const job = jobIx[i]! > 0 ? (b.jobs[jobIx[i]! - 1] ?? b.node) : b.node;
      const state = states[i]!;
      let error: TaskEventError | undefined;
      while (e < errors.length && errors[e]!.at < i) e++;
      if (e < errors.length && errors[e]!.at === i) error = errors[e];
      this.#event(id, job, b.names[nameIx[i]!] ?? "?", kinds[i]!, state, times[i]!, isos[i]!, ms[i]!, b.node, actorIx[i]! > 0 ? b.actors[actorIx[i]! - 1] : undefined, error);
    }
  }

  #event(id: string, job: string, name: string, kind: number, state: number, t: number, iso: number, ms: number, node: string, actor: string | undefined, error: TaskEventError | undefined): void {
    let tasks = this.#jobs.get(job);
    if (!tasks) this.#jobs.set(job, (tasks = new Map()));
    let k = tasks.get(id);
    if (!k) {
      const ev = this.#evictedStates.get(id);
      if (ev) {
        // an evicted task still going: only its count moves
        this.#move(ev.stats, ev.state, state, ms);
        if (state >= EV_FINISHED) this.#evictedStates.delete(id);
        else ev.state = state;
        return;
      }
      const stats = this.#statsOf(job, name, kind);
      const rec: TaskRecord = { taskId: id, name, kind: TASK_KINDS[kind] ?? "task", state: TASK_STATES[state]!, job, node, isolate: iso, times: {}, attempts: 0 };
      k = { rec, stats };
      tasks.set(id, k);
      stats.states[state]!++;
      if (state >= EV_FINISHED) this.#ran(stats, ms);
      if (tasks.size > this.maxTasksPerJob) this.#evictOldest(tasks);
    } else {
      // events of one task may come from two nodes (its owner's submit, its runner's run) in either order: a state only moves on
      const now = TASK_STATES.indexOf(k.rec.state);
      if (state > now) {
        this.#move(k.stats, now, state, ms);
        k.rec.state = TASK_STATES[state]!;
      }
    }
    const rec = k.rec;
    rec.times[TASK_STATES[state]!] = t;
    if (state >= EV_SCHEDULED) {
      rec.node = node;
      rec.isolate = iso;
    }
    if (state >= EV_FINISHED) {
      rec.durationMs = ms;
      rec.times.running = t - ms;
      rec.attempts++;
      if (error) rec.error = { code: error.code, name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
    }
    if (actor !== undefined) rec.actor = actor;
  }

  /** A task moves from state `from` to `to` in its row's counts. */
  #move(stats: FunctionStats, from: number, to: number, ms: number): void {
    if (from === to) return;
    stats.states[from]!--;
    stats.states[to]!++;
    if (to >= EV_FINISHED) this.#ran(stats, ms);
  }

  #ran(stats: FunctionStats, ms: number): void {
    stats.runs++;
    stats.totalMs += ms;
    stats.hist[bucketOf(ms)]!++;
  }

  #statsOf(job: string, name: string, kind: number): FunctionStats {
    let byName = this.#stats.get(job);
    if (!byName) this.#stats.set(job, (byName = new Map()));
    const key = `${kind} ${name}`;
    let s = byName.get(key);
    if (!s) byName.set(key, (s = { name, kind: TASK_KINDS[kind] ?? "task", states: new Float64Array(TASK_STATES.length), runs: 0, totalMs: 0, hist: new Uint32Array(H_BUCKETS) }));
    return s;
  }

  #evictOldest(tasks: Map<string, Kept>): void {
    const first = tasks.keys().next().value as string;
    const k = tasks.get(first)!;
    tasks.delete(first);
    this.evicted++;
    const state = TASK_STATES.indexOf(k.rec.state);
    if (state < EV_FINISHED) this.#evictedStates.set(first, { stats: k.stats, state });
  }

  /** Forgets a job's tasks and counts (its driver left long ago). */
  dropJob(job: string): void {
    this.#jobs.delete(job);
    this.#stats.delete(job);
  }

  /** Tasks kept whole that match `filter`, newest first, at most `limit`. */
  list(filter: TaskFilter = {}, limit = 100): TaskRecord[] {
    const out: TaskRecord[] = [];
    const jobs = filter.job !== undefined ? [this.#jobs.get(filter.job)].filter((m) => m !== undefined) : [...this.#jobs.values()];
    const all: TaskRecord[] = [];
    for (const m of jobs) for (const k of m.values()) if (matches(k.rec, filter)) all.push(k.rec);
    all.sort((a, b) => firstTime(b) - firstTime(a));
    for (const r of all) {
      if (out.length >= limit) break;
      out.push(r);
    }
    return out;
  }

  /** One task by its ID (32 hex digits, or a unique prefix of at least 8). */
  get(id: string): TaskRecord | undefined {
    const want = id.toLowerCase();
    let found: TaskRecord | undefined;
    for (const m of this.#jobs.values()) {
      const exact = m.get(want);
      if (exact) return exact.rec;
      if (want.length < 8) continue;
      for (const [k, v] of m) {
        if (!k.startsWith(want)) continue;
        if (found) return undefined; // not unique
        found = v.rec;
      }
    }
    return found;
  }

  /** Counts by function and state, and run-time statistics, over every task seen (evicted ones included). */
  summary(job?: string): TaskSummaryRow[] {
    const rows = new Map<string, { name: string; kind: string; states: Float64Array; runs: number; totalMs: number; hist: Uint32Array }>();
    for (const [j, byName] of this.#stats) {
      if (job !== undefined && j !== job) continue;
      for (const [key, s] of byName) {
        let r = rows.get(key);
        if (!r) rows.set(key, (r = { name: s.name, kind: s.kind, states: new Float64Array(TASK_STATES.length), runs: 0, totalMs: 0, hist: new Uint32Array(H_BUCKETS) }));
        for (let i = 0; i < s.states.length; i++) r.states[i]! += s.states[i]!;
        r.runs += s.runs;
        r.totalMs += s.totalMs;
        for (let i = 0; i < H_BUCKETS; i++) r.hist[i]! += s.hist[i]!;
      }
    }
    const out: TaskSummaryRow[] = [];
    for (const r of rows.values()) {
      const states: Partial<Record<TaskState, number>> = {};
      let total = 0;
      for (let i = 0; i < r.states.length; i++) {
        if (r.states[i]! > 0) states[TASK_STATES[i]!] = r.states[i]!;
        total += r.states[i]!;
      }
      out.push({ name: r.name, kind: r.kind, states, total, meanMs: r.runs > 0 ? r.totalMs / r.runs : 0, p50Ms: quantile(r.hist, r.runs, 0.5), p99Ms: quantile(r.hist, r.runs, 0.99) });
    }
    return out.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  }

  /**
   * Chrome trace events (the Trace Event Format's complete events): one per
   * run of a task kept whole, on its node (pid) and isolate (tid) lane.
   */
  timeline(job?: string): TimelineEvent[] {
    const out: TimelineEvent[] = [];
    for (const [j, m] of this.#jobs) {
      if (job !== undefined && j !== job) continue;
      for (const { rec } of m.values()) {
        const start = rec.times.running;
        if (start === undefined || rec.durationMs === undefined) continue;
        const name = rec.actor !== undefined && rec.kind === "actor_method" ? `${rec.actor.split(" ")[1] ?? "?"}.${rec.name}` : rec.name;
        out.push({
          name,
          cat: rec.kind,
          ph: "X",
          ts: Math.round(start * 1000),
          dur: Math.max(1, Math.round(rec.durationMs * 1000)),
          pid: `node ${rec.node.slice(0, 8)}`,
          tid: rec.isolate,
          args: { taskId: rec.taskId, state: rec.state, ...(rec.error ? { error: `${rec.error.name}: ${rec.error.message}` } : {}) },
        });
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }
}

function matches(r: TaskRecord, f: TaskFilter): boolean {
  if (f.state !== undefined && r.state !== f.state.toLowerCase()) return false;
  if (f.name !== undefined && r.name !== f.name && !(r.actor !== undefined && `${r.actor.split(" ")[1]}.${r.name}` === f.name)) return false;
  if (f.node !== undefined && !r.node.startsWith(f.node)) return false;
  if (f.kind !== undefined && r.kind !== f.kind) return false;
  if (f.actor !== undefined && !(r.actor !== undefined && (r.actor.startsWith(f.actor) || r.actor.split(" ")[1] === f.actor))) return false;
  return true;
}

function firstTime(r: TaskRecord): number {
  return r.times.submitted ?? r.times.scheduled ?? r.times.running ?? r.times.finished ?? r.times.failed ?? 0;
}

function quantile(hist: Uint32Array, n: number, q: number): number {
  if (n === 0) return 0;
  const rank = Math.ceil(q * n);
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b]!;
    if (seen >= rank) return bucketValue(b);
  }
  return bucketValue(hist.length - 1);
}

// ---- actors -----------------------------------------------------------------------------

/** One actor as the state API shows it. */
export interface ActorRow {
  actorId: string;
  className: string;
  name?: string;
  state: string;
  node: string;
  job: string;
  restarts: number;
  death?: string;
  detached?: boolean;
}

/** Whether `a` matches each given field (state, class, name, node, job). */
export function actorRowMatches(a: ActorRow, f: Record<string, string>): boolean {
  if (f.state !== undefined && a.state !== f.state) return false;
  if ((f.class ?? f.className) !== undefined && a.className !== (f.class ?? f.className)) return false;
  if (f.name !== undefined && a.name !== f.name) return false;
  if (f.node !== undefined && !a.node.startsWith(f.node)) return false;
  if (f.job !== undefined && a.job !== f.job) return false;
  return true;
}

/** An actor's row from its parts. */
export function eventActorRow(actorId: string, className: string, name: string | undefined, state: string, node: string, restarts: number, death: string | undefined): ActorRow {
  const row: ActorRow = { actorId, className, state, node, job: "", restarts };
  if (name !== undefined) row.name = name;
  if (death !== undefined) row.death = death;
  return row;
}
