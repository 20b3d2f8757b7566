/**
 * The actors of one host.
 *
 * Design assumptions:
 * - Each actor runs in an isolate of its own (as Ray runs each in a worker
 *   process of its own): its state is one component instance, its methods
 *   run on that isolate's thread, and a runaway or trapping actor stops
 *   nothing else. Actor isolates are not task isolates: the scheduler
 *   never sends tasks to them.
 * - Calls to an actor form one FIFO, in the order the host receives them,
 *   so calls from one caller run in the order they were made. A call whose
 *   ObjectRef arguments are not ready holds back the calls behind it; one
 *   whose argument failed fails without running, and the rest go on.
 * - Dispatched calls are pipelined into the actor's ring (the isolate runs
 *   them one after another without waiting for the host).
 * - `maxConcurrency` > 1: while a method waits in `get`/`wait`, the next
 *   call (still in order) may start in the same instance, nested; at most
 *   `maxConcurrency` run interleaved this way. With 1 (the default) a
 *   waiting method holds the actor, as in Ray.
 * - An actor holds its resources (`numCpus` defaults to 0, as a running Ray
 *   actor's) from its start to its death, through a scheduler reservation.
 * - An actor dies when it is killed, its constructor fails, a method traps,
 *   or its isolate dies; its queued and running calls then fail with
 *   ActorDiedError, as do later ones. A method that throws fails only its
 *   own call.
 * - With maxRestarts, a crash (not a kill) restarts it instead: a new
 *   isolate, its constructor again, then (with checkpointInterval) restore()
 *   of the last checkpoint and a replay of the calls after it, then the
 *   calls in flight within maxTaskRetries, then the waiting ones.
 *
 * This file's parts:
 *   records          ActorHost, ActorRecord, options
 *   ActorManager     create, start, calls in order (pump), checkpoints
 *   finishing        finished calls, crashes and restarts, blocked methods
 *   deaths           kill, isolate exits, die, counts
 */
import { keyToHex, taskKeyOfObject } from "../../common/ids.js";
import type { Shape, TaskSpec } from "../../scheduler/index.js";
import type { Watch } from "../../scheduler/index.js";
import { Deque, InfeasibleTaskError, UNLIMITED_RETRIES as UNLIMITED, awaitDeps, cancelledBy, depFailure, releaseArgs } from "../../scheduler/index.js";
import type { LocalScheduler } from "../../scheduler/index.js";
import type { ObjectStore } from "../../store/index.js";
import { ActorDiedError, ActorNameTakenError, DeadlockError } from "../errors.js";
import { KIND_METHOD } from "../isolate/index.js";
import type { GroupPlace } from "./group-target.js";

/** `restore(value)`'s arguments: a MessagePack array of one, before the value's bytes (a checkpoint as it is restored, here or on another node). */
export function restoreArgs(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(value.length + 1);
  out[0] = 0x91;
  out.set(value, 1);
  return out;
}

/** No arguments: an empty MessagePack array. */
const EMPTY_ARGS = Uint8Array.of(0x90);

/** Takes one more reference on each of `t`'s arguments (one set per run, and one for what keeps it to run again). */
function retain(store: ObjectStore, t: TaskSpec): void {
  if (t.deps) for (const d of t.deps) store.addRef(d);
  if (t.nested) for (const d of t.nested) store.addRef(d);
}

/** What the actor manager needs from the node. */
export interface ActorHost {
  readonly store: ObjectStore;
  readonly scheduler: LocalScheduler;
  /** Starts an isolate dedicated to one actor. */
  startIsolate(): number;
  stopIsolate(iso: number): void;
  /** Takes back the records an isolate blocked in a call has not read. */
  discardUnread(iso: number): void;
  /** Appends a call to the isolate's ring; false when it has no room now. */
  send(iso: number, task: TaskSpec): boolean;
  /** Takes a call back from the isolate's ring if it has not started it. */
  steal(iso: number, task: TaskSpec): boolean;
  /** Ends a call that will not run, failing its results. */
  reject(task: TaskSpec, error: Error): void;
  /** An actor died (killed, failed, its isolate gone): a cluster node records it. */
  actorDied?(r: ActorRecord): void;
  /** The instance of `r` ended (it died, or restarts): the calls it deferred fail with `error` (deferrals.ts). */
  instanceEnded(r: ActorRecord, error: Error): void;
  /** A call the host makes itself on actor `r` (checkpoint, restore): one result, an entry of its own. */
  internalCall(r: ActorRecord, method: string, args: Uint8Array): TaskSpec;
  /** For a demand in a placement group still being made here: resolves once it is (rejects if it never will be). */
  groupReady?(shape: Shape): Promise<void> | undefined;
  /** Says what happened to an actor (a restart), as a line of the host's log. */
  say(line: string): void;
  /** Actor `r` restarted here (a cluster node tells the head, which counts it against maxRestarts). */
  restarted?(r: ActorRecord): void;
  /** Actor `r` saved a checkpoint covering the calls `covered` (a cluster node sends it to the actor's owner). */
  checkpointed?(r: ActorRecord, value: Uint8Array, covered: TaskSpec[]): void;
}

/** "restarting": it crashed and its isolate is being stopped; it starts again once it has. */
export type ActorState = "pending" | "alive" | "restarting" | "dead";

export interface ActorRecord {
  readonly key: string;
  readonly className: string;
  readonly component: number;
  readonly methods: ReadonlySet<string>;
  readonly name: string | undefined;
  readonly maxConcurrency: number;
  readonly shape: Shape;
  /** The driver whose program made it, when that is another node's (its calls' logs go there). */
  readonly job: string | undefined;
  state: ActorState;
  iso: number | undefined;
  death: ActorDiedError | undefined;
  /** Calls not sent yet, in order (the constructor first). */
  readonly queue: Deque<TaskSpec>;
  /** Calls sent through the ring, in order; [0] runs or is next. */
  readonly pipeline: Deque<TaskSpec>;
  /** Calls lent to it while a method waits, innermost last. */
  readonly nested: TaskSpec[];
  /** Its resources are held (the reservation was granted). */
  reserved: boolean;
  readonly onGranted: () => void;
  /** Its constructor call (run again at each restart). */
  readonly ctor: TaskSpec;
  /** Restarts left (maxRestarts), and restarts so far. */
  restartsLeft: number;
  restarts: number;
  readonly maxTaskRetries: number;
  /** Calls between checkpoints (0: none), and calls sent since the last checkpoint call. */
  readonly checkpointEvery: number;
  sinceCheckpoint: number;
  /** The last checkpoint's value (MessagePack), once one was saved. */
  saved: Uint8Array | undefined;
  /** Calls and checkpoint calls sent since the last saved checkpoint, in order (each holding its own argument refs). */
  readonly log: TaskSpec[];
  /** Why it crashed, while it is restarting. */
  crash: string | undefined;
  /** Calls that came back from the crashed instance while it was being stopped: in flight, as far as restarting goes. */
  readonly orphans: Set<TaskSpec>;
  /** How task events name it ("<id hex> <class>"), made on first use. */
  eventLabel?: string;
}

export interface ActorOptionsResolved {
  name: string | undefined;
  maxConcurrency: number;
  shape: Shape;
  /** Its placement group and bundle (`shape` asks for the bundle's resources). */
  group?: GroupPlace;
  lifetime?: "detached";
  /** The actor's own memory cap, MiB (undefined: the host's). */
  memoryMb?: number;
  /** Restarts left after deaths other than kill (undefined: none). */
  maxRestarts?: number;
  /** Times a call in flight at a death is sent again (undefined: none). */
  maxTaskRetries?: number;
  /** Calls between checkpoints (undefined: none). */
  checkpointInterval?: number;
}

export class ActorManager {
  readonly #host: ActorHost;
  readonly #byKey = new Map<string, ActorRecord>();
  readonly #byIso = new Map<number, ActorRecord>();
  readonly #byName = new Map<string, ActorRecord>();
  /** Calls whose arguments have been looked at (watched or found ready). */
  readonly #checked = new WeakSet<TaskSpec>();
  /** The host's own calls (checkpoint, restore), by actor. */
  readonly #internal = new WeakMap<TaskSpec, "checkpoint" | "restore">();
  /** Times each call was sent again after a crash (maxTaskRetries). */
  readonly #resent = new WeakMap<TaskSpec, number>();

  readonly #whenSealed: Watch;

  constructor(host: ActorHost) {
    this.#whenSealed = (id, cb) => host.store.whenSealed(id, cb);
    this.#host = host;
  }

  get(key: string): ActorRecord | undefined {
    return this.#byKey.get(key);
  }

  /** The live (or starting) actor registered under `name`. */
  byName(name: string): ActorRecord | undefined {
    return this.#byName.get(name);
  }

  /** The actor running on isolate `iso`, if it is an actor's isolate. */
  onIsolate(iso: number): ActorRecord | undefined {
    return this.#byIso.get(iso);
  }

  /** Throws ActorNameTakenError when `name` belongs to a live actor. */
  checkName(name: string | undefined): void {
    if (name !== undefined && this.#byName.has(name)) throw new ActorNameTakenError(name);
  }

  /**
   * Registers an actor whose constructor call is `ctor` and starts it as
   * soon as its resources fit. `checkName` first.
   */
  create(ctor: TaskSpec, methods: ReadonlySet<string>, options: ActorOptionsResolved): ActorRecord {
    const r = this.#record(ctor, methods, options);
    if (r.checkpointEvery > 0 && !(methods.has("checkpoint") && methods.has("restore"))) {
      this.#die(r, `checkpointInterval needs the class to have checkpoint() and restore(value) methods; ${r.className} has ${[...methods].join(", ") || "none"}`);
      return r;
    }
    // a constructor that may run again keeps its arguments
    if (r.restartsLeft > 0) retain(this.#host.store, ctor);
    if (r.name !== undefined) this.#byName.set(r.name, r);
    this.#reserve(r, true);
    return r;
  }

  /** Asks for `r`'s resources; an infeasible demand kills it, unless its placement group is still being made (`mayWait`): then it waits for it. */
  #reserve(r: ActorRecord, mayWait: boolean): void {
    const scheduler = this.#host.scheduler;
    if (r.state === "dead") return;
    if (scheduler.resources.feasible(r.shape)) return scheduler.reserve(r.shape, r.onGranted, actorLabel(r));
    const wait = mayWait ? this.#host.groupReady?.(r.shape) : undefined;
    if (wait) {
      wait.then(
        () => this.#reserve(r, false),
        (e: Error) => this.#die(r, e.message, e),
      );
      return;
    }
    const e = new InfeasibleTaskError(`${r.className} (actor)`, scheduler.resources.shortfall(r.shape));
    this.#die(r, e.message, e);
  }

  /** Registers an actor that is dead from the start (a guest asked for one that cannot exist). */
  createDead(ctor: TaskSpec, why: string, cause: Error): ActorRecord {
    const r = this.#record(ctor, new Set(), { name: undefined, maxConcurrency: 1, shape: ctor.shape });
    this.#die(r, why, cause);
    return r;
  }

  #record(ctor: TaskSpec, methods: ReadonlySet<string>, options: ActorOptionsResolved): ActorRecord {
    const r: ActorRecord = {
      key: ctor.taskId.key,
      className: ctor.name,
      component: ctor.component,
      methods,
      name: options.name,
      maxConcurrency: options.maxConcurrency,
      shape: options.shape,
      job: ctor.job,
      state: "pending",
      iso: undefined,
      death: undefined,
      queue: new Deque(),
      pipeline: new Deque(),
      nested: [],
      reserved: false,
      onGranted: () => this.#start(r),
      ctor,
      restartsLeft: options.maxRestarts ?? 0,
      restarts: 0,
      maxTaskRetries: options.maxTaskRetries ?? 0,
      checkpointEvery: options.checkpointInterval ?? 0,
      sinceCheckpoint: 0,
      saved: undefined,
      log: [],
      crash: undefined,
      orphans: new Set(),
    };
    this.#byKey.set(r.key, r);
    r.queue.push(ctor);
    return r;
  }

  #start(r: ActorRecord): void {
    r.reserved = true;
    if (r.state === "dead") {
      this.#release(r);
      return;
    }
    const iso = this.#host.startIsolate();
    r.iso = iso;
    this.#byIso.set(iso, r);
    r.state = "alive";
    this.#pump(r);
  }

  /** Queues a method call (its results already exist); fails it at once if the actor is dead. */
  call(r: ActorRecord, task: TaskSpec): void {
    if (r.state === "dead") {
      this.#host.reject(task, r.death!);
      return;
    }
    r.queue.push(task);
    this.#pump(r);
  }

  /** Sends calls while the head of the queue can go. */
  #pump(r: ActorRecord): void {
    if (r.state !== "alive" || r.iso === undefined) return;
    const q = r.queue;
    for (;;) {
      const t = q.peek();
      if (!t || t.unresolved > 0) return;
      if (t.deps !== undefined && !this.#checked.has(t)) {
        this.#checked.add(t);
        if (awaitDeps(t, this.#whenSealed, () => this.#pump(r))) return;
      }
      const failed = cancelledBy(t) ?? depFailure(this.#host.store, t);
      if (failed) {
        q.shift();
        this.#host.reject(t, failed);
        continue;
      }
      if (!this.#host.send(r.iso, t)) return;
      q.shift();
      r.pipeline.push(t);
      if (r.checkpointEvery > 0 && t.kind === KIND_METHOD) {
        const internal = this.#internal.get(t);
        // a checkpoint call marks its place in the log: what was sent before it needs no replay once it is saved
        if (internal === "checkpoint") r.log.push(t);
        else if (internal === undefined) this.#logged(r, t);
      }
    }
  }

  /** Checkpointing: `t` was sent; it is replayed after a restart until a later checkpoint is saved. */
  #logged(r: ActorRecord, t: TaskSpec): void {
    retain(this.#host.store, t);
    r.log.push(t);
    if (++r.sinceCheckpoint < r.checkpointEvery) return;
    r.sinceCheckpoint = 0;
    // the checkpoint call goes next, before any later call
    const c = this.#host.internalCall(r, "checkpoint", EMPTY_ARGS);
    this.#internal.set(c, "checkpoint");
    r.queue.unshift(c);
  }

  /** A call of the host's own finished on `r`. */
  #internalDone(r: ActorRecord, task: TaskSpec, kind: "checkpoint" | "restore", error: Error | undefined): void {
    const e = task.returns[0]!;
    if (kind === "checkpoint" && !error) {
      const bytes = this.#host.store.bytes(e);
      if (bytes) {
        r.saved = bytes.slice();
        // what came before it needs no replay any more
        const at = r.log.indexOf(task);
        const covered = r.log.splice(0, at + 1).filter((t) => !this.#internal.has(t));
        for (const t of covered) releaseArgs(this.#host.store, t);
        this.#host.checkpointed?.(r, r.saved, covered);
      }
    } else if (error) this.#host.say(`actor ${actorLabel(r)}: its ${kind}() failed: ${error.message}`);
    this.#host.store.release(e);
  }

  /**
   * A call on `iso` came back. `error` is set when it failed; `trapped`
   * when the failure killed the instance (a trap).
   */
  finished(iso: number, task: TaskSpec, error: Error | undefined, trapped: boolean): void {
    const r = this.#byIso.get(iso);
    if (!r) return;
    if (r.nested.length > 0 && r.nested[r.nested.length - 1] === task) r.nested.pop();
    else if (r.pipeline.peek() === task) r.pipeline.shift();
    const internal = this.#internal.get(task);
    if (internal) this.#internalDone(r, task, internal, error);
    // a call that crashed the instance is not replayed after a restart
    const logged = error && trapped ? r.log.indexOf(task) : -1;
    if (logged >= 0) {
      r.log.splice(logged, 1);
      releaseArgs(this.#host.store, task);
    }
    if (error && task.taskId.key === r.key) this.#die(r, `its constructor failed: ${error.message}`, error);
    else if (error && internal === "restore") this.#die(r, `its restore() failed: ${error.message}`, error);
    else if (error && trapped) this.#crashed(r, `its method '${task.name}' ${(error as { code?: unknown }).code === "WRAY_GUEST_OUT_OF_MEMORY" ? "ran out of memory" : "trapped"}`, error);
    else this.#pump(r);
  }

  /**
   * A call of `r`'s came back from its crashed instance while the isolate
   * is being stopped (it ran on no actor): true when `r` is restarting,
   * and the call waits for the restart to say what becomes of it.
   */
  ranWhileRestarting(iso: number, task: TaskSpec): boolean {
    const r = this.#byIso.get(iso);
    if (r?.state !== "restarting" || task.kind !== KIND_METHOD) return false;
    r.orphans.add(task);
    return true;
  }

  /**
   * `r` crashed (`why`): with restarts left its isolate is stopped and it
   * starts again once the isolate has exited (isolateExited); else it dies.
   */
  #crashed(r: ActorRecord, why: string, cause?: Error): void {
    if (r.restartsLeft <= 0 || r.state !== "alive") {
      this.#die(r, why, cause);
      return;
    }
    r.state = "restarting";
    r.crash = why;
    this.#host.stopIsolate(r.iso!);
  }

  /**
   * Starts `r` again after its isolate exited: a new isolate (its resources
   * stay held), its constructor with the same arguments, then (with a
   * checkpoint) restore() and the calls made after the checkpoint, then the
   * calls that were in flight while they have maxTaskRetries left, then
   * the calls that were waiting. Returns the fate of each call in flight
   * at the crash: undefined when it is sent again, else its error.
   */
  #restart(r: ActorRecord, why: string): (task: TaskSpec) => Error | undefined {
    if (r.restartsLeft < UNLIMITED) r.restartsLeft--;
    r.restarts++;
    r.crash = undefined;
    const lost = new ActorDiedError(r.className, keyToHex(r.key), `${why}; it was restarted, and this call, in flight then, is not sent again (maxTaskRetries)`);
    this.#host.instanceEnded(r, new ActorDiedError(r.className, keyToHex(r.key), `${why}; it was restarted, and this call had deferred its result to the instance that ended`));
    const inFlight: TaskSpec[] = [];
    while (r.pipeline.length > 0) inFlight.push(r.pipeline.shift()!);
    inFlight.push(...r.nested.splice(0));
    const again: TaskSpec[] = [];
    for (const t of inFlight) {
      const kind = this.#internal.get(t);
      if (kind !== undefined || t === r.ctor) {
        // the host's own calls in flight are dropped (the constructor runs again below, a checkpoint comes after N calls)
        if (kind !== undefined) this.#host.store.release(t.returns[0]!);
        continue;
      }
      const n = this.#resent.get(t) ?? 0;
      if (n < r.maxTaskRetries) {
        this.#resent.set(t, n + 1);
        again.push(t);
      }
    }
    // completed calls since the checkpoint are replayed (their results are taken already); in-flight ones follow the rules above
    const replay: TaskSpec[] = [];
    const wasInFlight = new Set(inFlight);
    for (const t of r.log.splice(0)) {
      if (this.#internal.has(t)) continue;
      if (wasInFlight.has(t)) {
        releaseArgs(this.#host.store, t);
        continue;
      }
      replay.push(t);
    }
    const front: TaskSpec[] = [r.ctor];
    retain(this.#host.store, r.ctor);
    if (r.saved !== undefined) {
      const restore = this.#host.internalCall(r, "restore", restoreArgs(r.saved));
      this.#internal.set(restore, "restore");
      front.push(restore);
    }
    // a replayed call runs on the references it was logged with (it is logged again, with new ones, as it is sent)
    r.sinceCheckpoint = 0;
    front.push(...replay, ...again);
    for (let i = front.length - 1; i >= 0; i--) r.queue.unshift(front[i]!);
    this.#host.say(`actor ${actorLabel(r)} restarted (${r.restarts}${r.restartsLeft >= UNLIMITED ? "" : `, ${r.restartsLeft} left`}): ${why}${r.saved ? `; restored its checkpoint, replaying ${replay.length} call(s)` : ""}`);
    this.#start(r);
    this.#host.restarted?.(r);
    const resent = new Set(again);
    // the calls whose runs ended already (on the dead instance) that are not sent again fail here; the rest as the node asks
    for (const t of r.orphans) if (!resent.has(t)) this.#host.reject(t, lost);
    r.orphans.clear();
    return (t) => (resent.has(t) ? undefined : lost);
  }

  /**
   * The actor on `iso` is blocked in a call of one of its methods. With
   * room for more concurrency, takes back the calls it has not started
   * (`reclaimed`: the caller makes the isolate skip them) and returns the
   * next call to run nested, in order.
   */
  blocked(iso: number, mayLend: boolean): { reclaimed: TaskSpec[]; lend: TaskSpec | undefined } {
    const r = this.#byIso.get(iso);
    if (!r || r.state !== "alive" || !mayLend || 1 + r.nested.length >= r.maxConcurrency) return { reclaimed: [], lend: undefined };
    const reclaimed: TaskSpec[] = [];
    while (r.pipeline.length > 1) {
      const t = r.pipeline.pop()!;
      r.queue.unshift(t);
      reclaimed.push(t);
    }
    const t = r.queue.peek();
    if (!t || t.unresolved > 0 || (t.deps !== undefined && (!this.#checked.has(t) || depFailure(this.#host.store, t)))) return { reclaimed, lend: undefined };
    r.queue.shift();
    r.nested.push(t);
    return { reclaimed, lend: t };
  }

  /**
   * Finds the call whose task key is `key` for a cancel: one not started is
   * taken out (off its actor's queue, or back from the ring of its
   * isolate) and returned with `iso` undefined, for the caller to end; one
   * running (or started) is returned with its isolate. Undefined: no actor
   * here has it.
   */
  cancel(key: string): { task: TaskSpec; iso: number | undefined } | undefined {
    const found = this.#find(key);
    if (found === undefined) return undefined;
    const { r, t, where } = found;
    if (where === "queue") {
      r.queue.remove(t);
      this.#pump(r);
      return { task: t, iso: undefined };
    }
    if (where === "started" || !this.#host.steal(r.iso!, t)) return { task: t, iso: r.iso };
    r.pipeline.remove(t);
    // it never ran: a restart has nothing of it to replay
    const logged = r.log.indexOf(t);
    if (logged >= 0) {
      r.log.splice(logged, 1);
      releaseArgs(this.#host.store, t);
    }
    return { task: t, iso: undefined };
  }

  /** The call with task key `key` that waits or runs on an actor here, if any. */
  callOf(key: string): TaskSpec | undefined {
    return this.#find(key)?.t;
  }

  /** The call with task key `key`: queued, sent (in the ring, perhaps not started) or started (running, or lent). */
  #find(key: string): { r: ActorRecord; t: TaskSpec; where: "queue" | "sent" | "started" } | undefined {
    for (const r of this.#byKey.values()) {
      for (const t of r.queue) if (t.taskId.key === key) return { r, t, where: "queue" };
      for (const t of r.nested) if (t.taskId.key === key) return { r, t, where: "started" };
      for (let i = 0; i < r.pipeline.length; i++) {
        const t = r.pipeline.at(i)!;
        if (t.taskId.key === key) return { r, t, where: i === 0 ? "started" : "sent" };
      }
    }
    return undefined;
  }

  /**
   * A method on `iso` is about to wait in get() for `unready`: the error
   * it fails with when one of them is the result of a call to the same
   * actor that cannot start before the method returns (queued or sent
   * behind it, with no concurrent slot left), else undefined.
   */
  deadlock(iso: number, unready: readonly string[]): Error | undefined {
    const r = this.#byIso.get(iso);
    if (!r || r.state !== "alive" || 1 + r.nested.length < r.maxConcurrency) return undefined;
    const waiting = r.nested[r.nested.length - 1] ?? r.pipeline.peek();
    for (const id of unready) {
      const key = taskKeyOfObject(id);
      const found = this.#find(key);
      if (found === undefined || found.r !== r || found.t === waiting || found.where === "started") continue;
      return new DeadlockError(r.className, keyToHex(r.key), waiting?.name ?? "?", found.t.name);
    }
    return undefined;
  }

  /** Kills an actor (`why`: what its ActorDiedError says). False if it was dead already. */
  kill(r: ActorRecord, why = "it was killed"): boolean {
    if (r.state === "dead") return false;
    // killed is dead for good: no restart
    this.#die(r, why);
    return true;
  }

  /** Every actor here, dead ones included. */
  all(): IterableIterator<ActorRecord> {
    return this.#byKey.values();
  }

  /**
   * The isolate of an actor stopped. Returns the error its unfinished calls
   * fail with (the actor's death), or undefined if `iso` ran no actor.
   */
  isolateExited(iso: number, why: string): ((task: TaskSpec) => Error | undefined) | undefined {
    const r = this.#byIso.get(iso);
    if (!r) return undefined;
    this.#byIso.delete(iso);
    r.iso = undefined;
    if (r.state === "restarting") return this.#restart(r, r.crash ?? why);
    if (r.state === "alive" && r.restartsLeft > 0) return this.#restart(r, `its isolate stopped (${why})`);
    if (r.state !== "dead") this.#die(r, `its isolate stopped (${why})`);
    r.pipeline.clear();
    r.nested.length = 0;
    const death = r.death!;
    return () => death;
  }

  #die(r: ActorRecord, why: string, cause?: Error): void {
    if (r.state === "dead") return;
    const restarting = r.state === "restarting";
    r.state = "dead";
    if (r.restartsLeft > 0 || r.restarts > 0) releaseArgs(this.#host.store, r.ctor);
    for (const t of r.log.splice(0)) if (!this.#internal.has(t)) releaseArgs(this.#host.store, t);
    if (restarting) why = `${r.crash ?? why}, and then ${why}`;
    r.death = new ActorDiedError(r.className, keyToHex(r.key), why, cause);
    if (r.name !== undefined && this.#byName.get(r.name) === r) this.#byName.delete(r.name);
    this.#release(r);
    this.#host.instanceEnded(r, r.death);
    while (r.queue.length > 0) this.#host.reject(r.queue.shift()!, r.death);
    // calls in flight end when the isolate's exit is reported (isolateExited)
    if (r.iso !== undefined) this.#host.stopIsolate(r.iso);
    this.#host.actorDied?.(r);
  }

  #release(r: ActorRecord): void {
    if (r.reserved) {
      r.reserved = false;
      this.#host.scheduler.unreserve(r.onGranted);
    } else this.#host.scheduler.cancelReservation(r.onGranted);
  }

  /** Live actors, for status tools. */
  count(): { alive: number; pending: number; dead: number } {
    let alive = 0;
    let pending = 0;
    let dead = 0;
    for (const r of this.#byKey.values()) {
      if (r.state === "alive" || r.state === "restarting") alive++;
      else if (r.state === "pending") pending++;
      else dead++;
    }
    return { alive, pending, dead };
  }
}

/** How an actor is named where it holds resources: "actor Gate 'gate-keeper' (3f2a9c01)". */
function actorLabel(r: ActorRecord): string {
  return `actor ${r.className}${r.name !== undefined ? ` '${r.name}'` : ""} (${keyToHex(r.key).slice(0, 8)})`;
}
