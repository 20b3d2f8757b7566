/**
 * One wray node: the object store, the local scheduler, the isolate pool
 * and the actors of a host, wired together. HostNode is the hub the
 * isolates report to (PoolEvents) and the scheduler sends through
 * (Executor); the work itself is done by the parts it wires:
 *
 *   executions.ts   slots, argument pieces, pins and what a run owns
 *   blocking.ts     isolates' blocking get/wait (a state machine)
 *   guest-calls.ts  guests' requests: submissions, actors, get/wait, puts, GPU, logs
 *   gpu-route.ts    guests' GPU calls, per task or actor session
 *   timeouts.ts     the watchdog that stops tasks past their timeout
 *   actors.ts       actors: creation, call queues, deaths
 *   cancel.ts       cancels: taking a task out, or telling (or stopping) its guest
 *   deferrals.ts    actor calls whose results a later call gives (defer/resolve)
 *   task-events.ts  each task's state transitions, for the state API and timeline
 *   bundles.ts      placement-group bundles reserved here (prepare, commit, remove)
 *   components.ts   loaded components, and task specs made from submissions
 *
 * Everything here runs on the host thread. Nothing blocks: isolates wait in
 * their own threads, and the host answers them when it can.
 *
 * This file's parts: submission (tasks, actors, internal calls); cancel and
 * placement-group eviction; Executor (the scheduler's hands); PoolEvents
 * (results); BlockingHost; log; isolate failures; driver support.
 */
import type { TaskId } from "../../common/ids.js";
import { keyToHex, objectKey, randomTaskId } from "../../common/ids.js";
import type { Executor, TaskSpec } from "../../scheduler/index.js";
import type { PlacementGroupRemovedError, Shape } from "../../scheduler/index.js";
import { LocalScheduler, TaskCancelledError, inGroup } from "../../scheduler/index.js";
import type { ObjectEntry } from "../../store/index.js";
import { INLINE_MAX, PENDING } from "../../store/index.js";
import type { ObjectStore } from "../../store/index.js";
import { HostGpu } from "../../gpu/index.js";
import { GuestOutOfMemoryError, IsolateDiedError, TaskError, TaskTimeoutError } from "../errors.js";
import { MemoryGuard } from "./memory-guard.js";
import type { PoolEvents } from "../isolate/index.js";
import { IsolatePool } from "../isolate/index.js";
import type { LogLevel, Piece } from "../isolate/index.js";
import { KIND_CONSTRUCT, KIND_METHOD, KIND_TASK, STATUS_FAILED, STATUS_OK, STATUS_OUT_OF_MEMORY, STATUS_TRAP } from "../isolate/index.js";
import type { LogRecord } from "../log.js";
import { printLog } from "../log.js";
import type { ActorOptionsResolved, ActorRecord } from "./actors.js";
import { ActorManager } from "./actors.js";
import { BlockingCalls } from "./blocking.js";
import type { BlockingHost } from "./blocking.js";
import type { ComponentRecord } from "./components.js";
import { Components, functionInfo, makeTask, releaseArgs } from "./components.js";
import { Executions } from "./executions.js";
import type { Execution } from "./executions.js";
import { failureToError, trapOrHostError } from "./failures.js";
import { GuestGpu } from "./gpu-route.js";
import { GuestCalls } from "./guest-calls.js";
import type { GuestHost } from "./guest-calls.js";
import type { ClusterLink } from "./link.js";
import { hostCores } from "./machine.js";
import type { NodeOptions } from "./options.js";
import { DEFAULT_RESOLVED, NO_RETURNS, checkMemoryMb, objectStoreFor } from "./options.js";
import { Watchdog } from "./timeouts.js";
import type { GroupEvictor } from "./bundles.js";
import { BundleReservations } from "./bundles.js";
import type { CancelHost, CancelOptions, CancelOutcome } from "./cancel.js";
import { cancelHere } from "./cancel.js";
import { Deferrals } from "./deferrals.js";
import { TaskEvents, eventActor, eventNow } from "./task-events.js";
import { EV_FAILED, EV_FINISHED, EV_PENDING_ARGS, EV_SCHEDULED } from "../../common/task-events.js";
import { nestedOrUndefined } from "./values.js";

/** A wait for resources that actors hold is logged once it has lasted this long, ms. */
const STALL_LOG_MS = 1000;

export class HostNode implements Executor, PoolEvents, BlockingHost, GuestHost, CancelHost, GroupEvictor {
  readonly store: ObjectStore;
  readonly scheduler: LocalScheduler;
  readonly pool: IsolatePool;
  readonly actors: ActorManager;
  readonly components: Components;
  readonly executions: Executions;
  /** Actor calls whose results a later call of their actor gives. */
  readonly deferrals: Deferrals;
  /** Each task's state transitions here, until drained (to the head, or an embedded driver's table). */
  readonly taskEvents: TaskEvents;
  /** Tasks (and actor calls) submitted here, and finished or failed here, since the node started (metrics). */
  readonly counts = { submitted: 0, finished: 0, failed: 0 };
  /** Placement-group bundles reserved here. */
  readonly bundles: BundleReservations;
  /** Set by an embedded driver's placement groups: a wait for a group being made, for a demand in it (else undefined). */
  groupReady: ((shape: Shape) => Promise<void> | undefined) | undefined;
  readonly numCpus: number;
  /** The host's GPU (opened at start, or on first use, or absent). */
  readonly gpu: HostGpu;
  /** Set when this node is part of a cluster (host/cluster): submissions and foreign objects go through it. */
  cluster: ClusterLink | undefined;
  /** Where isolates' requests from guests go (PoolEvents.guests). */
  readonly guests: GuestCalls;
  readonly #blocking: BlockingCalls;
  readonly #guestGpu: GuestGpu;
  readonly #watchdog: Watchdog;
  readonly #guard: MemoryGuard;
  readonly #log: (record: LogRecord) => void;
  readonly #minIsolates: number;
  readonly #reaper: ReturnType<typeof setInterval>;
  readonly #idleIsolateMs: number;
  #closed = false;

  constructor(options: NodeOptions = {}) {
    const numCpus = options.numCpus ?? hostCores();
    this.numCpus = numCpus;
    const resources: Record<string, number> = { CPU: numCpus, ...(options.resources ?? {}) };
    const g = options.gpu;
    this.gpu = g instanceof HostGpu ? g : typeof g === "object" ? HostGpu.opened(g) : HostGpu.none(g ?? "it was started without one");
    const numGpus = options.numGpus ?? (this.gpu.present ? 1 : 0);
    if (numGpus) resources.GPU = numGpus;
    this.store = objectStoreFor(options);
    this.executions = new Executions(this.store);
    this.deferrals = new Deferrals(this.store);
    this.taskEvents = new TaskEvents(options.taskEvents ?? true);
    this.taskEvents.beforeDrain = () => this.#showRunning();
    this.scheduler = new LocalScheduler(this.store, this, { resources });
    this.#minIsolates = options.numIsolates ?? Math.max(1, Math.ceil(numCpus));
    this.pool = new IsolatePool(
      {
        min: this.#minIsolates,
        max: options.maxIsolates ?? Math.max(16, 4 * this.#minIsolates),
        spinMs: options.spinMs ?? 0.1,
        cores: hostCores(),
        inlineMax: INLINE_MAX,
        maxHeapMb: 1024,
      },
      this,
      this.store.arena,
    );
    this.components = new Components((image) => this.pool.addComponent(image), checkMemoryMb(options.guestMemoryMb, "guestMemoryMb"));
    this.actors = new ActorManager({
      store: this.store,
      scheduler: this.scheduler,
      startIsolate: () => this.pool.startDedicated(),
      stopIsolate: (iso) => this.pool.terminate(iso),
      discardUnread: (iso) => this.pool.discardUnread(iso),
      send: (iso, task) => this.send(iso, task),
      steal: (iso, task) => this.steal(iso, task),
      reject: (task, error) => this.reject(task, error),
      actorDied: (r) => this.cluster?.actorDied(r),
      instanceEnded: (r, error) => this.deferrals.actorEnded(r.key, error),
      internalCall: (r, method, args) => this.internalCall(r, method, args),
      say: (line) => this.#say(line),
      checkpointed: (r, value, covered) => this.cluster?.actorCheckpointed(r, value, covered.map((t) => t.taskId.key)),
      restarted: (r) => this.cluster?.actorRestarted(r),
      groupReady: (shape) => this.groupReady?.(shape),
    });
    this.bundles = new BundleReservations(this.scheduler, this);
    this.#blocking = new BlockingCalls(this.store, this.pool, this);
    this.#guestGpu = new GuestGpu(this.gpu, this.store, this.executions, this.pool);
    this.guests = new GuestCalls(this, { blocking: this.#blocking, gpu: this.#guestGpu, replyActor: (iso, id) => this.pool.replyActor(iso, id), replyIndices: (iso, ix) => this.pool.replyIndices(iso, ix) });
    this.#watchdog = new Watchdog(this.executions, this.pool);
    this.#guard = new MemoryGuard(this.pool, options.hostMemoryLimitMb);
    this.#log = options.log ?? printLog;
    this.#idleIsolateMs = options.idleIsolateTimeoutMs ?? 10_000;
    if (!(this.#idleIsolateMs >= 0)) throw new RangeError(`idleIsolateTimeoutMs must be >= 0, got ${options.idleIsolateTimeoutMs}`);
    this.#reaper = setInterval(() => {
      for (const iso of this.scheduler.retireIdle(this.#idleIsolateMs, this.#minIsolates)) this.pool.terminate(iso);
      this.#logStalls();
    }, Math.max(50, Math.min(STALL_LOG_MS / 2, this.#idleIsolateMs / 2)));
    this.#reaper.unref();
  }

  start(): void {
    this.pool.start();
  }

  /**
   * Says once, in the log, when a task or actor has waited `STALL_LOG_MS`
   * for resources that actors hold (they come back only when those actors
   * die; meanwhile other work runs). Waits for running tasks to finish
   * resolve by themselves and are only in `stats()`.
   */
  #logStalls(): void {
    for (const w of this.scheduler.stalls(STALL_LOG_MS)) {
      if (!w.heldByActors) continue;
      const lacks = w.shortfall.map((s) => `${s.resource} (needs ${s.needs}, ${s.available} of ${s.total} free, held by ${s.heldBy.join(", ") || "nobody"})`);
      const who = w.count > 1 ? `${w.what} and ${w.count - 1} more like it` : w.what;
      this.#say(`${who} has waited ${(w.waitingMs / 1000).toFixed(1)} s for ${lacks.join(" and ")}; it runs when they are released, and other work runs meanwhile`);
    }
  }

  // ---- submission ---------------------------------------------------------------------

  /** Submits a task: to this node's scheduler, or, in a cluster, wherever the cluster node decides. */
  submit(task: TaskSpec): void {
    this.#submitted(task);
    const outer = this.#clock;
    // (sent to an isolate from here, it was scheduled when it was submitted: no second clock read)
    this.#clock = task.submittedAt;
    try {
      if (this.cluster) this.cluster.submit(task);
      else this.scheduler.submit(task);
    } finally {
      this.#clock = outer;
    }
  }

  /**
   * Task events: the time read last, while it is still now — within one
   * synchronous submit or result, where the tasks sent to isolates are
   * scheduled at that time (NaN: read the clock).
   */
  #clock = NaN;

  /** Drops the references a task holds on its arguments. */
  releaseArgs(task: TaskSpec): void {
    releaseArgs(this.store, task);
  }

  /**
   * Creates an actor of class `className` of `c` whose ID is `actorId`
   * (its constructor call's task ID). Throws ActorNameTakenError for a name
   * in use; the caller has checked the class.
   */
  createActor(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, options: ActorOptionsResolved, job?: string): ActorRecord {
    this.actors.checkName(options.name);
    const ctor = this.constructorCall(c.withMemory(options.memoryMb), className, actorId, args, deps, nested);
    ctor.job = job;
    return this.actors.create(ctor, new Set(c.prepared.manifest.actors[className] ?? []), options);
  }

  /** The constructor call that starts an actor (no results, no retries). */
  constructorCall(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined): TaskSpec {
    const fn = functionInfo(c, className);
    return makeTask(this.store, { component: c, fn, taskId: actorId, args, deps, nested, options: NO_RETURNS, returnIds: [], returns: [], kind: KIND_CONSTRUCT });
  }

  /** A call the host makes itself on actor `r` (checkpoint, restore): one result, in an entry of its own (not indexed). */
  internalCall(r: ActorRecord, method: string, args: Uint8Array): TaskSpec {
    const c = this.components.at(r.component);
    const taskId = randomTaskId();
    const id = objectKey(taskId, 1);
    const e = this.store.create(id, 1);
    const task = makeTask(this.store, { component: c, fn: functionInfo(c, method), taskId, args, deps: undefined, nested: undefined, options: DEFAULT_RESOLVED, returnIds: [id], returns: [e], kind: KIND_METHOD });
    task.job = r.job;
    return task;
  }

  /** Queues a call of `method` on actor `r` (its results already exist). */
  callActor(
    r: ActorRecord,
    method: string,
    taskId: TaskId,
    args: Uint8Array,
    deps: string[] | undefined,
    nested: string[] | undefined,
    numReturns: number,
    returnIds: string[],
    returns: ObjectEntry[],
    onDone?: (task: TaskSpec) => void,
  ): void {
    const c = this.components.at(r.component);
    const options = numReturns === 1 ? DEFAULT_RESOLVED : { ...DEFAULT_RESOLVED, numReturns };
    const task = makeTask(this.store, { component: c, fn: functionInfo(c, method), taskId, args, deps, nested, options, returnIds, returns, kind: KIND_METHOD });
    task.onDone = onDone;
    task.job = r.job;
    this.#submitted(task, r);
    const outer = this.#clock;
    this.#clock = task.submittedAt;
    try {
      this.actors.call(r, task);
    } finally {
      this.#clock = outer;
    }
  }

  /** Task events: `task` was submitted here (and waits for arguments, if one is not ready: that is recorded at once). */
  #submitted(task: TaskSpec, actor?: ActorRecord): void {
    this.counts.submitted++;
    const ev = this.taskEvents;
    if (!ev.enabled) return;
    const label = actor && (actor.eventLabel ??= eventActor(actor.key, actor.className));
    ev.submitted(task, label);
    if (task.deps) for (const d of task.deps) if (this.store.entry(d)?.state === PENDING) return ev.record(task, EV_PENDING_ARGS, -1, 0, label);
  }

  /** Task events, before a drain: the tasks running here that no event has shown scheduled yet. */
  #showRunning(): void {
    if (this.executions.inFlight === 0) return;
    for (const exec of this.executions.all()) {
      if (exec.scheduledShown || Number.isNaN(exec.scheduledAt)) continue;
      exec.scheduledShown = true;
      const task = exec.task;
      this.taskEvents.record(task, EV_SCHEDULED, exec.iso, 0, task.kind === KIND_TASK ? undefined : this.#actorOf(exec.iso), undefined, exec.scheduledAt);
    }
  }

  /** Task events: `exec`'s run ended in `state` (its scheduled time rides on this event unless a drain showed it already). */
  #ended(exec: Execution, state: number, ms: number, error?: Error): void {
    const task = exec.task;
    this.taskEvents.record(task, state, exec.iso, ms, task.kind === KIND_TASK ? undefined : this.#actorOf(exec.iso), error, this.#clock, exec.scheduledShown ? NaN : exec.scheduledAt);
  }

  /** Task events: the actor on `iso`, as events name it. */
  #actorOf(iso: number): string | undefined {
    const r = this.actors.onIsolate(iso);
    return r && (r.eventLabel ??= eventActor(r.key, r.className));
  }

  // ---- cancel ---------------------------------------------------------------------------

  /** Cancels the task whose key is `taskKey`: here, or, in a cluster, wherever the cluster node finds it. */
  cancel(taskKey: string, options: CancelOptions, result?: ObjectEntry): void {
    if (this.cluster) this.cluster.cancel(taskKey, options, result);
    else this.cancelHere(taskKey, options, result);
  }

  /**
   * Cancels the task whose key is `taskKey` where it is on this node
   * (cancel.ts); `result` is the caller's entry of one of its results, if
   * any. Throws TypeError for `force` on an actor call.
   */
  cancelHere(taskKey: string, options: CancelOptions, result?: ObjectEntry): CancelOutcome {
    return cancelHere(this, taskKey, options, result);
  }

  /** Group `pg` is being removed: its actors here die, its queued tasks fail, its running ones are stopped, all with `error`. */
  evictGroup(pg: string, error: PlacementGroupRemovedError): void {
    for (const r of [...this.actors.all()]) if (r.state !== "dead" && inGroup(r.shape, pg)) this.actors.kill(r, `its placement group ${pg} was removed`);
    this.#evict((t) => inGroup(t.shape, pg), () => error);
  }

  /**
   * Job `job` (a driver's node ID) has ended: its queued tasks here fail
   * and its running ones are stopped, with TaskCancelledError (nobody
   * waits for them: their job is gone).
   */
  evictJob(job: string): void {
    this.#evict(
      (t) => t.job === job,
      (t) => new TaskCancelledError(t.name, keyToHex(t.taskId.key), `: its job (driver ${job.slice(0, 8)}) ended`),
    );
  }

  /** Fails the queued tasks that match with `errorOf(task)`, and stops the running ones (their isolates), failing their results the same way. */
  #evict(matches: (t: TaskSpec) => boolean, errorOf: (t: TaskSpec) => Error): void {
    const { queued, running } = this.scheduler.evict(matches);
    for (const t of queued) this.reject(t, errorOf(t));
    for (const { task, iso } of running) {
      const exec = this.executions.find(task.taskId.key);
      if (!exec) continue;
      exec.cancelled = true;
      task.retriesLeft = 0;
      const error = errorOf(task);
      for (const e of task.returns) this.store.fail(e, error);
      this.pool.terminate(iso);
    }
  }

  tellCancelled(iso: number, slot: number): void {
    this.pool.markCancelled(iso, slot, true);
    this.#blocking.cancelled(iso, slot);
  }

  stopIsolate(iso: number): void {
    this.pool.terminate(iso);
  }

  // ---- Executor: the scheduler's and the actors' hands ----------------------------------

  send(iso: number, task: TaskSpec): boolean {
    const exec = this.executions.open(task, iso, false);
    // (its finish says when it was scheduled, or a drain while it runs: #showRunning)
    if (this.taskEvents.enabled) exec.scheduledAt = Number.isNaN(this.#clock) ? eventNow() : this.#clock;
    const pos = this.pool.sendTask(iso, task.slot, task, this.executions.argPieces(exec, this.pool.maxRecord(iso)));
    if (pos < 0) {
      this.executions.close(exec);
      this.executions.abandon(exec);
      return false;
    }
    exec.ringPos = pos;
    if (task.timeoutMs > 0) this.#watchdog.start();
    return true;
  }

  lend(iso: number, task: TaskSpec): void {
    const exec = this.executions.open(task, iso, true);
    if (this.taskEvents.enabled) exec.scheduledAt = Number.isNaN(this.#clock) ? eventNow() : this.#clock;
    this.#blocking.lent(iso);
    if (task.timeoutMs > 0) this.#watchdog.start();
    this.pool.replyRun(iso, task.slot, task, this.executions.argPieces(exec, 1 << 30));
  }

  grow(): boolean {
    return this.pool.grow();
  }

  steal(iso: number, task: TaskSpec): boolean {
    const exec = this.executions.at(task.slot);
    if (exec === undefined || exec.task !== task || exec.iso !== iso || exec.ringPos < 0) return false;
    if (!this.pool.steal(iso, exec.ringPos)) return false;
    // it never started: nothing of it ran, so the task itself goes on (elsewhere)
    this.executions.close(exec);
    this.executions.abandon(exec);
    return true;
  }

  canLend(iso: number, task: TaskSpec): boolean {
    return this.pool.hasLoaded(iso, task.component);
  }

  reject(task: TaskSpec, error: Error): void {
    this.counts.failed++;
    if (this.taskEvents.enabled) this.taskEvents.record(task, EV_FAILED, -1, 0, undefined, error);
    for (const e of task.returns) this.store.fail(e, error);
    releaseArgs(this.store, task);
    task.onDone?.(task);
  }

  // ---- PoolEvents: what isolates report ---------------------------------------------------

  /**
   * Results are on their way: keep the host awake for a moment after each
   * event rather than paying a thread wake-up per batch (the pool's spin is
   * bounded by spinMs after the last event, so long tasks cost little).
   */
  expectingSoon(): boolean {
    // a task waiting on the GPU answers nothing soon, and spinning for it
    // takes the CPU that Dawn (and a software adapter) needs to get it done
    return this.executions.inFlight > this.#guestGpu.waiting;
  }

  isolateReady(iso: number): void {
    this.scheduler.addIsolate(iso);
  }

  loaded(_iso: number, component: number, ok: boolean, message: string): void {
    if (!ok) this.#say(`an isolate failed to load ${this.components.source(component)}: ${message}`);
  }

  result(iso: number, slot: number, status: number, ms: number, values: Piece[] | undefined, detail: Uint8Array | undefined): void {
    if (!this.taskEvents.enabled) return this.#result(iso, slot, status, ms, values, detail);
    // one clock read: the run's end, and when the tasks this frees are sent
    const outer = this.#clock;
    this.#clock = eventNow();
    try {
      this.#result(iso, slot, status, ms, values, detail);
    } finally {
      this.#clock = outer;
    }
  }

  #result(iso: number, slot: number, status: number, ms: number, values: Piece[] | undefined, detail: Uint8Array | undefined): void {
    const exec = this.executions.at(slot);
    if (!exec) return;
    this.executions.close(exec);
    // the slot may be reused from now on: a later task must not read this cancel as its own
    if (exec.cancelled) this.pool.markCancelled(iso, slot, false);
    const task = exec.task;
    const returns = task.returns;
    const actor = task.kind === KIND_TASK ? undefined : this.actors.onIsolate(iso);
    let err: Error | undefined;
    if (status !== STATUS_OK && actor !== undefined && this.actors.ranWhileRestarting(iso, task)) {
      // it ran on the crashed instance: the restart sends it again or fails it
      this.executions.abandon(exec);
      return;
    }
    if (exec.deferred) {
      const d = this.deferrals.returned(exec, status === STATUS_OK && exec.deferError === undefined);
      // (a method that failed after its deferred call was resolved goes on below: its result stands, its failure counts for its actor)
      if (d.deferred && status === STATUS_OK) {
        // what the method returned is not its result: a later call's resolve gives that
        if (values) for (const v of values) if (!(v instanceof Uint8Array)) this.store.arena.free(v);
        this.counts.finished++;
        if (this.taskEvents.enabled) this.#ended(exec, EV_FINISHED, ms);
        this.executions.finish(exec);
        this.actors.finished(iso, task, undefined, false);
        if (d.ended) task.onDone?.(task);
        return;
      }
    }
    if (status === STATUS_OK && exec.deferError === undefined) {
      for (let i = 0; i < returns.length; i++) {
        const v = values![i]!;
        if (v instanceof Uint8Array) this.store.sealInline(returns[i]!, v, nestedOrUndefined(v));
        else this.store.sealArena(returns[i]!, v, nestedOrUndefined(this.store.arena.view(v)));
      }
    } else {
      const name = actor && task.kind === KIND_METHOD ? `${actor.className}.${task.name}` : task.name;
      if (exec.deferError && (status === STATUS_OK || status === STATUS_FAILED)) {
        // it deferred where it may not: that is what fails it, and what it returned goes
        err = exec.deferError;
        if (values) for (const v of values) if (!(v instanceof Uint8Array)) this.store.arena.free(v);
      } else if (actor?.death && task.kind === KIND_METHOD) err = actor.death; // a call behind a failed constructor
      else if (exec.storeError) err = exec.storeError; // the store had no room for its arguments or results
      else if (status === STATUS_FAILED) err = failureToError(name, detail!, this.components.find(task.component)?.prepared.sourceMap);
      else err = trapOrHostError(name, status, detail!);
      if (task.kind === KIND_TASK && task.retriesLeft > 0 && retriesOn(task, status, err)) {
        // retryExceptions: the guest's error is retried while runs are left; its results stay pending
        task.retriesLeft--;
        this.executions.finish(exec);
        this.scheduler.finished(iso, task, ms);
        this.scheduler.requeue([task]);
        return;
      }
      for (const e of returns) this.store.fail(e, err);
    }
    if (err) this.counts.failed++;
    else this.counts.finished++;
    if (this.taskEvents.enabled) this.#ended(exec, err ? EV_FAILED : EV_FINISHED, ms, err);
    this.executions.finish(exec);
    if (task.kind === KIND_TASK) this.scheduler.finished(iso, task, ms);
    else this.actors.finished(iso, task, err, status === STATUS_TRAP || status === STATUS_OUT_OF_MEMORY);
    task.onDone?.(task);
  }

  // ---- BlockingHost: a waiting isolate's resources --------------------------------------------

  blocked(iso: number, unready: string[], first: boolean, mayLend: boolean): { reclaimed: TaskSpec[]; help: TaskSpec | undefined } {
    if (!this.actors.onIsolate(iso)) return this.scheduler.blocked(iso, unready, first, mayLend);
    const { reclaimed, lend } = this.actors.blocked(iso, mayLend);
    return { reclaimed, help: lend };
  }

  resumed(iso: number): void {
    this.scheduler.resumed(iso);
  }

  deadlock(iso: number, unready: readonly string[]): Error | undefined {
    return this.actors.deadlock(iso, unready);
  }

  cancelled(slot: number): Error | undefined {
    const exec = this.executions.at(slot);
    if (!exec?.cancelled) return undefined;
    return exec.task.returns[0]?.error ?? new TaskCancelledError(exec.task.name, keyToHex(exec.task.taskId.key));
  }

  /**
   * The isolate will skip these tasks (they were taken back to run
   * elsewhere): their executions end here, unpinning their arguments.
   */
  dropUnstarted(iso: number, tasks: TaskSpec[]): void {
    const taken = new Set(tasks);
    for (const exec of this.executions.onIsolate(iso)) {
      if (exec.lent || !taken.has(exec.task)) continue;
      this.executions.close(exec);
      this.executions.abandon(exec);
    }
  }

  pin(slot: number, e: ObjectEntry): void {
    const exec = this.executions.at(slot);
    if (exec) this.executions.pin(exec, e);
    else this.store.bytes(e);
  }

  // ---- log ------------------------------------------------------------------------------------------

  /** A record from elsewhere (a guest on another node, for this driver), or wray's own line. */
  emitLog(record: LogRecord): void {
    this.#log(record);
  }

  #say(line: string, level: LogLevel = "info"): void {
    this.#log({ level, source: "wray", text: line });
  }

  // ---- isolate failures ------------------------------------------------------------------------------

  isolateExited(iso: number, why: string): void {
    const oom = this.#guard.takeStop(iso);
    if (oom) why = oom.message;
    this.#guestGpu.isolateExited(iso);
    this.#blocking.isolateExited(iso);
    this.#watchdog.forget(iso);
    const fate = this.actors.isolateExited(iso, why);
    if (fate) {
      // an actor's calls: failed with its death, or (a restarted actor's, within maxTaskRetries) sent to its new isolate
      for (const exec of this.executions.onIsolate(iso)) {
        this.executions.close(exec);
        const death = fate(exec.task);
        if (death === undefined) {
          this.executions.abandon(exec);
          continue;
        }
        this.executions.finish(exec);
        if (this.taskEvents.enabled) this.#ended(exec, EV_FAILED, 0, death);
        for (const e of exec.task.returns) this.store.fail(e, death);
        exec.task.onDone?.(exec.task);
      }
      return;
    }
    const running = this.scheduler.removeIsolate(iso);
    const retry: TaskSpec[] = [];
    for (const exec of this.executions.onIsolate(iso)) {
      this.executions.close(exec);
      const task = exec.task;
      const wasRunning = running.includes(task);
      this.executions.abandon(exec);
      if (!wasRunning) {
        retry.push(task);
        continue;
      }
      if (exec.cancelled) this.reject(task, task.returns[0]?.error ?? new TaskCancelledError(task.name, keyToHex(task.taskId.key)));
      else if (exec.timedOut) this.reject(task, new TaskTimeoutError(task.name, task.timeoutMs));
      else if (oom) this.reject(task, new GuestOutOfMemoryError(task.name, oom.message, oom.limitMb, oom.usedMb));
      else if (task.retriesLeft > 0) {
        task.retriesLeft--;
        retry.push(task);
      } else this.reject(task, new IsolateDiedError(task.name, why));
    }
    if (retry.length > 0) this.scheduler.requeue(retry);
    if (!this.#closed && this.pool.size < this.#minIsolates) this.pool.grow();
  }

  // ---- driver support ----------------------------------------------------------------------------------

  /** Handles pending isolate events now (the driver calls this while it spins). */
  poll(): number {
    return this.pool.poll();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reaper);
    this.#watchdog.close();
    this.#guard.close();
    this.#blocking.close();
    this.deferrals.close();
    await this.pool.close();
    this.#guestGpu.close();
    this.gpu.close();
    this.store.close();
  }
}

/** Whether a task's guest error is one its `retryExceptions` retries (a thrown error by its class name, a trap as "GuestTrapError"). */
function retriesOn(task: TaskSpec, status: number, err: Error): boolean {
  const which = task.retryExceptions;
  if (which === undefined || (status !== STATUS_FAILED && status !== STATUS_TRAP)) return false;
  if (which === true) return true;
  const name = status === STATUS_TRAP ? "GuestTrapError" : err instanceof TaskError ? err.guestName : err.name;
  return which.includes(name);
}
