/**
 * Every record of an isolate's channel, declared once: its layout, and
 * the write/read pair both sides use (the pool on the host thread, the
 * worker in the isolate). Nothing else reads or writes a record's fields;
 * test/host/isolate/records.test.ts round-trips each one.
 *
 * This file's parts: the layouts below, in this order, then Layout helpers.
 *
 * Integers are little-endian u32 unless noted; `bytes` is `u32 length,
 * bytes` padded to 4; a piece is a value inline or in the arena
 * (protocol.ts); a task ID is 16 bytes, an object ID 20.
 *
 *   host → isolate, in the task ring
 *     T_TASK        slot, component, kind, numReturns, taskId, name (bytes),
 *                   argsTotal, nPieces, pieces...
 *   isolate → host, in the event ring
 *     E_RESULT      slot, status, f64 ms, then for STATUS_OK: n, n pieces;
 *                   otherwise detail (bytes: failure map, or trap/host-error text)
 *     E_SUBMIT      parentSlot, numReturns, taskId, name (bytes), args piece, options (bytes)
 *     E_GET         slot, count, f64 timeoutMs, count object IDs
 *     E_WAIT        slot, count, numReturns, 0, f64 timeoutMs, count object IDs
 *     E_PUT         slot, index, value piece
 *     E_LOG         slot, level, message (bytes)
 *     E_ALLOC       length, slot, lead (bytes into the aligned block)
 *     E_RESUME      slot
 *     E_LOADED      component, ok (0/1), message (bytes)
 *     E_CREATE_ACTOR parentSlot, actorId, class (bytes), args piece, options (bytes)
 *     E_CALL_ACTOR  parentSlot, numReturns, taskId, actorId, method (bytes), args piece, options (bytes)
 *     E_GET_ACTOR   slot, name (bytes)
 *     E_CANCEL      slot, flags, object ID
 *     E_DEFER       slot, 0, f64 timeoutMs, on-timeout value piece
 *     E_RESOLVE     slot, object ID, value piece
 *     E_GPU         slot, op, a, b, f64 n1, f64 n2 (GPU_FIXED bytes), then the op's payload:
 *                   GPU_FROM_BYTES/GPU_WRITE a piece; GPU_FROM_OBJECT an object ID;
 *                   GPU_COMPILE source (bytes), entry point (bytes);
 *                   GPU_DISPATCH x, y, z, then `b` buffers; GPU_READ_OBJECT put index
 *   host → isolate, in the reply area (after the header: kind, payload length)
 *     R_VALUES      n, n pieces
 *     R_FAILURE     failure map (bytes)
 *     R_INDICES     n, n indices
 *     R_ALLOC       segment, offset
 *     R_RUN         a T_TASK record
 *     R_ACTOR       the actor's 16-byte ID, or nothing (length 0)
 *     R_GPU         code, value, piece
 *     R_PORT        (none: the reply waits on the control port as bytes, header first)
 */
import type { TaskId } from "../../common/ids.js";
import { OBJECT_ID_BYTES, TASK_ID_BYTES, bytesToKey } from "../../common/ids.js";
import { REPLY_HEADER } from "./channel.js";
import type { Piece, PieceView } from "./protocol.js";
import {
  E_ALLOC,
  E_CALL_ACTOR,
  E_CANCEL,
  E_CREATE_ACTOR,
  E_DEFER,
  E_GET,
  E_GET_ACTOR,
  E_GPU,
  E_LOADED,
  E_LOG,
  E_PUT,
  E_RESOLVE,
  E_RESULT,
  E_RESUME,
  E_SUBMIT,
  E_WAIT,
  GPU_FIXED,
  PIECE_INLINE,
  R_ACTOR,
  R_ALLOC,
  R_FAILURE,
  R_GPU,
  R_INDICES,
  R_RUN,
  R_VALUES,
  STATUS_OK,
  T_TASK,
  pad4,
  pieceLength,
  pieceSize,
  readPiece,
  readTaskId,
  writeBytes,
  writePiece,
  writeTaskId,
} from "./protocol.js";

/**
 * One record's layout. `W` is what is written (pieces as Piece), `R` what
 * is read (pieces as PieceView: inline bytes stay in the record, which the
 * reader copies if it keeps them).
 */
export interface Layout<W, R = W> {
  /** The record's type word (E_*, R_*, T_TASK). */
  readonly type: number;
  /** Payload bytes `r` takes. */
  size(r: W): number;
  write(dv: DataView, b: Uint8Array, at: number, r: W): void;
  /** Reads the payload at `at` (`len` bytes long). */
  read(dv: DataView, b: Uint8Array, at: number, len: number): R;
}

function readBytesView(dv: DataView, b: Uint8Array, at: number): Uint8Array {
  const n = dv.getUint32(at, true);
  return b.subarray(at + 4, at + 4 + n);
}

const bytesSize = (x: Uint8Array) => 4 + pad4(x.length);

function readPieceAt(dv: DataView, at: number): [PieceView, number] {
  const p: PieceView = { arena: false, a: 0, b: 0, len: 0 };
  return [p, readPiece(dv, at, p)];
}

// ---- T_TASK (the task ring, and R_RUN) --------------------------------------------

export interface TaskRecord {
  slot: number;
  component: number;
  kind: number;
  numReturns: number;
  taskId: TaskId;
  name: Uint8Array;
  pieces: readonly Piece[];
}

export interface TaskHeader {
  slot: number;
  component: number;
  kind: number;
  numReturns: number;
  taskId: TaskId;
  /** A view into the record. */
  name: Uint8Array;
  /** The length of the MessagePack array the pieces make. */
  argsTotal: number;
  nPieces: number;
  /** Offset of the first piece (read them with readPiece). */
  piecesAt: number;
}

export const TASK_FIXED = 16 + TASK_ID_BYTES;

export function taskRecordSize(name: Uint8Array, pieces: readonly Piece[]): number {
  let n = TASK_FIXED + 4 + pad4(name.length) + 8;
  for (let i = 0; i < pieces.length; i++) n += pieceSize(pieces[i]!);
  return n;
}

/** Writes a T_TASK record (positional: the hot path writes one per task). */
export function writeTaskRecord(dv: DataView, bytes: Uint8Array, at: number, slot: number, component: number, kind: number, numReturns: number, taskId: TaskId, name: Uint8Array, pieces: readonly Piece[]): number {
  dv.setUint32(at, slot, true);
  dv.setUint32(at + 4, component, true);
  dv.setUint32(at + 8, kind, true);
  dv.setUint32(at + 12, numReturns, true);
  at = writeTaskId(dv, at + 16, taskId);
  at = writeBytes(dv, bytes, at, name);
  let total = 0;
  for (let i = 0; i < pieces.length; i++) total += pieceLength(pieces[i]!);
  dv.setUint32(at, total, true);
  dv.setUint32(at + 4, pieces.length, true);
  at += 8;
  for (let i = 0; i < pieces.length; i++) at = writePiece(dv, bytes, at, pieces[i]!);
  return at;
}

export function readTaskHeader(dv: DataView, bytes: Uint8Array, at: number): TaskHeader {
  const slot = dv.getUint32(at, true);
  const component = dv.getUint32(at + 4, true);
  const kind = dv.getUint32(at + 8, true);
  const numReturns = dv.getUint32(at + 12, true);
  const taskId = readTaskId(dv, at + 16);
  at += TASK_FIXED;
  const name = readBytesView(dv, bytes, at);
  at += 4 + pad4(name.length);
  return { slot, component, kind, numReturns, taskId, name, argsTotal: dv.getUint32(at, true), nPieces: dv.getUint32(at + 4, true), piecesAt: at + 8 };
}

export const TASK: Layout<TaskRecord, TaskHeader> = {
  type: T_TASK,
  size: (r) => taskRecordSize(r.name, r.pieces),
  write: (dv, b, at, r) => void writeTaskRecord(dv, b, at, r.slot, r.component, r.kind, r.numReturns, r.taskId, r.name, r.pieces),
  read: (dv, b, at) => readTaskHeader(dv, b, at),
};

// ---- E_RESULT ----------------------------------------------------------------------

export interface ResultRecord<P> {
  slot: number;
  status: number;
  ms: number;
  /** STATUS_OK: one piece per return value. */
  values: P[] | undefined;
  /** Otherwise: the failure map, or the trap/host-error text. */
  detail: Uint8Array | undefined;
}

const RESULT_FIXED = 16;

export const RESULT: Layout<ResultRecord<Piece>, ResultRecord<PieceView>> = {
  type: E_RESULT,
  size(r) {
    if (r.status !== STATUS_OK) return RESULT_FIXED + bytesSize(r.detail!);
    let n = RESULT_FIXED + 4;
    for (const p of r.values!) n += pieceSize(p);
    return n;
  },
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, r.status, true);
    dv.setFloat64(at + 8, r.ms, true);
    at += RESULT_FIXED;
    if (r.status !== STATUS_OK) {
      writeBytes(dv, b, at, r.detail!);
      return;
    }
    const values = r.values!;
    dv.setUint32(at, values.length, true);
    at += 4;
    for (const p of values) at = writePiece(dv, b, at, p);
  },
  read(dv, b, at) {
    const slot = dv.getUint32(at, true);
    const status = dv.getUint32(at + 4, true);
    const ms = dv.getFloat64(at + 8, true);
    at += RESULT_FIXED;
    if (status !== STATUS_OK) return { slot, status, ms, values: undefined, detail: readBytesView(dv, b, at) };
    const n = dv.getUint32(at, true);
    at += 4;
    const values: PieceView[] = new Array(n);
    for (let i = 0; i < n; i++) [values[i], at] = readPieceAt(dv, at);
    return { slot, status, ms, values, detail: undefined };
  },
};

/** Payload size of an E_RESULT of one inline value of `n` bytes (the common case). */
export const resultOneInlineSize = (n: number) => RESULT_FIXED + 4 + 8 + pad4(n);

/** Writes an E_RESULT of one inline value straight from `value` (a view), without making a piece. */
export function writeResultOneInline(dv: DataView, b: Uint8Array, at: number, slot: number, ms: number, value: Uint8Array): void {
  dv.setUint32(at, slot, true);
  dv.setUint32(at + 4, STATUS_OK, true);
  dv.setFloat64(at + 8, ms, true);
  dv.setUint32(at + 16, 1, true);
  dv.setUint32(at + 20, PIECE_INLINE, true);
  dv.setUint32(at + 24, value.length, true);
  b.set(value, at + 28);
}

// ---- guests' submissions: E_SUBMIT, E_CREATE_ACTOR, E_CALL_ACTOR ------------------------
// Each ends the same way: a name (the task, class or method), the arguments
// as a piece, the options.

/** The end every submission record shares. */
interface CallTail<P> {
  name: Uint8Array;
  args: P;
  options: Uint8Array;
}

const tailSize = (t: CallTail<Piece>) => bytesSize(t.name) + pieceSize(t.args) + bytesSize(t.options);

function writeTail(dv: DataView, b: Uint8Array, at: number, t: CallTail<Piece>): void {
  at = writeBytes(dv, b, at, t.name);
  at = writePiece(dv, b, at, t.args);
  writeBytes(dv, b, at, t.options);
}

function readTail(dv: DataView, b: Uint8Array, at: number): CallTail<PieceView> {
  const name = readBytesView(dv, b, at);
  const [args, next] = readPieceAt(dv, at + bytesSize(name));
  return { name, args, options: readBytesView(dv, b, next) };
}

export interface SubmitRecord<P> extends CallTail<P> {
  parentSlot: number;
  numReturns: number;
  taskId: TaskId;
}

/** parentSlot, numReturns, taskId: the head E_SUBMIT and E_CALL_ACTOR share. */
const SUBMIT_HEAD = 8 + TASK_ID_BYTES;

function writeSubmitHead(dv: DataView, at: number, r: SubmitRecord<Piece>): number {
  dv.setUint32(at, r.parentSlot, true);
  dv.setUint32(at + 4, r.numReturns, true);
  return writeTaskId(dv, at + 8, r.taskId);
}

function readSubmitHead(dv: DataView, at: number): { parentSlot: number; numReturns: number; taskId: TaskId } {
  return { parentSlot: dv.getUint32(at, true), numReturns: dv.getUint32(at + 4, true), taskId: readTaskId(dv, at + 8) };
}

export const SUBMIT: Layout<SubmitRecord<Piece>, SubmitRecord<PieceView>> = {
  type: E_SUBMIT,
  size: (r) => SUBMIT_HEAD + tailSize(r),
  write: (dv, b, at, r) => writeTail(dv, b, writeSubmitHead(dv, at, r), r),
  read: (dv, b, at) => ({ ...readSubmitHead(dv, at), ...readTail(dv, b, at + SUBMIT_HEAD) }),
};

/** `name` is the class. */
export interface CreateActorRecord<P> extends CallTail<P> {
  parentSlot: number;
  actorId: TaskId;
}

export const CREATE_ACTOR: Layout<CreateActorRecord<Piece>, CreateActorRecord<PieceView>> = {
  type: E_CREATE_ACTOR,
  size: (r) => 4 + TASK_ID_BYTES + tailSize(r),
  write(dv, b, at, r) {
    dv.setUint32(at, r.parentSlot, true);
    writeTail(dv, b, writeTaskId(dv, at + 4, r.actorId), r);
  },
  read: (dv, b, at) => ({ parentSlot: dv.getUint32(at, true), actorId: readTaskId(dv, at + 4), ...readTail(dv, b, at + 4 + TASK_ID_BYTES) }),
};

/** `name` is the method. */
export interface CallActorRecord<P> extends SubmitRecord<P> {
  /** The actor's 16-byte ID. */
  actor: Uint8Array;
}

export const CALL_ACTOR: Layout<CallActorRecord<Piece>, CallActorRecord<PieceView> & { actorKey: string }> = {
  type: E_CALL_ACTOR,
  size: (r) => SUBMIT_HEAD + TASK_ID_BYTES + tailSize(r),
  write(dv, b, at, r) {
    at = writeSubmitHead(dv, at, r);
    // a malformed ID is sent as zeros: no actor has it
    if (r.actor.length === TASK_ID_BYTES) b.set(r.actor, at);
    else b.fill(0, at, at + TASK_ID_BYTES);
    writeTail(dv, b, at + TASK_ID_BYTES, r);
  },
  read: (dv, b, at) => ({
    ...readSubmitHead(dv, at),
    actor: b.subarray(at + SUBMIT_HEAD, at + SUBMIT_HEAD + TASK_ID_BYTES),
    actorKey: bytesToKey(b, at + SUBMIT_HEAD, TASK_ID_BYTES),
    ...readTail(dv, b, at + SUBMIT_HEAD + TASK_ID_BYTES),
  }),
};

// ---- blocking calls: E_GET, E_WAIT, E_ALLOC, E_RESUME, E_GET_ACTOR, E_RESOLVE (and E_CANCEL, E_DEFER) ----

export interface GetRecord {
  slot: number;
  timeoutMs: number;
  /** Object IDs (20 bytes each); read back as keys. */
  ids: readonly Uint8Array[];
}

function writeIds(b: Uint8Array, at: number, ids: readonly Uint8Array[]): void {
  for (let i = 0; i < ids.length; i++) b.set(ids[i]!, at + i * OBJECT_ID_BYTES);
}

function readIds(b: Uint8Array, at: number, count: number): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = bytesToKey(b, at + i * OBJECT_ID_BYTES, OBJECT_ID_BYTES);
  return ids;
}

export const GET: Layout<GetRecord, { slot: number; timeoutMs: number; ids: string[] }> = {
  type: E_GET,
  size: (r) => 16 + r.ids.length * OBJECT_ID_BYTES,
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, r.ids.length, true);
    dv.setFloat64(at + 8, r.timeoutMs, true);
    writeIds(b, at + 16, r.ids);
  },
  read: (dv, b, at) => ({ slot: dv.getUint32(at, true), timeoutMs: dv.getFloat64(at + 8, true), ids: readIds(b, at + 16, dv.getUint32(at + 4, true)) }),
};

export const WAIT: Layout<GetRecord & { numReturns: number }, { slot: number; timeoutMs: number; numReturns: number; ids: string[] }> = {
  type: E_WAIT,
  size: (r) => 24 + r.ids.length * OBJECT_ID_BYTES,
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, r.ids.length, true);
    dv.setUint32(at + 8, r.numReturns, true);
    dv.setUint32(at + 12, 0, true);
    dv.setFloat64(at + 16, r.timeoutMs, true);
    writeIds(b, at + 24, r.ids);
  },
  read: (dv, b, at) => ({
    slot: dv.getUint32(at, true),
    numReturns: dv.getUint32(at + 8, true),
    timeoutMs: dv.getFloat64(at + 16, true),
    ids: readIds(b, at + 24, dv.getUint32(at + 4, true)),
  }),
};

export const CANCEL: Layout<{ slot: number; flags: number; id: Uint8Array }, { slot: number; flags: number; id: string }> = {
  type: E_CANCEL,
  size: () => 8 + OBJECT_ID_BYTES,
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, r.flags, true);
    b.set(r.id, at + 8);
  },
  read: (dv, b, at) => ({ slot: dv.getUint32(at, true), flags: dv.getUint32(at + 4, true), id: bytesToKey(b, at + 8, OBJECT_ID_BYTES) }),
};

export const DEFER: Layout<{ slot: number; timeoutMs: number; value: Piece }, { slot: number; timeoutMs: number; value: PieceView }> = {
  type: E_DEFER,
  size: (r) => 16 + pieceSize(r.value),
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, 0, true);
    dv.setFloat64(at + 8, r.timeoutMs, true);
    writePiece(dv, b, at + 16, r.value);
  },
  read: (dv, _b, at) => ({ slot: dv.getUint32(at, true), timeoutMs: dv.getFloat64(at + 8, true), value: readPieceAt(dv, at + 16)[0] }),
};

export const RESOLVE: Layout<{ slot: number; id: Uint8Array; value: Piece }, { slot: number; id: string; value: PieceView }> = {
  type: E_RESOLVE,
  size: (r) => 4 + OBJECT_ID_BYTES + pieceSize(r.value),
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    b.set(r.id, at + 4);
    writePiece(dv, b, at + 4 + OBJECT_ID_BYTES, r.value);
  },
  read: (dv, b, at) => ({ slot: dv.getUint32(at, true), id: bytesToKey(b, at + 4, OBJECT_ID_BYTES), value: readPieceAt(dv, at + 4 + OBJECT_ID_BYTES)[0] }),
};

export const ALLOC: Layout<{ length: number; slot: number; lead: number }> = {
  type: E_ALLOC,
  size: () => 12,
  write(dv, _b, at, r) {
    dv.setUint32(at, r.length, true);
    dv.setUint32(at + 4, r.slot, true);
    dv.setUint32(at + 8, r.lead, true);
  },
  read: (dv, _b, at) => ({ length: dv.getUint32(at, true), slot: dv.getUint32(at + 4, true), lead: dv.getUint32(at + 8, true) }),
};

export const RESUME: Layout<{ slot: number }> = {
  type: E_RESUME,
  size: () => 4,
  write: (dv, _b, at, r) => dv.setUint32(at, r.slot, true),
  read: (dv, _b, at) => ({ slot: dv.getUint32(at, true) }),
};

export const GET_ACTOR: Layout<{ slot: number; name: Uint8Array }> = {
  type: E_GET_ACTOR,
  size: (r) => 4 + bytesSize(r.name),
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    writeBytes(dv, b, at + 4, r.name);
  },
  read: (dv, b, at) => ({ slot: dv.getUint32(at, true), name: readBytesView(dv, b, at + 4) }),
};

// ---- E_PUT, E_LOG, E_LOADED ----------------------------------------------------------------

export const PUT: Layout<{ slot: number; index: number; value: Piece }, { slot: number; index: number; value: PieceView }> = {
  type: E_PUT,
  size: (r) => 8 + pieceSize(r.value),
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, r.index, true);
    writePiece(dv, b, at + 8, r.value);
  },
  read: (dv, _b, at) => ({ slot: dv.getUint32(at, true), index: dv.getUint32(at + 4, true), value: readPieceAt(dv, at + 8)[0] }),
};

export const LOG: Layout<{ slot: number; level: number; message: Uint8Array }> = {
  type: E_LOG,
  size: (r) => 8 + bytesSize(r.message),
  write(dv, b, at, r) {
    dv.setUint32(at, r.slot, true);
    dv.setUint32(at + 4, r.level, true);
    writeBytes(dv, b, at + 8, r.message);
  },
  read: (dv, b, at) => ({ slot: dv.getUint32(at, true), level: dv.getUint32(at + 4, true), message: readBytesView(dv, b, at + 8) }),
};

export const LOADED: Layout<{ component: number; ok: boolean; message: Uint8Array }> = {
  type: E_LOADED,
  size: (r) => 8 + bytesSize(r.message),
  write(dv, b, at, r) {
    dv.setUint32(at, r.component, true);
    dv.setUint32(at + 4, r.ok ? 1 : 0, true);
    writeBytes(dv, b, at + 8, r.message);
  },
  read: (dv, b, at) => ({ component: dv.getUint32(at, true), ok: dv.getUint32(at + 4, true) === 1, message: readBytesView(dv, b, at + 8) }),
};

// ---- E_GPU and its payloads -------------------------------------------------------------------

export interface GpuRecord<X> {
  slot: number;
  op: number;
  a: number;
  b: number;
  n1: number;
  n2: number;
  /** The op's payload (see the GPU_* payload layouts below); none for most ops. */
  payload: X | undefined;
}

/**
 * E_GPU with the payload `layout` writes. Read back, `payload` is the
 * payload's bytes (a view): the host reads it with the op's layout.
 */
export function gpuCall<X>(layout: Layout<X, unknown> | undefined): Layout<GpuRecord<X>, GpuRecord<Uint8Array>> {
  return {
    type: E_GPU,
    size: (r) => GPU_FIXED + (layout && r.payload !== undefined ? layout.size(r.payload) : 0),
    write(dv, bytes, at, r) {
      dv.setUint32(at, r.slot, true);
      dv.setUint32(at + 4, r.op, true);
      dv.setUint32(at + 8, r.a, true);
      dv.setUint32(at + 12, r.b, true);
      dv.setFloat64(at + 16, r.n1, true);
      dv.setFloat64(at + 24, r.n2, true);
      if (layout && r.payload !== undefined) layout.write(dv, bytes, at + GPU_FIXED, r.payload);
    },
    read: (dv, bytes, at, len) => ({
      slot: dv.getUint32(at, true),
      op: dv.getUint32(at + 4, true),
      a: dv.getUint32(at + 8, true),
      b: dv.getUint32(at + 12, true),
      n1: dv.getFloat64(at + 16, true),
      n2: dv.getFloat64(at + 24, true),
      payload: bytes.subarray(at + GPU_FIXED, at + len),
    }),
  };
}

/** A payload's layout (type 0: it is part of an E_GPU record). */
type Payload<W, R = W> = Layout<W, R>;

/** GPU_FROM_BYTES, GPU_WRITE: the bytes, inline or in the arena. */
export const GPU_UPLOAD: Payload<Piece, PieceView> = {
  type: 0,
  size: (p) => pieceSize(p),
  write: (dv, b, at, p) => void writePiece(dv, b, at, p),
  read: (dv, _b, at) => readPieceAt(dv, at)[0],
};

/** GPU_FROM_OBJECT: the object's ID. */
export const GPU_OBJECT_ID: Payload<Uint8Array> = {
  type: 0,
  size: () => OBJECT_ID_BYTES,
  write: (_dv, b, at, id) => b.set(id, at),
  read: (_dv, b, at) => b.subarray(at, at + OBJECT_ID_BYTES),
};

/** GPU_COMPILE: WGSL source and entry point. */
export const GPU_SOURCE: Payload<{ wgsl: Uint8Array; entryPoint: Uint8Array }> = {
  type: 0,
  size: (s) => bytesSize(s.wgsl) + bytesSize(s.entryPoint),
  write(dv, b, at, s) {
    at = writeBytes(dv, b, at, s.wgsl);
    writeBytes(dv, b, at, s.entryPoint);
  },
  read(dv, b, at) {
    const wgsl = readBytesView(dv, b, at);
    return { wgsl, entryPoint: readBytesView(dv, b, at + bytesSize(wgsl)) };
  },
};

/** GPU_DISPATCH: the grid and the buffers bound (as many as the record's `b`). */
export const GPU_GRID: Payload<{ x: number; y: number; z: number; bindings: ArrayLike<number> }, { x: number; y: number; z: number; bindings: number[] }> = {
  type: 0,
  size: (g) => 12 + 4 * g.bindings.length,
  write(dv, _b, at, g) {
    dv.setUint32(at, g.x, true);
    dv.setUint32(at + 4, g.y, true);
    dv.setUint32(at + 8, g.z, true);
    for (let i = 0; i < g.bindings.length; i++) dv.setUint32(at + 12 + 4 * i, g.bindings[i]!, true);
  },
  read(dv, _b, at, len) {
    const n = Math.max(0, (len - 12) >>> 2);
    const bindings: number[] = new Array(n);
    for (let i = 0; i < n; i++) bindings[i] = dv.getUint32(at + 12 + 4 * i, true);
    return { x: dv.getUint32(at, true), y: dv.getUint32(at + 4, true), z: dv.getUint32(at + 8, true), bindings };
  },
};

/** GPU_READ_OBJECT: the put index of the object it makes. */
export const GPU_PUT_INDEX: Payload<number> = {
  type: 0,
  size: () => 4,
  write: (dv, _b, at, index) => dv.setUint32(at, index, true),
  read: (dv, _b, at) => dv.getUint32(at, true),
};

/** Reads a payload (a view from gpuCall's read) with its layout. */
export function readPayload<R>(layout: Payload<unknown, R>, payload: Uint8Array): R {
  return layout.read(new DataView(payload.buffer, payload.byteOffset, payload.byteLength), payload, 0, payload.length);
}

// ---- replies --------------------------------------------------------------------------------------

export { REPLY_HEADER };

/** Writes a reply's header (REPLY_HEADER bytes: u32 kind, u32 payload length). */
export function writeReplyHeader(dv: DataView, kind: number, length: number): void {
  dv.setUint32(0, kind, true);
  dv.setUint32(4, length, true);
}

export function readReplyHeader(dv: DataView): { kind: number; length: number } {
  return { kind: dv.getUint32(0, true), length: dv.getUint32(4, true) };
}

export const VALUES: Layout<readonly Piece[], PieceView[]> = {
  type: R_VALUES,
  size(values) {
    let n = 4;
    for (const p of values) n += pieceSize(p);
    return n;
  },
  write(dv, b, at, values) {
    dv.setUint32(at, values.length, true);
    at += 4;
    for (const p of values) at = writePiece(dv, b, at, p);
  },
  read(dv, _b, at) {
    const n = dv.getUint32(at, true);
    at += 4;
    const out: PieceView[] = new Array(n);
    for (let i = 0; i < n; i++) [out[i], at] = readPieceAt(dv, at);
    return out;
  },
};

export const FAILURE: Layout<Uint8Array> = {
  type: R_FAILURE,
  size: bytesSize,
  write: (dv, b, at, failure) => void writeBytes(dv, b, at, failure),
  read: (dv, b, at) => readBytesView(dv, b, at),
};

export const INDICES: Layout<readonly number[], number[]> = {
  type: R_INDICES,
  size: (idx) => 4 + 4 * idx.length,
  write(dv, _b, at, idx) {
    dv.setUint32(at, idx.length, true);
    for (let i = 0; i < idx.length; i++) dv.setUint32(at + 4 + 4 * i, idx[i]!, true);
  },
  read(dv, _b, at) {
    const n = dv.getUint32(at, true);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = dv.getUint32(at + 4 + 4 * i, true);
    return out;
  },
};

export const ALLOCATED: Layout<{ seg: number; off: number }> = {
  type: R_ALLOC,
  size: () => 8,
  write(dv, _b, at, r) {
    dv.setUint32(at, r.seg, true);
    dv.setUint32(at + 4, r.off, true);
  },
  read: (dv, _b, at) => ({ seg: dv.getUint32(at, true), off: dv.getUint32(at + 4, true) }),
};

export const RUN: Layout<TaskRecord, TaskHeader> = { ...TASK, type: R_RUN };

/** The actor's ID, or none (the payload's length says which). */
export const ACTOR: Layout<Uint8Array | undefined, Uint8Array | undefined> = {
  type: R_ACTOR,
  size: (id) => pad4(id?.length ?? 0),
  write: (_dv, b, at, id) => {
    if (id) b.set(id, at);
  },
  read: (_dv, b, at, len) => (len >= TASK_ID_BYTES ? b.subarray(at, at + TASK_ID_BYTES) : undefined),
};

export const GPU_REPLY: Layout<{ code: number; value: number; piece: Piece }, { code: number; value: number; piece: PieceView }> = {
  type: R_GPU,
  size: (r) => 8 + pieceSize(r.piece),
  write(dv, b, at, r) {
    dv.setUint32(at, r.code, true);
    dv.setUint32(at + 4, r.value, true);
    writePiece(dv, b, at + 8, r.piece);
  },
  read: (dv, _b, at) => ({ code: dv.getUint32(at, true), value: dv.getUint32(at + 4, true), piece: readPieceAt(dv, at + 8)[0] }),
};
