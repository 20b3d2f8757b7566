/**
 * Errors as bytes, so that a failure on one node reaches another as the
 * same class: TASK_DONE carries one for a task's failure, and FAIL replies
 * carry one for a failed request. Classes are known by name once they are
 * registered (host/cluster/remote-errors.ts registers every typed error
 * of the package); an unknown class decodes as a WrayError with its code,
 * or an Error.
 */
import { decode, encode } from "@msgpack/msgpack";
import { WrayError } from "./errors.js";

type ErrorClass = abstract new (...args: never[]) => Error;

const CLASSES = new Map<string, ErrorClass>([
  ["TypeError", TypeError],
  ["RangeError", RangeError],
]);

/** Makes these classes decode as themselves. */
export function registerErrorClasses(classes: readonly ErrorClass[]): void {
  for (const c of classes) CLASSES.set(c.name, c);
}

interface EncodedError {
  class: string;
  message: string;
  fields: Record<string, unknown>;
}

/** An error as bytes. Own enumerable fields that MessagePack can hold travel too. */
export function encodeError(err: unknown): Uint8Array {
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "cause" || v === undefined || typeof v === "function" || (typeof v === "object" && v !== null && !(v instanceof Uint8Array))) continue;
    fields[k] = v;
  }
  if (e.stack) fields.stack = e.stack;
  return encode({ class: e.constructor?.name ?? "Error", message: e.message, fields } satisfies EncodedError);
}

/** The error `encodeError` made, of the same class where this side knows it. */
export function decodeError(bytes: Uint8Array): Error {
  return readError(bytes, false)!;
}

/** The error `encodeError` made, only if its class is registered here (undefined otherwise). */
export function decodeKnownError(bytes: Uint8Array): Error | undefined {
  return readError(bytes, true);
}

function readError(bytes: Uint8Array, knownOnly: boolean): Error | undefined {
  let r: EncodedError;
  try {
    r = decode(bytes) as EncodedError;
    if (typeof r?.message !== "string") throw new Error("no message");
  } catch (e) {
    return knownOnly ? undefined : new WrayError("WRAY_REMOTE_ERROR", `a remote failure that could not be read: ${(e as Error).message}`);
  }
  const cls = CLASSES.get(r.class);
  if (!cls && knownOnly) return undefined;
  const err = new Error(r.message);
  // the same class without running its constructor (whose message it already has)
  if (cls) Object.setPrototypeOf(err, cls.prototype);
  else if (typeof r.fields?.code === "string") Object.setPrototypeOf(err, WrayError.prototype);
  for (const [k, v] of Object.entries(r.fields ?? {})) (err as unknown as Record<string, unknown>)[k] = v;
  if (cls) Object.defineProperty(err, "name", { value: r.class, enumerable: false, configurable: true, writable: true });
  return err;
}
