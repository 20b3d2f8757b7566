/**
 * An isolate's side of guests' `wray:runtime/gpu` calls: each one a
 * blocking E_GPU record (records.ts) that the host thread answers when the
 * device has done the work (host/node/gpu-calls.ts), or, for a buffer's
 * destruction, a plain event.
 */
import type { TaskId } from "../../common/ids.js";
import { OBJECT_ID_BYTES, PUT_INDEX_FLAG } from "../../common/ids.js";
import type { GpuHost, GpuOutcome } from "./imports/gpu.js";
import { GPU_BAD_ARGUMENT } from "./imports/gpu.js";
import type { GuestBytes } from "./imports/runtime.js";
import type { Piece, PieceView } from "./protocol.js";
import { GPU_ADAPTER, GPU_COMPILE, GPU_CREATE, GPU_DESTROY, GPU_DISPATCH, GPU_FROM_BYTES, GPU_FROM_OBJECT, GPU_OK, GPU_READ, GPU_READ_OBJECT, GPU_WRITE, R_GPU } from "./protocol.js";
import type { GpuRecord, Layout } from "./records.js";
import { GPU_GRID, GPU_OBJECT_ID, GPU_PUT_INDEX, GPU_REPLY, GPU_SOURCE, GPU_UPLOAD, gpuCall } from "./records.js";

/** A reply to a blocking call: its kind, and where its payload lies. */
export interface Reply {
  kind: number;
  dv: DataView;
  bytes: Uint8Array;
  at: number;
  length: number;
}

/** Reads reply `r`'s payload with `layout`. */
export function read<R>(layout: Layout<unknown, R>, r: Reply): R {
  return layout.read(r.dv, r.bytes, r.at, r.length);
}

/** A running task, as the isolate tracks it. */
export interface Exec {
  slot: number;
  taskId: TaskId;
  children: number;
  puts: number;
}

/** What GPU calls use of their isolate. */
export interface IsolateCalls {
  /** A blocking call: writes `r`, waits for the host's reply. */
  call<W>(layout: Layout<W, unknown>, r: W): Reply;
  /** An event the host need not answer. */
  emit<W>(layout: Layout<W, unknown>, r: W): void;
  /** The task running now. */
  current(): Exec;
  /** Copies bytes into an arena block the host hands out. */
  toArena(b: Uint8Array): Piece;
  segment(id: number): SharedArrayBuffer;
  readonly inlineMax: number;
  /** The event ring's largest payload. */
  readonly maxPayload: number;
}

/** A GPU call's reply: the code (GPU_OK or a WIT error-code), the u32 value, and the piece. */
interface GpuReply {
  code: number;
  value: number;
  piece: PieceView;
  reply: Reply;
}

/** E_GPU with each op's payload (records.ts). */
const GPU_CALL = gpuCall<never>(undefined);
const GPU_CALL_UPLOAD = gpuCall(GPU_UPLOAD);
const GPU_CALL_OBJECT = gpuCall(GPU_OBJECT_ID);
const GPU_CALL_SOURCE = gpuCall(GPU_SOURCE);
const GPU_CALL_GRID = gpuCall(GPU_GRID);
const GPU_CALL_PUT_INDEX = gpuCall(GPU_PUT_INDEX);

const textDecoder = new TextDecoder();

export class IsolateGpu implements GpuHost {
  readonly #w: IsolateCalls;

  constructor(w: IsolateCalls) {
    this.#w = w;
  }


  /**
   * Sends one GPU call and returns its reply's (code, value) and piece.
   * `size`/`fill` write the op's payload after the fixed fields.
   */
  #gpu<X>(layout: Layout<GpuRecord<X>, unknown>, op: number, a: number, b: number, n1: number, n2: number, payload?: X): GpuReply {
    const slot = this.#w.current().slot;
    const r = this.#w.call(layout, { slot, op, a, b, n1, n2, payload });
    if (r.kind !== R_GPU) throw new Error(`unexpected reply ${r.kind} to a GPU call`);
    return { ...read(GPU_REPLY, r), reply: r };
  }

  /** The reply's piece: a view of the reply, or of the arena block the host left it in. */
  #gpuBytes(x: GpuReply): Uint8Array {
    const p = x.piece;
    return p.arena ? new Uint8Array(this.#w.segment(p.a), p.b, p.len) : x.reply.bytes.subarray(p.a, p.a + p.len);
  }

  /** The call's outcome: `ok()` of the reply on success, else its code and message. */
  #gpuOutcome<T>(x: GpuReply, ok: (x: GpuReply) => T): GpuOutcome<T> {
    return x.code === GPU_OK ? { code: -1, value: ok(x) } : { code: x.code, value: textDecoder.decode(this.#gpuBytes(x)) };
  }

  /** An upload of `bytes` (GPU_FROM_BYTES, GPU_WRITE): inline when small, else through an arena block. */
  #gpuUpload(op: number, buffer: number, offset: number, bytes: Uint8Array): GpuReply | GpuOutcome<never> {
    let piece: Piece;
    try {
      piece = bytes.length <= this.#w.inlineMax ? bytes : this.#w.toArena(bytes);
    } catch (e) {
      return { code: GPU_BAD_ARGUMENT, value: (e as Error).message };
    }
    return this.#gpu(GPU_CALL_UPLOAD, op, buffer, 0, offset, 0, piece);
  }

  gpuAdapter(): GpuOutcome<Uint8Array> {
    return this.#gpuOutcome(this.#gpu(GPU_CALL, GPU_ADAPTER, 0, 0, 0, 0), (x) => this.#gpuBytes(x));
  }

  gpuCreateBuffer(size: number): GpuOutcome<number> {
    return this.#gpuOutcome(this.#gpu(GPU_CALL, GPU_CREATE, 0, 0, size, 0), handle);
  }

  gpuBufferFromBytes(bytes: Uint8Array): GpuOutcome<number> {
    const x = this.#gpuUpload(GPU_FROM_BYTES, 0, 0, bytes);
    return "reply" in x ? this.#gpuOutcome(x, handle) : x;
  }

  gpuBufferFromObject(id: Uint8Array): GpuOutcome<number> {
    if (id.length !== OBJECT_ID_BYTES) return { code: GPU_BAD_ARGUMENT, value: `an object ID is ${OBJECT_ID_BYTES} bytes, got ${id.length}` };
    return this.#gpuOutcome(this.#gpu(GPU_CALL_OBJECT, GPU_FROM_OBJECT, 0, 0, 0, 0, id), handle);
  }

  gpuWriteBuffer(buffer: number, offset: number, bytes: Uint8Array): GpuOutcome<undefined> {
    const x = this.#gpuUpload(GPU_WRITE, buffer, offset, bytes);
    return "reply" in x ? this.#gpuOutcome(x, nothing) : x;
  }

  gpuCompile(wgsl: Uint8Array, entryPoint: Uint8Array): GpuOutcome<number> {
    // WGSL source is small; a source past the ring's record size is not a kernel anyone writes by hand
    if (wgsl.length + entryPoint.length > this.#w.maxPayload >>> 1) return { code: GPU_BAD_ARGUMENT, value: `WGSL source of ${wgsl.length} bytes is too large` };
    const x = this.#gpu(GPU_CALL_SOURCE, GPU_COMPILE, 0, 0, 0, 0, { wgsl, entryPoint });
    return this.#gpuOutcome(x, handle);
  }

  gpuDispatch(kernel: number, bindings: Uint32Array, x: number, y: number, z: number): GpuOutcome<undefined> {
    if (bindings.length > 1024) return { code: GPU_BAD_ARGUMENT, value: `${bindings.length} bindings is more than any device allows` };
    const r = this.#gpu(GPU_CALL_GRID, GPU_DISPATCH, kernel, bindings.length, 0, 0, { x, y, z, bindings });
    return this.#gpuOutcome(r, nothing);
  }

  gpuReadBuffer(buffer: number, offset: number, length: number): GpuOutcome<GuestBytes> {
    // the bytes are read from the reply (or the task's arena block) when the import lowers them, before any other call
    return this.#gpuOutcome(this.#gpu(GPU_CALL, GPU_READ, buffer, 0, offset, length), (x) => ({ length: x.piece.len, fill: (mem, ptr) => mem.set(this.#gpuBytes(x), ptr) }));
  }

  gpuReadObject(buffer: number, offset: number, length: number, element: number): GpuOutcome<Uint8Array> {
    const exec = this.#w.current();
    const index = (PUT_INDEX_FLAG | ++exec.puts) >>> 0;
    const x = this.#gpu(GPU_CALL_PUT_INDEX, GPU_READ_OBJECT, buffer, element, offset, length, index);
    return this.#gpuOutcome(x, () => objectId(exec.taskId, index));
  }

  gpuDestroyBuffer(buffer: number): void {
    const slot = this.#w.current().slot;
    this.#w.emit(GPU_CALL, { slot, op: GPU_DESTROY, a: buffer, b: 0, n1: 0, n2: 0, payload: undefined });
  }
}

/** Success payloads of GPU replies: a handle in `value`, or nothing. */
const handle = (x: GpuReply): number => x.value;
const nothing = (): undefined => undefined;

/** The 20-byte ID of object `index` of task `task`. */
export function objectId(task: TaskId, index: number): Uint8Array {
  const b = new Uint8Array(OBJECT_ID_BYTES);
  const w = [task.w0, task.w1, task.w2, task.w3, index >>> 0];
  for (let i = 0; i < 5; i++) {
    const x = w[i]!;
    b[4 * i] = x & 0xff;
    b[4 * i + 1] = (x >>> 8) & 0xff;
    b[4 * i + 2] = (x >>> 16) & 0xff;
    b[4 * i + 3] = x >>> 24;
  }
  return b;
}
