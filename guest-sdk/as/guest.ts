// Tasks and actor classes of an AssemblyScript guest. AssemblyScript has no
// reflection, so a guest registers them by name at its top level:
//
//   task("add", (a: Args, out: Out): void => { out.f64(a.f64() + a.f64()); });
//   actor("Counter", newCounter).method("incr", incr).method("get", get);
//
// A task reads its arguments from `a` (`a.count` of them, in order) and
// writes `a.numReturns` values to `out`, or calls `out.fail(...)`.
import { Reader, Writer } from "./msgpack";
import { Values } from "./host";

/** A task's (or method's) arguments: a Reader positioned at the first of `count` values. */
export class Args extends Reader {
  /** How many arguments were passed. */
  count: u32 = 0;
  /** How many values the caller expects in `out` (1 unless it asked for `numReturns`). */
  numReturns: u32 = 1;

  constructor() {
    super(0, 0);
  }

  // (the runtime reuses Args between calls: they are valid only during the call)
  reset(ptr: usize, end: usize, numReturns: u32): void {
    this.rewind(ptr, end);
    this.numReturns = numReturns;
    this.count = this.array();
  }
}

/** Where a task writes its results (a Writer), or its failure. */
export class Out extends Writer {
  failed: bool = false;

  /** Fails the call with an Error of `name` (e.g. "TypeError") and `message`; the caller's `get` throws it. */
  fail(name: string, message: string): void {
    this.len = 0;
    this.failed = true;
    this.map(3).str("name").str(name).str("message").str(message).str("stack").str("");
  }

  /** Fails the call with the failure a `get` returned (a failed dependency, a timeout), unchanged. */
  failWith(values: Values): void {
    this.len = 0;
    this.failed = true;
    this.raw(values.reply);
  }
}

/** A task, an actor's constructor or one of its methods. */
export type TaskFn = (args: Args, out: Out) => void;

export class Entry {
  constructor(public readonly name: string, public readonly key: ArrayBuffer, public readonly fn: TaskFn) {}
}

/** An actor class: built by `actor(name, constructor)`, methods added with `.method(name, fn)`. */
export class ActorClass {
  readonly methods: Entry[] = [];
  constructor(public readonly name: string, public readonly key: ArrayBuffer, public readonly construct: TaskFn) {}

  /** Adds a method; returns the class, to chain. */
  method(name: string, fn: TaskFn): ActorClass {
    if (declared(this.methods, name)) throw new Error("actor class '" + this.name + "' declares method '" + name + "' twice");
    this.methods.push(new Entry(name, String.UTF8.encode(name), fn));
    return this;
  }
}

// whether one of `list` (Entries or ActorClasses) is named `name`
function declared<T>(list: T[], name: string): bool {
  for (let i = 0; i < list.length; i++) if (unchecked(list[i]).name == name) return true;
  return false;
}

export const tasks: Entry[] = [];
export const actors: ActorClass[] = [];

/** Declares a task: `fn` runs when a caller submits `name`. */
export function task(name: string, fn: TaskFn): void {
  if (declared(tasks, name)) throw new Error("task '" + name + "' is declared twice");
  tasks.push(new Entry(name, String.UTF8.encode(name), fn));
}

/**
 * Declares an actor class. An instance holds at most one actor, so an
 * actor's state can live in module-level variables that `construct` sets.
 */
export function actor(name: string, construct: TaskFn): ActorClass {
  if (declared(actors, name)) throw new Error("actor class '" + name + "' is declared twice");
  const c = new ActorClass(name, String.UTF8.encode(name), construct);
  actors.push(c);
  return c;
}
