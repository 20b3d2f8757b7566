import { TASK_KEY_LENGTH, keyToHex } from "./ids.js";

/**
 * A reference to an object in wray's object store: the result of a task or
 * of `put`. Refs are immutable values; pass them as task arguments (a
 * top-level ref argument is resolved to its value before the task runs) or
 * inside other values (nested refs stay refs), and read them with `get`.
 *
 * @example
 * const ref = ray.put([1, 2, 3]);
 * console.log(ref.hex, await ray.get(ref));
 */
export class ObjectRef<T = unknown> {
  /** @internal The object ID packed as a key (common/ids.ts). */
  readonly key: string;
  /** Phantom field carrying the value type for TypeScript; always undefined. */
  declare readonly __value?: T;
  /** The owning store's record of the object, when this process holds it. */
  #entry: unknown;

  /** @internal Refs are made by wray (`remote`, `put`, values read back), not by users. */
  constructor(key: string, entry?: unknown) {
    this.key = key;
    this.#entry = entry;
  }

  /** @internal The store entry this ref was made with, if any. */
  static entryOf(r: ObjectRef): unknown {
    return r.#entry;
  }

  /** The object ID as 40 lowercase hex digits. */
  get hex(): string {
    return keyToHex(this.key);
  }

  /** The ID of the task (or driver) that made the object, as hex. */
  get taskHex(): string {
    return keyToHex(this.key.slice(0, TASK_KEY_LENGTH));
  }

  toString(): string {
    return `ObjectRef(${this.hex})`;
  }

  toJSON(): string {
    return this.hex;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** The value type an ObjectRef stands for. */
export type ValueOf<R> = R extends ObjectRef<infer T> ? T : never;
