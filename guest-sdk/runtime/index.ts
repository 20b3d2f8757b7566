/// <reference path="./host.d.ts" />
/// <reference path="./sandbox.d.ts" />
/**
 * wray's guest SDK: what tasks and actors import, inside the sandbox.
 *
 * Every exported function of a guest module is a task and every exported
 * class an actor; `wray build` compiles the module to a WebAssembly
 * component. Inside a task, `get`, `wait` and `put` talk to the host, and
 * exported functions gain Ray's `.remote()`:
 *
 * @example
 * import { get } from "wray/guest";
 * export function fib(n: number): number {
 *   if (n < 2) return n;
 *   const [a, b] = get([fib.remote(n - 1), fib.remote(n - 2)]);
 *   return a + b;
 * }
 *
 * This file's parts:
 *   options              TaskOptions, ActorOptions (TaskError, get, wait, put and cancel are in objects.ts)
 *   tasks                remote, remoteWith
 *   actors               createActor, getActor, handles
 *   log
 *   the exports          __wrayExports: the component's tasks, classes and manifest
 */
import host from "wray:runtime/host@0.1.0";
import "./polyfills.js";
import { ActorHandle, ObjectRef, decode, encode, encodeReply, encodeView, sendError, setActorFactory } from "./msgpack.js";

export { ActorHandle, ObjectRef };
export { decode, encode } from "./msgpack.js";
export { gpu, GpuBuffer, GpuKernel, GpuError } from "./gpu.js";
export { ActorPool } from "./actor-pool.js";
export { Queue, QueueEmptyError, QueueFullError } from "./queue.js";
export type { QueueWait } from "./queue.js";
export { TaskError, get, wait, put, cancelled, cancel, defer, resolve, getAsync, waitAsync } from "./objects.js";
import { TaskError, setWatch } from "./objects.js";
import type { Watch } from "./objects.js";
import { GpuError } from "./gpu.js";
import { maxArgs } from "./arity.js";

/** Options of a task submission, as in Ray's `.options(...)`. */
export interface TaskOptions {
  /** How many ObjectRefs `remote` returns; the task then returns an array of that length. */
  numReturns?: number;
  /** CPUs the task holds while it runs (default 1). */
  numCpus?: number;
  /** Custom resources the task holds while it runs. */
  resources?: Record<string, number>;
  /** How often a task that fails by a crash of its isolate is run again (default 3). */
  maxRetries?: number;
  /** Fails the task (and frees its isolate) if it runs longer than this. */
  timeoutMs?: number;
}

type AnyFn = (...args: never[]) => unknown;
const taskNames = new Map<unknown, string>();
/** The most arguments each task and actor class of this component takes, where known (see arity.ts). */
const argLimits: Record<string, number> = Object.create(null);

function checkArgs(name: string, n: number): void {
  const max = argLimits[name];
  if (max !== undefined && n > max) throw new TypeError(`${name}.remote(): '${name}' takes ${max === 0 ? "no arguments" : `at most ${max} argument${max === 1 ? "" : "s"}`}, got ${n}`);
}

/** The encoded argument array of a call of `name` (its label is made only for an error). */
function encodeArgs(args: unknown[], name: string): Uint8Array {
  try {
    return encodeView(args, "args");
  } catch (e) {
    throw sendError(e, `${name}.remote()`);
  }
}
const NO_OPTIONS = new Uint8Array(0);

function submit(name: string, args: unknown[], options: TaskOptions | undefined): ObjectRef | ObjectRef[] {
  checkArgs(name, args.length);
  const numReturns = options?.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 0) throw new RangeError(`numReturns must be a whole number >= 0, got ${numReturns}`);
  const opts = options ? encode(options) : NO_OPTIONS;
  const ids = host.submit(name, encodeArgs(args, name), opts);
  if (numReturns === 1) return new ObjectRef(ids[0]!);
  const refs = new Array<ObjectRef>(ids.length);
  for (let i = 0; i < ids.length; i++) refs[i] = new ObjectRef(ids[i]!);
  return refs;
}

function nameOf(fn: AnyFn | string): string {
  if (typeof fn === "string") return fn;
  const name = taskNames.get(fn);
  if (name === undefined) throw new TypeError("remote() takes a task exported by this component, or its name");
  return name;
}

/**
 * Submits `fn` (an exported task, or its name) and returns the ObjectRef of
 * its result at once. Same as `fn.remote(...args)`.
 */
export function remote<F extends AnyFn>(fn: F | string, ...args: Parameters<F>): ObjectRef<ReturnType<F>> {
  return submit(nameOf(fn), args, undefined) as ObjectRef<ReturnType<F>>;
}

/** `remote` with options; with `numReturns` it returns that many refs. */
export function remoteWith<F extends AnyFn>(fn: F | string, options: TaskOptions, ...args: Parameters<F>): ObjectRef | ObjectRef[] {
  return submit(nameOf(fn), args, options);
}

// ---- actors -----------------------------------------------------------------

/** Options of an actor, as in Ray's `.options(...)`. */
export interface ActorOptions {
  /** Registers the actor under this name (see `getActor`). */
  name?: string;
  /** How many calls may run interleaved while earlier ones wait in `get` (default 1). */
  maxConcurrency?: number;
  /** "detached": on a cluster, it outlives the driver whose program made it (until killed). */
  lifetime?: "detached";
  /** CPUs the actor holds for its lifetime (default 0). */
  numCpus?: number;
  /** Custom resources the actor holds for its lifetime. */
  resources?: Record<string, number>;
}

/** A method of an actor handle. */
export interface ActorMethod<A extends unknown[], R> {
  /** Calls it; calls from one caller run in the order they are made. */
  remote(...args: A): ObjectRef<R>;
  /** With `numReturns` other than 1, `remote` returns that many refs. */
  options(options: { numReturns?: number }): { remote(...args: A): ObjectRef<R> & ObjectRef[] };
}

/** A handle to an actor of class `T`: `handle.method.remote(...)`. */
export type Actor<T = Record<string, (...args: never[]) => unknown>> = ActorHandle & {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? ActorMethod<A, R> : never;
};

function callActor(h: ActorHandle, method: string, args: unknown[], options: { numReturns?: number } | undefined): ObjectRef | ObjectRef[] {
  const numReturns = options?.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 0) throw new RangeError(`numReturns must be a whole number >= 0, got ${numReturns}`);
  const opts = options ? encode(options) : NO_OPTIONS;
  const ids = host.callActor(h.id, method, encodeArgs(args, method), opts);
  if (numReturns === 1) return new ObjectRef(ids[0]!);
  const refs = new Array<ObjectRef>(ids.length);
  for (let i = 0; i < ids.length; i++) refs[i] = new ObjectRef(ids[i]!);
  return refs;
}

/** A handle whose members are the actor's methods (any name: the host checks it). */
function actorHandle(id: Uint8Array): ActorHandle {
  // method objects are made once per handle and name: allocation is dear in QuickJS
  const methods: Record<string, unknown> = Object.create(null);
  return new Proxy(new ActorHandle(id), {
    get(target, prop, receiver) {
      if (typeof prop !== "string" || prop in target) return Reflect.get(target, prop, receiver);
      if (prop === "then") return undefined;
      let m = methods[prop];
      if (m === undefined) {
        m = methods[prop] = {
          remote: (...a: unknown[]) => callActor(target, prop, a, undefined),
          options: (o: { numReturns?: number }) => ({ remote: (...a: unknown[]) => callActor(target, prop, a, o) }),
        };
      }
      return m;
    },
  });
}
setActorFactory(actorHandle);

const actorNames = new Map<unknown, string>();

function nameOfClass(cls: unknown): string {
  if (typeof cls === "string") return cls;
  const name = actorNames.get(cls);
  if (name === undefined) throw new TypeError("createActor() takes an actor class exported by this component, or its name");
  return name;
}

type Ctor = new (...args: never[]) => object;

/**
 * Creates an actor of a class this component exports (or its name) and
 * returns its handle at once. Same as `Class.remote(...args)`.
 */
export function createActor<C extends Ctor>(cls: C, ...args: ConstructorParameters<C>): Actor<InstanceType<C>>;
export function createActor(cls: string, ...args: unknown[]): Actor;
export function createActor(cls: Ctor | string, ...args: unknown[]): Actor {
  return createActorWith(cls as string, {}, ...args);
}

/** `createActor` with options (`name`, `maxConcurrency`, resources). */
export function createActorWith<C extends Ctor>(cls: C, options: ActorOptions, ...args: ConstructorParameters<C>): Actor<InstanceType<C>>;
export function createActorWith(cls: string, options: ActorOptions, ...args: unknown[]): Actor;
export function createActorWith(cls: Ctor | string, options: ActorOptions, ...args: unknown[]): Actor {
  const name = nameOfClass(cls);
  checkArgs(name, args.length);
  const opts = encode(options);
  return actorHandle(host.createActor(name, encodeArgs(args, name), opts)) as Actor;
}

/** The actor registered under `name`; throws TaskError `WRAY_ACTOR_NOT_FOUND` when there is none. */
export function getActor<T = Record<string, (...args: never[]) => unknown>>(name: string): Actor<T> {
  if (typeof name !== "string") throw new TypeError("getActor(name): name must be a string");
  const id = host.getActor(name);
  if (id.length === 0) throw new TaskError("WRAY_ACTOR_NOT_FOUND", `no live actor named '${name}'`, "", "");
  return actorHandle(id) as Actor<T>;
}

/** Writes to the host's log (also what `console.log` does). */
export function log(...args: unknown[]): void {
  console.log(...args);
}

// ---- the exports of the component ------------------------------------------

function isClass(v: unknown): v is Ctor {
  return typeof v === "function" && /^class[\s{]/.test(Function.prototype.toString.call(v));
}

function methodsOf(C: Ctor): string[] {
  const names = new Set<string>();
  for (let p = C.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === "constructor" || k.startsWith("__")) continue;
      const d = Object.getOwnPropertyDescriptor(p, k);
      if (d && typeof d.value === "function") names.add(k);
    }
  }
  return [...names];
}

function failure(e: unknown): Uint8Array {
  if (e instanceof TaskError) return encodeView({ code: e.code, name: e.name, message: e.message, task: e.task, stack: e.guestStack });
  if (e instanceof GpuError) return encodeView({ code: e.code, name: e.name, message: e.message, stack: e.stack ?? "" });
  if (e instanceof Error) return encodeView({ name: e.name, message: e.message, stack: e.stack ?? "" });
  return encodeView({ name: "Error", message: typeof e === "string" ? e : safeString(e), stack: "" });
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function unknown(kind: string, name: string, known: string[]): Uint8Array {
  return encodeView({
    code: "WRAY_UNKNOWN_FUNCTION",
    name: "WrayError",
    message: `no ${kind} named '${name}' in this component (it has: ${known.join(", ") || "none"})`,
    stack: "",
  });
}

/** The reply for a call's result. `owner` (a class name) is only read to word errors. */
function returns(result: unknown, numReturns: number, kind: string, name: string, owner = ""): Uint8Array | number[] {
  if (result instanceof Promise) {
    throw new TypeError(`${kind} '${owner ? `${owner}.` : ""}${name}' returned a Promise; only async functions may (use get() to wait, or make it async)`);
  }
  if (numReturns === 0) return encodeReply([], true);
  if (numReturns !== 1 && (!Array.isArray(result) || result.length !== numReturns)) {
    throw new TypeError(`${kind} '${owner ? `${owner}.` : ""}${name}' must return an array of ${numReturns} values (numReturns is ${numReturns})`);
  }
  try {
    return encodeReply(result, numReturns !== 1);
  } catch (e) {
    throw sendError(e, `${kind} '${owner ? `${owner}.` : ""}${name}' returned a value that cannot be sent`);
  }
}

function args(bytes: Uint8Array): unknown[] {
  const a = decode(bytes);
  if (!Array.isArray(a)) throw new TypeError("task arguments must be a MessagePack array");
  return a;
}

/** Calls `fn` with `a` as its arguments (direct calls are 4x cheaper than spread in QuickJS). */
function call(fn: AnyFn, self: unknown, a: unknown[]): unknown {
  const f = fn as (...x: unknown[]) => unknown;
  if (self !== undefined) {
    switch (a.length) {
      case 0: return f.call(self);
      case 1: return f.call(self, a[0]);
      case 2: return f.call(self, a[0], a[1]);
      default: return f.apply(self, a);
    }
  }
  switch (a.length) {
    case 0: return f();
    case 1: return f(a[0]);
    case 2: return f(a[0], a[1]);
    case 3: return f(a[0], a[1], a[2]);
    case 4: return f(a[0], a[1], a[2], a[3]);
    default: return f.apply(undefined, a);
  }
}

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor as unknown;
const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor as unknown;
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor as unknown;

function isAsync(fn: unknown): boolean {
  return typeof fn === "function" && Object.getPrototypeOf(fn)?.constructor === AsyncFunction;
}

/** What makes a function unusable as a task or method, if anything (async functions need the async world: `asyncOk`). */
function unsupportedForm(fn: unknown, asyncOk: boolean): string | undefined {
  if (typeof fn !== "function") return undefined;
  const kind = Object.getPrototypeOf(fn)?.constructor as unknown;
  if (kind === AsyncFunction) return asyncOk ? undefined : "async";
  if (kind === GeneratorFunction) return "a generator";
  if (kind === AsyncGeneratorFunction) return "an async generator";
  return undefined;
}

/**
 * Marks the error `__wrayExports` throws at build time for exports wray
 * cannot run; `wray build` reads the JSON after it and reports each with
 * its source line.
 * @internal
 */
export const UNSUPPORTED_EXPORTS = "WRAY_UNSUPPORTED_EXPORTS:";
/** Marks the error for a module that exports no function or class (the JSON of its export names follows). @internal */
export const NO_TASKS = "WRAY_NO_TASKS:";

/** One export (or method of an exported class) that wray cannot run. */
export interface UnsupportedExport {
  export: string;
  method?: string;
  form: string;
}

/**
 * Turns a guest module's namespace into the component's `guest` export.
 * `wray build` generates the call (it runs while the component is made, so
 * exports wray cannot run fail the build); guest code never calls it.
 * @internal
 */
export function __wrayExports(ns: Record<string, unknown>, options: { watch?: Watch } = {}) {
  const asyncOk = options.watch !== undefined;
  if (options.watch) setWatch(options.watch);
  // plain objects: a property lookup is 5x cheaper than Map.get in QuickJS
  const tasks: Record<string, AnyFn> = Object.create(null);
  const actors: Record<string, Ctor> = Object.create(null);
  const unsupported: UnsupportedExport[] = [];
  for (const name of Object.keys(ns)) {
    const v = ns[name];
    const form = unsupportedForm(v, asyncOk);
    if (form) {
      unsupported.push({ export: name, form });
      continue;
    }
    if (isClass(v)) {
      for (const m of methodsOf(v)) {
        const mf = unsupportedForm((v.prototype as Record<string, unknown>)[m], asyncOk);
        if (mf) unsupported.push({ export: name, method: m, form: mf });
      }
    }
    if (isClass(v)) {
      actors[name] = v;
      actorNames.set(v, name);
      const C = v as Ctor & { remote?: unknown; options?: unknown };
      C.remote = (...a: unknown[]) => createActorWith(name, {}, ...(a as never[]));
      C.options = (o: ActorOptions) => ({ remote: (...a: unknown[]) => createActorWith(name, o, ...(a as never[])) });
    }
    else if (typeof v === "function") {
      const fn = v as AnyFn & { remote?: unknown; options?: unknown };
      tasks[name] = fn;
      taskNames.set(fn, name);
      fn.remote = (...a: unknown[]) => submit(name, a, undefined);
      fn.options = (o: TaskOptions) => ({ remote: (...a: unknown[]) => submit(name, a, o) });
    }
  }
  if (unsupported.length > 0) throw new Error(UNSUPPORTED_EXPORTS + JSON.stringify(unsupported));
  if (Object.keys(tasks).length === 0 && Object.keys(actors).length === 0) throw new Error(NO_TASKS + JSON.stringify(Object.keys(ns)));
  // the most arguments each takes, where known: callers are refused more (as Ray refuses them)
  const limits: Record<string, number> = {};
  const limit = (key: string, fn: unknown) => {
    const n = maxArgs(fn);
    if (n !== undefined) limits[key] = argLimits[key] = n;
  };
  for (const name of Object.keys(tasks)) limit(name, tasks[name]);
  for (const name of Object.keys(actors)) {
    const C = actors[name]!;
    limit(name, C);
    for (const m of methodsOf(C)) limit(`${name}.${m}`, (C.prototype as Record<string, unknown>)[m]);
  }
  // the async tasks and methods, which the host calls through guest-async
  const asyncTasks = Object.keys(tasks).filter((n) => isAsync(tasks[n]));
  const asyncMethods: Record<string, string[]> = {};
  for (const name of Object.keys(actors)) {
    const ms = methodsOf(actors[name]!).filter((m) => isAsync((actors[name]!.prototype as Record<string, unknown>)[m]));
    if (ms.length > 0) asyncMethods[name] = ms;
  }
  const description = encode({
    tasks: Object.keys(tasks),
    actors: Object.fromEntries(Object.keys(actors).map((n) => [n, methodsOf(actors[n]!)])),
    maxArgs: limits,
    ...(asyncTasks.length > 0 || Object.keys(asyncMethods).length > 0 ? { asyncTasks, asyncMethods } : {}),
  });

  let actor: Record<string, unknown> | undefined;
  let actorClass = "";

  asyncExports = {
    async invoke(name: string, argBytes: Uint8Array, numReturns: number): Promise<Uint8Array | number[]> {
      const fn = tasks[name];
      if (fn === undefined) return unknown("task", name, Object.keys(tasks));
      try {
        return returns(await call(fn, undefined, args(argBytes)), numReturns, "task", name);
      } catch (e) {
        return failure(e);
      }
    },
    async call(method: string, argBytes: Uint8Array, numReturns: number): Promise<Uint8Array | number[]> {
      if (!actor) return failure(new Error("no actor was constructed in this instance"));
      const m = actor[method];
      if (typeof m !== "function" || method === "constructor") return unknown(`method of '${actorClass}'`, method, methodsOf(actor.constructor as Ctor));
      try {
        return returns(await call(m as AnyFn, actor, args(argBytes)), numReturns, "method", method, actorClass);
      } catch (e) {
        return failure(e);
      }
    },
  };

  return {
    describe(): Uint8Array {
      return description;
    },
    invoke(name: string, argBytes: Uint8Array, numReturns: number): Uint8Array | number[] {
      const fn = tasks[name];
      if (fn === undefined) return unknown("task", name, Object.keys(tasks));
      try {
        return returns(call(fn, undefined, args(argBytes)), numReturns, "task", name);
      } catch (e) {
        return failure(e);
      }
    },
    construct(name: string, argBytes: Uint8Array): Uint8Array | number[] {
      const C = actors[name];
      if (C === undefined) return unknown("actor class", name, Object.keys(actors));
      if (actor) return failure(new Error(`this instance already holds an actor of class '${actorClass}'`));
      try {
        actor = new (C as unknown as new (...a: unknown[]) => Record<string, unknown>)(...args(argBytes));
        actorClass = name;
        return encodeReply([], true);
      } catch (e) {
        return failure(e);
      }
    },
    call(method: string, argBytes: Uint8Array, numReturns: number): Uint8Array | number[] {
      if (!actor) return failure(new Error("no actor was constructed in this instance"));
      const m = actor[method];
      if (typeof m !== "function" || method === "constructor") return unknown(`method of '${actorClass}'`, method, methodsOf(actor.constructor as Ctor));
      try {
        return returns(call(m as AnyFn, actor, args(argBytes)), numReturns, "method", method, actorClass);
      } catch (e) {
        return failure(e);
      }
    },
  };
}

/** The `guest-async` export of a module built for the async world (set by __wrayExports). */
let asyncExports: { invoke(name: string, args: Uint8Array, n: number): Promise<Uint8Array | number[]>; call(method: string, args: Uint8Array, n: number): Promise<Uint8Array | number[]> } | undefined;

/**
 * The component's `guest-async` export (async tasks and methods), for
 * the entry `wray build` makes for modules with async functions.
 * @internal
 */
export function __wrayAsyncExports() {
  if (!asyncExports) throw new Error("__wrayExports must run first");
  return asyncExports;
}

declare global {
  // a guest module's exported functions and classes gain `.remote` (the
  // sandbox's other globals are in sandbox.d.ts, "wray/guest/sandbox")
  interface Function {
    /** Creates an actor of this exported class; see `createActor()`. */
    remote<C extends new (...args: never[]) => object>(this: C, ...args: ConstructorParameters<C>): Actor<InstanceType<C>>;
    /** Submits this exported task; see `remote()`. */
    remote<A extends unknown[], R>(this: (...args: A) => R, ...args: A): ObjectRef<R>;
    /** This exported task with options; with `numReturns` other than 1, `remote` returns that many refs. */
    options<A extends unknown[], R, O extends TaskOptions>(
      this: (...args: A) => R,
      options: O,
    ): { remote(...args: A): O extends { numReturns: infer N } ? (N extends 1 ? ObjectRef<R> : ObjectRef[]) : ObjectRef<R> };
  }
}
