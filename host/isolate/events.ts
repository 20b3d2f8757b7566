/**
 * What isolates report to the host thread: their lifecycle and results
 * (PoolEvents, which the node implements) and their guests' requests
 * (GuestEvents). The pool's links read the event records and call these.
 */
import type { TaskId } from "../../common/ids.js";
import type { ArenaRef } from "../../store/index.js";
import type { Piece } from "./protocol.js";
import type * as R from "./records.js";

/** Isolates' lifecycle and results, delivered on the host thread (HostNode implements this). */
export interface PoolEvents {
  isolateReady(iso: number): void;
  isolateExited(iso: number, why: string): void;
  /** `values` for STATUS_OK, else `detail` (failure map, or trap/host-error text). */
  result(iso: number, slot: number, status: number, ms: number, values: Piece[] | undefined, detail: Uint8Array | undefined): void;
  loaded(iso: number, component: number, ok: boolean, message: string): void;
  /** True while an isolate will need the host again within microseconds (it runs a lent task). */
  expectingSoon(): boolean;
  /** Where guests' requests go. */
  readonly guests: GuestEvents;
}

/** What running guests ask of the host, delivered on the host thread (host/node/guest-calls.ts implements this). */
export interface GuestEvents {
  guestSubmit(iso: number, parentSlot: number, numReturns: number, taskId: TaskId, name: string, args: Piece, options: Uint8Array): void;
  /** Blocking: answer with replyValues, replyFailure, or replyRun (a task to run meanwhile). */
  get(iso: number, slot: number, ids: string[], timeoutMs: number): void;
  /** Blocking: answer with replyIndices, or replyRun. */
  wait(iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void;
  /** Blocking: the isolate ran the task it was lent and waits again. */
  resume(iso: number, slot: number): void;
  put(iso: number, slot: number, index: number, value: Piece): void;
  log(iso: number, slot: number, level: number, message: string): void;
  guestCreateActor(iso: number, parentSlot: number, actorId: TaskId, cls: string, args: Piece, options: Uint8Array): void;
  guestCallActor(iso: number, parentSlot: number, numReturns: number, taskId: TaskId, actorKey: string, method: string, args: Piece, options: Uint8Array): void;
  /** Blocking: answer with replyActor. */
  getActor(iso: number, slot: number, name: string): void;
  /** The task in `slot` cancels the task that makes object `id` (flags: CANCEL_FORCE, CANCEL_RECURSIVE). */
  cancel(iso: number, slot: number, id: string, flags: number): void;
  /** An actor method defers its result: it is given by a later call's resolve, or `onTimeout` after `timeoutMs` (negative: never). */
  defer(iso: number, slot: number, timeoutMs: number, onTimeout: Piece): void;
  /** Blocking: a method gives deferred call `id` of its actor its result; answer with replyIndices ([1]: delivered, []: no such call waits). */
  resolve(iso: number, slot: number, id: string, value: Piece): void;
  /** A GPU call (E_GPU's fields; `payload` is a copy of what follows them). Blocking but for GPU_DESTROY: answer with replyGpu. */
  gpuCall(iso: number, call: GpuCall): void;
  /** Shared memory for a value the task in `slot` writes (the store may spill to make room). Throws when it cannot. */
  alloc(iso: number, slot: number, len: number, lead: number): ArenaRef;
}

/** One E_GPU record as the host hands it on: its fields, and the op's payload copied out of the ring. */
export interface GpuCall extends Omit<R.GpuRecord<Uint8Array>, "payload"> {
  /** The op's bytes piece (GPU_FROM_BYTES, GPU_WRITE), or its raw payload otherwise. */
  piece: Piece | undefined;
  payload: Uint8Array;
}
