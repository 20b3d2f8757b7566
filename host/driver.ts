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
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ValueCodec, sendError } from "../common/codec.js";
import type { TaskId } from "../common/ids.js";
import { PUT_INDEX_FLAG, childTaskId, objectKey, randomTaskId } from "../common/ids.js";
import { ActorHandle } from "../common/actor-handle.js";
import { ObjectRef } from "../common/object-ref.js";
import type { MemorySummary, ObjectEntry, StoreStats } from "../store/index.js";
import { BLOCK_ALIGN, FAILED, GetTimeoutError, INLINE_MAX, PENDING, unwatch, watch } from "../store/index.js";
import type { SchedulerStats } from "../scheduler/index.js";
import type { ClusterStatus } from "./head.js";
import { prepareComponent } from "./component.js";
import { ActorNotFoundError, ComponentNotFoundError, NoClusterError, ShutdownError, UnknownFunctionError } from "./errors.js";
import type { ActorOptionsResolved } from "./actors.js";
import type { ActorOptions, ComponentRecord, FunctionInfo, NodeOptions, ResolvedOptions, TaskOptions } from "./node.js";
import { HostNode, resolveActorOptions, resolveOptions } from "./node.js";
import type { ClusterOptions } from "./cluster.js";
import { ClusterNode } from "./cluster.js";
import { readHeadFile, readToken, wrayHome } from "./cluster-files.js";
import { processAlive } from "../common/process.js";
import { printLog, wrayRecord } from "./log.js";
import type { Transport } from "../net/index.js";
import type { GpuBackend } from "../gpu/index.js";
import { Gpu, openHostGpu } from "./driver-gpu.js";


export interface InitOptions extends NodeOptions {
  /**
   * A cluster to join: `ws://HOST:PORT` (the head's address), `"auto"`
   * (the cluster `wray start --head` started on this machine, with its
   * token file), or `"local"` (none). Default: $WRAY_ADDRESS, else none:
   * wray runs an embedded single-host cluster in this process. So one
   * program runs unchanged embedded and, with WRAY_ADDRESS set, on a
   * cluster. Joined, the driver is a node of its own: its resources
   * (`numCpus`, default 0 here) take tasks only when given; objects it puts
   * and results it gets live in its own object store.
   */
  address?: string;
  /**
   * On a cluster: the address this driver serves its objects at, which the
   * cluster's nodes connect to (Ray's node IP address). Default: the
   * address this machine reaches the head from.
   */
  nodeIpAddress?: string;
  /** On a cluster: the port of that server. Default: any free one. */
  nodePort?: number;
  /** The cluster token. Default: $WRAY_TOKEN, else the token file. */
  token?: string;
  /** Where the cluster token is. Default: ~/.wray/token (or $WRAY_HOME/token). */
  tokenFile?: string;
  /**
   * How the cluster is reached. Default: WebSockets. An InprocTransport
   * shared with a Head and hosts started in this process (`inproc://`
   * addresses) runs a whole cluster inside one process, on the same
   * protocol code.
   */
  transport?: Transport;
  /**
   * Which Dawn backend the host's GPU device uses (`vulkan`, `metal`,
   * `d3d12`, ...). Default: Dawn's choice. A device is opened unless
   * `numGpus` is 0; embedded, it is offered to tasks as 1 GPU (or
   * `numGpus`); a driver that joins a cluster keeps it for `ray.gpu` and
   * offers GPUs only when given `numGpus`.
   */
  gpuBackend?: GpuBackend;
}

/** Arguments as a task takes them: each may also be an ObjectRef to a value of its type. */
export type RefArgs<A extends readonly unknown[]> = { [K in keyof A]: A[K] | ObjectRef<A[K]> };

/** Result of `wait`. */
export interface WaitResult<R extends ObjectRef = ObjectRef> {
  ready: R[];
  pending: R[];
}

/**
 * A task exported by a loaded component, ready to call: `remote(...)`
 * submits it and returns the ObjectRef of its result at once.
 */
export class RemoteFunction<A extends readonly unknown[] = unknown[], R = unknown> {
  readonly name: string;
  readonly #driver: Driver;
  readonly #component: ComponentRecord;
  readonly #fn: FunctionInfo;
  readonly #options: ResolvedOptions;
  readonly #raw: TaskOptions;

  /** @internal */
  constructor(driver: Driver, component: ComponentRecord, fn: FunctionInfo, options: TaskOptions) {
    this.#driver = driver;
    this.#component = component;
    this.#fn = fn;
    this.name = fn.name;
    this.#raw = options;
    this.#options = resolveOptions(options);
  }

  /** Submits the task. With `numReturns` other than 1, use `remoteN`. */
  remote(...args: RefArgs<A>): ObjectRef<R> {
    if (this.#options.numReturns !== 1) {
      throw new TypeError(`${this.name} has numReturns ${this.#options.numReturns}: call remoteN() for an array of refs`);
    }
    return this.#driver._submit(this.#component, this.#fn, args, this.#options)[0] as ObjectRef<R>;
  }

  /** Submits the task and returns one ref per return value (`numReturns` of them). */
  remoteN(...args: RefArgs<A>): ObjectRef[] {
    return this.#driver._submit(this.#component, this.#fn, args, this.#options);
  }

  /** The same task with other options (merged over the current ones). */
  options(options: TaskOptions): RemoteFunction<A, R> {
    return new RemoteFunction<A, R>(this.#driver, this.#component, this.#fn, { ...this.#raw, ...options });
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMethod = (...args: any[]) => unknown;

/**
 * An actor's methods as handle members, typed from `T`: the class itself
 * (`typeof Counter`, from `import type { Counter }` of the guest module),
 * its instance type, or an interface of its methods.
 */
export type ActorMethods<T> = {
  readonly [K in keyof InstanceOf<T>]: InstanceOf<T>[K] extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
};

/** A handle to an actor of class `T`: `handle.method.remote(...)` calls it. */
export type Actor<T = Record<string, AnyMethod>> = ActorHandle & ActorMethods<T>;

/** The instances of `T` when it is a class, else `T`. */
export type InstanceOf<T> = T extends abstract new (...args: never) => infer I ? I : T;

/** The constructor's arguments when `T` is a class (each may be a ref), else any. */
export type ConstructorArgs<T> = T extends abstract new (...args: infer A) => unknown ? RefArgs<A> : unknown[];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/** A task's arguments: given as a tuple, or taken from its function's type (`typeof fib`). */
export type TaskArgs<A> = A extends AnyFunction ? Parameters<A> : A extends readonly unknown[] ? A : never;

/** A task's result: its function's return type, or `R`. */
export type TaskResult<A, R> = A extends AnyFunction ? ReturnType<A> : R;

/** One method of an actor, ready to call: `remote(...)` returns the ObjectRef of its result. */
export class ActorMethod<A extends readonly unknown[] = unknown[], R = unknown> {
  readonly name: string;
  readonly #driver: Driver;
  readonly #handle: ActorHandle;
  readonly #numReturns: number;

  /** @internal */
  constructor(driver: Driver, handle: ActorHandle, name: string, numReturns: number) {
    this.#driver = driver;
    this.#handle = handle;
    this.name = name;
    this.#numReturns = numReturns;
  }

  /** Calls the method. Calls from this driver run in the order they are made. */
  remote(...args: RefArgs<A>): ObjectRef<R> {
    if (this.#numReturns !== 1) throw new TypeError(`${this.name} has numReturns ${this.#numReturns}: call remoteN() for an array of refs`);
    return this.#driver._callActor(this.#handle, this.name, args, 1)[0] as ObjectRef<R>;
  }

  /** Calls the method; one ref per returned value (`numReturns` of them). */
  remoteN(...args: RefArgs<A>): ObjectRef[] {
    return this.#driver._callActor(this.#handle, this.name, args, this.#numReturns);
  }

  /** The same method with other options (`numReturns`). */
  options(options: { numReturns?: number }): ActorMethod<A, R> {
    const n = resolveOptions({ numReturns: options.numReturns }).numReturns;
    return new ActorMethod<A, R>(this.#driver, this.#handle, this.name, n);
  }
}

/** An actor class of a loaded component: `remote(...)` creates an actor. */
export class ActorClass<T = Record<string, AnyMethod>> {
  readonly className: string;
  readonly #driver: Driver;
  readonly #component: ComponentRecord;
  readonly #raw: ActorOptions;
  readonly #options: ActorOptionsResolved;

  /** @internal */
  constructor(driver: Driver, component: ComponentRecord, className: string, options: ActorOptions) {
    this.#driver = driver;
    this.#component = component;
    this.className = className;
    this.#raw = options;
    this.#options = resolveActorOptions(options);
  }

  /**
   * Creates an actor: its constructor runs with `args` in an isolate of the
   * actor's own. Returns its handle at once; a constructor that fails makes
   * every call fail with ActorDiedError. Throws ActorNameTakenError when
   * `name` belongs to a live actor. With `T` a class (`typeof Counter`),
   * `args` are checked against its constructor.
   */
  remote(...args: ConstructorArgs<T>): Actor<T> {
    return this.#driver._createActor(this.#component, this.className, args, this.#options) as Actor<T>;
  }

  /** The same class with other options (`name`, `maxConcurrency`, resources), merged over these. */
  options(options: ActorOptions): ActorClass<T> {
    return new ActorClass<T>(this.#driver, this.#component, this.className, { ...this.#raw, ...options });
  }
}

/** A component loaded into the cluster. */
export class ComponentModule {
  /** Where it was loaded from. */
  readonly source: string;
  /** Names of its tasks (exported functions). */
  readonly tasks: readonly string[];
  /** Its actor classes and their methods. */
  readonly actors: Readonly<Record<string, readonly string[]>>;
  readonly #driver: Driver;
  readonly #record: ComponentRecord;

  /** @internal */
  constructor(driver: Driver, record: ComponentRecord) {
    this.#driver = driver;
    this.#record = record;
    this.source = record.source;
    this.tasks = record.prepared.manifest.tasks;
    this.actors = record.prepared.manifest.actors;
  }

  /** An actor class of this component. Throws UnknownFunctionError for a class it does not export. */
  actor<T = Record<string, AnyMethod>>(className: string, options: ActorOptions = {}): ActorClass<T> {
    if (typeof className !== "string") throw new TypeError("actor(className): className must be a string");
    if (!(className in this.actors)) throw new UnknownFunctionError("actor class", className, this.source, Object.keys(this.actors));
    return new ActorClass<T>(this.#driver, this.#record, className, options);
  }

  /**
   * A task of this component. Throws UnknownFunctionError for a name it
   * does not export. Type it with its arguments and result
   * (`fn<[number], number>("fib")`) or with its function (`fn<typeof
   * fib>("fib")`, from `import type` of the guest module).
   */
  fn<A extends readonly unknown[] | AnyFunction = unknown[], R = unknown>(name: string, options: TaskOptions = {}): RemoteFunction<TaskArgs<A>, TaskResult<A, R>> {
    if (typeof name !== "string") throw new TypeError("fn(name): name must be a string");
    if (!this.tasks.includes(name)) throw new UnknownFunctionError("task", name, this.source, this.tasks);
    return new RemoteFunction<TaskArgs<A>, TaskResult<A, R>>(this.#driver, this.#record, this.#driver._function(this.#record, name), options);
  }
}

/** A program's connection to wray: an embedded single-host cluster, or a cluster it joined as a driver (`init`). */
export class Driver {
  readonly #node: HostNode;
  readonly #codec: ValueCodec;
  readonly #root: TaskId = randomTaskId();
  readonly #spinMs: number;
  #submitted = 0;
  #puts = 0;
  #gets = 0;
  #closed = false;
  /** Refs the codec met while encoding the current value. */
  #encodedRefs: string[] | undefined;
  /** Drops a reference when an ObjectRef is collected. */
  readonly #registry: FinalizationRegistry<ObjectEntry>;
  /** Ends a pin when a view into shared memory is collected. */
  readonly #views: FinalizationRegistry<ObjectEntry>;
  #waiting = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Rejecters of gets and waits in progress, failed with ShutdownError at shutdown. */
  readonly #pending = new Set<(e: Error) => void>();

  readonly #cluster: ClusterNode | undefined;
  #gpu: Gpu | undefined;

  /** @internal */
  constructor(node: HostNode, spinMs: number, cluster?: ClusterNode) {
    this.#node = node;
    this.#cluster = cluster;
    this.#spinMs = spinMs;
    const store = node.store;
    this.#registry = new FinalizationRegistry((e) => {
      if (!this.#closed) store.release(e);
    });
    this.#views = new FinalizationRegistry((e) => {
      if (!this.#closed) store.unpin(e);
    });
    this.#codec = new ValueCodec({
      onEncodeRef: (ref) => (this.#encodedRefs ??= []).push(this.#escape(ref)),
      makeRef: (key) => this.#adopt(key),
      makeActor: (key) => this.#adoptActor(key),
    });
  }

  /** A handle for an object this driver just made (one reference already taken for it). */
  #own(e: ObjectEntry): ObjectRef {
    const r = new ObjectRef(e.key, e);
    this.#registry.register(r, e);
    return r;
  }

  /** A ref found in a value read back: its object is indexed; take a reference for the handle. */
  #adopt(key: string): ObjectRef {
    const store = this.#node.store;
    const e = store.entry(key);
    if (e) {
      store.addRef(e);
      return this.#own(e);
    }
    // in a cluster, an object of another node: a local entry (its one reference is this handle's), filled from there when read
    if (this.#cluster) return this.#own(this.#cluster.want(key));
    return new ObjectRef(key);
  }

  /** The entry a ref was made with, if it belongs to this driver's store. */
  #ownEntry(ref: ObjectRef): ObjectEntry | undefined {
    const e = ObjectRef.entryOf(ref) as ObjectEntry | undefined;
    return e !== undefined && e.store === this.#node.store ? e : undefined;
  }

  /** A ref goes into a value (an argument, a put): others may now ask for it by ID. */
  #escape(ref: ObjectRef): string {
    const e = this.#ownEntry(ref);
    if (e) this.#node.store.index(e);
    return ref.key;
  }

  #entryOf(ref: ObjectRef): ObjectEntry | undefined {
    const e = this.#ownEntry(ref);
    return e !== undefined && e.live ? e : this.#node.store.entry(ref.key);
  }

  #check(what: string): void {
    if (this.#closed) throw new ShutdownError(what);
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
    const prepared = await prepareComponent(bytes, source);
    this.#check("load()");
    // in a cluster, other nodes load it from the functions table when they first run it
    await this.#cluster?.publishComponent(prepared.hash, bytes);
    return new ComponentModule(this, this.#node.addComponent(prepared, source));
  }

  /** @internal */
  _function(c: ComponentRecord, name: string): FunctionInfo {
    return this.#node.functionInfo(c, name);
  }

  /**
   * Encodes call arguments; the refs among them are `deps` (top level,
   * resolved before the call) and `nested` (deeper, kept alive).
   */
  #encodeArgs(args: readonly unknown[], owner: string, method?: string): { bytes: Uint8Array; deps: string[] | undefined; nested: string[] | undefined } {
    this.#encodedRefs = undefined;
    let bytes: Uint8Array;
    try {
      bytes = args.length === 0 ? NO_ARGS : this.#codec.encode(args, "args");
    } catch (e) {
      // the call's name is put together only when it is needed
      throw sendError(e, `${owner}${method === undefined ? "" : `.${method}`}.remote()`);
    }
    let deps: string[] | undefined;
    let nested: string[] | undefined;
    if (this.#encodedRefs !== undefined) {
      const all: string[] = this.#encodedRefs;
      this.#encodedRefs = undefined;
      for (const a of args) if (a instanceof ObjectRef) (deps ??= []).push(a.key);
      const top = deps ? [...deps] : [];
      for (const id of all) {
        const i = top.indexOf(id);
        if (i >= 0) top.splice(i, 1);
        else (nested ??= []).push(id);
      }
    }
    return { bytes, deps, nested };
  }

  /** The return objects of a call with task ID `taskId`, and their refs. */
  #returns(taskId: TaskId, n: number): { ids: string[]; entries: ObjectEntry[]; refs: ObjectRef[] } {
    const store = this.#node.store;
    const refs = new Array<ObjectRef>(n);
    const ids = new Array<string>(n);
    const entries = new Array<ObjectEntry>(n);
    for (let i = 0; i < n; i++) {
      const id = objectKey(taskId, i + 1);
      ids[i] = id;
      const e = store.create(id, 1);
      entries[i] = e;
      refs[i] = this.#own(e);
    }
    return { ids, entries, refs };
  }

  /** @internal Submits a task; returns its return refs. */
  _submit(c: ComponentRecord, fn: FunctionInfo, args: readonly unknown[], options: ResolvedOptions): ObjectRef[] {
    if (this.#closed) throw new ShutdownError(`${fn.name}.remote()`);
    if (args.length > fn.maxArgs) refuseArgCount(fn.name, fn.maxArgs, args.length);
    const node = this.#node;
    const { bytes, deps, nested } = this.#encodeArgs(args, fn.name);
    const taskId = childTaskId(this.#root, this.#submitted++);
    const { ids, entries, refs } = this.#returns(taskId, options.numReturns);
    node.submit(node.makeTask(c, fn, taskId, bytes, deps, nested, options, false, ids, entries));
    // a long burst of submissions: let finished tasks make room now and then
    if ((this.#submitted & 63) === 0 && node.pool.pending()) node.poll();
    return refs;
  }

  /** @internal Creates an actor; returns its handle. */
  _createActor(c: ComponentRecord, className: string, args: readonly unknown[], options: ActorOptionsResolved): ActorHandle {
    if (this.#closed) throw new ShutdownError(`${className}.remote()`);
    const ctorMax = c.prepared.manifest.maxArgs[className];
    if (ctorMax !== undefined && args.length > ctorMax) refuseArgCount(className, ctorMax, args.length);
    const { bytes, deps, nested } = this.#encodeArgs(args, className);
    const taskId = childTaskId(this.#root, this.#submitted++);
    if (this.#cluster) {
      this.#cluster.createActor(c, className, taskId, bytes, deps, nested, options, undefined);
      return this.#actorHandle(taskId.key, className, new Set(c.prepared.manifest.actors[className] ?? []));
    }
    const r = this.#node.createActor(c, className, taskId, bytes, deps, nested, options);
    return this.#actorHandle(r.key, r.className, r.methods);
  }

  /** @internal Calls a method; returns its return refs. */
  _callActor(handle: ActorHandle, method: string, args: readonly unknown[], numReturns: number): ObjectRef[] {
    if (this.#closed) throw new ShutdownError(`${handle.className}.${method}.remote()`);
    const node = this.#node;
    const r = node.actors.get(handle.key);
    if (!r && !this.#cluster) throw new ActorNotFoundError(`with ID ${handle.id} in this cluster`);
    const methodMax = r && node.component(r.component).prepared.manifest.methodMaxArgs[r.className]?.[method];
    if (methodMax !== undefined && args.length > methodMax) refuseArgCount(`${r!.className}.${method}`, methodMax, args.length);
    const { bytes, deps, nested } = this.#encodeArgs(args, handle.className, method);
    const taskId = childTaskId(this.#root, this.#submitted++);
    const { ids, entries, refs } = this.#returns(taskId, numReturns);
    if (r) node.callActor(r, method, taskId, bytes, deps, nested, numReturns, ids, entries);
    else this.#cluster!.callActor(handle.key, method, taskId, bytes, deps, nested, numReturns, ids, entries);
    if ((this.#submitted & 63) === 0 && node.pool.pending()) node.poll();
    return refs;
  }

  /**
   * A handle whose `handle.method` gives an ActorMethod. Unknown method
   * names throw UnknownFunctionError (`then` and symbols read as absent, so
   * a handle can be awaited or inspected); with `methods` unknown (an actor
   * of another cluster, or dead) any name is accepted and the call fails.
   */
  #actorHandle(key: string, className: string, methods: ReadonlySet<string> | undefined): ActorHandle {
    const driver = this;
    return new Proxy(new ActorHandle(key, className), {
      get(target, prop, receiver) {
        if (typeof prop !== "string" || prop in target) return Reflect.get(target, prop, receiver);
        if (methods === undefined || methods.has(prop)) return new ActorMethod(driver, receiver as ActorHandle, prop, 1);
        if (prop === "then") return undefined;
        throw new UnknownFunctionError("method", prop, `actor class ${className}`, [...methods]);
      },
    });
  }

  /** The actor registered under `name`. Rejects with ActorNotFoundError when no live actor has it. */
  async getActor<T = Record<string, AnyMethod>>(name: string): Promise<Actor<T>> {
    this.#check("getActor()");
    if (typeof name !== "string") throw new TypeError("getActor(name): name must be a string");
    const r = this.#node.actors.byName(name);
    if (r) return this.#actorHandle(r.key, r.className, r.methods) as Actor<T>;
    const key = await this.#cluster?.actorByName(name);
    if (key === undefined) throw new ActorNotFoundError(`named '${name}'`);
    return this.#actorHandle(key, this.#cluster!.actorClass(key) ?? "", undefined) as Actor<T>;
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

  /** A handle read back from a value. */
  #adoptActor(key: string): ActorHandle {
    const r = this.#node.actors.get(key);
    return this.#actorHandle(key, r?.className ?? this.#cluster?.actorClass(key) ?? "", r?.methods);
  }

  /**
   * Stores a value in the object store and returns its ref. Large
   * Uint8Arrays are copied once, straight into shared memory.
   */
  put<T>(value: T): ObjectRef<T> {
    this.#check("put()");
    const store = this.#node.store;
    const e = store.create(objectKey(this.#root, (PUT_INDEX_FLAG | ++this.#puts) >>> 0), 1);
    try {
      if (value instanceof Uint8Array && value.length > INLINE_MAX) {
        // MessagePack bin32 header, then the bytes (aligned), written in place
        const ref = store.alloc(value.length + 5, BLOCK_ALIGN - 5);
        const view = store.arena.view(ref);
        view[0] = 0xc6;
        new DataView(view.buffer, view.byteOffset, 5).setUint32(1, value.length);
        view.set(value, 5);
        store.sealArena(e, ref);
      } else {
        this.#encodedRefs = undefined;
        let bytes: Uint8Array;
        try {
          bytes = this.#codec.encodeTransient(value, "value");
        } catch (e) {
          throw sendError(e, "put()");
        }
        const nested = this.#encodedRefs;
        this.#encodedRefs = undefined;
        store.putBytes(e, bytes, 0, nested);
      }
    } catch (err) {
      // a value that cannot be encoded, or no room for it: nothing is left behind
      store.release(e);
      throw err;
    }
    return this.#own(e) as ObjectRef<T>;
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
    await this.#until(entries, entries.length, timeoutMs);
    if ((++this.#gets & 255) === 0) {
      // a loop of gets of ready objects runs on microtasks alone; give
      // finalizers a turn now and then, so dropped refs and views are
      // released (and their objects freed or unpinned) during the loop
      await new Promise((r) => setImmediate(r));
      this.#check("get()");
    }
    const out = new Array<unknown>(list.length);
    for (let i = 0; i < list.length; i++) out[i] = this.#value(entries[i]!);
    return single ? out[0] : out;
  }

  /**
   * Waits until `numReturns` of `refs` are ready (or `timeoutMs` passes)
   * and splits them: `ready` holds at most `numReturns` refs, in the order
   * given; `pending` the rest.
   */
  async wait<R extends ObjectRef>(refs: readonly R[], options: { numReturns?: number; timeoutMs?: number } = {}): Promise<WaitResult<R>> {
    this.#check("wait()");
    if (!Array.isArray(refs)) throw new TypeError("wait() takes an array of ObjectRefs");
    const numReturns = options.numReturns ?? 1;
    if (!Number.isInteger(numReturns) || numReturns < 0 || numReturns > refs.length) {
      throw new RangeError(`wait(): numReturns must be a whole number from 0 to ${refs.length}, got ${options.numReturns}`);
    }
    const timeoutMs = checkTimeout(options.timeoutMs);
    const entries = this.#entries(refs, "wait()");
    try {
      await this.#until(entries, numReturns, timeoutMs);
    } catch (e) {
      if (!(e instanceof GetTimeoutError)) throw e;
    }
    const ready: R[] = [];
    const pending: R[] = [];
    for (let i = 0; i < refs.length; i++) {
      if (ready.length < numReturns && entries[i]!.state !== PENDING) ready.push(refs[i]!);
      else pending.push(refs[i]!);
    }
    return { ready, pending };
  }

  #entries(refs: readonly ObjectRef[], what: string): ObjectEntry[] {
    const entries = new Array<ObjectEntry>(refs.length);
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i];
      if (!(r instanceof ObjectRef)) throw new TypeError(`${what}: element ${i} is not an ObjectRef`);
      const e = this.#entryOf(r);
      if (!e) throw new TypeError(`${what}: ${r} does not belong to this cluster (or was freed)`);
      entries[i] = e;
    }
    return entries;
  }

  /**
   * Resolves once `need` of the entries are sealed. Spins (polling the
   * isolates) for a moment first: a result that is microseconds away is
   * then picked up without a thread wake-up.
   */
  async #until(entries: ObjectEntry[], need: number, timeoutMs: number): Promise<void> {
    let ready = 0;
    for (const e of entries) if (e.state !== PENDING) ready++;
    if (ready >= need) return;
    let remaining = need - ready;
    let done: (() => void) | undefined;
    const onSealed = () => {
      if (--remaining === 0) done?.();
    };
    const watched: ObjectEntry[] = [];
    for (const e of entries) {
      if (e.state === PENDING) {
        watch(e, onSealed);
        watched.push(e);
        // on another node: bring it here
        if (e.remote !== undefined) e.store.demand(e);
      }
    }
    // objects still pending when we stop waiting must not call back later
    const forget = () => {
      for (const e of watched) if (e.state === PENDING) unwatch(e, onSealed);
    };
    // spin only for results this node's isolates are about to produce: a
    // result from another node arrives on the event loop, which a spin blocks
    if (this.#spinMs > 0 && this.#node.expectingSoon()) {
      const node = this.#node;
      node.pool.spin(() => {
        node.poll();
        return remaining <= 0;
      }, Math.min(this.#spinMs, timeoutMs >= 0 ? timeoutMs : Infinity));
      if (remaining <= 0) {
        if (need < entries.length) forget();
        return;
      }
    }
    this.#hold(1);
    try {
      await new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (err?: Error) => {
          if (timer) clearTimeout(timer);
          this.#pending.delete(fail);
          if (err) reject(err);
          else resolve();
        };
        const fail = (err: Error) => {
          forget();
          finish(err);
        };
        done = () => finish();
        if (timeoutMs >= 0) timer = setTimeout(() => fail(new GetTimeoutError(timeoutMs, remaining)), timeoutMs);
        this.#pending.add(fail);
      });
    } finally {
      this.#hold(-1);
    }
    if (need < entries.length) forget();
  }

  /** Keeps the process alive while the driver waits for isolates (they do not hold it). */
  #hold(d: number): void {
    this.#waiting += d;
    if (this.#waiting > 0 && !this.#keepAlive) this.#keepAlive = setInterval(() => {}, 1 << 30);
    else if (this.#waiting === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  #value(e: ObjectEntry): unknown {
    if (e.state === FAILED) throw e.error;
    const store = this.#node.store;
    // read back from disk if it was spilled
    const bytes = store.bytes(e)!;
    if (!e.arena) return this.#codec.decode(bytes);
    // Binary values decoded from shared memory are views of it (zero-copy),
    // which pin the object until they are collected. Collection is up to
    // the garbage collector, so views may pin at most half the store; past
    // that, values come from a private copy and the store stays free to spill.
    if (store.pinnedBytes + bytes.length > store.arena.capacity * VIEW_PIN_SHARE) return this.#codec.decode(bytes.slice());
    const v = this.#codec.decode(bytes);
    this.#pinViews(v, e, 0);
    return v;
  }

  #pinViews(v: unknown, e: ObjectEntry, depth: number): void {
    if (v === null || typeof v !== "object" || depth > 64) return;
    if (v instanceof Uint8Array) {
      if (v.buffer instanceof SharedArrayBuffer) {
        // a view into shared memory: the object stays there (never spilled or freed) while it lives
        this.#node.store.pin(e);
        this.#views.register(v, e);
      }
      return;
    }
    if (ArrayBuffer.isView(v) || v instanceof ObjectRef) return;
    if (Array.isArray(v)) for (const x of v) this.#pinViews(x, e, depth + 1);
    else for (const x of Object.values(v)) this.#pinViews(x, e, depth + 1);
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

  /** This driver's node ID in the cluster (undefined when embedded). */
  get nodeId(): string | undefined {
    return this.#cluster?.nodeId;
  }

  /** Object-store, scheduler and actor figures, for status tools. */
  stats(): { store: StoreStats; scheduler: SchedulerStats; actors: { alive: number; pending: number; dead: number } } {
    return { store: this.#node.store.stats(), scheduler: this.#node.scheduler.stats(), actors: this.#node.actors.count() };
  }

  /** Stops every isolate and frees the object store. Gets still waiting reject with ShutdownError. */
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

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gpu?._close();
    for (const reject of this.#pending) reject(new ShutdownError("get()/wait() in progress"));
    this.#pending.clear();
    if (this.#keepAlive) clearInterval(this.#keepAlive);
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

/** The share of the object store that views returned by `get` may pin. */
const VIEW_PIN_SHARE = 0.5;

/** The encoding of an empty argument list, shared (records copy it, nothing writes it). */
const NO_ARGS = Uint8Array.of(0x90);

function checkTimeout(t: number | undefined): number {
  if (t === undefined) return -1;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) throw new RangeError(`timeoutMs must be a number >= 0, got ${t}`);
  return t;
}

/**
 * Starts wray. With no address it runs an embedded single-host cluster in
 * this process (one isolate per core); with `address` it joins that
 * cluster as a driver.
 */
/** A node for `init`; options it refuses close the GPU device opened for it. */
function newNode(options: NodeOptions): HostNode {
  try {
    return new HostNode(options);
  } catch (e) {
    if (typeof options.gpu === "object") options.gpu.close();
    throw e;
  }
}

export async function init(options: InitOptions = {}): Promise<Driver> {
  const { address: given, token, tokenFile, transport, gpuBackend, nodeIpAddress, nodePort, log: userLog, ...nodeOptions } = options;
  if (userLog !== undefined && typeof userLog !== "function") throw new TypeError("init(): log must be a function taking a log record");
  const log = userLog ?? printLog;
  const target = await clusterAddress(given, transport !== undefined);
  if (nodeIpAddress !== undefined && (typeof nodeIpAddress !== "string" || nodeIpAddress.length === 0)) throw new TypeError("init(): nodeIpAddress must be an IP address or host name");
  if (nodePort !== undefined && !(Number.isInteger(nodePort) && nodePort >= 0 && nodePort < 65536)) throw new RangeError(`init(): nodePort must be a port number, got ${String(nodePort)}`);
  const clusterToken = target === undefined ? undefined : (token ?? process.env.WRAY_TOKEN ?? (await readToken(tokenFile ?? target.tokenFile)));
  const say = (line: string) => log(wrayRecord(line));
  if (nodeOptions.gpu === undefined) {
    Object.assign(nodeOptions, await openHostGpu({ numGpus: options.numGpus, gpuBackend, advertise: target === undefined, log: say }));
  }
  if (target === undefined) {
    const node = newNode({ ...nodeOptions, log });
    node.start();
    return new Driver(node, options.spinMs ?? 0.1);
  }
  const node = newNode({ numCpus: 0, ...nodeOptions, log });
  node.start();
  let cluster: ClusterNode;
  try {
    const opts: ClusterOptions = { address: target.address, token: clusterToken!, driver: true, log: say, transport };
    if (nodeIpAddress !== undefined) opts.listenHost = nodeIpAddress;
    if (nodePort !== undefined) opts.listenPort = nodePort;
    cluster = await ClusterNode.join(node, opts);
  } catch (e) {
    await node.close();
    throw e;
  }
  return new Driver(node, options.spinMs ?? 0.1, cluster);
}

/**
 * Which cluster `init` joins: `address`, else $WRAY_ADDRESS; "auto" is the
 * one `wray start --head` started on this machine (its token file with
 * it); "local" or nothing is none (an embedded cluster).
 */
async function clusterAddress(given: string | undefined, customTransport: boolean): Promise<{ address: string; tokenFile?: string } | undefined> {
  if (given !== undefined && typeof given !== "string") throw new TypeError(`init(): address must be a string (ws://HOST:PORT, "auto" or "local"), got ${typeof given}`);
  const fromEnv = given === undefined;
  const address = given ?? (process.env.WRAY_ADDRESS || undefined);
  if (address === undefined || address === "local") return undefined;
  const where = fromEnv ? `WRAY_ADDRESS=${address}` : `address ${JSON.stringify(address)}`;
  if (address === "auto") {
    const head = readHeadFile();
    if (!head) throw new NoClusterError(`${where} looks for a head started on this machine, and ${wrayHome()}/head.json names none`);
    if (!processAlive(head.pid)) throw new NoClusterError(`${where}: the head recorded in ${wrayHome()}/head.json (pid ${head.pid}) is not running`);
    return { address: head.address, tokenFile: head.tokenFile };
  }
  if (!(customTransport ? /^[a-z]+:\/\/./.test(address) : /^wss?:\/\/./.test(address))) {
    throw new TypeError(`init(): ${where} is not a cluster address: give ws://HOST:PORT (the head's, as \`wray start --head\` prints it), "auto" or "local"`);
  }
  return { address };
}
