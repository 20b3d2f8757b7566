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
 *   batches          states, TaskEventBatch (the wire shape), its columns checked (BatchColumns)
 *   records          TaskRecord, TaskFilter, TaskQuery, TaskSummaryRow
 *   generations      a job's tasks as columns, two generations of them; forgotten tasks still going
 *   TaskTable        ingest and fold, queries, summary, timeline
 *   actors           ActorRow, as the state API shows actors
 */
import { IdSlots } from "./id-slots.js";
import { hexToKey } from "./ids.js";

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
  /** When its task was submitted, as its owner saw it (NaN: not known here). */
  submitted: Uint8Array;
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

/** A batch's columns as typed arrays, ready to fold into a TaskTable. */
export interface BatchColumns {
  batch: TaskEventBatch;
  states: Uint8Array;
  kinds: Uint8Array;
  ids: Uint32Array;
  times: Float64Array;
  isos: Int32Array;
  ms: Float64Array;
  sched: Float64Array;
  submitted: Float64Array;
  nameIx: Uint32Array;
  jobIx: Uint32Array;
  actorIx: Uint32Array;
}

/** A batch's columns, checked (RangeError for a batch whose columns do not agree). */
export function batchColumns(b: TaskEventBatch): BatchColumns {
  const n = b.n;
  const sizes: [string, Uint8Array, number][] = [["ids", b.ids, 16], ["states", b.states, 1], ["kinds", b.kinds, 1], ["times", b.times, 8], ["isos", b.isos, 4], ["ms", b.ms, 8], ["sched", b.sched, 8], ["submitted", b.submitted, 8], ["nameIx", b.nameIx, 4], ["jobIx", b.jobIx, 4], ["actorIx", b.actorIx, 4]];
  for (const [what, col, size] of sizes) if (col.length !== n * size) throw new RangeError(`a task event batch of ${n} events has ${col.length} bytes of ${what}, not ${n * size}`);
  return {
    batch: b,
    states: b.states,
    kinds: b.kinds,
    ids: column(b.ids, Uint32Array, 4),
    times: column(b.times, Float64Array, 8),
    isos: column(b.isos, Int32Array, 4),
    ms: column(b.ms, Float64Array, 8),
    sched: column(b.sched, Float64Array, 8),
    submitted: column(b.submitted, Float64Array, 8),
    nameIx: column(b.nameIx, Uint32Array, 4),
    jobIx: column(b.jobIx, Uint32Array, 4),
    actorIx: column(b.actorIx, Uint32Array, 4),
  };
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

/** A question about tasks (the state API's: a list, one task, the summary, the timeline), as the head and an embedded driver's table answer it. */
export interface TaskQuery {
  what: "tasks" | "task" | "summary" | "timeline";
  /** tasks: fields a row must match; summary and timeline: `job` only. */
  filter?: Record<string, string>;
  limit?: number;
  /** task: its ID (hex, or a unique prefix). */
  id?: string;
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

// ---- generations ------------------------------------------------------------------------

/** Times kept per task: one per state. */
const NSTATES = TASK_STATES.length;

/**
 * Tasks as columns (no object per task: a task is a slot, found by its ID
 * in `slots`), slots `0..used-1` in the order their tasks came. It grows
 * by doubling, and is emptied whole for reuse.
 */
class Generation {
  used = 0;
  readonly slots = new IdSlots();
  state = new Uint8Array(0);
  kind = new Uint8Array(0);
  iso = new Int32Array(0);
  attempts = new Uint16Array(0);
  dur = new Float64Array(0);
  /** NSTATES times per slot (NaN: not entered). */
  times = new Float64Array(0);
  name: string[] = [];
  node: string[] = [];
  actor: (string | undefined)[] = [];
  error: (TaskEventError | undefined)[] = [];
  stats: FunctionStats[] = [];

  get cap(): number {
    return this.state.length;
  }

  grow(to: number): void {
    const copy = <T extends Uint8Array | Int32Array | Uint16Array | Float64Array>(a: T, make: new (n: number) => T, per = 1): T => {
      const b = new make(to * per);
      b.set(a);
      return b;
    };
    this.slots.grow(to, this.used);
    this.state = copy(this.state, Uint8Array);
    this.kind = copy(this.kind, Uint8Array);
    this.iso = copy(this.iso, Int32Array);
    this.attempts = copy(this.attempts, Uint16Array);
    this.dur = copy(this.dur, Float64Array);
    this.times = copy(this.times, Float64Array, NSTATES);
  }

  /** Forgets every task (the columns are overwritten as slots are taken again). */
  clear(): void {
    this.used = 0;
    this.slots.clear();
    this.error.fill(undefined);
  }
}

/**
 * A job's tasks kept whole: the newest in `cur`, which fills up (growing
 * by doubling) to the table's maxTasksPerJob; then it becomes `old`, and
 * the previous `old`, emptied, becomes `cur`. The latest maxTasksPerJob
 * tasks — the ones lists show — are all of `cur` and the last
 * `max - cur.used` of `old`. Older ones in `old` still take later events:
 * a task that was evicted while running moves on in its counts, and a
 * finished one's late SUBMITTED (its owner drained after its runner) does
 * not count it again. Nothing is removed one task at a time, so a new
 * task costs two lookups and a few stores.
 */
class JobRing {
  readonly job: string;
  cur = new Generation();
  old: Generation | undefined;

  constructor(job: string) {
    this.job = job;
  }

  /** Tasks kept whole (shown) now. */
  size(max: number): number {
    return this.old ? max : this.cur.used;
  }

  /** The first slot of `old` still shown. */
  get oldFrom(): number {
    return this.cur.used;
  }
}

/**
 * Tasks whose generation was forgotten before they ended: their latest
 * state and counts row, so their later events still move the counts. A
 * ring of at most EVICTED_TRACKED (past it the oldest are forgotten).
 */
class EvictedTasks {
  readonly slots = new IdSlots();
  state = new Uint8Array(0);
  /** undefined: a slot whose task ended (out of the index). */
  stats: (FunctionStats | undefined)[] = [];
  used = 0;
  next = 0;
  /** Tasks tracked now. */
  live = 0;

  add(w0: number, w1: number, w2: number, w3: number, stats: FunctionStats, state: number): void {
    let slot: number;
    const cap = this.slots.capacity;
    if (this.used < cap) slot = this.used++;
    else if (cap < EVICTED_TRACKED) {
      const to = Math.min(EVICTED_TRACKED, Math.max(256, cap * 2));
      this.slots.grow(to, this.used, (s) => this.stats[s] !== undefined);
      const state = new Uint8Array(to);
      state.set(this.state);
      this.state = state;
      slot = this.used++;
    } else {
      // the oldest is forgotten
      slot = this.next;
      this.next = (slot + 1) % cap;
      if (this.stats[slot] !== undefined) this.end(slot);
    }
    this.slots.add(slot, w0, w1, w2, w3);
    this.state[slot] = state;
    this.stats[slot] = stats;
    this.live++;
  }

  /** Forgets slot `slot`'s task (it ended, or is the oldest). */
  end(slot: number): void {
    this.slots.remove(slot);
    this.stats[slot] = undefined;
    this.live--;
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
  /** The latest state of evicted tasks still going (so a later event moves the right count); bounded. */
  readonly #evicted = new EvictedTasks();
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
    for (const r of this.#jobs.values()) n += r.size(this.maxTasksPerJob);
    return n;
  }

  /** Folds a node's batch in (RangeError for a batch whose columns do not agree). */
  ingest(b: TaskEventBatch): void {
    this.fold(batchColumns(b), 0, b.n);
  }

  /** Folds events `from..to-1` of a checked batch in (a big batch may go in slices, between which other work runs). */
  fold(c: BatchColumns, from: number, to: number): void {
    const b = c.batch;
    if (from === 0) this.dropped += b.dropped;
    this.events += to - from;
    const { states, kinds, ids, times, isos, ms, sched, submitted, nameIx, jobIx, actorIx } = c;
    const errors = b.errors;
    let e = 0;
    while (e < errors.length && errors[e]!.at < from) e++;
    let lastJob = -1;
    let ring: JobRing | undefined;
    let job = "";
    for (let i = from; i < to; i++) {
      const j = i << 2;
      if (jobIx[i] !== lastJob) {
        lastJob = jobIx[i]!;
        // a task with no job is the reporting node's own (a driver's)
        job = lastJob > 0 ? (b.jobs[lastJob - 1] ?? b.node) : b.node;
        ring = this.#ring(job);
      }
      let error: TaskEventError | undefined;
      while (e < errors.length && errors[e]!.at < i) e++;
      if (e < errors.length && errors[e]!.at === i) error = errors[e];
      this.#event(ring!, job, ids[j]!, ids[j + 1]!, ids[j + 2]!, ids[j + 3]!, b.names[nameIx[i]!] ?? "?", kinds[i]!, states[i]!, times[i]!, isos[i]!, ms[i]!, b.node, actorIx[i]! > 0 ? b.actors[actorIx[i]! - 1] : undefined, error, sched[i]!, submitted[i]!);
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

  #event(r: JobRing, job: string, w0: number, w1: number, w2: number, w3: number, name: string, kind: number, state: number, t: number, iso: number, ms: number, node: string, actor: string | undefined, error: TaskEventError | undefined, scheduled: number, submitted: number): void {
    let g = r.cur;
    let slot = g.slots.find(w0, w1, w2, w3);
    if (slot < 0 && r.old !== undefined) {
      g = r.old;
      slot = g.slots.find(w0, w1, w2, w3);
    }
    if (slot < 0) {
      const ev = this.#evicted;
      const e = ev.live > 0 ? ev.slots.find(w0, w1, w2, w3) : -1;
      if (e >= 0) {
        // a task forgotten while it was going: only its count moves
        const from = ev.state[e]!;
        if (state > from) {
          this.#move(ev.stats[e]!, from, state, ms);
          ev.state[e] = state;
        }
        if (state >= EV_FINISHED) ev.end(e);
        return;
      }
      g = this.#room(r);
      slot = g.used++;
      const stats = this.#statsOf(job, name, kind);
      g.slots.add(slot, w0, w1, w2, w3);
      g.state[slot] = state;
      g.kind[slot] = kind;
      g.iso[slot] = iso;
      g.attempts[slot] = 0;
      g.dur[slot] = NaN;
      g.times.fill(NaN, slot * NSTATES, (slot + 1) * NSTATES);
      g.name[slot] = name;
      g.node[slot] = node;
      g.actor[slot] = actor;
      g.error[slot] = undefined;
      g.stats[slot] = stats;
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
      const now = g.state[slot]!;
      if (state > now) {
        this.#move(g.stats[slot]!, now, state, ms);
        g.state[slot] = state;
      }
      if (actor !== undefined) g.actor[slot] = actor;
    }
    const at = slot * NSTATES;
    g.times[at + state] = t;
    if (!Number.isNaN(scheduled)) g.times[at + EV_SCHEDULED] = scheduled;
    if (!Number.isNaN(submitted)) g.times[at + EV_SUBMITTED] = submitted;
    if (state >= EV_SCHEDULED) {
      g.node[slot] = node;
      g.iso[slot] = iso;
    }
    if (state >= EV_FINISHED) {
      g.dur[slot] = ms;
      g.times[at + EV_RUNNING] = t - ms;
      g.attempts[slot]!++;
      if (error) g.error[slot] = error;
    }
  }

  /** The generation a new task of `r` goes in: `cur`, grown if it may, or a fresh one (the oldest tasks leave the lists; they stay in the counts). */
  #room(r: JobRing): Generation {
    const cur = r.cur;
    if (r.old !== undefined) this.evicted++;
    if (cur.used < cur.cap) return cur;
    const max = this.maxTasksPerJob;
    if (cur.cap < max) {
      cur.grow(Math.min(max, Math.max(256, cur.cap * 2)));
      return cur;
    }
    // cur is full: it becomes old; the old one is forgotten, its tasks still going tracked for their counts
    const gone = r.old;
    let next: Generation;
    if (gone === undefined) {
      next = new Generation();
      next.grow(max);
      this.evicted++;
    } else {
      const ids = gone.slots.ids;
      for (let s = 0; s < gone.used; s++) {
        const st = gone.state[s]!;
        if (st < EV_FINISHED) this.#evicted.add(ids[s << 2]!, ids[(s << 2) + 1]!, ids[(s << 2) + 2]!, ids[(s << 2) + 3]!, gone.stats[s]!, st);
      }
      gone.clear();
      next = gone;
    }
    r.old = cur;
    r.cur = next;
    return next;
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

  #record(job: string, g: Generation, slot: number): TaskRecord {
    const times: Partial<Record<TaskState, number>> = {};
    for (let s = 0; s < NSTATES; s++) {
      const t = g.times[slot * NSTATES + s]!;
      if (!Number.isNaN(t)) times[TASK_STATES[s]!] = t;
    }
    const rec: TaskRecord = {
      taskId: g.slots.hex(slot),
      name: g.name[slot]!,
      kind: TASK_KINDS[g.kind[slot]!] ?? "task",
      state: TASK_STATES[g.state[slot]!]!,
      job,
      node: g.node[slot]!,
      isolate: g.iso[slot]!,
      times,
      attempts: g.attempts[slot]!,
    };
    const actor = g.actor[slot];
    if (actor !== undefined) rec.actor = actor;
    if (!Number.isNaN(g.dur[slot]!)) rec.durationMs = g.dur[slot]!;
    const err = g.error[slot];
    if (err) rec.error = { code: err.code, name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
    return rec;
  }

  /** Calls `fn` with each task of `r` kept whole (the latest maxTasksPerJob): its generation and slot. */
  #eachShown(r: JobRing, fn: (g: Generation, slot: number) => void): void {
    const old = r.old;
    if (old !== undefined) for (let slot = r.oldFrom; slot < old.used; slot++) fn(old, slot);
    for (let slot = 0; slot < r.cur.used; slot++) fn(r.cur, slot);
  }

  /** The answer to `q` (null for a task not kept). */
  answer(q: TaskQuery): TaskRecord[] | TaskRecord | TaskSummaryRow[] | TimelineEvent[] | null {
    const filter = q.filter ?? {};
    switch (q.what) {
      case "tasks":
        return this.list(filter, q.limit ?? 100);
      case "task":
        return this.get(q.id ?? "") ?? null;
      case "summary":
        return this.summary(filter.job);
      case "timeline":
        return this.timeline(filter.job);
    }
  }

  /** Tasks kept whole that match `filter`, newest first, at most `limit`. */
  list(filter: TaskFilter = {}, limit = 100): TaskRecord[] {
    const found: [string, Generation, number, number][] = [];
    for (const [job, r] of this.#jobs) {
      if (filter.job !== undefined && job !== filter.job) continue;
      this.#eachShown(r, (g, slot) => {
        if (this.#matches(g, slot, filter)) found.push([job, g, slot, this.#firstTime(g, slot)]);
      });
    }
    found.sort((a, b) => b[3] - a[3]);
    return found.slice(0, limit).map(([job, g, slot]) => this.#record(job, g, slot));
  }

  /** One task kept whole by its ID (32 hex digits, or a unique prefix of at least 8). */
  get(id: string): TaskRecord | undefined {
    const want = id.toLowerCase();
    if (!/^[0-9a-f]*$/.test(want) || want.length < 8 || want.length > 32) return undefined;
    const key = want.length === 32 ? hexToKey(want) : undefined;
    let found: TaskRecord | undefined;
    let many = false;
    for (const [job, r] of this.#jobs) {
      if (key !== undefined) {
        // (found by its hash: a lookup, not a scan)
        const c = r.cur.slots.findKey(key);
        if (c >= 0) return this.#record(job, r.cur, c);
        const o = r.old?.slots.findKey(key) ?? -1;
        if (o >= r.oldFrom) return this.#record(job, r.old!, o);
        continue;
      }
      this.#eachShown(r, (g, slot) => {
        if (!g.slots.hex(slot).startsWith(want)) return;
        if (found) many = true;
        found = this.#record(job, g, slot);
      });
    }
    return many ? undefined : found;
  }

  #matches(g: Generation, slot: number, f: TaskFilter): boolean {
    if (f.state !== undefined && TASK_STATES[g.state[slot]!] !== f.state.toLowerCase()) return false;
    const actor = g.actor[slot];
    const cls = actor?.split(" ")[1];
    if (f.name !== undefined && g.name[slot] !== f.name && !(cls !== undefined && `${cls}.${g.name[slot]}` === f.name)) return false;
    if (f.node !== undefined && !g.node[slot]!.startsWith(f.node)) return false;
    if (f.kind !== undefined && TASK_KINDS[g.kind[slot]!] !== f.kind) return false;
    if (f.actor !== undefined && !(actor !== undefined && (actor.startsWith(f.actor) || cls === f.actor))) return false;
    return true;
  }

  #firstTime(g: Generation, slot: number): number {
    const at = slot * NSTATES;
    for (let s = 0; s < NSTATES; s++) {
      const t = g.times[at + s]!;
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
      this.#eachShown(r, (g, slot) => {
        const start = g.times[slot * NSTATES + EV_RUNNING]!;
        const dur = g.dur[slot]!;
        if (Number.isNaN(start) || Number.isNaN(dur)) return;
        const kind = TASK_KINDS[g.kind[slot]!] ?? "task";
        const actor = g.actor[slot];
        const name = actor !== undefined && kind === "actor_method" ? `${actor.split(" ")[1] ?? "?"}.${g.name[slot]}` : g.name[slot]!;
        const err = g.error[slot];
        out.push({
          name,
          cat: kind,
          ph: "X",
          ts: Math.round(start * 1000),
          dur: Math.max(1, Math.round(dur * 1000)),
          pid: `node ${g.node[slot]!.slice(0, 8)}`,
          tid: g.iso[slot]!,
          args: { taskId: g.slots.hex(slot), state: TASK_STATES[g.state[slot]!]!, ...(err ? { error: `${err.name}: ${err.message}` } : {}) },
        });
      });
    }
    return out.sort((a, b) => a.ts - b.ts);
  }
}

/** Forgotten tasks still going whose later events move their counts (past it, the oldest are forgotten for good). */
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
