/**
 * The local scheduler of one node: decides which isolate runs which task,
 * and when.
 *
 * Design assumptions and rules:
 * - Resources are held by *leases*. An isolate that takes a task of some
 *   resource shape acquires that shape once and may then run further tasks
 *   of the same shape back to back (Ray's worker leases). Tasks are
 *   pipelined into the isolate's ring so it never waits for the host
 *   between tasks; the depth is chosen so that about `pipelineTargetMs` of
 *   work is queued there (measured per function, rounded up, so a task
 *   shorter than that always has one behind it), 1 for nested tasks.
 *   Work spreads before it deepens: every idle isolate that can get a lease
 *   takes one task first, then pipelines fill, the shortest first.
 * - A running task strands nothing behind it. A pipeline is not deepened
 *   while its head runs past what its function's measured time predicts
 *   (it is *overdue*), and an idle isolate steals the tasks another has not
 *   started (all of them from an overdue isolate, half otherwise, from the
 *   back) through the executor, which takes them out of that isolate's ring
 *   before it claims them. If a CPU that fits them is free but no isolate
 *   is idle, the pool grows so that one can steal.
 * - Queues are FIFO per shape, and shapes are served in the order their
 *   oldest tasks were submitted: when the oldest waiting task does not fit
 *   *but would once the running tasks' leases drain*, younger tasks of
 *   other shapes neither take new leases nor keep feeding theirs, so the
 *   leases drain and the older task gets its resources (no starvation of
 *   large requests by a stream of small ones). A task whose shortfall is
 *   held by actors (reservations, held for life) holds nothing back: it
 *   waits, and `stats().waiting` / `stalls()` say for what and who holds it.
 * - An isolate that blocks in `get`/`wait` first gives back the tasks it
 *   has not started (they go back to the front of their queues). If one of
 *   the objects it waits for is the result of a queued task that fits its
 *   lease, it runs that task itself, nested (the way work-stealing runtimes
 *   help while they wait): no thread switch, no extra isolate, no deadlock
 *   for trees of nested tasks. Otherwise it parks and lends its resources
 *   out until its call is answered, when it takes them back even if that
 *   oversubscribes the node for a while (as Ray does).
 * - When runnable tasks fit the free resources but no isolate is idle, a
 *   parked isolate runs one nested if the task descends from a task on that
 *   isolate's stack (the work it waits for, or part of it: such a task
 *   cannot need the waiting task's own result, so lending it cannot
 *   deadlock); otherwise the pool grows; at its limit, any parked isolate
 *   is lent the task. So the pool grows only for what blocked tasks need.
 * - A task whose demand exceeds the node's total is rejected at once
 *   (single node: nothing else could ever run it).
 * - Actors hold resources for their lifetime through reservations, which
 *   take their turn in the same submission order as tasks (under the same
 *   drain rule).
 *
 * This file's parts:
 *   types                Executor (the node's hands), stats, resource waits
 *   tasks                submit (arguments resolved by resolve.ts), queues per shape
 *   reservations         actors' resources, held for life
 *   isolates             leases, finished/blocked/resumed, parking and lending
 *   the scheduling pass  oldest shape first; spread, then pipeline; steal from overdue isolates
 */
import { keyToHex, taskKeyOfObject } from "../common/ids.js";
import type { ObjectTable } from "../store/index.js";
import type { Watch } from "./resolve.js";
import { awaitDeps, depFailure } from "./resolve.js";
import { Deque } from "./deque.js";
import { InfeasibleTaskError } from "./errors.js";
import type { Shape } from "./resources.js";
import { ResourcePool, UNIT, within } from "./resources.js";
import type { TaskSpec } from "./task.js";
import { cancelledBy } from "./task.js";

/** What the scheduler needs from the isolate pool (host/isolate/pool.ts implements it). */
export interface Executor {
  /** Appends `task` to isolate `iso`'s pipeline. False when its ring has no room now. */
  send(iso: number, task: TaskSpec): boolean;
  /** Answers isolate `iso`'s blocking call with "run `task` now, nested". */
  lend(iso: number, task: TaskSpec): void;
  /** Can isolate `iso` run `task` nested now (it has the task's component loaded)? */
  canLend(iso: number, task: TaskSpec): boolean;
  /** Starts one more isolate if the pool may; it reports back through `addIsolate`. */
  grow(): boolean;
  /**
   * Takes `task` back from isolate `iso`'s pipeline if the isolate has not
   * started it; false once it has (then every task sent before it has
   * started too).
   */
  steal(iso: number, task: TaskSpec): boolean;
  /** Ends a task that will not run (infeasible, a failed argument). */
  reject(task: TaskSpec, error: Error): void;
}

export interface LocalSchedulerOptions {
  /** The node's resources, e.g. `{ CPU: 2, GPU: 0, foo: 1 }`. */
  resources: Record<string, number>;
  /** Work (by measured duration) to keep queued in each isolate's ring. Default 2 ms. */
  pipelineTargetMs?: number;
  /** Most tasks in one isolate's ring. Default 512. */
  maxPipeline?: number;
  /** The clock, ms (default performance.now; tests pass their own). */
  now?: () => number;
}

interface Reservation {
  readonly shape: Shape;
  readonly seq: number;
  readonly granted: () => void;
  /** Who holds it, for the "held by" of waits (e.g. "actor Gate 3f2a9c01"). */
  readonly holder: string;
  /** When it first could not be granted (NaN while it never waited). */
  waitingSince: number;
  reported: boolean;
}

interface Queue {
  readonly shape: Shape;
  readonly tasks: Deque<TaskSpec>;
  /** Since when its oldest task has not fitted (NaN while it fits). */
  waitingSince: number;
  /** The current wait was reported by `stalls()`. */
  reported: boolean;
  /** The pass `drains` was worked out in (see #drainable). */
  drainPass: number;
  drains: boolean;
}

interface IsolateState {
  readonly id: number;
  /** The shape this isolate holds a lease for. */
  lease: Shape | undefined;
  /** The lease's resources are lent out (blocked and parked). */
  parked: boolean;
  /** Its innermost call may be given work to run nested (it has no deadline). */
  lendable: boolean;
  /** Blocking calls open on it (nested tasks may block too); while > 0 it reads no ring. */
  calls: number;
  /** Sent through the ring, oldest first; [0] is running or next. */
  readonly pipeline: Deque<TaskSpec>;
  /** Tasks it runs nested while waiting, innermost last. */
  readonly nested: TaskSpec[];
  /** When it last became idle: NaN until `retireIdle` first sees it idle (no clock read per task). */
  idleSince: number;
  /** When the head of its pipeline became the head (it started about then); NaN until a look reads the clock. */
  headSince: number;
  /** Looks at its head since it became the head (see #overdue). */
  headLooks: number;
}

/** One resource a waiting task or actor lacks, and who holds it. */
export interface ResourceShortfall {
  resource: string;
  needs: number;
  available: number;
  total: number;
  /** The holders: actors by name, and running tasks as a count ("2 running tasks"). */
  heldBy: string[];
}

/** Tasks of one shape (or one actor) that wait for resources that are not free. */
export interface ResourceWait {
  /** "task 'name'" (the oldest waiting task of its shape) or "actor Class". */
  what: string;
  /** How many tasks of this shape wait (1 for an actor). */
  count: number;
  /** The demand, e.g. "CPU=1,gate=1". */
  shape: string;
  /** How long the oldest has waited, ms. */
  waitingMs: number;
  /** True when it waits for actors to release resources (it holds nothing back). */
  heldByActors: boolean;
  shortfall: ResourceShortfall[];
}

export interface SchedulerStats {
  queued: number;
  waitingForArgs: number;
  isolates: number;
  idle: number;
  parked: number;
  resources: { total: Record<string, number>; available: Record<string, number> };
  /** What waits for resources that are not free now, and who holds them. */
  waiting: ResourceWait[];
}

const UNKNOWN_DURATION_DEPTH = 4;
/** How often a pipeline's head is looked at before the clock is (see #overdue). */
const LOOKS_BEFORE_CLOCK = 8;

export class LocalScheduler {
  readonly resources: ResourcePool;
  readonly #objects: ObjectTable;
  readonly #watch: Watch;
  readonly #executor: Executor;
  readonly #targetMs: number;
  readonly #maxPipeline: number;
  readonly #now: () => number;
  readonly #queues = new Map<string, Queue>();
  /** Queued tasks that running guests submitted, by task key, for helping. */
  readonly #queuedNested = new Map<string, TaskSpec>();
  readonly #isolates = new Map<number, IsolateState>();
  readonly #idle: number[] = [];
  #queued = 0;
  #waitingForArgs = 0;
  /** Submission order, for fairness between shapes. */
  #seq = 0;
  readonly #reservations = new Deque<Reservation>();
  /** Granted reservations (what actors hold), for "held by". */
  readonly #held: Reservation[] = [];
  /** Reservations granted during a pass, announced once the pass is over. */
  #granted: (() => void)[] = [];
  #meanMs = NaN;
  #scheduling = false;
  #again = false;
  /** Passes so far (see #drainable). */
  #passes = 0;
  /** The clock as read once in the current pass (NaN until a pass needs it: see #clock). */
  #passNow = NaN;
  /** Isolates parked now (blocked, their resources lent out). */
  #parkedCount = 0;
  /** A steal round ran in the current `#schedule()` (at most one: stolen tasks could bounce). */
  #stoleThisRound = false;

  constructor(objects: ObjectTable, executor: Executor, options: LocalSchedulerOptions) {
    this.#objects = objects;
    this.#watch = (id, cb) => objects.whenSealed(id, cb);
    this.#executor = executor;
    this.resources = new ResourcePool(options.resources);
    this.#targetMs = options.pipelineTargetMs ?? 2;
    this.#maxPipeline = options.maxPipeline ?? 512;
    this.#now = options.now ?? (() => performance.now());
  }

  // ---- tasks -----------------------------------------------------------------

  /** Accepts a task: waits for its arguments, then queues it. */
  submit(task: TaskSpec): void {
    if (!this.resources.feasible(task.shape)) {
      this.#executor.reject(task, new InfeasibleTaskError(task.name, this.resources.shortfall(task.shape)));
      return;
    }
    const deps = task.deps;
    if (deps !== undefined) {
      if (awaitDeps(task, this.#watch, () => {
        this.#waitingForArgs--;
        this.#argsReady(task);
      })) {
        this.#waitingForArgs++;
        return;
      }
      this.#argsReady(task);
      return;
    }
    this.#enqueue(task, false);
    this.#schedule();
  }

  #argsReady(task: TaskSpec): void {
    // a resource it asks for may have gone while it waited (a removed placement group's)
    const failed = cancelledBy(task) ?? depFailure(this.#objects, task) ?? (this.resources.feasible(task.shape) ? undefined : new InfeasibleTaskError(task.name, this.resources.shortfall(task.shape)));
    if (failed) {
      this.#executor.reject(task, failed);
      return;
    }
    this.#enqueue(task, false);
    this.#schedule();
  }

  #enqueue(task: TaskSpec, front: boolean): void {
    if (task.seq === 0) task.seq = ++this.#seq;
    let q = this.#queues.get(task.shape.key);
    if (!q) {
      q = { shape: task.shape, tasks: new Deque(), waitingSince: NaN, reported: false, drainPass: 0, drains: false };
      this.#queues.set(task.shape.key, q);
    }
    if (q.tasks.length === 0) {
      // a new wait starts with its first task
      q.waitingSince = NaN;
      q.reported = false;
    }
    if (front) q.tasks.unshift(task);
    else q.tasks.push(task);
    this.#queued++;
    if (task.nestedSubmit) this.#queuedNested.set(task.taskId.key, task);
  }

  #dequeue(q: { tasks: Deque<TaskSpec> }): TaskSpec | undefined {
    const t = q.tasks.shift();
    if (t) this.#taken(t);
    return t;
  }

  #taken(t: TaskSpec): void {
    this.#queued--;
    if (t.nestedSubmit) this.#queuedNested.delete(t.taskId.key);
  }

  /** Removes a queued task. False when it is not queued here. */
  unqueue(task: TaskSpec): boolean {
    const q = this.#queues.get(task.shape.key);
    if (!q || !q.tasks.remove(task)) return false;
    this.#taken(task);
    return true;
  }

  /**
   * Finds the task whose key is `key` for a cancel. One not started yet is
   * taken out (off its queue, or back from the ring of the isolate it was
   * sent to) and returned with `iso` undefined: it is the caller's to end.
   * One an isolate runs is returned with that isolate. Undefined when it is
   * neither (it waits for its arguments, or it is not on this node).
   * Cancels are rare: this looks through everything rather than keep an
   * index that every task would pay for.
   */
  cancel(key: string): { task: TaskSpec; iso: number | undefined } | undefined {
    for (const q of this.#queues.values()) {
      for (const t of q.tasks) {
        if (t.taskId.key !== key) continue;
        this.unqueue(t);
        return { task: t, iso: undefined };
      }
    }
    for (const iso of this.#isolates.values()) {
      for (const t of iso.nested) if (t.taskId.key === key) return { task: t, iso: iso.id };
      for (let i = 0; i < iso.pipeline.length; i++) {
        const t = iso.pipeline.at(i)!;
        if (t.taskId.key !== key) continue;
        // the head has started (or is about to); one behind it may still be taken back
        if (i === 0 || !this.#executor.steal(iso.id, t)) return { task: t, iso: iso.id };
        iso.pipeline.remove(t);
        this.#schedule();
        return { task: t, iso: undefined };
      }
    }
    return undefined;
  }

  /**
   * Takes out the queued tasks `match` picks, and returns them with the
   * running ones it picks (with their isolates): for the caller to end
   * (a removed placement group's). Rare: it looks through everything.
   */
  evict(match: (t: TaskSpec) => boolean): { queued: TaskSpec[]; running: { task: TaskSpec; iso: number }[] } {
    const queued: TaskSpec[] = [];
    for (const q of this.#queues.values()) for (const t of [...q.tasks]) if (match(t) && this.unqueue(t)) queued.push(t);
    const running: { task: TaskSpec; iso: number }[] = [];
    for (const iso of this.#isolates.values()) {
      for (const t of iso.nested) if (match(t)) running.push({ task: t, iso: iso.id });
      for (let i = 0; i < iso.pipeline.length; i++) {
        const t = iso.pipeline.at(i)!;
        if (!match(t)) continue;
        if (i > 0 && this.#executor.steal(iso.id, t)) {
          iso.pipeline.remove(t);
          i--;
          queued.push(t);
        } else running.push({ task: t, iso: iso.id });
      }
    }
    return { queued, running };
  }

  /** The node's resources changed (a placement group's bundle was reserved): what waits may fit now. */
  resourcesChanged(): void {
    this.#schedule();
  }

  // ---- reservations (actors) ------------------------------------------------------

  /**
   * Holds `shape` for as long as the caller needs it (an actor's lifetime),
   * calling `granted` once it fits; tasks submitted later wait behind it
   * while it waits for running tasks to drain. `holder` names the holder
   * in waits (`stats().waiting`). The caller checks feasibility first.
   * Give it back with `unreserve(granted)`.
   */
  reserve(shape: Shape, granted: () => void, holder = "an actor"): void {
    this.#reservations.push({ shape, seq: ++this.#seq, granted, holder, waitingSince: NaN, reported: false });
    this.#schedule();
  }

  /** Drops a reservation not granted yet. False if it was granted (then use `unreserve`). */
  cancelReservation(granted: () => void): boolean {
    for (const r of this.#reservations) {
      if (r.granted === granted) return this.#reservations.remove(r);
    }
    return false;
  }

  /** Gives back what the granted reservation made with `granted` held. */
  unreserve(granted: () => void): void {
    const i = this.#held.findIndex((r) => r.granted === granted);
    if (i < 0) return;
    const [r] = this.#held.splice(i, 1);
    this.resources.release(r!.shape);
    this.#schedule();
  }

  // ---- isolates ----------------------------------------------------------------

  /** A new isolate is ready for work. */
  addIsolate(id: number): void {
    const now = this.#now();
    this.#isolates.set(id, { id, lease: undefined, parked: false, lendable: false, calls: 0, pipeline: new Deque(), nested: [], idleSince: now, headSince: now, headLooks: 0 });
    this.#idle.push(id);
    this.#schedule();
  }

  /**
   * An isolate is gone (crashed, killed by a watchdog). Returns the tasks it
   * was running (the head of its pipeline, then nested ones, innermost
   * last); the caller decides what to retry, and requeues the rest it had
   * sent. Resources it held come back.
   */
  removeIsolate(id: number): TaskSpec[] {
    const iso = this.#isolates.get(id);
    if (!iso) return [];
    this.#isolates.delete(id);
    const i = this.#idle.indexOf(id);
    if (i >= 0) this.#idle.splice(i, 1);
    if (iso.lease && !iso.parked) this.resources.release(iso.lease);
    if (iso.parked) this.#parkedCount--;
    const head = iso.pipeline.peek();
    const running = head ? [head, ...iso.nested] : [...iso.nested];
    this.#schedule();
    return running;
  }

  /** Puts tasks back at the front of their queues (in the given order). */
  requeue(tasks: readonly TaskSpec[]): void {
    for (let i = tasks.length - 1; i >= 0; i--) this.#enqueue(tasks[i]!, true);
    this.#schedule();
  }

  /** A task's result (or failure) came back from isolate `id`. */
  finished(id: number, task: TaskSpec, ms: number): void {
    this.#meanMs = Number.isNaN(this.#meanMs) ? ms : this.#meanMs * 0.95 + ms * 0.05;
    const st = task.stats;
    st.avgMs = Number.isNaN(st.avgMs) ? ms : st.avgMs * 0.8 + ms * 0.2;
    const iso = this.#isolates.get(id);
    if (!iso) return;
    if (iso.nested.length > 0 && iso.nested[iso.nested.length - 1] === task) iso.nested.pop();
    else if (iso.pipeline.peek() === task) {
      iso.pipeline.shift();
      // the next one in the ring starts now: the next pass that asks reads the clock (see #overdue)
      iso.headSince = NaN;
      iso.headLooks = 0;
    } else throw new Error(`isolate ${id} finished task ${keyToHex(task.taskId.key)} out of order`);
    if (iso.pipeline.length === 0 && iso.nested.length === 0 && iso.calls === 0) this.#release(iso);
    this.#schedule();
  }

  /**
   * Isolate `id` is blocked in a call waiting for `awaited` (object keys not yet
   * ready); `opened` is true the first time for a call (a call is
   * re-evaluated after each task it was lent). Takes back the tasks the
   * isolate has not started (`reclaimed`: the caller must make it skip them
   * before it answers the call). Unless `mayHelp` is false (a call with a
   * deadline must not be kept busy past it), returns a task for it to run
   * nested meanwhile; otherwise it parks and lends its resources out.
   */
  blocked(id: number, awaited: readonly string[], opened: boolean, mayHelp = true): { reclaimed: TaskSpec[]; help: TaskSpec | undefined } {
    const iso = this.#isolates.get(id);
    if (!iso) return { reclaimed: [], help: undefined };
    if (opened) iso.calls++;
    iso.lendable = mayHelp;
    const unstarted: TaskSpec[] = [];
    while (iso.pipeline.length > 1) unstarted.push(iso.pipeline.pop()!);
    for (let i = 0; i < unstarted.length; i++) this.#enqueue(unstarted[i]!, true);
    const help = mayHelp && iso.lease ? this.#producerFor(id, awaited, iso.lease) : undefined;
    if (help) {
      if (iso.parked) this.#unpark(iso);
      iso.nested.push(help);
    } else if (!iso.parked && iso.lease) {
      iso.parked = true;
      this.#parkedCount++;
      this.resources.release(iso.lease);
    }
    this.#schedule();
    return { reclaimed: unstarted, help };
  }

  /** Isolate `id`'s innermost blocking call has been answered: it runs again. */
  resumed(id: number): void {
    const iso = this.#isolates.get(id);
    if (!iso) return;
    iso.calls--;
    if (iso.parked) this.#unpark(iso);
  }

  #unpark(iso: IsolateState): void {
    iso.parked = false;
    this.#parkedCount--;
    // may oversubscribe for a while: a waiting task must be able to finish
    this.resources.acquire(iso.lease!);
  }

  /** A queued task producing one of `awaited` that fits `lease` and isolate `id` can run, taken off its queue. */
  #producerFor(id: number, awaited: readonly string[], lease: Shape): TaskSpec | undefined {
    if (this.#queuedNested.size === 0) return undefined;
    // newest first, as work-stealing runtimes run their own children: the
    // older (larger) subtrees are left for idle isolates to take
    for (let i = awaited.length - 1; i >= 0; i--) {
      const oid = awaited[i]!;
      const t = this.#queuedNested.get(taskKeyOfObject(oid));
      if (t && within(t.shape, lease) && this.#executor.canLend(id, t) && this.unqueue(t)) return t;
    }
    return undefined;
  }

  #release(iso: IsolateState): void {
    if (iso.lease) {
      if (!iso.parked) this.resources.release(iso.lease);
      else this.#parkedCount--;
      iso.lease = undefined;
      iso.parked = false;
    }
    iso.idleSince = NaN;
    this.#idle.push(iso.id);
  }

  /**
   * Takes isolates that have been idle for longer than `idleMs` out of
   * service, keeping at least `keep` isolates; returns their IDs for the
   * caller to stop. (The pool grows when parents block; this shrinks it
   * back once the burst is over.)
   */
  retireIdle(idleMs: number, keep: number): number[] {
    const now = this.#now();
    const out: number[] = [];
    // the oldest idle ones are at the front of the idle stack
    for (let i = 0; i < this.#idle.length && this.#isolates.size > keep; ) {
      const iso = this.#isolates.get(this.#idle[i]!)!;
      if (Number.isNaN(iso.idleSince)) iso.idleSince = now;
      if (now - iso.idleSince <= idleMs) {
        i++;
        continue;
      }
      this.#idle.splice(i, 1);
      this.#isolates.delete(iso.id);
      out.push(iso.id);
    }
    return out;
  }

  // ---- the scheduling pass ------------------------------------------------------

  #depth(task: TaskSpec): number {
    if (task.nestedSubmit) return 1;
    const avg = task.stats.avgMs;
    if (Number.isNaN(avg)) return UNKNOWN_DURATION_DEPTH;
    // rounded up: a task shorter than the target always has one queued
    // behind it, so the isolate does not wait a host round trip between
    // them, and the host hears of its results once per pipeline (#quiet in
    // host/isolate/worker.ts), not once per task. (Rounded down, 1 ms
    // tasks that measured a little over 1 ms got a depth of 1: a host
    // wake-up and an idle isolate per task, 0.74-0.84 of 2 CPUs' time.)
    return Math.max(1, Math.min(this.#maxPipeline, Math.ceil(this.#targetMs / Math.max(avg, 1e-4))));
  }

  #schedule(): void {
    if (this.#scheduling) {
      this.#again = true;
      return;
    }
    this.#scheduling = true;
    this.#stoleThisRound = false;
    try {
      do {
        this.#again = false;
        this.#pass();
      } while (this.#again);
    } finally {
      this.#scheduling = false;
    }
    if (this.#granted.length > 0) {
      const granted = this.#granted;
      this.#granted = [];
      for (const g of granted) g();
    }
  }

  #pass(): void {
    this.#passNow = NaN;
    // reservations first, in order; one that waits for running tasks to
    // drain holds back everything younger (one that waits for actors does not)
    let reserved = Infinity;
    if (this.#reservations.length > 0) {
      for (const r of [...this.#reservations]) {
        if (r.seq > reserved) break;
        if (this.resources.fits(r.shape) && !this.#olderClaim(r)) {
          this.#reservations.remove(r);
          this.resources.acquire(r.shape);
          this.#held.push(r);
          this.#granted.push(r.granted);
          continue;
        }
        if (Number.isNaN(r.waitingSince)) r.waitingSince = this.#clock();
        if (this.#fitsAfterDrain(r.shape)) reserved = r.seq;
      }
    }
    if (this.#queued > 0) {
      let queues: Queue[];
      if (this.#queues.size === 1) queues = [this.#queues.values().next().value!];
      else queues = [...this.#queues.values()].filter((q) => q.tasks.length > 0).sort((a, b) => a.tasks.peek()!.seq - b.tasks.peek()!.seq);
      const pass = ++this.#passes;
      let grew = false;
      for (const q of queues) {
        if (q.tasks.length === 0) continue;
        // the oldest task of another shape that cannot get its resources now
        // but would once running tasks drain: nothing younger may start, so
        // that the resources drain to it
        let barrier = reserved;
        if (queues.length > 1) {
          for (const o of queues) {
            const head = o.tasks.peek();
            if (o !== q && head && head.seq < barrier && !this.resources.fits(o.shape) && this.#drainable(o, pass)) barrier = head.seq;
          }
        }
        if (q.tasks.peek()!.seq > barrier) {
          this.#markWait(q);
          continue;
        }
        // 1. new leases while resources last, one task each: spread before deepening
        while (q.tasks.length > 0 && q.tasks.peek()!.seq < barrier && this.resources.fits(q.shape)) {
          const id = this.#idle.pop();
          if (id === undefined) {
            // no idle isolate: a parked one helps with work it waits for, else the pool grows
            if (this.#lendToParked(q, true)) continue;
            if (!grew && this.#executor.grow()) grew = true;
            else if (!grew) this.#lendToParked(q, false);
            break;
          }
          const iso = this.#isolates.get(id)!;
          const t = q.tasks.peek()!;
          if (!this.#executor.send(id, t)) {
            // its ring refused even one task: leave it idle
            this.#idle.push(id);
            break;
          }
          this.resources.acquire(q.shape);
          iso.lease = q.shape;
          // an idle isolate starts it now: worth the clock (a long task often comes this way)
          iso.headSince = this.#clock();
          iso.headLooks = LOOKS_BEFORE_CLOCK;
          this.#dequeue(q);
          iso.pipeline.push(t);
        }
        // 2. deepen the pipelines of isolates holding this shape, shortest
        // first, but not behind a task that runs longer than its function should
        while (q.tasks.length > 0) {
          const t = q.tasks.peek()!;
          if (t.seq > barrier) break;
          const depth = this.#depth(t);
          let best: IsolateState | undefined;
          for (const iso of this.#isolates.values()) {
            if (iso.lease !== q.shape || iso.calls !== 0 || iso.parked || iso.pipeline.length >= depth) continue;
            if (best !== undefined && iso.pipeline.length >= best.pipeline.length) continue;
            if (!this.#overdue(iso)) best = iso;
          }
          if (best === undefined || !this.#executor.send(best.id, t)) break;
          this.#dequeue(q);
          best.pipeline.push(t);
        }
        this.#markWait(q);
      }
    }
    // 3. work stealing: unstarted tasks in busy isolates' rings, while an
    // isolate could take them (an idle one, or a new one where a parked one
    // freed a CPU), unless a barrier holds younger work back
    if (!this.#stoleThisRound && (this.#idle.length > 0 || this.#parkedCount > 0) && !this.#barred(reserved) && this.#steal()) {
      this.#stoleThisRound = true;
      this.#again = true;
    }
  }

  /**
   * Marks when the queue's oldest task started waiting for resources (for
   * `stats().waiting` and `stalls()`), or that it does not wait.
   */
  #markWait(q: Queue): void {
    if (q.tasks.length > 0 && !this.resources.fits(q.shape)) {
      if (Number.isNaN(q.waitingSince)) q.waitingSince = this.#clock();
    } else if (!Number.isNaN(q.waitingSince)) {
      q.waitingSince = NaN;
      q.reported = false;
    }
  }

  /** Does a waiting task or reservation hold younger work back (so stealing must not get around it)? */
  #barred(reserved: number): boolean {
    if (reserved !== Infinity) return true;
    if (this.#queues.size < 2 || this.#queued === 0) return false;
    for (const q of this.#queues.values()) if (q.tasks.length > 0 && !this.resources.fits(q.shape) && this.#fitsAfterDrain(q.shape)) return true;
    return false;
  }

  /** The clock, read at most once a pass. */
  #clock(): number {
    if (Number.isNaN(this.#passNow)) this.#passNow = this.#now();
    return this.#passNow;
  }

  /**
   * Is an older task waiting for a resource `r` would take, which it can
   * get now or once running tasks drain? Then it goes first (this pass's
   * task part takes it), and `r` waits its turn.
   */
  #olderClaim(r: Reservation): boolean {
    for (const q of this.#queues.values()) {
      const head = q.tasks.peek();
      if (head === undefined || head.seq > r.seq || !sharesResource(q.shape, r.shape)) continue;
      if (this.resources.fits(q.shape) || this.#fitsAfterDrain(q.shape)) return true;
    }
    return false;
  }

  /**
   * `#fitsAfterDrain` of a queue's shape, asked once per pass (taking task
   * leases during a pass moves resources from free to leased, which does
   * not change the answer).
   */
  #drainable(q: Queue, pass: number): boolean {
    if (q.drainPass !== pass) {
      q.drainPass = pass;
      q.drains = this.#fitsAfterDrain(q.shape);
    }
    return q.drains;
  }

  /** Would `s` fit once every running task's lease came back? (Actors' reservations do not drain.) */
  #fitsAfterDrain(s: Shape): boolean {
    for (const [k, v] of s.entries) {
      let have = this.resources.available.get(k) ?? 0;
      if (have >= v) continue;
      for (const iso of this.#isolates.values()) if (iso.lease && !iso.parked) have += amountOf(iso.lease, k);
      if (have < v) return false;
    }
    return true;
  }

  /**
   * Its head has run longer than its function's measured time predicts.
   * Heads of short tasks change every pass or two, so the clock is read
   * only for a head looked at LOOKS_BEFORE_CLOCK times (its start is taken
   * then: a little late, never early).
   */
  #overdue(iso: IsolateState): boolean {
    const head = iso.pipeline.peek();
    if (!head || ++iso.headLooks < LOOKS_BEFORE_CLOCK) return false;
    if (Number.isNaN(iso.headSince)) {
      iso.headSince = this.#clock();
      return false;
    }
    const avg = head.stats.avgMs;
    return this.#clock() - iso.headSince > (Number.isNaN(avg) ? this.#targetMs : Math.max(this.#targetMs, 2 * avg));
  }

  /**
   * Moves tasks that busy isolates have not started back to the queues when
   * an idle isolate (or a new one, for an overdue victim) could run them.
   * Returns whether any moved.
   */
  #steal(): boolean {
    let moved = false;
    let grew = false;
    for (const iso of this.#isolates.values()) {
      const unstarted = iso.pipeline.length - 1;
      if (unstarted < 1 || iso.calls !== 0 || iso.parked || !iso.lease || !this.resources.fits(iso.lease)) continue;
      const overdue = this.#overdue(iso);
      if (this.#idle.length === 0) {
        // a CPU is free but every isolate is busy or parked: one more can take them
        if (overdue && !grew && this.#executor.grow()) grew = true;
        continue;
      }
      const take = overdue ? unstarted : Math.ceil(unstarted / 2);
      const back: TaskSpec[] = [];
      for (let i = 0; i < take; i++) {
        const t = iso.pipeline.at(iso.pipeline.length - 1)!;
        if (!this.#executor.steal(iso.id, t)) break;
        iso.pipeline.pop();
        back.push(t);
      }
      // newest first: each goes to the front, so the oldest ends up first
      for (const t of back) this.#enqueue(t, true);
      if (back.length > 0) moved = true;
    }
    return moved;
  }

  /**
   * No isolate is idle: a parked isolate whose lease covers the head of `q`
   * runs it nested. With `descendantsOnly`, only a task that descends from
   * one on that isolate's stack (safe to help with); otherwise any (at the
   * pool's limit). Returns whether it lent one.
   */
  #lendToParked(q: { shape: Shape; tasks: Deque<TaskSpec> }, descendantsOnly: boolean): boolean {
    const head = q.tasks.peek();
    if (!head) return false;
    for (const iso of this.#isolates.values()) {
      if (!iso.parked || !iso.lendable || !iso.lease || !within(q.shape, iso.lease)) continue;
      if (descendantsOnly && !descendsFromStack(head, iso)) continue;
      if (!this.#executor.canLend(iso.id, head)) continue;
      const t = this.#dequeue(q)!;
      this.#unpark(iso);
      iso.nested.push(t);
      this.#executor.lend(iso.id, t);
      return true;
    }
    return false;
  }

  /** Mean run time of the tasks finished here lately, in ms (NaN before the first). */
  get meanTaskMs(): number {
    return this.#meanMs;
  }

  /** Tasks waiting here: queued, or waiting for their arguments (cheap, for placement decisions). */
  get backlog(): number {
    return this.#queued + this.#waitingForArgs;
  }

  stats(): SchedulerStats {
    return {
      queued: this.#queued,
      waitingForArgs: this.#waitingForArgs,
      isolates: this.#isolates.size,
      idle: this.#idle.length,
      parked: this.#parkedCount,
      resources: this.resources.snapshot(),
      waiting: this.#waits(0, false),
    };
  }

  /**
   * Waits for resources that have lasted `minMs` or more and were not
   * reported yet (each wait is reported once): for the host's log.
   */
  stalls(minMs: number): ResourceWait[] {
    return this.#waits(minMs, true);
  }

  #waits(minMs: number, report: boolean): ResourceWait[] {
    const now = this.#now();
    const out: ResourceWait[] = [];
    for (const q of this.#queues.values()) {
      const head = q.tasks.peek();
      if (!head || Number.isNaN(q.waitingSince) || now - q.waitingSince < minMs || (report && q.reported)) continue;
      if (this.resources.fits(q.shape)) continue;
      if (report) q.reported = true;
      out.push(this.#wait(`task '${head.name}'`, q.tasks.length, q.shape, now - q.waitingSince));
    }
    for (const r of this.#reservations) {
      if (Number.isNaN(r.waitingSince) || now - r.waitingSince < minMs || (report && r.reported)) continue;
      if (report) r.reported = true;
      out.push(this.#wait(r.holder, 1, r.shape, now - r.waitingSince));
    }
    return out;
  }

  #wait(what: string, count: number, shape: Shape, waitingMs: number): ResourceWait {
    const shortfall: ResourceShortfall[] = [];
    for (const [k, v] of shape.entries) {
      const available = this.resources.available.get(k) ?? 0;
      if (available >= v) continue;
      const heldBy: string[] = [];
      for (const r of this.#held) if (amountOf(r.shape, k) > 0) heldBy.push(r.holder);
      let running = 0;
      for (const iso of this.#isolates.values()) if (iso.lease && !iso.parked && amountOf(iso.lease, k) > 0) running += 1 + iso.nested.length;
      if (running > 0) heldBy.push(`${running} running task${running === 1 ? "" : "s"}`);
      shortfall.push({ resource: k, needs: v / UNIT, available: Math.max(0, available) / UNIT, total: (this.resources.total.get(k) ?? 0) / UNIT, heldBy });
    }
    return { what, count, shape: shape.key, waitingMs: Math.round(waitingMs), heldByActors: !this.#fitsAfterDrain(shape), shortfall };
  }
}

/** Units of resource `k` in shape `s` (0 when it asks for none). */
function amountOf(s: Shape, k: string): number {
  for (const e of s.entries) if (e[0] === k) return e[1];
  return 0;
}

/** Do `a` and `b` both ask for some resource? */
function sharesResource(a: Shape, b: Shape): boolean {
  for (const [k] of a.entries) if (amountOf(b, k) > 0) return true;
  return false;
}

/** How far up a task's parents `descendsFromStack` looks (nesting deeper than this is rare). */
const MAX_ANCESTRY = 256;

/** Does `t` descend from a task on `iso`'s stack (its running task or a nested one)? */
function descendsFromStack(t: TaskSpec, iso: IsolateState): boolean {
  const head = iso.pipeline.peek();
  let p = t.parent;
  for (let i = 0; p !== undefined && i < MAX_ANCESTRY; i++, p = p.parent) {
    if (p === head || iso.nested.includes(p)) return true;
  }
  return false;
}
