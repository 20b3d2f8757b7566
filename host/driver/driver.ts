/**
 * The driver API: what a TypeScript program uses to run tasks.
 *
 * @example
 * import { init } from "wray";
 * const ray = await init();
 * const mod = await ray.load("examples/quickstart/tasks.wasm");
 * const add = mod.fn<[number, number], number>("add");
 * console.log(await ray.get(add.remote(1, 2))); // 3
 * await ray.shutdown();
 *
 * Its parts: load and submit (components, tasks and actors, which the
 * handles of handles.ts call in), actors (getActor, kill), objects (put,
 * get, wait: refs and values in refs.ts, the waiting in waits.ts), and the
 * rest (memory(), stats(), the cluster's status, the GPU, shutdown).
 */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { TaskId } from "../../common/ids.js";
import { PUT_INDEX_FLAG, childTaskId, isPutKey, keyToHex, objectKey, randomTaskId, taskKeyOfObject } from "../../common/ids.js";
import { ActorHandle } from "../../common/actor-handle.js";
import { ObjectRef } from "../../common/object-ref.js";
import { binaryParts } from "../../common/codec.js";
import type { MemorySummary, ObjectEntry, StoreStats } from "../../store/index.js";
import { BLOCK_ALIGN, copyBytes, GetTimeoutError, INLINE_MAX, PENDING } from "../../store/index.js";
import type { PlacementStrategy, SchedulerStats } from "../../scheduler/index.js";
import { shapeFromEntries } from "../../scheduler/index.js";
import type { ClusterNode } from "../cluster/index.js";
import type { ClusterStatus } from "../head/index.js";
import { ActorNotFoundError, ComponentNotFoundError, NoClusterError, ShutdownError } from "../errors.js";
import type { ActorOptionsResolved, ComponentRecord, FunctionInfo, HostNode, ResolvedOptions } from "../node/index.js";
import { cancelOptions, functionInfo, makeTask, prepareComponent } from "../node/index.js";
import { Gpu } from "./gpu.js";
import type { Actor, AnyMethod, DriverCalls, WaitResult } from "./handles.js";
import { ComponentModule, actorHandle } from "./handles.js";
import { DriverRefs } from "./refs.js";
import { Waits, isLocated } from "./waits.js";
import type { Bundle } from "./placement-groups.js";
import { ClusterGroups, LocalGroups, PlacementGroup, bundleOf, bundleShapes, checkStrategy } from "./placement-groups.js";
import { StateApi } from "./state.js";
import { Jobs } from "./jobs.js";
import { progress } from "./progress.js";
import type { ProgressOptions } from "./progress.js";
import type { TimelineEvent } from "../../common/task-events.js";

/** A program's connection to wray: an embedded single-host cluster, or a cluster it joined as a driver (`init`). */
export class Driver implements DriverCalls {
  readonly #node: HostNode;
  readonly #root: TaskId = randomTaskId();
  #submitted = 0;
  #puts = 0;
  #gets = 0;
  #closed = false;
  /** How this driver's refs hold objects, and how values cross (refs.ts). */
  readonly #refs: DriverRefs;
  readonly #waits: Waits;

  readonly #cluster: ClusterNode | undefined;
  #jobs: Jobs | undefined;
  #gpu: Gpu | undefined;
  /** Who places this driver's placement groups: its node when embedded, the head in a cluster. */
  readonly #groups: LocalGroups | ClusterGroups;
  /** The state API: tasks, their summary and timeline, actors, nodes (state.ts). */
  readonly state: StateApi;

  /** @internal */
  constructor(node: HostNode, spinMs: number, cluster?: ClusterNode) {
    this.#node = node;
    this.#cluster = cluster;
    this.#waits = new Waits(node, spinMs);
    this.#refs = new DriverRefs(node.store, cluster ? (key) => cluster.want(key) : undefined, (key) => this.#adoptActor(key));
    this.#groups = cluster ? new ClusterGroups(cluster) : new LocalGroups(node);
    this.state = new StateApi(node, cluster);
  }

  /**
   * The refs as they complete, with a progress bar on a terminal (plain
   * lines elsewhere) on stderr or `options.stream`:
   * `for await (const ref of ray.progress(refs, { label: "rollouts" })) ...`
   */
  progress<R extends ObjectRef>(refs: readonly R[], options: ProgressOptions = {}): AsyncGenerator<R, void, undefined> {
    this.#check("progress()");
    return progress(this, refs, options);
  }

  /**
   * The timeline of the tasks the state API keeps (every node's, on a
   * cluster): Chrome trace events, one per task run, on a lane per node
   * and isolate. With `path`, also written there as a trace file that
   * Perfetto and chrome://tracing open.
   */
  async timeline(path?: string): Promise<TimelineEvent[]> {
    this.#check("timeline()");
    const events = await this.state.timeline();
    if (path !== undefined) await writeFile(path, JSON.stringify({ traceEvents: events, displayTimeUnit: "ms" }));
    return events;
  }

  #check(what: string): void {
    if (this.#closed) throw new ShutdownError(what);
    if (this.#left) throw this.#left;
  }

  /** Why this driver is no longer in its cluster (the head did not come back, or declared it dead). */
  #left: Error | undefined;

  /** The driver left its cluster (`error` says why): gets and waits in progress fail with it, and so does what is called later. */
  left(error: Error): void {
    this.#left ??= error;
    this.#waits.close(error);
  }

  /**
   * Loads a component (a path to a `.wasm` file, or its bytes) into the
   * cluster. Rejects with ComponentNotFoundError, ComponentInvalidError or
   * WorldMismatchError.
   */
  async load(component: string | Uint8Array): Promise<ComponentModule> {
    this.#check("load()");
    let bytes: Uint8Array;
    let source: string;
    if (typeof component === "string") {
      source = component;
      try {
        bytes = await readFile(resolve(component));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "EISDIR") {
          throw new ComponentNotFoundError(component);
        }
        throw e;
      }
    } else if (component instanceof Uint8Array) {
      bytes = component;
      source = "<bytes>";
    } else throw new TypeError("load() takes a path or a Uint8Array");
    const prepared = await prepareComponent(bytes, source, this.#node.components.memoryMb);
    this.#check("load()");
    // in a cluster, other nodes load it from the functions table when they first run it
    await this.#cluster?.publishComponent(prepared.hash, bytes);
    return new ComponentModule(this, this.#node.components.add(prepared, source));
  }

  /** @internal */
  _function(c: ComponentRecord, name: string): FunctionInfo {
    return functionInfo(c, name);
  }

  /** @internal Submits a task; returns its return refs. */
  _submit(c: ComponentRecord, fn: FunctionInfo, args: readonly unknown[], options: ResolvedOptions): ObjectRef[] {
    if (this.#closed) throw new ShutdownError(`${fn.name}.remote()`);
    if (this.#left) throw this.#left;
    if (args.length > fn.maxArgs) refuseArgCount(fn.name, fn.maxArgs, args.length);
    const node = this.#node;
    const { bytes, deps, nested } = this.#refs.encodeArgs(args, fn.name);
    const taskId = childTaskId(this.#root, this.#submitted++);
    const { ids, entries, refs } = this.#refs.returns(taskId, options.numReturns);
    const task = makeTask(node.store, { component: c, fn, taskId, args: bytes, deps, nested, options, returnIds: ids, returns: entries });
    const group = options.group?.group;
    // a task in a group still being made waits for it here (a guest's goes to the scheduler as it is)
    if (group instanceof PlacementGroup) group._whenReady(() => node.submit(task), (e) => node.reject(task, e));
    else node.submit(task);
    // a long burst of submissions: let finished tasks make room now and then
    if ((this.#submitted & 63) === 0 && node.pool.pending()) node.poll();
    return refs;
  }

  /** @internal Creates an actor; returns its handle. */
  _createActor(c: ComponentRecord, className: string, args: readonly unknown[], options: ActorOptionsResolved): ActorHandle {
    if (this.#closed) throw new ShutdownError(`${className}.remote()`);
    if (this.#left) throw this.#left;
    const ctorMax = c.prepared.manifest.maxArgs[className];
    if (ctorMax !== undefined && args.length > ctorMax) refuseArgCount(className, ctorMax, args.length);
    const { bytes, deps, nested } = this.#refs.encodeArgs(args, className);
    const taskId = childTaskId(this.#root, this.#submitted++);
    if (this.#cluster) {
      this.#cluster.createActor(c, className, taskId, bytes, deps, nested, options, undefined);
      return actorHandle(this, taskId.key, className, new Set(c.prepared.manifest.actors[className] ?? []));
    }
    const r = this.#node.createActor(c, className, taskId, bytes, deps, nested, options);
    return actorHandle(this, r.key, r.className, r.methods);
  }

  /** @internal Calls a method; returns its return refs. */
  _callActor(handle: ActorHandle, method: string, args: readonly unknown[], numReturns: number): ObjectRef[] {
    if (this.#closed) throw new ShutdownError(`${handle.className}.${method}.remote()`);
    if (this.#left) throw this.#left;
    const node = this.#node;
    const r = node.actors.get(handle.key);
    if (!r && !this.#cluster) throw new ActorNotFoundError(`with ID ${handle.id} in this cluster`);
    const methodMax = r && node.components.at(r.component).prepared.manifest.methodMaxArgs[r.className]?.[method];
    if (methodMax !== undefined && args.length > methodMax) refuseArgCount(`${r!.className}.${method}`, methodMax, args.length);
    const { bytes, deps, nested } = this.#refs.encodeArgs(args, handle.className, method);
    const taskId = childTaskId(this.#root, this.#submitted++);
    const { ids, entries, refs } = this.#refs.returns(taskId, numReturns);
    if (r) node.callActor(r, method, taskId, bytes, deps, nested, numReturns, ids, entries);
    else this.#cluster!.callActor(handle.key, method, taskId, bytes, deps, nested, numReturns, ids, entries);
    if ((this.#submitted & 63) === 0 && node.pool.pending()) node.poll();
    return refs;
  }

  /** The actor registered under `name`. Rejects with ActorNotFoundError when no live actor has it. */
  async getActor<T = Record<string, AnyMethod>>(name: string): Promise<Actor<T>> {
    this.#check("getActor()");
    if (typeof name !== "string") throw new TypeError("getActor(name): name must be a string");
    const r = this.#node.actors.byName(name);
    if (r) return actorHandle(this, r.key, r.className, r.methods) as Actor<T>;
    const key = await this.#cluster?.actorByName(name);
    if (key === undefined) throw new ActorNotFoundError(`named '${name}'`);
    return actorHandle(this, key, this.#cluster!.actorClass(key) ?? "", undefined) as Actor<T>;
  }

  /**
   * Kills an actor at once: its isolate stops, calls in flight and queued
   * fail with ActorDiedError, as will later ones; its resources and name
   * are freed.
   */
  async kill(handle: ActorHandle): Promise<void> {
    this.#check("kill()");
    if (!(handle instanceof ActorHandle)) throw new TypeError("kill() takes an actor handle");
    const r = this.#node.actors.get(handle.key);
    if (r) this.#node.actors.kill(r);
    else if (!(await this.#cluster?.killActor(handle.key))) throw new ActorNotFoundError(`with ID ${handle.id} in this cluster`);
  }

  /**
   * Cancels the task (or actor call) that produces `ref`, as Ray's
   * `ray.cancel`. A task not started never runs; its `get` raises
   * TaskCancelledError at once. A running task's `get` raises it at once
   * too; its guest sees `cancelled()` and its blocking gets fail, so a
   * guest that polls stops early; with `force: true` its isolate is
   * stopped and replaced (a task looping forever ends this way; tasks
   * queued behind it run elsewhere). `recursive` (default true) cancels
   * the tasks it submitted too. A cancelled task is never retried; a
   * finished one is left as it is. Actor calls cannot be forced (kill
   * the actor instead): TypeError.
   *
   * @example
   * const ref = spin.remote();              // a task that loops until cancelled
   * ray.cancel(ref, { force: true });
   * await ray.get(ref).catch((e) => e.code); // "WRAY_TASK_CANCELLED"
   */
  cancel(ref: ObjectRef, options?: { force?: boolean; recursive?: boolean }): void {
    this.#check("cancel()");
    if (!(ref instanceof ObjectRef)) throw new TypeError("cancel() takes an ObjectRef");
    const o = cancelOptions(options);
    const e = this.#refs.entryOf(ref);
    if (e === undefined) throw new TypeError(`cancel(): ${ref} does not belong to this cluster (or was freed)`);
    if (isPutKey(ref.key)) throw new TypeError(`cancel(): ${ref} was made by put(), not by a task`);
    this.#node.cancel(taskKeyOfObject(ref.key), o, e);
  }

  // ---- placement groups -------------------------------------------------------------------

  /**
   * Reserves `bundles` (each a set of resources, as Ray's: `{ CPU: 1 }`)
   * together, all or none, under `strategy`: "PACK" (default: as few
   * nodes as possible), "SPREAD" (as many as possible), "STRICT_PACK"
   * (one node) or "STRICT_SPREAD" (a node each). Returns at once;
   * `ready()` resolves once every bundle is held, and rejects with
   * PlacementGroupInfeasibleError when the cluster could never hold them.
   * Schedule into it with the `placementGroup` (and `bundleIndex`)
   * options of tasks and actors. It lives until removed, or until this
   * driver leaves.
   */
  placementGroup(bundles: Bundle[], options: { strategy?: PlacementStrategy; name?: string } = {}): PlacementGroup {
    this.#check("placementGroup()");
    if (typeof options !== "object" || options === null) throw new TypeError("placementGroup(bundles, options): options must be an object");
    const { shapes, bundles: copy } = bundleShapes(bundles);
    const strategy = checkStrategy(options.strategy);
    if (options.name !== undefined && (typeof options.name !== "string" || options.name.length === 0)) throw new TypeError("placementGroup(): name must be a non-empty string");
    const id = keyToHex(randomTaskId().key);
    return new PlacementGroup(id, copy, strategy, options.name, this.#groups.create(id, shapes, strategy, options.name));
  }

  /** Removes a placement group: actors in it die, its tasks fail (PlacementGroupRemovedError), and its bundles are freed. */
  async removePlacementGroup(group: PlacementGroup): Promise<void> {
    this.#check("removePlacementGroup()");
    if (!(group instanceof PlacementGroup)) throw new TypeError("removePlacementGroup() takes a PlacementGroup");
    await this.#groups.remove(group.id);
  }

  /** The live placement group named `name`; undefined when there is none. */
  async getPlacementGroup(name: string): Promise<PlacementGroup | undefined> {
    this.#check("getPlacementGroup()");
    if (typeof name !== "string") throw new TypeError("getPlacementGroup(name): name must be a string");
    const info = await this.#groups.byName(name);
    if (info === undefined) return undefined;
    const shapes = info.bundles.map((e) => shapeFromEntries(e));
    const ready = info.state === "created" ? Promise.resolve() : this.#groups.create(info.id, shapes, info.strategy as PlacementStrategy, undefined);
    return new PlacementGroup(info.id, shapes.map(bundleOf), info.strategy as PlacementStrategy, info.name, ready);
  }

  /** A handle read back from a value. */
  #adoptActor(key: string): ActorHandle {
    const r = this.#node.actors.get(key);
    return actorHandle(this, key, r?.className ?? this.#cluster?.actorClass(key) ?? "", r?.methods);
  }

  /**
   * Stores a value in the object store and returns its ref. Large typed
   * arrays (and ArrayBuffers) are copied once, straight into shared
   * memory, by every core when they are views of a SharedArrayBuffer
   * (store/copier.ts); get gives them back as views of it.
   */
  put<T>(value: T): ObjectRef<T> {
    this.#check("put()");
    const store = this.#node.store;
    const e = store.create(objectKey(this.#root, (PUT_INDEX_FLAG | ++this.#puts) >>> 0), 1);
    try {
      const binary = binaryParts(value);
      if (binary && binary.body.length > INLINE_MAX) {
        // the MessagePack header, then the bytes (aligned), written in place
        const { head, body } = binary;
        // the bytes at the source's alignment modulo 8, which keeps the copy word by word (common/copy.ts)
        const lead = (body.byteOffset - head.length) & (BLOCK_ALIGN - 1);
        const ref = store.alloc(head.length + body.length, lead);
        const view = store.arena.view(ref);
        view.set(head);
        copyBytes(view, body, head.length);
        store.sealArena(e, ref);
      } else {
        const { bytes, nested } = this.#refs.encodeValue(value, "put()");
        store.putBytes(e, bytes, 0, nested);
      }
    } catch (err) {
      // a value that cannot be encoded, or no room for it: nothing is left behind
      store.release(e);
      throw err;
    }
    return this.#refs.own(e) as ObjectRef<T>;
  }

  /**
   * The values of `refs` (or of one ref), once ready. A task's failure is
   * raised here (TaskError, GuestTrapError, ...); with `timeoutMs`,
   * GetTimeoutError when they are not ready in time.
   */
  get<T>(ref: ObjectRef<T>, options?: { timeoutMs?: number }): Promise<T>;
  get<const T extends readonly ObjectRef[]>(refs: T, options?: { timeoutMs?: number }): Promise<{ -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never }>;
  get(refs: readonly ObjectRef[], options?: { timeoutMs?: number }): Promise<unknown[]>;
  async get(refs: ObjectRef | readonly ObjectRef[], options: { timeoutMs?: number } = {}): Promise<unknown> {
    this.#check("get()");
    const single = refs instanceof ObjectRef;
    const list: readonly ObjectRef[] = single ? [refs] : refs;
    if (!Array.isArray(list)) throw new TypeError("get() takes an ObjectRef or an array of ObjectRefs");
    const timeoutMs = checkTimeout(options.timeoutMs);
    const entries = this.#entries(list, "get()");
    await this.#waits.until(entries, entries.length, timeoutMs);
    if ((++this.#gets & 255) === 0) {
      // a loop of gets of ready objects runs on microtasks alone; give
      // finalizers a turn now and then, so dropped refs and views are
      // released (and their objects freed or unpinned) during the loop
      await new Promise((r) => setImmediate(r));
      this.#check("get()");
    }
    const out = new Array<unknown>(list.length);
    for (let i = 0; i < list.length; i++) out[i] = this.#refs.value(entries[i]!);
    return single ? out[0] : out;
  }

  /**
   * Waits until `numReturns` of `refs` are ready (or `timeoutMs` passes)
   * and splits them: `ready` holds at most `numReturns` refs, in the order
   * given; `pending` the rest. With `fetchLocal` (the default, as Ray's) a
   * ref is ready once its object is here (a result on another node is
   * pulled); with `fetchLocal: false` once it exists anywhere in the
   * cluster, and nothing is pulled.
   */
  async wait<R extends ObjectRef>(refs: readonly R[], options: { numReturns?: number; timeoutMs?: number; fetchLocal?: boolean } = {}): Promise<WaitResult<R>> {
    this.#check("wait()");
    if (!Array.isArray(refs)) throw new TypeError("wait() takes an array of ObjectRefs");
    const numReturns = options.numReturns ?? 1;
    if (!Number.isInteger(numReturns) || numReturns < 0 || numReturns > refs.length) {
      throw new RangeError(`wait(): numReturns must be a whole number from 0 to ${refs.length}, got ${options.numReturns}`);
    }
    const timeoutMs = checkTimeout(options.timeoutMs);
    const fetchLocal = options.fetchLocal ?? true;
    if (typeof fetchLocal !== "boolean") throw new TypeError(`wait(): fetchLocal must be a boolean, got ${typeof fetchLocal}`);
    const entries = this.#entries(refs, "wait()");
    try {
      await this.#waits.until(entries, numReturns, timeoutMs, fetchLocal);
    } catch (e) {
      if (!(e instanceof GetTimeoutError)) throw e;
    }
    const ready: R[] = [];
    const pending: R[] = [];
    for (let i = 0; i < refs.length; i++) {
      const e = entries[i]!;
      if (ready.length < numReturns && (fetchLocal ? e.state !== PENDING : isLocated(e))) ready.push(refs[i]!);
      else pending.push(refs[i]!);
    }
    return { ready, pending };
  }

  #entries(refs: readonly ObjectRef[], what: string): ObjectEntry[] {
    const entries = new Array<ObjectEntry>(refs.length);
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      if (!(r instanceof ObjectRef)) throw new TypeError(`${what}: element ${i} is not an ObjectRef`);
      const e = this.#refs.entryOf(r);
      if (!e) throw new TypeError(`${what}: ${r} does not belong to this cluster (or was freed)`);
      entries[i] = e;
    }
    return entries;
  }

  /**
   * What the object store holds, like Ray's `ray memory`: totals (objects,
   * bytes inline, in shared memory, pinned and spilled, spill traffic) and
   * the largest objects with their sizes, locations, reference counts and
   * pins. `limit` caps the list (default 1000); the totals cover everything.
   */
  memory(options: { limit?: number } = {}): MemorySummary {
    this.#check("memory()");
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`memory(): limit must be a whole number >= 0, got ${options.limit}`);
    return this.#node.store.memory(limit);
  }

  /** The cluster's status (nodes, resources, load), as `wray status` shows it; undefined when embedded. */
  async clusterStatus(): Promise<ClusterStatus | undefined> {
    this.#check("clusterStatus()");
    return (await this.#cluster?.status()) as ClusterStatus | undefined;
  }

  /**
   * Jobs: programs the cluster's head runs without a client (`submit`,
   * `get`, `list`; see docs/jobs.md). On a cluster only: embedded, reading
   * it throws NoClusterError.
   */
  get jobs(): Jobs {
    this.#check("jobs");
    const cluster = this.#cluster;
    if (cluster === undefined) throw new NoClusterError("jobs run on a cluster's head, and this driver runs embedded (init() without an address)");
    return (this.#jobs ??= new Jobs((type, body, timeoutMs) => cluster.askHead(type, body, timeoutMs)));
  }

  /** This driver's node ID in the cluster (undefined when embedded). */
  get nodeId(): string | undefined {
    return this.#cluster?.nodeId;
  }

  /** Object-store, scheduler and actor figures, and how often isolates woke the host thread, for status tools. */
  stats(): { store: StoreStats; scheduler: SchedulerStats; actors: { alive: number; pending: number; dead: number }; isolates: { hostWakeups: number } } {
    return { store: this.#node.store.stats(), scheduler: this.#node.scheduler.stats(), actors: this.#node.actors.count(), isolates: { hostWakeups: this.#node.pool.wakeups } };
  }

  /**
   * Host-side GPU kernels on this driver's node's device (see Gpu). Check
   * `ray.gpu.available`; calls on a host without a device throw
   * GpuUnavailableError.
   */
  get gpu(): Gpu {
    if (this.#closed) throw new ShutdownError("gpu");
    return (this.#gpu ??= new Gpu(this.#node.gpu, {
      store: this.#node.store,
      put: (v) => this.put(v),
      get: (r) => this.get(r),
    }));
  }

  /** Stops every isolate and frees the object store. Gets still waiting reject with ShutdownError. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#refs.closed = true;
    this.#gpu?._close();
    this.#waits.close(new ShutdownError("get()/wait() in progress"));
    this.#groups.close();
    this.state.close();
    await this.#cluster?.close();
    await this.#node.close();
  }
}

/**
 * Refuses a call with more arguments than the guest's `what` (a task, an
 * actor class's constructor, "Class.method") takes, where the guest said
 * (manifest.maxArgs), as Ray refuses them. Fewer cannot be refused (see
 * guest-sdk/runtime/arity.ts).
 */
function refuseArgCount(what: string, max: number, n: number): never {
  throw new TypeError(`${what}.remote(): '${what}' takes ${max === 0 ? "no arguments" : `at most ${max} argument${max === 1 ? "" : "s"}`}, got ${n}`);
}

function checkTimeout(t: number | undefined): number {
  if (t === undefined) return -1;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) throw new RangeError(`timeoutMs must be a number >= 0, got ${t}`);
  return t;
}
