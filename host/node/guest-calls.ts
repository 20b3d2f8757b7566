/**
 * What running guests ask of their node (the pool's GuestEvents): submit a
 * task, create, find or call an actor, get and wait (blocking.ts), put an
 * object, defer and resolve an actor call's result (deferrals.ts), ask for
 * shared memory, use the GPU (gpu-route.ts), log a line.
 * Each request is checked here (options, arguments, names) and a bad one
 * fails the submission's results with a typed error, never the guest's
 * isolate or the host.
 */
import { decode } from "@msgpack/msgpack";
import type { TaskId } from "../../common/ids.js";
import { isPutKey, keyToBytes, keyToHex, objectKey, taskKeyOfObject } from "../../common/ids.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ArenaRef, ObjectEntry, ObjectStore } from "../../store/index.js";
import { ActorNotFoundError, UnknownFunctionError } from "../errors.js";
import type { GpuCall, GuestEvents, Piece } from "../isolate/index.js";
import { CANCEL_FORCE, CANCEL_RECURSIVE, KIND_METHOD, LOG_LEVELS } from "../isolate/index.js";
import type { LogRecord } from "../log.js";
import type { ActorManager, ActorOptionsResolved, ActorRecord } from "./actors.js";
import type { BlockingCalls } from "./blocking.js";
import type { CancelOptions } from "./cancel.js";
import type { ComponentRecord, Components } from "./components.js";
import type { Deferrals } from "./deferrals.js";
import { functionInfo, makeTask } from "./components.js";
import type { Execution, Executions } from "./executions.js";
import type { GuestGpu } from "./gpu-route.js";
import type { ClusterLink } from "./link.js";
import { DEFAULT_RESOLVED, resolveActorOptions, resolveOptions } from "./options.js";
import { argRefs, nestedOrUndefined } from "./values.js";

/** The node as guests' requests use it (HostNode implements it). */
export interface GuestHost {
  readonly store: ObjectStore;
  readonly actors: ActorManager;
  readonly components: Components;
  readonly executions: Executions;
  readonly deferrals: Deferrals;
  readonly cluster: ClusterLink | undefined;
  submit(task: TaskSpec): void;
  reject(task: TaskSpec, error: Error): void;
  releaseArgs(task: TaskSpec): void;
  callActor(r: ActorRecord, method: string, taskId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, numReturns: number, returnIds: string[], returns: ObjectEntry[]): void;
  constructorCall(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined): TaskSpec;
  emitLog(record: LogRecord): void;
  /** Cancels a task by key, wherever it is. */
  cancel(taskKey: string, options: CancelOptions): void;
}

/** The parts of the node guests' calls go to besides GuestHost: blocking calls, the GPU, get-actor's and resolve's replies. */
export interface GuestParts {
  blocking: BlockingCalls;
  gpu: GuestGpu;
  replyActor(iso: number, actorId: Uint8Array | undefined): void;
  replyIndices(iso: number, indices: readonly number[]): void;
}

export class GuestCalls implements GuestEvents {
  readonly #host: GuestHost;
  readonly #blocking: BlockingCalls;
  readonly #gpu: GuestGpu;
  readonly #replyActor: (iso: number, actorId: Uint8Array | undefined) => void;
  readonly #replyIndices: (iso: number, indices: readonly number[]) => void;

  constructor(host: GuestHost, parts: GuestParts) {
    this.#host = host;
    this.#blocking = parts.blocking;
    this.#gpu = parts.gpu;
    this.#replyActor = parts.replyActor;
    this.#replyIndices = parts.replyIndices;
  }

  /** A guest's argument bytes (large ones came through the arena: keep a private copy). */
  #bytes(args: Piece): Uint8Array {
    if (args instanceof Uint8Array) return args;
    const arena = this.#host.store.arena;
    const bytes = arena.view(args).slice();
    arena.free(args);
    return bytes;
  }

  /**
   * What every guest submission needs: its options, the refs in its
   * arguments, and its return objects (owned by the submitting task).
   * `failure` says what is wrong with it, if anything.
   */
  #parts(parent: Execution, what: string, taskId: TaskId, numReturns: number, bytes: Uint8Array, options: Uint8Array) {
    let failure: Error | undefined;
    let raw: unknown = {};
    try {
      raw = options.length > 0 ? decode(options) : {};
    } catch (e) {
      failure = new TypeError(`${what}: options are not valid MessagePack (${(e as Error).message})`);
    }
    let deps: string[] | undefined;
    let nested: string[] | undefined;
    try {
      ({ deps, nested } = argRefs(bytes));
    } catch (e) {
      failure = new TypeError(`${what} was submitted with malformed arguments: ${(e as Error).message}`);
    }
    const owned = (parent.owned ??= []);
    const returnIds = new Array<string>(numReturns);
    const returns = new Array<ObjectEntry>(numReturns);
    for (let i = 0; i < numReturns; i++) {
      const id = objectKey(taskId, i + 1);
      returnIds[i] = id;
      returns[i] = this.#host.store.expect(id, 1);
      owned.push(id);
    }
    return { raw, deps: failure ? undefined : deps, nested: failure ? undefined : nested, returnIds, returns, failure };
  }

  guestSubmit(_iso: number, parentSlot: number, numReturns: number, taskId: TaskId, name: string, args: Piece, options: Uint8Array): void {
    const host = this.#host;
    const parent = host.executions.at(parentSlot);
    const bytes = this.#bytes(args);
    if (!parent) return;
    const c = host.components.at(parent.task.component);
    const p = this.#parts(parent, `task '${name}'`, taskId, numReturns, bytes, options);
    let failure = p.failure;
    let opts = DEFAULT_RESOLVED;
    try {
      opts = resolveOptions(p.raw);
      if (opts.numReturns !== numReturns) throw new RangeError("numReturns disagrees with the isolate's");
    } catch (e) {
      failure ??= e instanceof Error ? e : new Error(String(e));
      opts = { ...DEFAULT_RESOLVED, numReturns };
    }
    if (!failure && !c.prepared.manifest.tasks.includes(name)) {
      failure = new UnknownFunctionError("task", name, c.source, c.prepared.manifest.tasks);
    }
    const task = makeTask(host.store, {
      component: c,
      fn: functionInfo(c, name),
      taskId,
      args: bytes,
      deps: failure ? undefined : p.deps,
      nested: failure ? undefined : p.nested,
      options: opts,
      nestedSubmit: true,
      returnIds: p.returnIds,
      returns: p.returns,
    });
    task.parent = parent.task;
    task.job = parent.task.job;
    if (failure) host.reject(task, failure);
    else host.submit(task);
  }

  guestCreateActor(_iso: number, parentSlot: number, actorId: TaskId, cls: string, args: Piece, options: Uint8Array): void {
    const host = this.#host;
    const parent = host.executions.at(parentSlot);
    const bytes = this.#bytes(args);
    if (!parent) return;
    const c = host.components.at(parent.task.component);
    const p = this.#parts(parent, `actor ${cls}`, actorId, 0, bytes, options);
    let failure = p.failure;
    let opts: ActorOptionsResolved | undefined;
    try {
      opts = resolveActorOptions(p.raw);
      host.actors.checkName(opts.name);
    } catch (e) {
      failure ??= e instanceof Error ? e : new Error(String(e));
    }
    const known = c.prepared.manifest.actors;
    if (!failure && !(cls in known)) failure = new UnknownFunctionError("actor class", cls, c.source, Object.keys(known));
    const ctor = host.constructorCall(c, cls, actorId, bytes, failure ? undefined : p.deps, failure ? undefined : p.nested);
    if (failure || !opts) {
      const why = failure ?? new TypeError("bad actor options");
      host.actors.createDead(ctor, why.message, why);
    } else if (host.cluster) {
      host.releaseArgs(ctor); // the cluster makes the constructor call where the actor goes
      host.cluster.createActor(c, cls, actorId, bytes, p.deps, p.nested, opts, parent.task.job);
    } else host.actors.create(ctor, new Set(known[cls] ?? []), opts);
  }

  guestCallActor(_iso: number, parentSlot: number, numReturns: number, taskId: TaskId, actorKey: string, method: string, args: Piece, options: Uint8Array): void {
    const host = this.#host;
    const parent = host.executions.at(parentSlot);
    const bytes = this.#bytes(args);
    if (!parent) return;
    const r = host.actors.get(actorKey);
    const p = this.#parts(parent, `${r?.className ?? "actor"}.${method}`, taskId, numReturns, bytes, options);
    let failure = p.failure;
    if (!r && !failure && host.cluster?.callActor(actorKey, method, taskId, bytes, p.deps, p.nested, numReturns, p.returnIds, p.returns)) return;
    if (!r) failure ??= new ActorNotFoundError(`with ID ${keyToHex(actorKey)}`);
    else if (r.state !== "dead" && !r.methods.has(method)) failure ??= new UnknownFunctionError("method", method, `actor class ${r.className}`, [...r.methods]);
    if (failure || !r) {
      const c = host.components.at(parent.task.component);
      const options = { ...DEFAULT_RESOLVED, numReturns };
      const task = makeTask(host.store, { component: c, fn: functionInfo(c, method), taskId, args: bytes, deps: undefined, nested: undefined, options, returnIds: p.returnIds, returns: p.returns, kind: KIND_METHOD });
      host.reject(task, failure ?? new ActorNotFoundError(`with ID ${keyToHex(actorKey)}`));
      return;
    }
    host.callActor(r, method, taskId, bytes, p.deps, p.nested, numReturns, p.returnIds, p.returns);
  }

  /** A guest's `put`: object `index` of the running task, owned by it. */
  put(_iso: number, slot: number, index: number, value: Piece): void {
    const { store, executions } = this.#host;
    const exec = executions.at(slot);
    if (!exec) {
      if (!(value instanceof Uint8Array)) store.arena.free(value);
      return;
    }
    const id = objectKey(exec.task.taskId, index);
    store.expect(id, 1);
    executions.own(exec, id);
    if (value instanceof Uint8Array) store.sealInline(id, value, nestedOrUndefined(value));
    else store.sealArena(id, value, nestedOrUndefined(store.arena.view(value)));
  }

  /** An actor method defers its call's result (a refusal fails the call when it returns). */
  defer(iso: number, slot: number, timeoutMs: number, onTimeout: Piece): void {
    const { executions, actors, deferrals, store } = this.#host;
    const exec = executions.at(slot);
    if (!exec) {
      if (!(onTimeout instanceof Uint8Array)) store.arena.free(onTimeout);
      return;
    }
    const method = exec.task.kind === KIND_METHOD;
    const refusal = deferrals.defer(exec, method ? actors.onIsolate(iso)?.key : undefined, method, timeoutMs, onTimeout);
    if (refusal) exec.deferError ??= refusal;
    else exec.deferred = true;
  }

  /** An actor method resolves a deferred call of its actor: answered [1] when the value was given. */
  resolve(iso: number, _slot: number, id: string, value: Piece): void {
    const { actors, deferrals, store } = this.#host;
    const actor = actors.onIsolate(iso);
    let given = false;
    if (actor) given = deferrals.resolve(actor.key, id, value);
    else if (!(value instanceof Uint8Array)) store.arena.free(value);
    this.#replyIndices(iso, given ? [1] : []);
  }

  /** What a guest printed: one record per line, here and at the driver whose program it is. */
  log(iso: number, slot: number, level: number, message: string): void {
    const host = this.#host;
    const task = host.executions.at(slot)?.task;
    const actor = host.actors.onIsolate(iso);
    const job = task?.job;
    for (const text of message.split("\n")) {
      const r: LogRecord = { level: LOG_LEVELS[level] ?? "info", source: "guest", text, task: task?.name ?? "?" };
      if (actor) {
        r.actor = actor.className;
        r.actorId = keyToHex(actor.key);
      }
      host.emitLog(r);
      if (job !== undefined) host.cluster?.forwardLog(job, r);
      host.cluster?.logToHead(r);
    }
  }

  /** A guest cancels the task that makes `id`; a cancel that cannot be done is a warning in its log (the call returns nothing). */
  cancel(iso: number, slot: number, id: string, flags: number): void {
    const options = { force: (flags & CANCEL_FORCE) !== 0, recursive: (flags & CANCEL_RECURSIVE) !== 0 };
    try {
      if (isPutKey(id)) throw new TypeError(`cancel(): object ${keyToHex(id)} was made by put(), not by a task`);
      this.#host.cancel(taskKeyOfObject(id), options);
    } catch (e) {
      this.log(iso, slot, LOG_LEVELS.indexOf("warn"), `cancel() failed: ${(e as Error).message}`);
    }
  }

  alloc(_iso: number, slot: number, len: number, lead: number): ArenaRef {
    const { store, executions } = this.#host;
    try {
      return store.alloc(len, lead);
    } catch (err) {
      // if the task fails for it, it fails with this error
      const exec = executions.at(slot);
      if (exec) exec.storeError = err as Error;
      throw err;
    }
  }

  getActor(iso: number, _slot: number, name: string): void {
    const { actors, cluster } = this.#host;
    const r = actors.byName(name);
    if (r || !cluster) {
      this.#replyActor(iso, r ? keyToBytes(r.key) : undefined);
      return;
    }
    // the isolate waits for the answer; the control store knows the cluster's names
    cluster.actorByName(name).then(
      (key) => this.#replyActor(iso, key !== undefined ? keyToBytes(key) : undefined),
      () => this.#replyActor(iso, undefined),
    );
  }

  /** A guest's GPU call: answered when the device has done it (the isolate sleeps meanwhile). */
  gpuCall(iso: number, call: GpuCall): void {
    this.#gpu.call(iso, call, (exec, id) => {
      const cluster = this.#host.cluster;
      if (!cluster) return false;
      cluster.want(id);
      this.#host.executions.own(exec, id);
      return true;
    });
  }

  get(iso: number, slot: number, ids: string[], timeoutMs: number): void {
    this.#wantForeign(slot, ids);
    this.#blocking.get(iso, slot, ids, timeoutMs);
  }

  wait(iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void {
    this.#wantForeign(slot, ids);
    this.#blocking.wait(iso, slot, ids, numReturns, timeoutMs);
  }

  resume(iso: number, _slot: number): void {
    this.#blocking.resume(iso);
  }

  /** Objects of other nodes (refs that came in values): found in the cluster, held until the task ends. */
  #wantForeign(slot: number, ids: string[]): void {
    const { cluster, store, executions } = this.#host;
    if (!cluster) return;
    for (const id of ids) {
      if (store.entry(id) !== undefined) continue;
      cluster.want(id);
      const exec = executions.at(slot);
      if (exec) executions.own(exec, id);
      else store.release(id);
    }
  }
}
