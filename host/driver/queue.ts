/**
 * Queue (Ray's `ray.util.queue.Queue`): a FIFO of values that drivers,
 * tasks and actors share, backed by an actor (wray's own C guest,
 * builtins/queue.c). A blocking get on an empty queue, or put on a full
 * one, waits without holding the actor: its call's result is deferred and
 * given by the put or get that satisfies it, or by its timeout.
 *
 * Pass `queue.actor` to tasks and actors; guests wrap it with the guest
 * SDK's `Queue` (or call the actor's methods: builtins/queue.c lists them).
 * A queue lives as its actor does: `shutdown()` kills it, and an actor
 * that dies fails the calls waiting on it with ActorDiedError.
 *
 * @example
 * const q = await Queue.create(ray, { maxsize: 100 });
 * await q.put(1);
 * console.log(await q.get({ timeoutMs: 1000 })); // 1
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ObjectRef } from "../../common/object-ref.js";
import { QueueEmptyError, QueueFullError } from "../errors.js";
import type { ActorOptions } from "../node/index.js";
import type { Driver } from "./driver.js";
import type { Actor, ComponentModule } from "./handles.js";

/** The Queue actor's methods (builtins/queue.c). */
export interface QueueActor {
  put(item: unknown, block: boolean, timeoutMs: number | null): [boolean];
  putBatch(items: unknown[]): [boolean];
  get(block: boolean, timeoutMs: number | null): [true, unknown] | [false];
  getBatch(n: number): [true, unknown[]] | [false];
  size(): number;
  maxsize(): number;
}

export interface QueueOptions {
  /** The most items it holds (0, the default: no limit). */
  maxsize?: number;
  /** Options of its actor (`name`, `lifetime`, resources, ...). */
  actorOptions?: ActorOptions;
}

/** How a blocking put or get waits: `block` false fails at once; `timeoutMs` bounds the wait (default: none). */
export interface QueueWait {
  block?: boolean;
  timeoutMs?: number;
}

/** The builtin Queue component beside the code (dist/ or, from source, host/driver/). */
export function queueComponentPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = resolve(here, "..", "builtins", "queue.wasm");
  return existsSync(built) ? built : resolve(here, "..", "..", "builtins", "queue.wasm");
}

const modules = new WeakMap<Driver, Promise<ComponentModule>>();

function queueModule(ray: Driver): Promise<ComponentModule> {
  let m = modules.get(ray);
  if (!m) {
    m = ray.load(queueComponentPath());
    modules.set(ray, m);
    m.catch(() => modules.delete(ray));
  }
  return m;
}

function waitArgs(what: string, w: QueueWait | undefined): { block: boolean; ms: number | null } {
  if (w !== undefined && (typeof w !== "object" || w === null)) throw new TypeError(`${what}: options must be an object`);
  const block = w?.block ?? true;
  if (typeof block !== "boolean") throw new TypeError(`${what}: block must be a boolean, got ${typeof block}`);
  const t = w?.timeoutMs;
  if (t !== undefined && (typeof t !== "number" || !(t >= 0))) throw new RangeError(`${what}: timeoutMs must be a number >= 0, got ${String(t)}`);
  return { block, ms: t ?? null };
}

export class Queue<T = unknown> {
  /** The queue's actor: pass it to tasks and actors. */
  readonly actor: Actor<QueueActor>;
  /** The most items it holds (0: no limit). */
  readonly maxsize: number;
  readonly #ray: Driver;

  /** @internal Use Queue.create or Queue.fromActor. */
  constructor(ray: Driver, actor: Actor<QueueActor>, maxsize: number) {
    this.#ray = ray;
    this.actor = actor;
    this.maxsize = maxsize;
  }

  /** A new queue (its actor is created on the cluster, as any actor). */
  static async create<T = unknown>(ray: Driver, options: QueueOptions = {}): Promise<Queue<T>> {
    if (typeof options !== "object" || options === null) throw new TypeError("Queue.create(ray, options): options must be an object");
    const maxsize = options.maxsize ?? 0;
    if (typeof maxsize !== "number" || !Number.isInteger(maxsize) || maxsize < 0) {
      throw new RangeError(`Queue.create(): maxsize must be an integer >= 0, got ${String(maxsize)}`);
    }
    const mod = await queueModule(ray);
    const actor = mod.actor<QueueActor>("Queue", options.actorOptions ?? {}).remote(maxsize) as Actor<QueueActor>;
    return new Queue<T>(ray, actor, maxsize);
  }

  /** The queue an actor handle names (one another program made, found with `ray.getActor(name)`). */
  static async fromActor<T = unknown>(ray: Driver, actor: Actor<QueueActor>): Promise<Queue<T>> {
    const maxsize = (await ray.get(actor.maxsize.remote())) as number;
    return new Queue<T>(ray, actor, maxsize);
  }

  /**
   * Adds `item` at the end. On a full queue it waits for room (with
   * `block` false, or when `timeoutMs` runs out: QueueFullError).
   */
  async put(item: T, options?: QueueWait): Promise<void> {
    const { block, ms } = waitArgs("Queue.put()", options);
    const [ok] = await this.#call<[boolean]>(this.actor.put.remote(item, block, ms));
    if (!ok) throw new QueueFullError("Queue.put()", this.maxsize);
  }

  /** put without waiting: QueueFullError on a full queue. */
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  /** Adds all of `items`, or none (QueueFullError when they would not all fit). */
  async putNowaitBatch(items: readonly T[]): Promise<void> {
    if (!Array.isArray(items)) throw new TypeError("Queue.putNowaitBatch(items): items must be an array");
    const [ok] = await this.#call<[boolean]>(this.actor.putBatch.remote([...items]));
    if (!ok) throw new QueueFullError(`Queue.putNowaitBatch() of ${items.length}`, this.maxsize);
  }

  /**
   * Takes the first item. On an empty queue it waits for one (with `block`
   * false, or when `timeoutMs` runs out: QueueEmptyError).
   */
  async get(options?: QueueWait): Promise<T> {
    const { block, ms } = waitArgs("Queue.get()", options);
    const r = await this.#call<[true, T] | [false]>(this.actor.get.remote(block, ms));
    if (!r[0]) throw new QueueEmptyError("Queue.get()");
    return r[1];
  }

  /** get without waiting: QueueEmptyError on an empty queue. */
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  /** Takes the first `n` items, or none (QueueEmptyError when it holds fewer). */
  async getNowaitBatch(n: number): Promise<T[]> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Queue.getNowaitBatch(n): n must be an integer >= 0, got ${String(n)}`);
    const r = await this.#call<[true, T[]] | [false]>(this.actor.getBatch.remote(n));
    if (!r[0]) throw new QueueEmptyError(`Queue.getNowaitBatch(${n})`);
    return r[1];
  }

  /** How many items it holds now. */
  size(): Promise<number> {
    return this.#call<number>(this.actor.size.remote());
  }

  async empty(): Promise<boolean> {
    return (await this.size()) === 0;
  }

  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.size()) >= this.maxsize;
  }

  /** Kills the queue's actor: its items go, and calls waiting on it fail with ActorDiedError. */
  shutdown(): Promise<void> {
    return this.#ray.kill(this.actor);
  }

  #call<R>(ref: ObjectRef): Promise<R> {
    return this.#ray.get(ref) as Promise<R>;
  }
}
