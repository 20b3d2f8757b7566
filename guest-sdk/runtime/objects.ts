/**
 * Objects inside guests: get, wait and put, a task's cancel, and the
 * TaskError that failures of other tasks and host calls are raised as.
 * (Apart from index.ts so that other parts of the SDK, such as the
 * ActorPool, can use them.)
 */
import host from "wray:runtime/host@0.1.0";
import { ObjectRef, decode, encodeView, sendError } from "./msgpack.js";

/** A failure of another task, or of a host call, raised inside a guest. */
export class TaskError extends Error {
  /** wray's error code (docs/errors.md), e.g. `WRAY_TASK_ERROR`. */
  readonly code: string;
  /** The task that failed first. */
  readonly task: string;
  /** The failed guest's stack, where it had one. */
  readonly guestStack: string;
  constructor(code: string, message: string, task: string, guestStack: string) {
    super(message);
    this.name = code === "WRAY_GET_TIMEOUT" ? "GetTimeoutError" : "TaskError";
    this.code = code;
    this.task = task;
    this.guestStack = guestStack;
  }
}

export type Failure = { code?: string; name?: string; message?: string; task?: string; stack?: string };

export function failureToError(f: Failure): TaskError {
  return new TaskError(f.code ?? "WRAY_TASK_ERROR", f.message ?? "task failed", f.task ?? "", f.stack ?? "");
}

type Values<T extends readonly ObjectRef[]> = { -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never };

/**
 * Blocks until the objects are ready and returns their values. A failed
 * task's error is thrown here as a `TaskError`; with `timeoutMs`, a
 * `TaskError` with code `WRAY_GET_TIMEOUT` is thrown when time runs out.
 * While the guest waits, its CPU is lent to other tasks.
 */
export function get<T>(ref: ObjectRef<T>, options?: { timeoutMs?: number }): T;
export function get<const T extends readonly ObjectRef[]>(refs: T, options?: { timeoutMs?: number }): Values<T>;
export function get(refs: ObjectRef | readonly ObjectRef[], options?: { timeoutMs?: number }): unknown {
  const single = refs instanceof ObjectRef;
  const list = single ? [refs] : refs;
  if (!Array.isArray(list)) throw new TypeError("get() takes an ObjectRef or an array of them");
  const ids = new Array<Uint8Array>(list.length);
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (!(r instanceof ObjectRef)) throw new TypeError(`get(): element ${i} is not an ObjectRef`);
    ids[i] = r.id;
  }
  const reply = decode(host.get(ids, options?.timeoutMs ?? -1));
  if (!Array.isArray(reply)) throw failureToError(reply as Failure);
  return single ? reply[0] : reply;
}

/**
 * Waits until `numReturns` of `refs` are ready (or `timeoutMs` passes) and
 * splits them into ready and pending, keeping their order.
 */
export function wait<T extends ObjectRef>(
  refs: readonly T[],
  options?: { numReturns?: number; timeoutMs?: number },
): { ready: T[]; pending: T[] } {
  const numReturns = options?.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 0 || numReturns > refs.length) {
    throw new RangeError(`wait(): numReturns must be between 0 and ${refs.length}, got ${numReturns}`);
  }
  const ids = refs.map((r, i) => {
    if (!(r instanceof ObjectRef)) throw new TypeError(`wait(): element ${i} is not an ObjectRef`);
    return r.id;
  });
  const readyIdx = host.wait(ids, numReturns, options?.timeoutMs ?? -1);
  const isReady = new Array<boolean>(refs.length).fill(false);
  for (let i = 0; i < readyIdx.length; i++) isReady[readyIdx[i]!] = true;
  const ready: T[] = [];
  const pending: T[] = [];
  for (let i = 0; i < refs.length; i++) (isReady[i] ? ready : pending).push(refs[i]!);
  return { ready, pending };
}

/** Stores `value` in the host's object store and returns its ref. */
export function put<T>(value: T): ObjectRef<T> {
  let bytes: Uint8Array;
  try {
    bytes = encodeView(value, "value");
  } catch (e) {
    throw sendError(e, "put()");
  }
  return new ObjectRef<T>(host.put(bytes));
}

/**
 * True once the running task (or actor call) was cancelled (`cancel` from
 * the driver or another guest). A long loop polls it and returns early;
 * its results fail with `WRAY_TASK_CANCELLED` whatever it returns.
 */
export function cancelled(): boolean {
  return host.cancelled();
}

/**
 * Cancels the task (or actor call) that produces `ref`, as the driver's
 * `cancel`: not started, it never runs; running, it sees `cancelled()`
 * (with `force`, its isolate is stopped). `recursive` (default true)
 * cancels what it submitted too.
 */
export function cancel(ref: ObjectRef, options?: { force?: boolean; recursive?: boolean }): void {
  if (!(ref instanceof ObjectRef)) throw new TypeError("cancel() takes an ObjectRef");
  host.cancel(ref.id, options?.force ?? false, options?.recursive ?? true);
}

/**
 * In an actor method: this call's result will be given by `resolve`, from
 * a later call of the same actor, rather than by what the method returns
 * (which is ignored). Returns the ref of the call's result, to resolve
 * later. After `timeoutMs` the host gives it `onTimeout` (default null).
 * Only an actor method with one return may defer (else its call fails
 * with a TypeError); if the actor dies or restarts first, the call fails
 * with ActorDiedError.
 *
 * @example
 * // a mailbox whose take() waits for the next send()
 * export class Mailbox {
 *   waiting: ObjectRef[] = [];
 *   take(): unknown { this.waiting.push(defer()); return null; }
 *   send(x: unknown): boolean { while (this.waiting.length) if (resolve(this.waiting.shift()!, x)) return true; return false; }
 * }
 */
export function defer<T = unknown>(options?: { timeoutMs?: number; onTimeout?: unknown }): ObjectRef<T> {
  const t = options?.timeoutMs;
  if (t !== undefined && (typeof t !== "number" || !(t >= 0))) throw new RangeError(`defer(): timeoutMs must be a number >= 0, got ${String(t)}`);
  let bytes: Uint8Array;
  try {
    bytes = encodeView(options?.onTimeout ?? null, "onTimeout");
  } catch (e) {
    throw sendError(e, "defer()");
  }
  return new ObjectRef<T>(host.defer(t === undefined ? -1 : Math.ceil(t), bytes));
}

/**
 * Gives deferred call `ref` (from `defer` in an earlier call of this
 * actor) its result: true when it was given, false when that call no
 * longer waits (it timed out, was cancelled, or is not one of this
 * actor's), in which case the value is still yours to give elsewhere.
 */
export function resolve(ref: ObjectRef, value: unknown): boolean {
  if (!(ref instanceof ObjectRef)) throw new TypeError("resolve() takes an ObjectRef (from defer())");
  let bytes: Uint8Array;
  try {
    bytes = encodeView(value, "value");
  } catch (e) {
    throw sendError(e, "resolve()");
  }
  return host.resolve(ref.id, bytes);
}


// ---- async: awaiting objects in async tasks and methods ------------------------------------

/** `host-async.watch` as componentize-qjs gives it: a future that resolves with 1 (ready) or 0 (timed out). */
export type Watch = (ids: Uint8Array[], numReturns: number, timeoutMs: number) => { read(): Promise<number> };

let watchImport: Watch | undefined;

/** @internal The build's entry hands the `host-async` import in (only modules built for the async world have it). */
export function setWatch(w: Watch): void {
  watchImport = w;
}

function idsOf(refs: readonly ObjectRef[], what: string): Uint8Array[] {
  return refs.map((r, i) => {
    if (!(r instanceof ObjectRef)) throw new TypeError(`${what}: element ${i} is not an ObjectRef`);
    return r.id;
  });
}

function watching(): Watch {
  if (watchImport === undefined) throw new TypeError("await on ObjectRefs works inside async tasks and methods (export an async function, and `wray build` makes the module async)");
  return watchImport;
}

/**
 * As `get`, for async tasks and methods: resolves once the objects are
 * ready, and the task waits without holding its isolate's CPU meanwhile.
 * `await ref` is the same as `await getAsync(ref)`.
 */
export function getAsync<T>(ref: ObjectRef<T>, options?: { timeoutMs?: number }): Promise<T>;
export function getAsync<const T extends readonly ObjectRef[]>(refs: T, options?: { timeoutMs?: number }): Promise<Values<T>>;
export async function getAsync(refs: ObjectRef | readonly ObjectRef[], options?: { timeoutMs?: number }): Promise<unknown> {
  const list = refs instanceof ObjectRef ? [refs] : refs;
  if (!Array.isArray(list)) throw new TypeError("getAsync() takes an ObjectRef or an array of them");
  const ready = await watching()(idsOf(list, "getAsync()"), 0, options?.timeoutMs ?? -1).read();
  if (ready === 1) return get(refs as ObjectRef);
  // not ready: the time ran out, or the task was cancelled (then this get fails with the cancel)
  try {
    get(refs as ObjectRef, { timeoutMs: 0 });
  } catch (e) {
    if ((e as TaskError).code !== "WRAY_GET_TIMEOUT") throw e;
  }
  throw new TaskError("WRAY_GET_TIMEOUT", `get timed out after ${options?.timeoutMs} ms`, "", "");
}

/** As `wait`, for async tasks and methods. */
export async function waitAsync<T extends ObjectRef>(refs: readonly T[], options?: { numReturns?: number; timeoutMs?: number }): Promise<{ ready: T[]; pending: T[] }> {
  const numReturns = options?.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 0 || numReturns > refs.length) {
    throw new RangeError(`waitAsync(): numReturns must be between 0 and ${refs.length}, got ${numReturns}`);
  }
  if (numReturns > 0) await watching()(idsOf(refs, "waitAsync()"), numReturns, options?.timeoutMs ?? -1).read();
  return wait(refs, { numReturns, timeoutMs: 0 });
}

// `await ref` in an async task or method: an ObjectRef is a thenable (as Ray's `await ref`)
Object.defineProperty(ObjectRef.prototype, "then", {
  value(this: ObjectRef, onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) {
    return getAsync(this).then(onFulfilled, onRejected);
  },
  writable: true,
  configurable: true,
});
