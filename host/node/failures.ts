/**
 * Failures between guests and the host: a guest's failure map or trap as
 * the typed error its caller gets, and a host error as the failure map a
 * guest's blocking call receives.
 */
import { decode, encode } from "@msgpack/msgpack";
import type { GpuErrorCode } from "../../gpu/index.js";
import { GpuError } from "../../gpu/index.js";
import type { GuestSourceMap } from "../../common/source-map.js";
import { remapStack } from "../../common/source-map.js";
import type { TrapKind } from "../errors.js";
import { GuestOutOfMemoryError, GuestTrapError, TaskError } from "../errors.js";
import { STATUS_OUT_OF_MEMORY, STATUS_TRAP } from "../isolate/index.js";

interface Failure {
  code?: string;
  name?: string;
  message?: string;
  task?: string;
  stack?: string;
}

export function failureToError(taskName: string, bytes: Uint8Array, sourceMap: GuestSourceMap | undefined): TaskError {
  let f: Failure;
  try {
    f = (decode(bytes) ?? {}) as Failure;
  } catch {
    f = { message: "the guest reported a failure that is not valid MessagePack" };
  }
  const message = String(f.message ?? "failed");
  const stack = remapStack(String(f.stack ?? ""), sourceMap);
  if (f.code === "WRAY_UNKNOWN_FUNCTION") return new TaskError(taskName, "UnknownFunction", message, "");
  if (typeof f.code === "string" && f.code.startsWith("WRAY_GPU_")) {
    // a GPU call the guest did not catch: the typed error rides along as the cause
    const cause = f.code === "WRAY_GPU_BAD_ARGUMENT" ? new RangeError(message) : new GpuError(f.code as GpuErrorCode, message);
    return new TaskError(taskName, String(f.name ?? "GpuError"), message, stack, "WRAY_TASK_ERROR", cause);
  }
  if (f.code && f.code !== "WRAY_TASK_ERROR" && f.task !== undefined) {
    // a failure the guest received from the host (a failed argument, a timeout) and did not catch
    return new TaskError(taskName, String(f.name ?? f.code), message, stack);
  }
  return new TaskError(taskName, String(f.name ?? "Error"), message, stack);
}

export function trapOrHostError(taskName: string, status: number, detail: Uint8Array): TaskError {
  const text = new TextDecoder().decode(detail);
  if (status === STATUS_TRAP) {
    const nl = text.indexOf("\n");
    return new GuestTrapError(taskName, text.slice(0, nl) as TrapKind, text.slice(nl + 1));
  }
  if (status === STATUS_OUT_OF_MEMORY) {
    const [used = "0", limit = "0", ...said] = text.split("\n");
    const usedMb = mib(Number(used));
    const limitMb = mib(Number(limit));
    return new GuestOutOfMemoryError(taskName, `out of memory: its linear memory reached ${usedMb} MiB of its ${limitMb} MiB cap (memoryMb) and could not grow (the guest said: ${said.join("\n") || "nothing"})`, limitMb, usedMb);
  }
  return new TaskError(taskName, "HostError", text, "");
}

export function failureBytes(f: Required<Failure>): Uint8Array {
  return encode(f);
}

export function errorToFailure(err: Error | undefined): Uint8Array {
  if (err instanceof TaskError) {
    return failureBytes({ code: err.code, name: err.guestName, message: err.message, task: err.taskName, stack: err.guestStack });
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return failureBytes({
    code: typeof code === "string" ? code : "WRAY_TASK_ERROR",
    name: err?.name ?? "Error",
    message: err?.message ?? "failed",
    task: "",
    stack: "",
  });
}

function mib(bytes: number): number {
  return Math.round((bytes / (1 << 20)) * 10) / 10;
}
