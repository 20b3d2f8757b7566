/**
 * The `wray:runtime/gpu` interface, implemented at the core-wasm level as
 * runtime.ts does for `host`: each function takes the flattened
 * canonical-ABI parameters and lowers its `result<T, gpu-error>` through
 * the return pointer itself.
 *
 * Signatures (wit/runtime.wit; u64 travels as i64, enums as i32):
 *   adapter(ret)
 *   create-buffer(size i64, ret)
 *   buffer-from-bytes(ptr, len, ret)
 *   buffer-from-object(id_ptr, id_len, ret)
 *   write-buffer(buffer, offset i64, ptr, len, ret)
 *   compile(src_ptr, src_len, entry_ptr, entry_len, ret)
 *   dispatch(kernel, bind_ptr, bind_len, x, y, z, ret)
 *   read-buffer(buffer, offset i64, has_length i32, length i64, ret)
 *   read-object(buffer, offset i64, has_length i32, length i64, element, ret)
 *   destroy-buffer(buffer)
 *
 * A result at `ret`: u8 discriminant (0 ok, 1 err) at 0, payload at 4 —
 * ok: a u32, or a (ptr, len) pair; err: the u8 error code at 4 and the
 * message's (ptr, len) at 8.
 */
import type { GuestBytes, GuestMemory } from "./runtime.js";

export const GPU_IMPORT = "wray:runtime/gpu@0.1.0";

/** `error-code` cases of the WIT, in order. */
export const GPU_ERROR_CODES = ["unavailable", "compile", "validation", "out-of-memory", "device-lost", "bad-argument"] as const;
export const GPU_UNAVAILABLE = 0;
export const GPU_BAD_ARGUMENT = 5;

/** The outcome of a GPU call: `code` < 0 is success. */
export interface GpuOutcome<T> {
  code: number;
  /** The value on success; the message on failure. */
  value: T | string;
}

/** What the isolate does for each call; memory views passed in are valid only during the call. */
export interface GpuHost {
  /** The adapter's name, UTF-8. */
  gpuAdapter(): GpuOutcome<Uint8Array>;
  gpuCreateBuffer(size: number): GpuOutcome<number>;
  gpuBufferFromBytes(bytes: Uint8Array): GpuOutcome<number>;
  gpuBufferFromObject(id: Uint8Array): GpuOutcome<number>;
  gpuWriteBuffer(buffer: number, offset: number, bytes: Uint8Array): GpuOutcome<undefined>;
  gpuCompile(wgsl: Uint8Array, entryPoint: Uint8Array): GpuOutcome<number>;
  gpuDispatch(kernel: number, bindings: Uint32Array, x: number, y: number, z: number): GpuOutcome<undefined>;
  gpuReadBuffer(buffer: number, offset: number, length: number): GpuOutcome<GuestBytes>;
  /** Returns the new object's 20-byte ID. */
  gpuReadObject(buffer: number, offset: number, length: number, element: number): GpuOutcome<Uint8Array>;
  gpuDestroyBuffer(buffer: number): void;
}

/** For instances with no GPU to reach (describe, tools): every call fails as `unavailable`. */
export const NO_GPU: GpuHost = {
  gpuAdapter: () => none,
  gpuCreateBuffer: () => none,
  gpuBufferFromBytes: () => none,
  gpuBufferFromObject: () => none,
  gpuWriteBuffer: () => none,
  gpuCompile: () => none,
  gpuDispatch: () => none,
  gpuReadBuffer: () => none,
  gpuReadObject: () => none,
  gpuDestroyBuffer: () => {},
};
const none: GpuOutcome<never> = { code: GPU_UNAVAILABLE, value: "no GPU can be reached from here" };

const encoder = new TextEncoder();
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A read's length when the guest gave none: to the end of the buffer. */
export const GPU_TO_END = -1;

/** A u64 from the guest as a number; values past 2^53 (no buffer is that large) become -2, which the host refuses. */
function u64(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  return u > MAX_SAFE ? -2 : Number(u);
}

function dv(m: GuestMemory): DataView {
  return new DataView(m.memory.buffer);
}

function lowerError(m: GuestMemory, ret: number, code: number, message: string): void {
  const b = encoder.encode(message);
  const p = m.realloc(0, 0, 1, b.length);
  new Uint8Array(m.memory.buffer).set(b, p);
  const d = dv(m);
  d.setUint8(ret, 1);
  d.setUint8(ret + 4, code);
  d.setUint32(ret + 8, p, true);
  d.setUint32(ret + 12, b.length, true);
}

/** Lowers `o` at `ret`; `ok` writes the success payload. */
function lower<T>(m: GuestMemory, ret: number, o: GpuOutcome<T>, ok: (d: DataView, value: T) => void): void {
  if (o.code >= 0) return lowerError(m, ret, o.code, o.value as string);
  const d = dv(m);
  d.setUint8(ret, 0);
  ok(d, o.value as T);
}

function lowerU32(m: GuestMemory, ret: number, o: GpuOutcome<number>): void {
  lower(m, ret, o, (d, v) => d.setUint32(ret + 4, v, true));
}

/** Lowers a `list<u8>` result: bytes, or GuestBytes that write themselves into guest memory. */
function lowerList(m: GuestMemory, ret: number, o: GpuOutcome<Uint8Array | GuestBytes>): void {
  lower(m, ret, o, (_d, v) => {
    const p = m.realloc(0, 0, 1, v.length);
    const mem = new Uint8Array(m.memory.buffer);
    if (v instanceof Uint8Array) mem.set(v, p);
    else v.fill(mem, p);
    // a fresh view: realloc may have grown (and so replaced) the memory's buffer
    const d = dv(m);
    d.setUint32(ret + 4, p, true);
    d.setUint32(ret + 8, v.length, true);
  });
}

/** Builds the `wray:runtime/gpu` import object for one guest instance (see registerRuntime). */
export function registerGpu(host: GpuHost, mem: () => GuestMemory): Record<string, (...args: never[]) => unknown> {
  const u8 = (m: GuestMemory) => new Uint8Array(m.memory.buffer);
  return {
    adapter(ret: number): void {
      lowerList(mem(), ret, host.gpuAdapter());
    },
    "create-buffer"(size: bigint, ret: number): void {
      lowerU32(mem(), ret, host.gpuCreateBuffer(u64(size)));
    },
    "buffer-from-bytes"(p: number, l: number, ret: number): void {
      const m = mem();
      lowerU32(m, ret, host.gpuBufferFromBytes(u8(m).subarray(p, p + l)));
    },
    "buffer-from-object"(p: number, l: number, ret: number): void {
      const m = mem();
      lowerU32(m, ret, host.gpuBufferFromObject(u8(m).slice(p, p + l)));
    },
    "write-buffer"(buffer: number, offset: bigint, p: number, l: number, ret: number): void {
      const m = mem();
      lower(m, ret, host.gpuWriteBuffer(buffer >>> 0, u64(offset), u8(m).subarray(p, p + l)), () => {});
    },
    compile(sp: number, sl: number, ep: number, el: number, ret: number): void {
      const m = mem();
      const b = u8(m);
      lowerU32(m, ret, host.gpuCompile(b.subarray(sp, sp + sl), b.subarray(ep, ep + el)));
    },
    dispatch(kernel: number, bp: number, bl: number, x: number, y: number, z: number, ret: number): void {
      const m = mem();
      // copy: the host reads the handles after the guest could have moved on
      const bindings = new Uint32Array(bl);
      const d = dv(m);
      for (let i = 0; i < bl; i++) bindings[i] = d.getUint32(bp + i * 4, true);
      lower(m, ret, host.gpuDispatch(kernel >>> 0, bindings, x >>> 0, y >>> 0, z >>> 0), () => {});
    },
    "read-buffer"(buffer: number, offset: bigint, hasLength: number, length: bigint, ret: number): void {
      lowerList(mem(), ret, host.gpuReadBuffer(buffer >>> 0, u64(offset), hasLength ? u64(length) : GPU_TO_END));
    },
    "read-object"(buffer: number, offset: bigint, hasLength: number, length: bigint, element: number, ret: number): void {
      lowerList(mem(), ret, host.gpuReadObject(buffer >>> 0, u64(offset), hasLength ? u64(length) : GPU_TO_END, element >>> 0));
    },
    "destroy-buffer"(buffer: number): void {
      host.gpuDestroyBuffer(buffer >>> 0);
    },
  };
}
