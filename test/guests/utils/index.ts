// The utilities' guest: a worker actor for ActorPool tests, a task that
// uses an ActorPool inside the sandbox, tasks that use a driver's Queue,
// and an actor that defers its calls' results (defer/resolve).
import type { Actor, ActorHandle, ObjectRef, QueueEmptyError } from "wray/guest";
import { ActorPool, Queue, createActor, defer, resolve } from "wray/guest";

/** A pool worker: `double` busies itself for `ms`, then returns 2x; `fail` throws. */
export class Worker {
  calls = 0;
  double(x: number, ms = 0): number {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // busy
    }
    this.calls++;
    return 2 * x;
  }
  fail(message: string): never {
    this.calls++;
    throw new RangeError(message);
  }
  count(): number {
    return this.calls;
  }
  /** Prints a line (the dashboard shows it under this actor). */
  shout(line: string): number {
    console.log(line);
    return ++this.calls;
  }
}

/** Doubles `xs` on a pool of `n` workers: in order, and as they finish (the first value is the slowest). */
export function poolMap(xs: number[], n: number): { ordered: number[]; unordered: number[] } {
  const actors: Actor<Worker>[] = [];
  for (let i = 0; i < n; i++) actors.push(createActor(Worker));
  const pool = new ActorPool(actors);
  const ordered = [...pool.map((a, x: number) => a.double.remote(x, x === xs[0] ? 1000 : 0), xs)] as number[];
  const unordered = [...pool.mapUnordered((a, x: number) => a.double.remote(x, x === xs[0] ? 1000 : 0), xs)] as number[];
  return { ordered, unordered };
}

// ---- Queue from guests (the driver made it; the guest has its actor's handle) ----

/** Puts 0..n-1 on the queue (each put waits while it is full); returns n. */
export function produce(handle: ActorHandle, n: number): number {
  const q = new Queue<number>(handle);
  for (let i = 0; i < n; i++) q.put(i);
  return n;
}

/** Takes n items (each get waits for one), in the order they came. */
export function consume(handle: ActorHandle, n: number): number[] {
  const q = new Queue<number>(handle);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(q.get());
  return out;
}

/** A get that times out: the error's class and code; and a nowait put/get on a full/empty queue. */
export function queueErrors(handle: ActorHandle, timeoutMs: number): string[] {
  const q = new Queue(handle);
  const out: string[] = [];
  try {
    q.get({ timeoutMs });
  } catch (e) {
    out.push(`${(e as Error).name} ${(e as QueueEmptyError).code}`);
  }
  try {
    q.getNowait();
  } catch (e) {
    out.push(`${(e as Error).name} ${(e as QueueEmptyError).code}`);
  }
  out.push(`size ${q.size()} empty ${q.empty()} full ${q.full()}`);
  return out;
}

// ---- defer/resolve: an actor whose take() waits for a send() without holding the actor ----

export class Mailbox {
  waiting: ObjectRef[] = [];
  sent = 0;
  /** Waits for the next send (null after timeoutMs, when given). */
  take(timeoutMs?: number): unknown {
    this.waiting.push(defer(timeoutMs === undefined ? {} : { timeoutMs, onTimeout: "timed out" }));
    return "ignored";
  }
  /** Gives x to the first take still waiting: whether one took it. */
  send(x: unknown): boolean {
    this.sent++;
    while (this.waiting.length > 0) if (resolve(this.waiting.shift()!, x)) return true;
    return false;
  }
  /** Defers and resolves in the same call: the caller gets the resolved value. */
  echo(x: unknown): unknown {
    const me = defer();
    resolve(me, { echoed: x });
    return "ignored";
  }
  /** Defers, then throws: the call fails with the error, and nothing waits. */
  deferThenThrow(message: string): unknown {
    this.waiting.push(defer());
    throw new RangeError(message);
  }
  count(): number {
    return this.sent;
  }
}

/** defer() in a task: refused (the task fails with a TypeError). */
export function deferInTask(): string {
  defer();
  return "returned";
}
