/// <reference path="./host.d.ts" />
/**
 * The GPU from inside a guest: buffers on the host's device, WGSL compute
 * kernels, dispatches and read-backs (the WIT `gpu` interface). Calls
 * block until the device has done what they ask; failures throw GpuError.
 *
 * @example
 * import { gpu } from "wray/guest";
 * export function double(xs: Float32Array): Float32Array {
 *   const a = gpu.buffer(xs);
 *   gpu.kernel(`
 *     @group(0) @binding(0) var<storage, read_write> a: array<f32>;
 *     @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3u) {
 *       if (i.x < arrayLength(&a)) { a[i.x] = 2.0 * a[i.x]; }
 *     }`).dispatch([a], Math.ceil(xs.length / 64));
 *   return a.read(Float32Array);
 * }
 */
import host from "wray:runtime/gpu@0.1.0";
import type { ElementName } from "wray:runtime/gpu@0.1.0";
import { ObjectRef } from "./msgpack.js";

/** A GPU call failed: `code` is one of WRAY_GPU_UNAVAILABLE, _COMPILE, _VALIDATION, _OUT_OF_MEMORY, _DEVICE_LOST, _BAD_ARGUMENT. */
export class GpuError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "GpuError";
    this.code = code;
  }
}

type TypedArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
type TypedArrayCtor<T extends TypedArray = TypedArray> = { new (length: number): T; new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };

// the WIT `element` cases, by constructor
const ELEMENTS = new Map<unknown, ElementName>([
  [Uint8Array, "bytes"],
  [Int8Array, "int8"],
  [Uint8ClampedArray, "uint8-clamped"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
]);

/** Calls the host; a `gpu-error` (thrown by the bindings with it as `payload`) becomes a GpuError. */
function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    const p = (e as { payload?: { code?: string; message?: string } }).payload;
    if (p && typeof p.code === "string") throw new GpuError(`WRAY_GPU_${p.code.toUpperCase().replace(/-/g, "_")}`, String(p.message ?? ""));
    throw e;
  }
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A buffer on the host's GPU, held by this task (freed when it ends) or actor (freed when it dies). */
export class GpuBuffer {
  /** The handle the host knows it by. */
  readonly handle: number;
  constructor(handle: number) {
    this.handle = handle;
  }

  /** Writes `data` at byte `offset` (both multiples of 4 bytes). */
  write(data: ArrayBufferView, offset = 0): void {
    call(() => host.writeBuffer(this.handle, offset, bytesOf(data)));
  }

  /** Reads `length` bytes from `offset` (default: to the end) back as `type` (default Uint8Array). */
  read(): Uint8Array;
  read<T extends TypedArray>(type: TypedArrayCtor<T>, offset?: number, length?: number): T;
  read(type: TypedArrayCtor = Uint8Array, offset = 0, length?: number): TypedArray {
    if (!ELEMENTS.has(type)) throw new TypeError("read() takes a typed array constructor");
    const bytes = call(() => host.readBuffer(this.handle, offset, length));
    if (type === Uint8Array) return bytes;
    if (bytes.length % type.BYTES_PER_ELEMENT !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of ${(type as unknown as { name: string }).name} elements`);
    // a fresh, aligned copy: the bytes may sit at any offset of guest memory
    const out = new type(bytes.length / type.BYTES_PER_ELEMENT);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }

  /** As `read`, into a new object of the object store, without passing through the guest. */
  readObject<T extends TypedArray = Uint8Array>(type?: TypedArrayCtor<T>, offset = 0, length?: number): ObjectRef<T> {
    const element = ELEMENTS.get(type ?? Uint8Array);
    if (!element) throw new TypeError("readObject() takes a typed array constructor");
    return new ObjectRef<T>(call(() => host.readObject(this.handle, offset, length, element)));
  }

  /** Frees the buffer now. */
  destroy(): void {
    host.destroyBuffer(this.handle);
  }
}

/** A compiled WGSL compute kernel. */
export class GpuKernel {
  readonly handle: number;
  constructor(handle: number) {
    this.handle = handle;
  }

  /** Runs over `x` × `y` × `z` workgroups with `bindings[i]` at `@group(0) @binding(i)`. */
  dispatch(bindings: readonly GpuBuffer[], x: number, y = 1, z = 1): void {
    // a plain array: the bindings lower list<u32> from arrays, not typed arrays
    const handles = new Array<number>(bindings.length);
    for (let i = 0; i < bindings.length; i++) handles[i] = bindings[i]!.handle;
    call(() => host.dispatch(this.handle, handles, x >>> 0, y >>> 0, z >>> 0));
  }
}

/** The host's GPU. */
export const gpu = {
  /** The adapter's name; throws GpuError (WRAY_GPU_UNAVAILABLE) on a host without a GPU. */
  adapter(): string {
    return call(() => host.adapter());
  },

  /** True when this host has a GPU device. */
  available(): boolean {
    try {
      host.adapter();
      return true;
    } catch {
      return false;
    }
  },

  /** A buffer: zero-filled of `size` bytes, a copy of a typed array, or of an object's bytes (a byte string or typed array). */
  buffer(source: number | ArrayBufferView | ObjectRef): GpuBuffer {
    if (typeof source === "number") return new GpuBuffer(call(() => host.createBuffer(source)));
    if (source instanceof ObjectRef) return new GpuBuffer(call(() => host.bufferFromObject(source.id)));
    if (ArrayBuffer.isView(source)) return new GpuBuffer(call(() => host.bufferFromBytes(bytesOf(source))));
    throw new TypeError("gpu.buffer() takes a size in bytes, a typed array or an ObjectRef");
  },

  /** Compiles a WGSL compute shader's `entryPoint` (the host caches pipelines by source). */
  kernel(wgsl: string, entryPoint = "main"): GpuKernel {
    return new GpuKernel(call(() => host.compile(wgsl, entryPoint)));
  },
};
