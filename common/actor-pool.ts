/**
 * The bookkeeping of an ActorPool (Ray's `ray.util.ActorPool`), shared by
 * the driver's pool (host/driver/actor-pool.ts, whose gets are async) and
 * the guests' (guest-sdk/runtime/actor-pool.ts, whose gets block): which
 * actors are idle, which submissions wait for one, and which result each
 * submission's ref is. No I/O here: the fronts get and wait.
 *
 * Design assumptions (as Ray's):
 * - Each actor runs one submission at a time; a submission made while
 *   every actor is busy waits here, in order, for the next actor freed.
 * - An actor is freed when its result is taken (getNext or
 *   getNextUnordered), not when it finishes: a caller that never takes
 *   results holds the pool.
 * - Results are numbered by submission: getNext returns them in that
 *   order; getNextUnordered returns whichever is ready first.
 */

/** `fn(actor, value)` calls a method of `actor` and returns its ref. */
export type PoolCall<A, R, V> = (actor: A, value: V) => R;

interface Out<A, R> {
  readonly index: number;
  readonly actor: A;
  readonly ref: R;
}

export abstract class ActorPoolBase<A, R> {
  readonly #idle: A[];
  /** Submissions waiting for an idle actor, in order. */
  readonly #waiting: { call: PoolCall<A, R, unknown>; value: unknown; index: number }[] = [];
  /** Submissions sent to an actor whose result was not taken, by index. */
  readonly #out = new Map<number, Out<A, R>>();
  readonly #byRef = new Map<R, Out<A, R>>();
  #submitted = 0;
  /** The index getNext returns next. */
  #next = 0;

  constructor(actors: readonly A[], what: string) {
    if (!Array.isArray(actors)) throw new TypeError(`${what}: takes an array of actor handles`);
    this.#idle = [...actors];
  }

  /** Runs `call(actor, value)` on an idle actor, or once one is freed. */
  submit<V>(call: PoolCall<A, R, V>, value: V): void {
    if (typeof call !== "function") throw new TypeError("ActorPool.submit(fn, value): fn must be a function (actor, value) => ObjectRef");
    const index = this.#submitted++;
    const actor = this.#idle.pop();
    if (actor === undefined) this.#waiting.push({ call: call as PoolCall<A, R, unknown>, value, index });
    else this.#send(actor, call as PoolCall<A, R, unknown>, value, index);
  }

  #send(actor: A, call: PoolCall<A, R, unknown>, value: unknown, index: number): void {
    let ref: R;
    try {
      ref = call(actor, value);
    } catch (e) {
      // the call never went out: the actor is still free
      this.#idle.push(actor);
      throw e;
    }
    const o: Out<A, R> = { index, actor, ref };
    this.#out.set(index, o);
    this.#byRef.set(ref, o);
  }

  /** Whether results remain to be taken (sent, or waiting for an actor). */
  hasNext(): boolean {
    return this.#out.size > 0 || this.#waiting.length > 0;
  }

  /** The ref getNext waits for: the oldest submission whose result was not taken. Throws when none remain. */
  protected nextRef(): R {
    if (!this.hasNext()) throw new RangeError("ActorPool: no more results to get");
    // skip results getNextUnordered took
    while (!this.#out.has(this.#next) && this.#next < this.#submitted && !this.#waiting.some((w) => w.index === this.#next)) this.#next++;
    const o = this.#out.get(this.#next);
    if (o === undefined) throw new Error("ActorPool: the next result waits for an actor, and none will be freed (take results to free actors)");
    return o.ref;
  }

  /** Refs sent and not taken, for getNextUnordered's wait. Throws when none remain. */
  protected outstanding(): R[] {
    if (!this.hasNext()) throw new RangeError("ActorPool: no more results to get");
    return [...this.#byRef.keys()];
  }

  /** The result of `ref` is being taken: its actor is freed and takes the next waiting submission. */
  protected take(ref: R): void {
    const o = this.#byRef.get(ref);
    if (o === undefined) return;
    this.#byRef.delete(ref);
    this.#out.delete(o.index);
    if (o.index === this.#next) this.#next++;
    this.#free(o.actor);
  }

  #free(actor: A): void {
    const w = this.#waiting.shift();
    if (w === undefined) this.#idle.push(actor);
    else this.#send(actor, w.call, w.value, w.index);
  }

  /** Whether an actor is idle (a submission now would start at once). */
  hasFreeActor(): boolean {
    return this.#idle.length > 0;
  }

  /** Takes an idle actor out of the pool (undefined when none is idle). */
  popIdle(): A | undefined {
    return this.#idle.pop();
  }

  /** Adds an actor to the pool (it takes a waiting submission at once, if any). */
  push(actor: A): void {
    if (this.#idle.includes(actor) || [...this.#out.values()].some((o) => o.actor === actor)) throw new RangeError("ActorPool.push(): that actor is in the pool already");
    this.#free(actor);
  }
}
