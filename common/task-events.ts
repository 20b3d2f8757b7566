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
import { hexToKey, keyToHex } from "./ids.js";

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
  /** For a finish: when its task was sent to its isolate, if no event said so (NaN otherwise). */
  sched: Uint8Array;
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
  /** Jobs kept (past it the oldest job's tasks and counts go). Default 100. */
  maxJobs?: number;
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
  kindNo: number;
  job: string;
  /** Tasks by their latest state (a task moves from one count to the next). */
  states: Float64Array;
  runs: number;
  totalMs: number;
  hist: Uint32Array;
}

/**
 * A job's tasks kept whole, as columns of a ring (no object per task: a
 * task is a slot, its ID a key in `slotOf`); when the ring is full the
 * oldest task's slot is taken for the next. It grows by doubling up to
 * the table's `maxTasksPerJob`.
 */
class JobRing {
  readonly job: string;
  cap = 0;
  /** Slots used so far, and where the next new task goes once it is full. */
  used = 0;
  next = 0;
  keys: string[] = [];
  readonly slotOf = new Map<string, number>();
  state = new Uint8Array(0);
  kind = new Uint8Array(0);
  iso = new Int32Array(0);
  attempts = new Uint16Array(0);
  dur = new Float64Array(0);
  /** TASK_STATES.length times per slot (NaN: not entered). */
  times = new Float64Array(0);
  name: string[] = [];
  node: string[] = [];
  actor: (string | undefined)[] = [];
  error: (TaskEventError | undefined)[] = [];
  stats: FunctionStats[] = [];

  constructor(job: string) {
    this.job = job;
  }

  grow(to: number): void {
    const copy = <T extends Uint8Array | Int32Array | Uint16Array | Float64Array>(a: T, make: new (n: number) => T, per = 1): T => {
      const b = new make(to * per);
      b.set(a);
      return b;
    };
    this.state = copy(this.state, Uint8Array);
    this.kind = copy(this.kind, Uint8Array);
    this.iso = copy(this.iso, Int32Array);
    this.attempts = copy(this.attempts, Uint16Array);
    this.dur = copy(this.dur, Float64Array);
    const times = new Float64Array(to * TASK_STATES.length).fill(NaN);
    times.set(this.times);
    this.times = times;
    this.cap = to;
  }
}

// ---- TaskTable --------------------------------------------------------------------------

export class TaskTable {
  readonly maxTasksPerJob: number;
  readonly maxJobs: number;
  /** Tasks kept whole, by job (in the order jobs were first seen: the oldest job goes first past maxJobs). */
  readonly #jobs = new Map<string, JobRing>();
  /** Counts and histograms by job, then "<kind> <name>". */
  readonly #stats = new Map<string, Map<string, FunctionStats>>();
  /** The latest state of evicted tasks still going (so a later event moves the right count), by key; bounded. */
  readonly #evictedStates = new Map<string, { stats: FunctionStats; state: number }>();
  /** Events nodes dropped (their buffers were full). */
  dropped = 0;
  /** Events taken in. */
  events = 0;
  /** Tasks evicted from the whole records (they remain in the counts). */
  evicted = 0;
  /** Calls seen of each actor, by its ID (32 hex digits); bounded like the jobs. */
  readonly #actorCalls = new Map<string, number>();

  constructor(options: TaskTableOptions = {}) {
    const max = options.maxTasksPerJob ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxTasksPerJob must be an integer >= 1, got ${String(max)}`);
    this.maxTasksPerJob = max;
    this.maxJobs = options.maxJobs ?? 100;
  }

  /** Tasks kept whole now, over every job. */
  get size(): number {
    let n = 0;
    for (const r of this.#jobs.values()) n += r.slotOf.size;
    return n;
  }

  /** Folds a node's batch in (RangeError for a batch whose columns do not agree). */
  ingest(b: TaskEventBatch): void {
    const n = b.n;
    const sizes: [string, Uint8Array, number][] = [["ids", b.ids, 16], ["states", b.states, 1], ["kinds", b.kinds, 1], ["times", b.times, 8], ["isos", b.isos, 4], ["ms", b.ms, 8], ["sched", b.sched, 8], ["nameIx", b.nameIx, 4], ["jobIx", b.jobIx, 4], ["actorIx", b.actorIx, 4]];
    for (const [what, col, size] of sizes) if (col.length !== n * size) throw new RangeError(`a task event batch of ${n} events has ${col.length} bytes of ${what}, not ${n * size}`);
    this.dropped += b.dropped;
    this.events += n;
    const states = b.states;
    const kinds = b.kinds;
    const ids = column(b.ids, Uint16Array, 2);
    const times = column(b.times, Float64Array, 8);
    const isos = column(b.isos, Int32Array, 4);
    const ms = column(b.ms, Float64Array, 8);
    const sched = column(b.sched, Float64Array, 8);
    const nameIx = column(b.nameIx, Uint32Array, 4);
    const jobIx = column(b.jobIx, Uint32Array, 4);
    const actorIx = column(b.actorIx, Uint32Array, 4);
    let e = 0;
    const errors = b.errors;
    let lastJob = -1;
    let ring: JobRing | undefined;
    let job = "";
    for (let i = 0; i < n; i++) {
      // the ID as a key (common/ids.ts): its 16 bytes as 8 UTF-16 units, made in one call
      const j = i << 3;
      const id = String.fromCharCode(ids[j]!, ids[j + 1]!, ids[j + 2]!, ids[j + 3]!, ids[j + 4]!, ids[j + 5]!, ids[j + 6]!, ids[j + 7]!);
      if (jobIx[i] !== lastJob) {
        lastJob = jobIx[i]!;
        // a task with no job is the reporting node's own (a driver's)
        job = lastJob > 0 ? (b.jobs[lastJob - 1] ?? b.node) : b.node;
        ring = this.#ring(job);
      }
      let error: TaskEventError | undefined;
      while (e < errors.length && errors[e]!.at < i) e++;
      if (e < errors.length && errors[e]!.at === i) error = errors[e];
      this.#event(ring!, job, id, b.names[nameIx[i]!] ?? "?", kinds[i]!, states[i]!, times[i]!, isos[i]!, ms[i]!, b.node, actorIx[i]! > 0 ? b.actors[actorIx[i]! - 1] : undefined, error, sched[i]!);
    }
  }

  #ring(job: string): JobRing {
    let r = this.#jobs.get(job);
    if (r) return r;
    if (this.#jobs.size >= this.maxJobs) {
      const oldest = this.#jobs.keys().next().value as string;
      this.dropJob(oldest);
    }
    r = new JobRing(job);
    this.#jobs.set(job, r);
    return r;
  }

  #event(r: JobRing, job: string, id: string, name: string, kind: number, state: number, t: number, iso: number, ms: number, node: string, actor: string | undefined, error: TaskEventError | undefined, scheduled: number): void {
    let slot = r.slotOf.get(id);
    if (slot === undefined) {
      const ev = this.#evictedStates.get(id);
      if (ev) {
        // an evicted task still going: only its count moves
        this.#move(ev.stats, ev.state, state, ms);
        if (state >= EV_FINISHED) this.#evictedStates.delete(id);
        else ev.state = state;
        return;
      }
      slot = this.#newSlot(r);
      const stats = this.#statsOf(job, name, kind);
      r.slotOf.set(id, slot);
      r.keys[slot] = id;
      r.state[slot] = state;
      r.kind[slot] = kind;
      r.iso[slot] = iso;
      r.attempts[slot] = 0;
      r.dur[slot] = NaN;
      r.times.fill(NaN, slot * TASK_STATES.length, (slot + 1) * TASK_STATES.length);
      r.name[slot] = name;
      r.node[slot] = node;
      r.actor[slot] = actor;
      r.error[slot] = undefined;
      r.stats[slot] = stats;
      stats.states[state]!++;
      if (state >= EV_FINISHED) this.#ran(stats, ms);
      if (kind === 2 && actor !== undefined) {
        const a = actor.slice(0, 32);
        const n = this.#actorCalls.get(a);
        if (n === undefined && this.#actorCalls.size >= 100_000) this.#actorCalls.delete(this.#actorCalls.keys().next().value as string);
        this.#actorCalls.set(a, (n ?? 0) + 1);
      }
    } else {
      // events of one task may come from two nodes (its owner's submit, its runner's run) in either order: a state only moves on
      const now = r.state[slot]!;
      if (state > now) {
        this.#move(r.stats[slot]!, now, state, ms);
        r.state[slot] = state;
      }
      if (actor !== undefined) r.actor[slot] = actor;
    }
    r.times[slot * TASK_STATES.length + state] = t;
    if (!Number.isNaN(scheduled)) r.times[slot * TASK_STATES.length + EV_SCHEDULED] = scheduled;
    if (state >= EV_SCHEDULED) {
      r.node[slot] = node;
      r.iso[slot] = iso;
    }
    if (state >= EV_FINISHED) {
      r.dur[slot] = ms;
      r.times[slot * TASK_STATES.length + EV_RUNNING] = t - ms;
      r.attempts[slot]!++;
      if (error) r.error[slot] = error;
    }
  }

  /** A slot for a new task: a free one, or the oldest task's (evicted: it stays in the counts). */
  #newSlot(r: JobRing): number {
    if (r.used < r.cap) return r.used++;
    if (r.cap < this.maxTasksPerJob) {
      r.grow(Math.min(this.maxTasksPerJob, Math.max(256, r.cap * 2)));
      return r.used++;
    }
    const slot = r.next;
    r.next = (slot + 1) % r.cap;
    const old = r.keys[slot]!;
    r.slotOf.delete(old);
    this.evicted++;
    const state = r.state[slot]!;
    if (state < EV_FINISHED) {
      if (this.#evictedStates.size >= EVICTED_TRACKED) this.#evictedStates.delete(this.#evictedStates.keys().next().value as string);
      this.#evictedStates.set(old, { stats: r.stats[slot]!, state });
    }
    return slot;
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
    // runs of events share a function: the last one found is looked at first
    const last = this.#lastStats;
    if (last !== undefined && last.name === name && last.kindNo === kind && last.job === job) return last;
    const s = this.#findStats(job, name, kind);
    this.#lastStats = s;
    return s;
  }

  #lastStats: FunctionStats | undefined;

  #findStats(job: string, name: string, kind: number): FunctionStats {
    let byName = this.#stats.get(job);
    if (!byName) this.#stats.set(job, (byName = new Map()));
    const key = kind === 0 ? name : `${kind} ${name}`;
    let s = byName.get(key);
    if (!s) byName.set(key, (s = { name, kind: TASK_KINDS[kind] ?? "task", kindNo: kind, job, states: new Float64Array(TASK_STATES.length), runs: 0, totalMs: 0, hist: new Uint32Array(H_BUCKETS) }));
    return s;
  }

  /** Calls of actor `actorId` (32 hex digits) the table has seen. */
  actorCalls(actorId: string): number {
    return this.#actorCalls.get(actorId) ?? 0;
  }

  /** Forgets a job's tasks and counts. */
  dropJob(job: string): void {
    this.#jobs.delete(job);
    this.#stats.delete(job);
    this.#lastStats = undefined;
  }

  #record(r: JobRing, slot: number): TaskRecord {
    const times: Partial<Record<TaskState, number>> = {};
    for (let s = 0; s < TASK_STATES.length; s++) {
      const t = r.times[slot * TASK_STATES.length + s]!;
      if (!Number.isNaN(t)) times[TASK_STATES[s]!] = t;
    }
    const rec: TaskRecord = {
      taskId: keyToHex(r.keys[slot]!),
      name: r.name[slot]!,
      kind: TASK_KINDS[r.kind[slot]!] ?? "task",
      state: TASK_STATES[r.state[slot]!]!,
      job: r.job,
      node: r.node[slot]!,
      isolate: r.iso[slot]!,
      times,
      attempts: r.attempts[slot]!,
    };
    const actor = r.actor[slot];
    if (actor !== undefined) rec.actor = actor;
    if (!Number.isNaN(r.dur[slot]!)) rec.durationMs = r.dur[slot]!;
    const err = r.error[slot];
    if (err) rec.error = { code: err.code, name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
    return rec;
  }

  /** Tasks kept whole that match `filter`, newest first, at most `limit`. */
  list(filter: TaskFilter = {}, limit = 100): TaskRecord[] {
    const found: [JobRing, number, number][] = [];
    for (const [job, r] of this.#jobs) {
      if (filter.job !== undefined && job !== filter.job) continue;
      for (const slot of r.slotOf.values()) if (this.#matches(r, slot, filter)) found.push([r, slot, this.#firstTime(r, slot)]);
    }
    found.sort((a, b) => b[2] - a[2]);
    return found.slice(0, limit).map(([r, slot]) => this.#record(r, slot));
  }

  /** One task by its ID (32 hex digits, or a unique prefix of at least 8). */
  get(id: string): TaskRecord | undefined {
    const want = id.toLowerCase();
    if (!/^[0-9a-f]*$/.test(want)) return undefined;
    if (want.length === 32) {
      const key = hexToKey(want);
      for (const r of this.#jobs.values()) {
        const slot = r.slotOf.get(key);
        if (slot !== undefined) return this.#record(r, slot);
      }
      return undefined;
    }
    if (want.length < 8) return undefined;
    let found: [JobRing, number] | undefined;
    for (const r of this.#jobs.values()) {
      for (const [key, slot] of r.slotOf) {
        if (!keyToHex(key).startsWith(want)) continue;
        if (found) return undefined; // not unique
        found = [r, slot];
      }
    }
    return found && this.#record(found[0], found[1]);
  }

  #matches(r: JobRing, slot: number, f: TaskFilter): boolean {
    if (f.state !== undefined && TASK_STATES[r.state[slot]!] !== f.state.toLowerCase()) return false;
    const actor = r.actor[slot];
    const cls = actor?.split(" ")[1];
    if (f.name !== undefined && r.name[slot] !== f.name && !(cls !== undefined && `${cls}.${r.name[slot]}` === f.name)) return false;
    if (f.node !== undefined && !r.node[slot]!.startsWith(f.node)) return false;
    if (f.kind !== undefined && TASK_KINDS[r.kind[slot]!] !== f.kind) return false;
    if (f.actor !== undefined && !(actor !== undefined && (actor.startsWith(f.actor) || cls === f.actor))) return false;
    return true;
  }

  #firstTime(r: JobRing, slot: number): number {
    const at = slot * TASK_STATES.length;
    for (let s = 0; s < TASK_STATES.length; s++) {
      const t = r.times[at + s]!;
      if (!Number.isNaN(t)) return t;
    }
    return 0;
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
    for (const [j, r] of this.#jobs) {
      if (job !== undefined && j !== job) continue;
      for (const [key, slot] of r.slotOf) {
        const start = r.times[slot * TASK_STATES.length + EV_RUNNING]!;
        const dur = r.dur[slot]!;
        if (Number.isNaN(start) || Number.isNaN(dur)) continue;
        const kind = TASK_KINDS[r.kind[slot]!] ?? "task";
        const actor = r.actor[slot];
        const name = actor !== undefined && kind === "actor_method" ? `${actor.split(" ")[1] ?? "?"}.${r.name[slot]}` : r.name[slot]!;
        const err = r.error[slot];
        out.push({
          name,
          cat: kind,
          ph: "X",
          ts: Math.round(start * 1000),
          dur: Math.max(1, Math.round(dur * 1000)),
          pid: `node ${r.node[slot]!.slice(0, 8)}`,
          tid: r.iso[slot]!,
          args: { taskId: keyToHex(key), state: TASK_STATES[r.state[slot]!]!, ...(err ? { error: `${err.name}: ${err.message}` } : {}) },
        });
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }
}

/** Evicted tasks whose later events still move their counts (past it, the oldest are forgotten). */
const EVICTED_TRACKED = 100_000;

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
  /** Calls of it the task events show (the head's count; 0 where they are off). */
  calls?: number;
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
