/**
 * What a program holds to call tasks and actors: a loaded component
 * (ComponentModule), its tasks (RemoteFunction) and actor classes
 * (ActorClass), and an actor's methods (ActorMethod), with the types that
 * check a call's arguments against the guest's own declarations. Each
 * hands its calls to the driver through DriverCalls.
 */
import { ActorHandle } from "../../common/actor-handle.js";
import type { ObjectRef } from "../../common/object-ref.js";
import { UnknownFunctionError } from "../errors.js";
import type { ActorOptions, ActorOptionsResolved, ComponentRecord, FunctionInfo, ResolvedOptions, TaskOptions } from "../node/index.js";
import { resolveActorOptions, resolveOptions } from "../node/index.js";

/** What handles ask of the driver that made them (Driver implements it). */
export interface DriverCalls {
  /** @internal Submits a task; returns its return refs. */
  _submit(c: ComponentRecord, fn: FunctionInfo, args: readonly unknown[], options: ResolvedOptions): ObjectRef[];
  /** @internal Creates an actor; returns its handle. */
  _createActor(c: ComponentRecord, className: string, args: readonly unknown[], options: ActorOptionsResolved): ActorHandle;
  /** @internal Calls a method; returns its return refs. */
  _callActor(handle: ActorHandle, method: string, args: readonly unknown[], numReturns: number): ObjectRef[];
  /** @internal The host's record of a task of a component. */
  _function(c: ComponentRecord, name: string): FunctionInfo;
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
  readonly #driver: DriverCalls;
  readonly #component: ComponentRecord;
  readonly #fn: FunctionInfo;
  readonly #options: ResolvedOptions;
  readonly #raw: TaskOptions;

  /** @internal */
  constructor(driver: DriverCalls, component: ComponentRecord, fn: FunctionInfo, options: TaskOptions) {
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
export type AnyMethod = (...args: any[]) => unknown;

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
  readonly #driver: DriverCalls;
  readonly #handle: ActorHandle;
  readonly #numReturns: number;

  /** @internal */
  constructor(driver: DriverCalls, handle: ActorHandle, name: string, numReturns: number) {
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
  readonly #driver: DriverCalls;
  readonly #component: ComponentRecord;
  readonly #raw: ActorOptions;
  readonly #options: ActorOptionsResolved;

  /** @internal */
  constructor(driver: DriverCalls, component: ComponentRecord, className: string, options: ActorOptions) {
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
  readonly #driver: DriverCalls;
  readonly #record: ComponentRecord;

  /** @internal */
  constructor(driver: DriverCalls, record: ComponentRecord) {
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

/**
 * A handle whose `handle.method` gives an ActorMethod. Unknown method
 * names throw UnknownFunctionError (`then` and symbols read as absent, so
 * a handle can be awaited or inspected); with `methods` unknown (an actor
 * of another cluster, or dead) any name is accepted and the call fails.
 */
export function actorHandle(driver: DriverCalls, key: string, className: string, methods: ReadonlySet<string> | undefined): ActorHandle {
  return new Proxy(new ActorHandle(key, className), {
    get(target, prop, receiver) {
      if (typeof prop !== "string" || prop in target) return Reflect.get(target, prop, receiver);
      if (methods === undefined || methods.has(prop)) return new ActorMethod(driver, receiver as ActorHandle, prop, 1);
      if (prop === "then") return undefined;
      throw new UnknownFunctionError("method", prop, `actor class ${className}`, [...methods]);
    },
  });
}
