import { WrayError } from "../common/errors.js";

/** `get` gave up waiting: the objects were not ready within `timeoutMs`. */
export class GetTimeoutError extends WrayError {
  constructor(timeoutMs: number, pending: number) {
    super("WRAY_GET_TIMEOUT", `get timed out after ${timeoutMs} ms with ${pending} object(s) not ready`);
  }
}

/** The object store cannot hold an object of this size. */
export class ObjectStoreFullError extends WrayError {
  readonly requested: number;
  readonly capacity: number;
  constructor(requested: number, capacity: number, inUse: number) {
    super(
      "WRAY_OBJECT_TOO_LARGE",
      `the object store cannot fit ${fmt(requested)}: it holds ${fmt(inUse)} of ${fmt(capacity)}. ` +
        `Free objects you no longer need, or raise objectStoreMemory in init().`,
    );
    this.requested = requested;
    this.capacity = capacity;
  }
}

/** An object was freed (or never existed) while something still asked for it. */
export class ObjectLostError extends WrayError {
  readonly objectHex: string;
  constructor(objectHex: string, why: string) {
    super("WRAY_OBJECT_LOST", `object ${objectHex} is lost: ${why}`);
    this.objectHex = objectHex;
  }
}

function fmt(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
