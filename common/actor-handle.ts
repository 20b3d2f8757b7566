import { keyToHex } from "./ids.js";

/**
 * A handle to an actor: what `SomeClass.remote(...)` returns. Handles are
 * values: pass them to tasks and other actors (inside guests they call
 * methods the same way), and use `handle.method.remote(...)` to call.
 *
 * @example
 * const Counter = mod.actor("Counter");
 * const c = Counter.remote(10);
 * console.log(await ray.get(c.inc.remote())); // 11
 */
export class ActorHandle {
  /** @internal The actor ID (its creating task's ID) packed as a key. */
  readonly key: string;
  /** The actor's class. */
  readonly className: string;

  /** @internal Handles are made by wray (`remote`, `getActor`, values read back). */
  constructor(key: string, className: string) {
    this.key = key;
    this.className = className;
  }

  /** The actor ID as 32 lowercase hex digits. */
  get id(): string {
    return keyToHex(this.key);
  }

  toString(): string {
    return `ActorHandle(${this.className}, ${this.id})`;
  }

  toJSON(): string {
    return this.id;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
