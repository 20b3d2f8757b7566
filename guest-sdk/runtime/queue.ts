/**
 * Queue inside the sandbox: the guest's side of a Queue a driver made
 * (`Queue.create(ray)` there; pass `queue.actor` to the task or actor, or
 * find it by name with `getActor`). Its calls block the isolate, not the
 * host, as `get` does. A guest cannot make a Queue itself: its actor is
 * wray's own component, and a guest creates actors of its own component.
 *
 * @example
 * import { Queue } from "wray/guest";
 * export function producer(handle: ActorHandle, n: number): void {
 *   const q = new Queue<number>(handle);
 *   for (let i = 0; i < n; i++) q.put(i);
 * }
 */
import type { ActorHandle, ObjectRef } from "./msgpack.js";
import { get } from "./objects.js";

/** The Queue actor's methods as the SDK calls them (builtins/queue.c). */
interface QueueCalls {
  put: { remote(item: unknown, block: boolean, timeoutMs: number | null): ObjectRef<[boolean]> };
  putBatch: { remote(items: unknown[]): ObjectRef<[boolean]> };
  get: { remote(block: boolean, timeoutMs: number | null): ObjectRef<[true, unknown] | [false]> };
  getBatch: { remote(n: number): ObjectRef<[true, unknown[]] | [false]> };
  size: { remote(): ObjectRef<number> };
  maxsize: { remote(): ObjectRef<number> };
}

/** A Queue's get found it empty (at once, or when its timeout ran out). */
export class QueueEmptyError extends Error {
  readonly code = "WRAY_QUEUE_EMPTY";
  constructor(what: string) {
    super(`${what}: the queue is empty`);
    this.name = "QueueEmptyError";
  }
}

/** A Queue's put found it full (at once, or when its timeout ran out). */
export class QueueFullError extends Error {
  readonly code = "WRAY_QUEUE_FULL";
  constructor(what: string) {
    super(`${what}: the queue is full`);
    this.name = "QueueFullError";
  }
}

/** How a blocking put or get waits: `block` false fails at once; `timeoutMs` bounds the wait (default: none). */
export interface QueueWait {
  block?: boolean;
  timeoutMs?: number;
}

function waitArgs(what: string, w: QueueWait | undefined): [boolean, number | null] {
  const block = w?.block ?? true;
  if (typeof block !== "boolean") throw new TypeError(`${what}: block must be a boolean`);
  const t = w?.timeoutMs;
  if (t !== undefined && (typeof t !== "number" || !(t >= 0))) throw new RangeError(`${what}: timeoutMs must be a number >= 0, got ${String(t)}`);
  return [block, t ?? null];
}

export class Queue<T = unknown> {
  /** The queue's actor. */
  readonly actor: ActorHandle;
  readonly #calls: QueueCalls;

  /** The queue whose actor `handle` is. */
  constructor(handle: ActorHandle) {
    if (handle === null || typeof handle !== "object" || !(handle.id instanceof Uint8Array)) throw new TypeError("new Queue(handle) takes the handle of a Queue's actor");
    this.actor = handle;
    this.#calls = handle as unknown as QueueCalls;
  }

  /** Adds `item` at the end; on a full queue waits for room (QueueFullError with `block` false or past `timeoutMs`). */
  put(item: T, options?: QueueWait): void {
    const [block, ms] = waitArgs("Queue.put()", options);
    if (!get(this.#calls.put.remote(item, block, ms))[0]) throw new QueueFullError("Queue.put()");
  }

  putNowait(item: T): void {
    this.put(item, { block: false });
  }

  /** Adds all of `items`, or none (QueueFullError). */
  putNowaitBatch(items: readonly T[]): void {
    if (!get(this.#calls.putBatch.remote([...items]))[0]) throw new QueueFullError(`Queue.putNowaitBatch() of ${items.length}`);
  }

  /** Takes the first item; on an empty queue waits for one (QueueEmptyError with `block` false or past `timeoutMs`). */
  get(options?: QueueWait): T {
    const [block, ms] = waitArgs("Queue.get()", options);
    const r = get(this.#calls.get.remote(block, ms));
    if (!r[0]) throw new QueueEmptyError("Queue.get()");
    return r[1] as T;
  }

  getNowait(): T {
    return this.get({ block: false });
  }

  /** Takes the first `n` items, or none (QueueEmptyError). */
  getNowaitBatch(n: number): T[] {
    const r = get(this.#calls.getBatch.remote(n));
    if (!r[0]) throw new QueueEmptyError(`Queue.getNowaitBatch(${n})`);
    return r[1] as T[];
  }

  size(): number {
    return get(this.#calls.size.remote());
  }

  empty(): boolean {
    return this.size() === 0;
  }

  full(): boolean {
    const max = get(this.#calls.maxsize.remote());
    return max > 0 && this.size() >= max;
  }
}
