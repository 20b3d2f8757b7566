/**
 * A node's task event buffer (Ray 2.x's): each task's state transitions
 * as this node sees them — submitted here, waiting for its arguments, sent
 * to an isolate, finished or failed (with the run's duration, isolate and
 * error) — written into fixed columns, a few stores per event, and drained
 * in columnar batches (common/task-events.ts) to the head, or to an
 * embedded driver's table.
 *
 * A task submitted here costs no event at once: its submit time rides
 * with it (TaskSpec.submittedAt, carried to the node that runs it), so
 * its finish says when it was submitted, and a drain records SUBMITTED
 * only for the tasks still pending a drain after they came. A short task
 * costs one event cluster-wide, not two, and the head folds in half as
 * many.
 *
 * The buffer is bounded: past its capacity events are dropped and
 * counted (the batch says how many), never grown; `onHalf` asks for a
 * drain when it is half full, so a drain every second or so keeps up with
 * hundreds of thousands of tasks a second. With `enabled` false, recording
 * is one branch.
 */
import { keyToHex } from "../../common/ids.js";
import type { TaskEventBatch, TaskEventError } from "../../common/task-events.js";
import { EV_SUBMITTED, bytesOf } from "../../common/task-events.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry } from "../../store/index.js";
import { PENDING } from "../../store/index.js";

/** performance.timeOrigin, read once (it is a getter). */
const ORIGIN = performance.timeOrigin;

/** Now, as task events tell time: ms since the epoch. */
export function eventNow(): number {
  return ORIGIN + performance.now();
}

/** Events a node's buffer holds between drains. */
export const TASK_EVENT_CAPACITY = 1 << 16;

/** What a failure says in a task's record: its code, class, message and guest stack. */
export function eventError(err: Error, at: number): TaskEventError {
  const e = err as Error & { code?: unknown; guestName?: unknown; guestMessage?: unknown; guestStack?: unknown };
  const out: TaskEventError = {
    at,
    code: typeof e.code === "string" ? e.code : "WRAY_TASK_ERROR",
    name: typeof e.guestName === "string" && e.guestName ? e.guestName : e.name,
    message: typeof e.guestMessage === "string" ? e.guestMessage : e.message,
  };
  if (typeof e.guestStack === "string" && e.guestStack) out.stack = e.guestStack;
  return out;
}

export class TaskEvents {
  /** Record at all (off: `taskEvents: false`). */
  enabled: boolean;
  /** Called once when the buffer reaches half its capacity (drain it soon). */
  onHalf: () => void = () => {};
  /** Called first thing in a drain (the node records then the tasks still running that no event has shown yet). */
  beforeDrain: () => void = () => {};
  readonly #cap: number;
  #n = 0;
  #dropped = 0;
  readonly #ids: Uint32Array;
  readonly #states: Uint8Array;
  readonly #kinds: Uint8Array;
  readonly #times: Float64Array;
  readonly #isos: Int32Array;
  readonly #ms: Float64Array;
  readonly #sched: Float64Array;
  readonly #submittedAt: Float64Array;
  readonly #names: string[];
  readonly #jobs: (string | undefined)[];
  readonly #actors: (string | undefined)[];
  #errors: { at: number; error: Error }[] = [];
  /**
   * Tasks submitted here, not yet shown submitted nor ended, as columns
   * (no task is held): SUBMITTED is recorded at the first drain after
   * the one they came before for those whose first result is still
   * pending then.
   */
  #nOwned = 0;
  /** When the last drain began (tasks submitted since then are young). */
  #lastDrain = -Infinity;
  readonly #oIds: Uint32Array;
  readonly #oKinds: Uint8Array;
  readonly #oAt: Float64Array;
  readonly #oNames: string[];
  readonly #oJobs: (string | undefined)[];
  readonly #oActors: (string | undefined)[];
  readonly #oResult: (ObjectEntry | undefined)[];

  constructor(enabled = true, capacity = TASK_EVENT_CAPACITY) {
    this.enabled = enabled;
    this.#cap = capacity;
    this.#ids = new Uint32Array(capacity * 4);
    this.#states = new Uint8Array(capacity);
    this.#kinds = new Uint8Array(capacity);
    this.#times = new Float64Array(capacity);
    this.#isos = new Int32Array(capacity);
    this.#ms = new Float64Array(capacity);
    this.#sched = new Float64Array(capacity);
    this.#submittedAt = new Float64Array(capacity);
    this.#oIds = new Uint32Array(capacity * 4);
    this.#oKinds = new Uint8Array(capacity);
    this.#oAt = new Float64Array(capacity);
    this.#oNames = new Array<string>(capacity);
    this.#oJobs = new Array<string | undefined>(capacity);
    this.#oActors = new Array<string | undefined>(capacity);
    this.#oResult = new Array<ObjectEntry | undefined>(capacity);
    this.#names = new Array<string>(capacity);
    this.#jobs = new Array<string | undefined>(capacity);
    this.#actors = new Array<string | undefined>(capacity);
  }

  /** Events waiting to be drained. */
  get length(): number {
    return this.#n;
  }

  /**
   * `task` was submitted here at `at` (now: NaN), calling `actor`'s
   * method, if any. Its SUBMITTED event waits a drain or two, and is
   * recorded only if its first result is still pending then (a task that
   * finished says when it was submitted: TaskSpec.submittedAt, set here).
   */
  submitted(task: TaskSpec, actor?: string, at = NaN): void {
    if (!this.enabled) return;
    const t = Number.isNaN(at) ? ORIGIN + performance.now() : at;
    task.submittedAt = t;
    if (this.#nOwned === this.#oAt.length) this.#settle(Infinity);
    const i = this.#nOwned++;
    const id = task.taskId;
    const w = this.#oIds;
    const j = i << 2;
    w[j] = id.w0;
    w[j + 1] = id.w1;
    w[j + 2] = id.w2;
    w[j + 3] = id.w3;
    this.#oKinds[i] = task.kind;
    this.#oAt[i] = t;
    this.#oNames[i] = task.name;
    this.#oJobs[i] = task.job;
    this.#oActors[i] = actor;
    this.#oResult[i] = task.returns[0];
  }

  /**
   * Records SUBMITTED for the tasks submitted before `cutoff` whose first
   * result is still pending, and forgets them and those that ended; keeps
   * the younger ones still pending (most end before the next drain, and
   * cost nothing).
   */
  #settle(cutoff: number): void {
    const w = this.#oIds;
    let keep = 0;
    for (let i = 0; i < this.#nOwned; i++) {
      // (a result still pending here may be kept by the node that ran it: one event more, the head's table merges them)
      const r = this.#oResult[i];
      const pending = r === undefined || r.state === PENDING;
      const at = this.#oAt[i]!;
      const j = i << 2;
      if (pending && (at < cutoff || r === undefined)) this.#push(w[j]!, w[j + 1]!, w[j + 2]!, w[j + 3]!, this.#oKinds[i]!, this.#oNames[i]!, this.#oJobs[i], EV_SUBMITTED, at, -1, 0, this.#oActors[i], NaN, at);
      else if (pending) {
        if (keep !== i) {
          const k = keep << 2;
          w[k] = w[j]!;
          w[k + 1] = w[j + 1]!;
          w[k + 2] = w[j + 2]!;
          w[k + 3] = w[j + 3]!;
          this.#oKinds[keep] = this.#oKinds[i]!;
          this.#oAt[keep] = at;
          this.#oNames[keep] = this.#oNames[i]!;
          this.#oJobs[keep] = this.#oJobs[i];
          this.#oActors[keep] = this.#oActors[i];
          this.#oResult[keep] = r;
        }
        keep++;
        continue;
      }
      this.#oResult[i] = undefined;
    }
    for (let i = keep; i < this.#nOwned; i++) this.#oResult[i] = undefined;
    this.#nOwned = keep;
  }

  /**
   * `task` entered `state` (EV_*) now (or at `at`, ms since the epoch);
   * `iso` where it runs, `ms` its run's duration (a finish), `actor` its
   * actor ("<id hex> <class>"), `error` why it failed, `scheduled` when it
   * was sent to its isolate, for a finish whose task no event showed
   * scheduled (a task that ran between two drains costs one event here,
   * not two).
   */
  record(task: TaskSpec, state: number, iso = -1, ms = 0, actor?: string, error?: Error, at = NaN, scheduled = NaN): void {
    if (!this.enabled) return;
    const id = task.taskId;
    const i = this.#push(id.w0, id.w1, id.w2, id.w3, task.kind, task.name, task.job, state, Number.isNaN(at) ? ORIGIN + performance.now() : at, iso, ms, actor, scheduled, task.submittedAt);
    if (error !== undefined && i >= 0) this.#errors.push({ at: i, error });
  }

  /** One event into the columns: its index, or -1 when the buffer is full (it is dropped and counted). */
  #push(w0: number, w1: number, w2: number, w3: number, kind: number, name: string, job: string | undefined, state: number, at: number, iso: number, ms: number, actor: string | undefined, scheduled: number, submitted: number): number {
    const i = this.#n;
    if (i >= this.#cap) {
      this.#dropped++;
      return -1;
    }
    this.#n = i + 1;
    const w = this.#ids;
    const j = i << 2;
    w[j] = w0;
    w[j + 1] = w1;
    w[j + 2] = w2;
    w[j + 3] = w3;
    this.#states[i] = state;
    this.#kinds[i] = kind;
    this.#times[i] = at;
    this.#sched[i] = scheduled;
    this.#submittedAt[i] = submitted;
    this.#isos[i] = iso;
    this.#ms[i] = ms;
    this.#names[i] = name;
    this.#jobs[i] = job;
    this.#actors[i] = actor;
    if (i + 1 === this.#cap >> 1) this.onHalf();
    return i;
  }

  /**
   * The events so far as a batch from `node` (undefined: none), and an
   * empty buffer. A task submitted since the last drain and still pending
   * waits for the next one to be shown submitted (it likely ends by then:
   * its finish says when it was submitted), unless `everything` (a query
   * is about to read the table).
   */
  drain(node: string, everything = false): TaskEventBatch | undefined {
    if (this.enabled) {
      const now = ORIGIN + performance.now();
      this.#settle(everything ? Infinity : this.#lastDrain);
      this.#lastDrain = now;
      this.beforeDrain();
    }
    const n = this.#n;
    if (n === 0 && this.#dropped === 0) return undefined;
    const names = new Interner(0);
    const jobs = new Interner(1);
    const actors = new Interner(1);
    const nameIx = new Uint32Array(n);
    const jobIx = new Uint32Array(n);
    const actorIx = new Uint32Array(n);
    const nameCol = this.#names;
    const jobCol = this.#jobs;
    const actorCol = this.#actors;
    for (let i = 0; i < n; i++) {
      nameIx[i] = names.index(nameCol[i]);
      jobIx[i] = jobs.index(jobCol[i]);
      actorIx[i] = actors.index(actorCol[i]);
    }
    // (the string columns keep their references until overwritten: a drain costs no clearing pass)
    const batch: TaskEventBatch = {
      node,
      n,
      ids: bytesOf(this.#ids, n * 16).slice(),
      states: this.#states.slice(0, n),
      kinds: this.#kinds.slice(0, n),
      times: bytesOf(this.#times, n * 8).slice(),
      isos: bytesOf(this.#isos, n * 4).slice(),
      ms: bytesOf(this.#ms, n * 8).slice(),
      sched: bytesOf(this.#sched, n * 8).slice(),
      submitted: bytesOf(this.#submittedAt, n * 8).slice(),
      names: names.values,
      nameIx: bytesOf(nameIx, n * 4),
      jobs: jobs.values,
      jobIx: bytesOf(jobIx, n * 4),
      actors: actors.values,
      actorIx: bytesOf(actorIx, n * 4),
      errors: this.#errors.map((x) => eventError(x.error, x.at)),
      dropped: this.#dropped,
    };
    this.#n = 0;
    this.#dropped = 0;
    this.#errors = [];
    return batch;
  }
}

/**
 * A string column's table: each distinct value once, events by index
 * (from `base`: 1 leaves 0 for none). Runs of events share their strings,
 * so a value like the last one is not looked up again.
 */
class Interner {
  readonly values: string[] = [];
  readonly #of = new Map<string, number>();
  readonly #base: number;
  #last: string | undefined;
  #lastIx = 0;

  constructor(base: number) {
    this.#base = base;
  }

  index(v: string | undefined): number {
    if (v === undefined) return 0;
    if (v === this.#last) return this.#lastIx;
    let x = this.#of.get(v);
    if (x === undefined) this.#of.set(v, (x = this.values.push(v) - 1 + this.#base));
    this.#last = v;
    this.#lastIx = x;
    return x;
  }
}

/** How an actor is named in task events: "<id hex> <class>". */
export function eventActor(key: string, className: string): string {
  return `${keyToHex(key)} ${className}`;
}
