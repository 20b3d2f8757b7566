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
import { ActorPoolBase } from "../../common/actor-pool.js";
import type { PoolCall } from "../../common/actor-pool.js";
import type { ObjectRef } from "./msgpack.js";
import { TaskError, get, wait } from "./objects.js";

export class ActorPool<A> extends ActorPoolBase<A, ObjectRef> {
  constructor(actors: readonly A[]) {
    super(actors, "new ActorPool(actors)");
  }

  /** The next result in submission order; with `timeoutMs`, a TaskError WRAY_GET_TIMEOUT when it is not ready in time. */
  getNext(options?: { timeoutMs?: number }): unknown {
    const ref = this.nextRef();
    this.#ready([ref], options?.timeoutMs);
    this.take(ref);
    return get(ref);
  }

  /** The result that is ready first, whatever its order. */
  getNextUnordered(options?: { timeoutMs?: number }): unknown {
    const ref = this.#ready(this.outstanding(), options?.timeoutMs);
    this.take(ref);
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
}
