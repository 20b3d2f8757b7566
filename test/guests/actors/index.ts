// Actors: state, order, handles passed around, failures.
import type { Actor } from "wray/guest";
import type { ObjectRef } from "wray/guest";
import { createActor, get, getActor, wait } from "wray/guest";

export class Counter {
  private value: number;
  constructor(start: number) {
    this.value = start;
  }
  inc(by = 1): number {
    this.value += by;
    return this.value;
  }
  read(): number {
    return this.value;
  }
  /** Throws; the counter keeps its state. */
  bad(): number {
    throw new RangeError(`bad call at ${this.value}`);
  }
  /** Traps (the engine's clock is stubbed out of the sandbox): the actor dies. */
  trap(): number {
    const RealDate = Date.prototype.constructor as DateConstructor;
    return RealDate.now();
  }
  pair(): [number, string] {
    return [this.value, "pair"];
  }
}

/** Records the order calls arrive in. */
export class Log {
  private seen: number[] = [];
  add(i: number): number {
    this.seen.push(i);
    return this.seen.length;
  }
  all(): number[] {
    return this.seen;
  }
}

export class Broken {
  constructor(why: string) {
    throw new TypeError(why);
  }
  never(): number {
    return 1;
  }
}

/** A parameter server: workers push gradients, anyone can read the weights. */
export class ParameterServer {
  private weights: number[];
  private updates = 0;
  constructor(size: number) {
    this.weights = new Array<number>(size).fill(0);
  }
  update(grad: number[]): number {
    for (let i = 0; i < this.weights.length; i++) this.weights[i]! += grad[i]!;
    return ++this.updates;
  }
  get(): number[] {
    return this.weights;
  }
  count(): number {
    return this.updates;
  }
}

/** A task that uses an actor handle it was given. */
export function worker(ps: Actor<ParameterServer>, steps: number): number {
  let last = 0;
  for (let i = 0; i < steps; i++) last = get(ps.update.remote([1, 2, 3]));
  return last;
}

/** A task that creates an actor of its own and talks to it. */
export function makeAndUse(start: number): number {
  const c = createActor(Counter, start);
  c.inc.remote(5);
  return get(c.read.remote());
}

/** Looks a named actor up from inside a guest. */
export function bumpNamed(name: string): number {
  return get(getActor<Counter>(name).inc.remote(100));
}

/** An actor that holds a handle to another actor. */
export class Forwarder {
  private target: Actor<Counter>;
  constructor(target: Actor<Counter>) {
    this.target = target;
  }
  forward(by: number): number {
    return get(this.target.inc.remote(by));
  }
}

/** For maxConcurrency: `hold` waits on a ref (passed nested, so the call starts before it is ready). */
export class Gate {
  private waiting = 0;
  hold(signals: ObjectRef<string>[]): string {
    this.waiting++;
    const v = get(signals[0]!);
    this.waiting--;
    return `held ${v}`;
  }
  status(): number {
    return this.waiting;
  }
}

/** Returns a handle to a new actor: handles travel in values. */
export function spawnCounter(start: number): Actor<Counter> {
  return createActor(Counter, start);
}

/** A task that finishes after `ms` (a producer of an object an actor waits for). */
export function later(ms: number, v: string): string {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
  return v;
}

export function useWait(h: Actor<Counter>): number {
  const r = wait([h.read.remote()], { numReturns: 1, timeoutMs: 5000 });
  return r.ready.length;
}

export function byName(cls: string): number {
  const h = createActor(cls, 1) as unknown as Actor<Counter>;
  return get(h.read.remote());
}


/** Adds numbers and remembers each; checkpoint() and restore() let a restarted instance resume (checkpointInterval). */
export class Durable {
  private value: number;
  private seen: number[] = [];
  constructor(start: number) {
    this.value = start;
  }
  add(i: number): number {
    this.value += i;
    this.seen.push(i);
    return this.value;
  }
  state(): { value: number; seen: number[] } {
    return { value: this.value, seen: this.seen };
  }
  /** Traps: the actor crashes (and restarts, with maxRestarts). */
  trap(): number {
    const RealDate = Date.prototype.constructor as DateConstructor;
    return RealDate.now();
  }
  checkpoint(): { value: number; seen: number[] } {
    return { value: this.value, seen: this.seen };
  }
  restore(s: { value: number; seen: number[] }): void {
    this.value = s.value;
    this.seen = s.seen;
  }
}
