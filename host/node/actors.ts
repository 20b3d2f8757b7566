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
 */
import { keyToHex } from "../../common/ids.js";
import type { Shape, TaskSpec } from "../../scheduler/index.js";
import type { Watch } from "../../scheduler/index.js";
import { Deque, InfeasibleTaskError, awaitDeps, depFailure } from "../../scheduler/index.js";
import type { LocalScheduler } from "../../scheduler/index.js";
import type { ObjectStore } from "../../store/index.js";
import { ActorDiedError, ActorNameTakenError } from "../errors.js";

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
  /** Ends a call that will not run, failing its results. */
  reject(task: TaskSpec, error: Error): void;
  /** An actor died (killed, failed, its isolate gone): a cluster node records it. */
  actorDied?(r: ActorRecord): void;
}

export type ActorState = "pending" | "alive" | "dead";

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
}

export interface ActorOptionsResolved {
  name: string | undefined;
  maxConcurrency: number;
  shape: Shape;
  lifetime?: "detached";
  /** The actor's own memory cap, MiB (undefined: the host's). */
  memoryMb?: number;
}

export class ActorManager {
  readonly #host: ActorHost;
  readonly #byKey = new Map<string, ActorRecord>();
  readonly #byIso = new Map<number, ActorRecord>();
  readonly #byName = new Map<string, ActorRecord>();
  /** Calls whose arguments have been looked at (watched or found ready). */
  readonly #checked = new WeakSet<TaskSpec>();

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
    if (r.name !== undefined) this.#byName.set(r.name, r);
    const scheduler = this.#host.scheduler;
    if (!scheduler.resources.feasible(r.shape)) {
      const e = new InfeasibleTaskError(`${r.className} (actor)`, scheduler.resources.shortfall(r.shape));
      this.#die(r, e.message, e);
    } else scheduler.reserve(r.shape, r.onGranted, actorLabel(r));
    return r;
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
      const failed = depFailure(this.#host.store, t);
      if (failed) {
        q.shift();
        this.#host.reject(t, failed);
        continue;
      }
      if (!this.#host.send(r.iso, t)) return;
      q.shift();
      r.pipeline.push(t);
    }
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
    if (error && task.taskId.key === r.key) this.#die(r, `its constructor failed: ${error.message}`, error);
    else if (error && trapped) this.#die(r, `its method '${task.name}' ${(error as { code?: unknown }).code === "WRAY_GUEST_OUT_OF_MEMORY" ? "ran out of memory" : "trapped"}`, error);
    else this.#pump(r);
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

  /** Kills an actor. False if it was dead already. */
  kill(r: ActorRecord): boolean {
    if (r.state === "dead") return false;
    this.#die(r, "it was killed");
    return true;
  }

  /**
   * The isolate of an actor stopped. Returns the error its unfinished calls
   * fail with (the actor's death), or undefined if `iso` ran no actor.
   */
  isolateExited(iso: number, why: string): ActorDiedError | undefined {
    const r = this.#byIso.get(iso);
    if (!r) return undefined;
    this.#byIso.delete(iso);
    if (r.state !== "dead") this.#die(r, `its isolate stopped (${why})`);
    r.pipeline.clear();
    r.nested.length = 0;
    return r.death;
  }

  #die(r: ActorRecord, why: string, cause?: Error): void {
    if (r.state === "dead") return;
    r.state = "dead";
    r.death = new ActorDiedError(r.className, keyToHex(r.key), why, cause);
    if (r.name !== undefined && this.#byName.get(r.name) === r) this.#byName.delete(r.name);
    this.#release(r);
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
      if (r.state === "alive") alive++;
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
