/**
 * The host thread's side of guests' `wray:runtime/gpu` calls: turns each
 * E_GPU record into work on the host's GpuDevice and the outcome into a
 * reply. The isolate waits (Atomics.wait) while the device works; nothing
 * here blocks the host thread.
 *
 * Buffers and kernels are held in a GpuSession per owner — the task's
 * execution, or for actors the actor's isolate — which gpu-route.ts closes
 * when the owner ends.
 */
import { copyInto } from "../../common/copy.js";
import type { TaskId } from "../../common/ids.js";
import { OBJECT_ID_BYTES, bytesToKey, keyToBytes, objectKey } from "../../common/ids.js";
import { binaryHeader, binaryPayload } from "../../common/msgpack-walk.js";
import { TYPED_ARRAY_KINDS } from "../../common/codec.js";
import type { GpuDevice, GpuErrorCode, GpuSession, HostGpu } from "../../gpu/index.js";
import { GpuError } from "../../gpu/index.js";
import type { ArenaRef, ObjectStore } from "../../store/index.js";
import { FAILED, INLINE_MAX, PENDING } from "../../store/index.js";
import { GPU_BAD_ARGUMENT, GPU_ERROR_CODES, GPU_TO_END, GPU_UNAVAILABLE } from "../isolate/index.js";
import type { GpuCall } from "../isolate/index.js";
import { GPU_GRID, GPU_OBJECT_ID, GPU_PUT_INDEX, GPU_SOURCE, readPayload } from "../isolate/index.js";
import type { Piece } from "../isolate/index.js";
import {
  GPU_ADAPTER,
  GPU_COMPILE,
  GPU_CREATE,
  GPU_DISPATCH,
  GPU_FROM_BYTES,
  GPU_FROM_OBJECT,
  GPU_OK,
  GPU_READ,
  GPU_READ_OBJECT,
  GPU_WRITE,
} from "../isolate/index.js";

/** A reply to one call. */
export interface GpuAnswer {
  code: number;
  value: number;
  piece: Piece;
}

/** What a call may do to the task that made it. */
export interface GpuCaller {
  readonly taskId: TaskId;
  /** Still running: objects and blocks made for it are not orphans. */
  alive(): boolean;
  /** An arena block the isolate reads the reply from, freed when the task ends. */
  keepBlock(ref: ArenaRef): void;
  /** An object the task made (a read-back), released when it ends as its puts are. */
  own(id: string): void;
  /** Find an object this node does not hold (a cluster's); false when there is nowhere to look. */
  want(id: string): boolean;
}

/** Read-backs up to this size travel in the reply; larger ones through the arena. */
const REPLY_INLINE_MAX = 64 * 1024;
const NONE = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fail(code: number, message: string): GpuAnswer {
  return { code, value: 0, piece: encoder.encode(message) };
}

function ok(value: number, piece: Piece = NONE): GpuAnswer {
  return { code: GPU_OK, value, piece };
}

/** The WIT error-code (an index into GPU_ERROR_CODES) of each GpuError code. */
const WIT_CODE: Record<GpuErrorCode, number> = {
  WRAY_GPU_UNAVAILABLE: GPU_ERROR_CODES.indexOf("unavailable"),
  WRAY_GPU_COMPILE: GPU_ERROR_CODES.indexOf("compile"),
  WRAY_GPU_VALIDATION: GPU_ERROR_CODES.indexOf("validation"),
  WRAY_GPU_OUT_OF_MEMORY: GPU_ERROR_CODES.indexOf("out-of-memory"),
  WRAY_GPU_DEVICE_LOST: GPU_ERROR_CODES.indexOf("device-lost"),
};

/** The WIT error-code for an error a device call threw (RangeError, TypeError: bad-argument). */
function gpuErrorCode(e: unknown): number {
  return e instanceof GpuError ? WIT_CODE[e.code] : GPU_BAD_ARGUMENT;
}

export class GpuCalls {
  readonly #gpu: HostGpu;
  readonly #store: ObjectStore;

  /** The first call opens a device that opens on first use. */
  constructor(gpu: HostGpu, store: ObjectStore) {
    this.#gpu = gpu;
    this.#store = store;
  }

  /**
   * Answers one call. Never rejects: every failure becomes the guest's
   * error. An upload's arena block is freed here, whatever happened.
   */
  async answer(session: GpuSession, call: GpuCall, caller: GpuCaller): Promise<GpuAnswer> {
    try {
      const d = this.#gpu.device ?? (await this.#gpu.open());
      if (typeof d === "string") return fail(GPU_UNAVAILABLE, `this host has no GPU device: ${d}`);
      return await this.#answer(d, session, call, caller);
    } catch (e) {
      return fail(gpuErrorCode(e), e instanceof Error ? e.message : String(e));
    } finally {
      if (call.piece && !(call.piece instanceof Uint8Array)) this.#store.arena.free(call.piece);
    }
  }

  async #answer(d: GpuDevice, session: GpuSession, call: GpuCall, caller: GpuCaller): Promise<GpuAnswer> {
    switch (call.op) {
      case GPU_ADAPTER:
        return ok(0, encoder.encode(d.adapter));
      case GPU_CREATE:
        return ok(session.addBuffer(await d.createBuffer(size("size", call.n1, d))));
      case GPU_FROM_BYTES:
        return ok(session.addBuffer(await d.bufferFrom(this.#bytes(call.piece!))));
      case GPU_WRITE:
        await d.write(session.buffer(call.a), size("offset", call.n1, d), this.#bytes(call.piece!));
        return ok(0);
      case GPU_FROM_OBJECT:
        return this.#fromObject(d, session, readPayload(GPU_OBJECT_ID, call.payload), caller);
      case GPU_COMPILE: {
        const src = readPayload(GPU_SOURCE, call.payload);
        return ok(session.addKernel(await d.compile(decoder.decode(src.wgsl), decoder.decode(src.entryPoint))));
      }
      case GPU_DISPATCH: {
        const grid = readPayload(GPU_GRID, call.payload);
        const kernel = session.kernel(call.a);
        if (grid.bindings.length !== call.b) return fail(GPU_BAD_ARGUMENT, `the call names ${call.b} buffers and carries ${grid.bindings.length}`);
        const bindings = grid.bindings.map((h) => session.buffer(h));
        await d.dispatch(kernel, bindings, grid.x, grid.y, grid.z);
        return ok(0);
      }
      case GPU_READ:
        return this.#read(d, session, call, caller);
      case GPU_READ_OBJECT:
        return this.#readObject(d, session, call, caller);
      default:
        return fail(GPU_BAD_ARGUMENT, `unknown GPU call ${call.op}`);
    }
  }

  #bytes(p: Piece): Uint8Array {
    return p instanceof Uint8Array ? p : this.#store.arena.view(p);
  }

  async #fromObject(d: GpuDevice, session: GpuSession, id: Uint8Array, caller: GpuCaller): Promise<GpuAnswer> {
    if (id.length !== OBJECT_ID_BYTES) return fail(GPU_BAD_ARGUMENT, "not an object ID");
    const key = bytesToKey(id, 0, OBJECT_ID_BYTES);
    const store = this.#store;
    let e = store.entry(key);
    if (!e && caller.want(key)) e = store.entry(key);
    if (!e) return fail(GPU_BAD_ARGUMENT, "no such object on this node (pass the ref to the task as an argument, or get it first)");
    // held while we wait and copy: a task that ends meanwhile must not free it under us
    store.addRef(e);
    try {
      if (e.state === PENDING) await new Promise<void>((resolve) => store.whenSealed(e!, resolve) || resolve());
      if (!e.live || e.state === FAILED) return fail(GPU_BAD_ARGUMENT, `the object failed: ${e.error?.message ?? "it is gone"}`);
      const bytes = store.bytes(e);
      const payload = bytes && binaryPayload(bytes);
      if (!payload) return fail(GPU_BAD_ARGUMENT, "the object is not a byte string or a typed array");
      // bufferFrom copies before it first waits, so the bytes need no pin
      return ok(session.addBuffer(await d.bufferFrom(payload.bytes)));
    } finally {
      store.release(e);
    }
  }

  /** The buffer and byte range a read names (checked before the store is asked for room). */
  #readRange(d: GpuDevice, session: GpuSession, call: GpuCall): { buffer: GPUBuffer; offset: number; length: number } {
    const buffer = session.buffer(call.a);
    const offset = size("offset", call.n1, d);
    const length = call.n2 === GPU_TO_END ? Math.max(0, buffer.size - offset) : size("length", call.n2, d);
    if (offset + length > buffer.size) throw new RangeError(`a read of ${length} bytes at ${offset} runs past the buffer's ${buffer.size} bytes`);
    return { buffer, offset, length };
  }

  async #read(d: GpuDevice, session: GpuSession, call: GpuCall, caller: GpuCaller): Promise<GpuAnswer> {
    const { buffer, offset, length } = this.#readRange(d, session, call);
    if (length <= REPLY_INLINE_MAX) return ok(0, await d.read(buffer, offset, length, (v) => v.slice()));
    const ref = this.#store.alloc(length);
    try {
      await d.read(buffer, offset, length, (v) => copyInto(this.#store.arena.view(ref), v));
    } catch (e) {
      this.#store.arena.free(ref);
      throw e;
    }
    if (!caller.alive()) {
      this.#store.arena.free(ref);
      return fail(GPU_UNAVAILABLE, "the task ended");
    }
    caller.keepBlock(ref);
    return ok(0, ref);
  }

  async #readObject(d: GpuDevice, session: GpuSession, call: GpuCall, caller: GpuCaller): Promise<GpuAnswer> {
    const { buffer, offset, length } = this.#readRange(d, session, call);
    const kind = call.b;
    const Ctor = kind === 0 ? Uint8Array : TYPED_ARRAY_KINDS[kind];
    if (!Ctor) return fail(GPU_BAD_ARGUMENT, `unknown element type ${kind}`);
    if (length % Ctor.BYTES_PER_ELEMENT !== 0) return fail(GPU_BAD_ARGUMENT, `${length} bytes is not a whole number of ${Ctor.name} elements`);
    const index = readPayload(GPU_PUT_INDEX, call.payload);
    const head = binaryHeader(length, kind);
    const total = head.length + length;
    const store = this.#store;
    // the one copy: from the device's mapping into the object's own memory
    let inline: Uint8Array | undefined;
    let ref: ArenaRef | undefined;
    let dest: Uint8Array;
    if (total <= INLINE_MAX) dest = inline = new Uint8Array(total);
    else dest = store.arena.view((ref = store.alloc(total)));
    dest.set(head);
    try {
      await d.read(buffer, offset, length, (v) => dest.set(v, head.length));
    } catch (e) {
      if (ref) store.arena.free(ref);
      throw e;
    }
    if (!caller.alive()) {
      if (ref) store.arena.free(ref);
      return fail(GPU_UNAVAILABLE, "the task ended");
    }
    const id = objectKey(caller.taskId, index);
    store.expect(id, 1);
    caller.own(id);
    if (inline) store.sealInline(id, inline);
    else store.sealArena(id, ref!);
    return ok(0, keyToBytes(id));
  }
}

/** A byte count from a guest: whole, >= 0, within what the device could ever hold. */
function size(name: string, n: number, d: GpuDevice): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number of bytes >= 0 (and below 2^53)`);
  if (n > d.limits.maxBufferSize) throw new RangeError(`${name} ${n} is past the device's largest buffer (${d.limits.maxBufferSize} bytes)`);
  return n;
}
