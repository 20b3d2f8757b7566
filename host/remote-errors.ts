/**
 * Errors across nodes: a task that fails on one node fails `get` on its
 * owner with the same class, code, message and fields, so a program
 * behaves the same on one host or many.
 */
import { decode, encode } from "@msgpack/msgpack";
import { WrayError } from "../common/errors.js";
import { ConnectionClosedError, RemoteError, UnauthorizedError, WireError } from "../net/index.js";
import { InfeasibleTaskError } from "../scheduler/index.js";
import { ControlStoreError, GetTimeoutError, ObjectLostError, ObjectStoreFullError, ObjectTooLargeError, SpillError } from "../store/index.js";
import {
  ActorDiedError,
  ActorNameTakenError,
  ActorNotFoundError,
  GuestTrapError,
  IsolateDiedError,
  NodeDiedError,
  TaskError,
  TaskTimeoutError,
  UnknownFunctionError,
} from "./errors.js";

type ErrorClass = abstract new (...args: never[]) => Error;

const CLASSES = new Map<string, ErrorClass>(
  (
    [
      TaskError,
      GuestTrapError,
      IsolateDiedError,
      TaskTimeoutError,
      ActorDiedError,
      ActorNotFoundError,
      ActorNameTakenError,
      UnknownFunctionError,
      NodeDiedError,
      InfeasibleTaskError,
      ObjectLostError,
      ObjectStoreFullError,
      ObjectTooLargeError,
      SpillError,
      GetTimeoutError,
      ControlStoreError,
      ConnectionClosedError,
      UnauthorizedError,
      RemoteError,
      WireError,
      TypeError,
      RangeError,
    ] as ErrorClass[]
  ).map((c) => [c.name, c]),
);

interface EncodedError {
  class: string;
  message: string;
  fields: Record<string, unknown>;
}

/** An error as bytes for TASK_DONE. Own enumerable fields that MessagePack can hold travel too. */
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
  let r: EncodedError;
  try {
    r = decode(bytes) as EncodedError;
    if (typeof r?.message !== "string") throw new Error("no message");
  } catch (e) {
    return new WrayError("WRAY_REMOTE_ERROR", `a remote failure that could not be read: ${(e as Error).message}`);
  }
  const cls = CLASSES.get(r.class);
  const err = new Error(r.message);
  // the same class without running its constructor (whose message it already has)
  if (cls) Object.setPrototypeOf(err, cls.prototype);
  else if (typeof r.fields?.code === "string") Object.setPrototypeOf(err, WrayError.prototype);
  for (const [k, v] of Object.entries(r.fields ?? {})) (err as unknown as Record<string, unknown>)[k] = v;
  if (cls) Object.defineProperty(err, "name", { value: r.class, enumerable: false, configurable: true, writable: true });
  return err;
}
