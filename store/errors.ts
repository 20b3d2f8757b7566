import { WrayError } from "../common/errors.js";

/** `get` gave up waiting: the objects were not ready within `timeoutMs`. */
export class GetTimeoutError extends WrayError {
  constructor(timeoutMs: number, pending: number) {
    super("WRAY_GET_TIMEOUT", `get timed out after ${timeoutMs} ms with ${pending} object(s) not ready`);
  }
}

/**
 * The object store cannot make room for an object: everything it could
 * spill is spilled and the rest is pinned (in use by running tasks or held
 * as views), or spilling is off. `ObjectTooLargeError` is the case of an
 * object larger than the whole store.
 */
export class ObjectStoreFullError extends WrayError {
  /** Bytes asked for. */
  readonly requested: number;
  /** The store's size (`objectStoreMemory`). */
  readonly capacity: number;
  /** Bytes held by objects in use that cannot be spilled now. */
  readonly pinned: number;
  constructor(requested: number, capacity: number, inUse: number, pinned: number, why = "", cause?: unknown) {
    const reasons = [`it holds ${fmtBytes(inUse)} of ${fmtBytes(capacity)}`];
    if (pinned > 0) reasons.push(`${fmtBytes(pinned)} of it pinned by running tasks and live views`);
    if (why) reasons.push(why);
    super(
      "WRAY_OBJECT_STORE_FULL",
      `the object store cannot fit ${fmtBytes(requested)}: ${reasons.join(", ")}. ` +
        `Drop refs and views you no longer need, or raise objectStoreMemory in init().`,
      cause === undefined ? undefined : { cause },
    );
    this.requested = requested;
    this.capacity = capacity;
    this.pinned = pinned;
  }
}

/** An object larger than the whole object store: raise `objectStoreMemory` or split it. */
export class ObjectTooLargeError extends WrayError {
  readonly requested: number;
  readonly capacity: number;
  constructor(requested: number, capacity: number) {
    super(
      "WRAY_OBJECT_TOO_LARGE",
      `an object of ${fmtBytes(requested)} is larger than the whole object store (${fmtBytes(capacity)}). ` +
        `Raise objectStoreMemory in init() above its size, or split it into smaller objects.`,
    );
    this.requested = requested;
    this.capacity = capacity;
  }
}

/** Spilling an object to disk (or reading it back) failed: the directory and the system's reason. */
export class SpillError extends WrayError {
  readonly path: string;
  constructor(what: string, path: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause instanceof Error ? cause.message : String(cause));
    super("WRAY_SPILL_FAILED", `${what} ${path} failed (${reason}). Set objectSpillingDirectory in init() to a writable directory with room.`, { cause });
    this.path = path;
  }
}

/** An object was freed (or never existed) while something still asked for it. */
export class ObjectLostError extends WrayError {
  readonly objectHex: string;
  /** Why, as the message gives it after the object's ID. */
  readonly why: string;
  constructor(objectHex: string, why: string) {
    super("WRAY_OBJECT_LOST", `object ${objectHex} is lost: ${why}`);
    this.objectHex = objectHex;
    this.why = why;
  }
}

/**
 * An object that cannot be had because its owner (the node that put it, or
 * that submitted the task that made it) died, and every copy with it: as
 * in Ray, an object lives as long as its owner. It is an ObjectLostError.
 */
export class OwnerDiedError extends ObjectLostError {
  readonly ownerId: string;
  constructor(objectHex: string, ownerId: string, why: string) {
    super(objectHex, `its owner, node ${ownerId.slice(0, 8)}, died (${why})`);
    this.ownerId = ownerId;
  }
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
