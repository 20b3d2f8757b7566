/**
 * Records exchanged over an isolate's channel (channel.ts), and the
 * layout of blocking-call replies. Pure functions over bytes, so the
 * format is testable without threads. All integers are little-endian u32
 * unless noted; byte strings are `u32 length, bytes`, padded to 4.
 *
 * A *piece* is how a value's bytes travel: either inline
 * (`INLINE, len, bytes`) or as a reference into the host's object-store
 * arena (`ARENA, segment, offset, len`), which the isolate maps too.
 */
import type { TaskId } from "../../common/ids.js";
import { TASK_ID_BYTES, makeTaskId } from "../../common/ids.js";
import type { ArenaRef } from "../../store/arena.js";
import type { MessagePort } from "node:worker_threads";
import type { ChannelSizes } from "./channel.js";

export type { ArenaRef };

// ---- starting an isolate, and its control port ------------------------------

/** What the host gives an isolate when it starts it. */
export interface IsolateInit {
  id: number;
  channel: SharedArrayBuffer;
  sizes: ChannelSizes;
  hostBell: SharedArrayBuffer;
  control: MessagePort;
  segments: [number, SharedArrayBuffer][];
  spinMs: number;
  /** Cores the host may use: spinning stops while more of its threads than that are awake. */
  cores: number;
  inlineMax: number;
}

/** Messages on the control port, host → isolate. */
export type ControlMessage =
  | { type: "load"; component: number; glue: string; modules: Record<string, WebAssembly.Module>; memoryLimit: number }
  | { type: "segment"; id: number; sab: SharedArrayBuffer }
  | { type: "drop-segment"; id: number }
  | { type: "reply"; bytes: Uint8Array };


// host → isolate
/**
 * A task not claimed yet. The record's type word is its claim: the isolate
 * turns it into T_STARTED (compare-and-swap) before it runs the task, and
 * the host may turn it into T_STOLEN instead, to run the task elsewhere
 * (see IsolatePool.steal); the isolate skips a stolen record.
 */
export const T_TASK = 1;
/** A message waits on the isolate's control port (receiveMessageOnPort). */
export const T_CONTROL = 2;
/** A T_TASK the isolate has claimed. */
export const T_STARTED = 3;
/** A T_TASK the host took back before the isolate claimed it. */
export const T_STOLEN = 4;

// isolate → host
export const E_RESULT = 1;
export const E_SUBMIT = 2;
export const E_GET = 3; // blocking
export const E_WAIT = 4; // blocking
export const E_PUT = 5;
export const E_LOG = 6;
export const E_ALLOC = 7; // blocking
export const E_RESUME = 8; // blocking: done helping, keep waiting
/** A component load finished (u32 component, u32 ok, message). */
export const E_LOADED = 9;
/** A guest creates an actor (u32 parentSlot, taskId(16), class, args piece, options). */
export const E_CREATE_ACTOR = 10;
/** A guest calls an actor (u32 parentSlot, u32 numReturns, taskId(16), actorId(16), method, args piece, options). */
export const E_CALL_ACTOR = 11;
/** Blocking: which actor has this name (u32 slot, name)? */
export const E_GET_ACTOR = 12;
/**
 * A GPU call, blocking but for GPU_DESTROY:
 *   u32 slot, u32 op, u32 a, u32 b, f64 n1, f64 n2, then the op's payload.
 * The fields each op uses are listed with the ops below.
 */
export const E_GPU = 13;
/** A guest cancels the task that makes an object (u32 slot, u32 flags: CANCEL_FORCE | CANCEL_RECURSIVE, object ID). */
export const E_CANCEL = 14;
/** An actor method defers its result (u32 slot, u32 0, f64 timeoutMs, the on-timeout value piece). */
export const E_DEFER = 15;
/** Blocking: a method resolves a deferred call of its actor (u32 slot, object ID, value piece); answered with R_INDICES, [1] when delivered. */
export const E_RESOLVE = 16;
export const CANCEL_FORCE = 1;
export const CANCEL_RECURSIVE = 2;
export const GPU_FIXED = 32;

// kinds of T_TASK
export const KIND_TASK = 0;
export const KIND_CONSTRUCT = 1;
export const KIND_METHOD = 2;

// statuses of E_RESULT
export const STATUS_OK = 0;
/** The guest returned a failure map (it threw). */
export const STATUS_FAILED = 1;
/** The guest trapped; payload is the trap message. The instance is gone. */
export const STATUS_TRAP = 2;
/** The isolate could not run the task (bad reply, unknown component); payload is a message. */
export const STATUS_HOST_ERROR = 3;
/** The guest ran out of linear memory (its cap); detail: "used bytes\nlimit bytes\nmessage". Its instance was discarded. */
export const STATUS_OUT_OF_MEMORY = 4;

// replies to blocking calls
export const R_VALUES = 1;
export const R_FAILURE = 2;
export const R_INDICES = 3;
export const R_ALLOC = 4;
/** Run this task now, nested, then send E_RESUME (the host lends the waiting isolate work). */
export const R_RUN = 5;
/** The reply did not fit the reply area; it waits on the control port as bytes. */
export const R_PORT = 6;
/** An actor ID (16 bytes), or nothing. */
export const R_ACTOR = 7;
/** A GPU call's outcome: u32 code (GPU_OK, or a WIT error-code), u32 value, then a piece (message, bytes, object ID). */
export const R_GPU = 8;
export const GPU_OK = 0xffffffff;

// GPU ops of E_GPU, with the fields each uses
/** → piece: the adapter's name. */
export const GPU_ADAPTER = 0;
/** n1 size → value: buffer. */
export const GPU_CREATE = 1;
/** piece: bytes → value: buffer. */
export const GPU_FROM_BYTES = 2;
/** 20-byte object ID → value: buffer. */
export const GPU_FROM_OBJECT = 3;
/** a buffer, n1 offset, piece: bytes. */
export const GPU_WRITE = 4;
/** bytes: WGSL, bytes: entry point → value: kernel. */
export const GPU_COMPILE = 5;
/** a kernel, b count, u32 x, y, z, then count u32 buffers. */
export const GPU_DISPATCH = 6;
/** a buffer, n1 offset, n2 length → piece: the bytes (an arena piece is the task's until it ends). */
export const GPU_READ = 7;
/** a buffer, b element, n1 offset, n2 length, u32 put index → piece: the new object's ID. */
export const GPU_READ_OBJECT = 8;
/** a buffer; not blocking. */
export const GPU_DESTROY = 9;

export const PIECE_INLINE = 0;
export const PIECE_ARENA = 1;

/**
 * An arena piece in this segment cannot be read: the isolate fails the
 * task before it starts. The host sends it when it could not make an
 * argument readable (the object store had no room to read it back), so
 * that the task fails in its place in the isolate's pipeline.
 */
export const UNREADABLE_SEGMENT = 0xffffffff;

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function pad4(n: number): number {
  return (n + 3) & ~3;
}


/** A value to send: inline bytes, or a location in the arena. */
export type Piece = Uint8Array | ArenaRef;

export function pieceSize(p: Piece): number {
  return p instanceof Uint8Array ? 8 + pad4(p.length) : 16;
}

export function pieceLength(p: Piece): number {
  return p instanceof Uint8Array ? p.length : p.len;
}

export function writePiece(dv: DataView, bytes: Uint8Array, at: number, p: Piece): number {
  if (p instanceof Uint8Array) {
    dv.setUint32(at, PIECE_INLINE, true);
    dv.setUint32(at + 4, p.length, true);
    bytes.set(p, at + 8);
    return at + 8 + pad4(p.length);
  }
  dv.setUint32(at, PIECE_ARENA, true);
  dv.setUint32(at + 4, p.seg, true);
  dv.setUint32(at + 8, p.off, true);
  dv.setUint32(at + 12, p.len, true);
  return at + 16;
}

/** A piece as read in place: inline pieces are views into the record. */
export interface PieceView {
  arena: boolean;
  /** Inline: offset of the bytes in the record's buffer. Arena: segment. */
  a: number;
  /** Arena: offset in the segment. */
  b: number;
  len: number;
}

export function readPiece(dv: DataView, at: number, out: PieceView): number {
  const tag = dv.getUint32(at, true);
  if (tag === PIECE_INLINE) {
    out.arena = false;
    out.len = dv.getUint32(at + 4, true);
    out.a = at + 8;
    out.b = 0;
    return at + 8 + pad4(out.len);
  }
  if (tag !== PIECE_ARENA) throw new RangeError(`bad piece tag ${tag}`);
  out.arena = true;
  out.a = dv.getUint32(at + 4, true);
  out.b = dv.getUint32(at + 8, true);
  out.len = dv.getUint32(at + 12, true);
  return at + 16;
}

export function writeTaskId(dv: DataView, at: number, id: TaskId): number {
  dv.setUint32(at, id.w0, true);
  dv.setUint32(at + 4, id.w1, true);
  dv.setUint32(at + 8, id.w2, true);
  dv.setUint32(at + 12, id.w3, true);
  return at + TASK_ID_BYTES;
}

export function readTaskId(dv: DataView, at: number): TaskId {
  return makeTaskId(dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true), dv.getUint32(at + 12, true));
}

export function writeBytes(dv: DataView, bytes: Uint8Array, at: number, b: Uint8Array): number {
  dv.setUint32(at, b.length, true);
  bytes.set(b, at + 4);
  return at + 4 + pad4(b.length);
}
