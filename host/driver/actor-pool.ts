/**
 * ActorPool (Ray's `ray.util.ActorPool`): spreads calls over a fixed set of
 * actors, one call per actor at a time, and hands results back in
 * submission order (getNext, map) or as they finish (getNextUnordered,
 * mapUnordered). The bookkeeping is common/actor-pool.ts; this front waits
 * with the driver's get and wait.
 *
 * @example
 * const pool = new ActorPool(ray, [Worker.remote(), Worker.remote()]);
 * for await (const y of pool.map((a, x) => a.double.remote(x), [1, 2, 3, 4])) console.log(y); // 2 4 6 8
 */
import { ActorPoolBase } from "../../common/actor-pool.js";
import type { PoolCall } from "../../common/actor-pool.js";
import type { ObjectRef } from "../../common/object-ref.js";
import { GetTimeoutError } from "../../store/index.js";

/** What the pool uses of a driver. */
export interface PoolDriver {
  get(ref: ObjectRef): Promise<unknown>;
  wait(refs: readonly ObjectRef[], options: { numReturns?: number; timeoutMs?: number }): Promise<{ ready: ObjectRef[] }>;
}

export class ActorPool<A> extends ActorPoolBase<A, ObjectRef> {
  readonly #ray: PoolDriver;

  constructor(ray: PoolDriver, actors: readonly A[]) {
    super(actors, "new ActorPool(ray, actors)");
    this.#ray = ray;
  }

  /**
   * The next result in submission order (a failed call raises its error
   * here). With `timeoutMs`, GetTimeoutError when it is not ready in time
   * (the result stays next). RangeError when none remain.
   */
  async getNext(options: { timeoutMs?: number } = {}): Promise<unknown> {
    const ref = this.nextRef();
    await this.#ready([ref], options.timeoutMs);
    this.take(ref);
    return this.#ray.get(ref);
  }

  /** The result that is ready first, whatever its order; otherwise as getNext. */
  async getNextUnordered(options: { timeoutMs?: number } = {}): Promise<unknown> {
    const ref = await this.#ready(this.outstanding(), options.timeoutMs);
    this.take(ref);
    return this.#ray.get(ref);
  }

  async #ready(refs: ObjectRef[], timeoutMs: number | undefined): Promise<ObjectRef> {
    const { ready } = await this.#ray.wait(refs, { numReturns: 1, timeoutMs });
    if (ready.length === 0) throw new GetTimeoutError(timeoutMs ?? 0, refs.length);
    return ready[0]!;
  }

  /** Submits `fn(actor, v)` for each value and yields the results in order (results left from earlier submissions are taken first). */
  async *map<V>(fn: PoolCall<A, ObjectRef, V>, values: Iterable<V>): AsyncGenerator<unknown, void, undefined> {
    while (this.hasNext()) await this.getNext();
    for (const v of values) this.submit(fn, v);
    while (this.hasNext()) yield await this.getNext();
  }

  /** As map, yielding each result as soon as it is ready. */
  async *mapUnordered<V>(fn: PoolCall<A, ObjectRef, V>, values: Iterable<V>): AsyncGenerator<unknown, void, undefined> {
    while (this.hasNext()) await this.getNextUnordered();
    for (const v of values) this.submit(fn, v);
    while (this.hasNext()) yield await this.getNextUnordered();
  }
}
