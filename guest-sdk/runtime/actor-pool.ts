/**
 * ActorPool inside guests (the driver has the same, async): spreads calls
 * over a fixed set of actors, one call per actor at a time; results come
 * back in submission order (getNext, map) or as they finish
 * (getNextUnordered, mapUnordered). Gets block, as every guest get does.
 *
 * @example
 * import { ActorPool, createActor } from "wray/guest";
 * const pool = new ActorPool([createActor(Worker), createActor(Worker)]);
 * const doubled = [...pool.map((a, x) => a.double.remote(x), [1, 2, 3])]; // [2, 4, 6]
 */
import { ActorPoolCore } from "../../common/actor-pool.js";
import type { PoolCall } from "../../common/actor-pool.js";
import type { ObjectRef } from "./msgpack.js";
import { TaskError, get, wait } from "./objects.js";

export class ActorPool<A> {
  readonly #core: ActorPoolCore<A, ObjectRef>;

  constructor(actors: readonly A[]) {
    this.#core = new ActorPoolCore(actors, "new ActorPool(actors)");
  }

  /** Runs `fn(actor, value)` on an idle actor now, or on the next one freed. */
  submit<V>(fn: PoolCall<A, ObjectRef, V>, value: V): void {
    this.#core.submit(fn, value);
  }

  hasNext(): boolean {
    return this.#core.hasNext();
  }

  /** The next result in submission order; with `timeoutMs`, a TaskError WRAY_GET_TIMEOUT when it is not ready in time. */
  getNext(options?: { timeoutMs?: number }): unknown {
    const ref = this.#core.nextRef();
    this.#ready([ref], options?.timeoutMs);
    this.#core.take(ref);
    return get(ref);
  }

  /** The result that is ready first, whatever its order. */
  getNextUnordered(options?: { timeoutMs?: number }): unknown {
    const ref = this.#ready(this.#core.outstanding(), options?.timeoutMs);
    this.#core.take(ref);
    return get(ref);
  }

  #ready(refs: ObjectRef[], timeoutMs: number | undefined): ObjectRef {
    const { ready } = wait(refs, { numReturns: 1, timeoutMs });
    if (ready.length === 0) throw new TaskError("WRAY_GET_TIMEOUT", `ActorPool: no result was ready within ${timeoutMs} ms`, "", "");
    return ready[0]!;
  }

  /** Submits `fn(actor, v)` for each value and yields the results in order. */
  *map<V>(fn: PoolCall<A, ObjectRef, V>, values: Iterable<V>): Generator<unknown, void, undefined> {
    while (this.hasNext()) this.getNext();
    for (const v of values) this.submit(fn, v);
    while (this.hasNext()) yield this.getNext();
  }

  /** As map, yielding each result as soon as it is ready. */
  *mapUnordered<V>(fn: PoolCall<A, ObjectRef, V>, values: Iterable<V>): Generator<unknown, void, undefined> {
    while (this.hasNext()) this.getNextUnordered();
    for (const v of values) this.submit(fn, v);
    while (this.hasNext()) yield this.getNextUnordered();
  }

  hasFreeActor(): boolean {
    return this.#core.hasFreeActor();
  }

  popIdle(): A | undefined {
    return this.#core.popIdle();
  }

  push(actor: A): void {
    this.#core.push(actor);
  }
}
