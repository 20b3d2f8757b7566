/// <reference types="@webgpu/types" />
/**
 * Host-side GPU kernels from a driver (`ray.gpu`): the same buffers,
 * WGSL kernels, dispatches and read-backs that guests reach through the
 * WIT `gpu` interface, on the driver's own node's device.
 */
import type { TypedArrayCtor } from "../../common/codec.js";
import { ObjectRef } from "../../common/object-ref.js";
import { binaryPayload } from "../../common/msgpack-walk.js";
import type { GpuBackend, GpuKernel } from "../../gpu/index.js";
import { GpuDevice, GpuSession, GpuUnavailableError, HostGpu } from "../../gpu/index.js";
import { READY } from "../../store/index.js";
import type { ObjectStore } from "../../store/index.js";

/** Typed arrays a read can produce. */
export type TypedArrayConstructor = Uint8ArrayConstructor | TypedArrayCtor;

/** What a driver needs of itself for `ray.gpu`. */
export interface GpuDriverLink {
  readonly store: ObjectStore;
  /** Makes an object of `value` (an ObjectRef, as `ray.put`). */
  put(value: unknown): ObjectRef;
  /** The value of a ref (as `ray.get`). */
  get(ref: ObjectRef): Promise<unknown>;
}

/**
 * The host's GPU for `init()` and `wray start`, and the number of GPUs to
 * advertise. Asked for (`numGpus` > 0 or a `gpuBackend`), the device opens
 * now, and a host that cannot open it says so and offers none. Otherwise
 * nothing of the GPU stack loads: a silent check says whether an adapter
 * can exist, the device opens on first use, and 1 GPU is advertised (when
 * `advertise`) if the check passed.
 */
export async function openHostGpu(options: { numGpus?: number | undefined; gpuBackend?: GpuBackend | undefined; advertise: boolean; log: (line: string) => void }): Promise<{ gpu: HostGpu; numGpus: number }> {
  const { numGpus, gpuBackend } = options;
  if (numGpus !== undefined && (typeof numGpus !== "number" || !Number.isFinite(numGpus) || numGpus < 0)) {
    throw new RangeError(`numGpus must be a finite number >= 0, got ${String(numGpus)}`);
  }
  if (numGpus === 0) return { gpu: HostGpu.none("it was started with numGpus 0"), numGpus: 0 };
  if (numGpus === undefined && gpuBackend === undefined) {
    const missing = HostGpu.missing();
    if (missing !== undefined) return { gpu: HostGpu.none(missing), numGpus: 0 };
    return { gpu: HostGpu.lazy(() => GpuDevice.open()), numGpus: options.advertise ? 1 : 0 };
  }
  const gpu = await GpuDevice.open({ backend: gpuBackend });
  if (typeof gpu === "string") {
    if (numGpus !== undefined) options.log(`(wray) numGpus ${numGpus} was asked for, but ${gpu}: this host offers no GPUs`);
    return { gpu: HostGpu.none(gpu), numGpus: 0 };
  }
  return { gpu: HostGpu.opened(gpu), numGpus: numGpus ?? (options.advertise ? 1 : 0) };
}

/**
 * The driver's GPU. Buffers and kernels live until destroyed or until
 * the driver shuts down.
 *
 * @example
 * const gpu = ray.gpu;
 * const a = await gpu.buffer(new Float32Array([1, 2, 3, 4]));
 * const double = await gpu.kernel(`
 *   @group(0) @binding(0) var<storage, read_write> a: array<f32>;
 *   @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3u) {
 *     if (i.x < arrayLength(&a)) { a[i.x] = 2.0 * a[i.x]; }
 *   }`);
 * await double.dispatch([a], 1);
 * console.log(await a.read(Float32Array)); // Float32Array [2, 4, 6, 8]
 */
export class Gpu {
  readonly #host: HostGpu;
  readonly #link: GpuDriverLink;
  readonly #session = new GpuSession();

  /** @internal */
  constructor(host: HostGpu, link: GpuDriverLink) {
    this.#host = host;
    this.#link = link;
  }

  /**
   * True when this host has a GPU device, or one that opens on first use
   * (a program that asks for no GPU loads none until it uses one). `await
   * open()` for the answer after opening.
   */
  get available(): boolean {
    return this.#host.present;
  }

  /** Opens the device now if it is not open (a no-op otherwise); throws GpuUnavailableError if there is none. */
  async open(): Promise<this> {
    await this.#dev();
    return this;
  }

  /** The adapter's name, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". Known once the device is open (see `open`). */
  get adapter(): string {
    const d = this.#host.device;
    if (d) return d.adapter;
    throw new GpuUnavailableError(this.#host.present ? "the device has not been opened yet (await ray.gpu.open())" : this.#host.why);
  }

  async #dev(): Promise<GpuDevice> {
    const d = await this.#host.open();
    if (typeof d === "string") throw new GpuUnavailableError(d);
    return d;
  }

  /**
   * A device buffer: zero-filled of `size` bytes, or holding a copy of a
   * typed array, or of an object's bytes (a byte string or typed array).
   */
  async buffer(source: number | ArrayBufferView | ObjectRef): Promise<GpuBuffer> {
    const d = await this.#dev();
    let b: GPUBuffer;
    if (typeof source === "number") b = await d.createBuffer(source);
    else if (source instanceof ObjectRef) b = await d.bufferFrom(await this.#objectBytes(source));
    else if (ArrayBuffer.isView(source)) b = await d.bufferFrom(new Uint8Array(source.buffer, source.byteOffset, source.byteLength));
    else throw new TypeError("buffer() takes a size in bytes, a typed array or an ObjectRef");
    return new GpuBuffer(this, this.#session.addBuffer(b), b.size);
  }

  async #objectBytes(ref: ObjectRef): Promise<Uint8Array> {
    // a local object is read in place; any other is fetched as `get` would
    const e = this.#link.store.entry(ref.key);
    const bytes = e?.state === READY ? this.#link.store.bytes(e) : undefined;
    const p = bytes && binaryPayload(bytes);
    if (p) return p.bytes;
    const v = await this.#link.get(ref);
    if (!ArrayBuffer.isView(v)) throw new TypeError("buffer(ref): the object is not a byte string or a typed array");
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  /** Compiles a WGSL compute shader (cached by source and entry point). */
  async kernel(wgsl: string, entryPoint = "main"): Promise<Kernel> {
    const k = await (await this.#dev()).compile(wgsl, entryPoint);
    return new Kernel(this, k);
  }

  /** @internal */
  _buffer(handle: number): GPUBuffer {
    return this.#session.buffer(handle);
  }

  /** @internal */
  _device(): GpuDevice {
    // a buffer or kernel exists: the device is open
    const d = this.#host.device;
    if (!d) throw new GpuUnavailableError(this.#host.why || "the device is closed");
    return d;
  }

  /** @internal */
  _destroy(handle: number): void {
    this.#session.destroyBuffer(handle);
  }

  /** @internal */
  _put(value: unknown): ObjectRef {
    return this.#link.put(value);
  }

  /** @internal */
  _close(): void {
    this.#session.close();
  }
}

/** A buffer on the driver's GPU. */
export class GpuBuffer {
  readonly #gpu: Gpu;
  readonly #handle: number;
  /** Its size in bytes (a multiple of 4). */
  readonly size: number;

  /** @internal */
  constructor(gpu: Gpu, handle: number, size: number) {
    this.#gpu = gpu;
    this.#handle = handle;
    this.size = size;
  }

  /** @internal */
  get _buffer(): GPUBuffer {
    return this.#gpu._buffer(this.#handle);
  }

  /** Writes `data` at byte `offset` (both multiples of 4 bytes). */
  async write(data: ArrayBufferView, offset = 0): Promise<void> {
    await this.#gpu._device().write(this._buffer, offset, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Reads the buffer (or `length` bytes from `offset`) back as a typed array of `type` (default Uint8Array). */
  async read<C extends TypedArrayConstructor = Uint8ArrayConstructor>(type?: C, offset = 0, length?: number): Promise<InstanceType<C>> {
    const Ctor = (type ?? Uint8Array) as TypedArrayConstructor;
    const n = length ?? this.size - offset;
    if (n % Ctor.BYTES_PER_ELEMENT !== 0) throw new RangeError(`${n} bytes is not a whole number of ${Ctor.name} elements`);
    const out = new Ctor(n / Ctor.BYTES_PER_ELEMENT);
    await this.#gpu._device().read(this._buffer, offset, n, (v) => new Uint8Array(out.buffer).set(v));
    return out as InstanceType<C>;
  }

  /** As `read`, into a new object of the object store. */
  async readObject<C extends TypedArrayConstructor = Uint8ArrayConstructor>(type?: C, offset = 0, length?: number): Promise<ObjectRef<InstanceType<C>>> {
    return this.#gpu._put(await this.read(type, offset, length)) as ObjectRef<InstanceType<C>>;
  }

  /** Frees the buffer now. */
  destroy(): void {
    this.#gpu._destroy(this.#handle);
  }
}

/** A compiled WGSL compute kernel. */
export class Kernel {
  readonly #gpu: Gpu;
  readonly #kernel: GpuKernel;

  /** @internal */
  constructor(gpu: Gpu, kernel: GpuKernel) {
    this.#gpu = gpu;
    this.#kernel = kernel;
  }

  /** The SHA-256 of its source and entry point (its cache key). */
  get hash(): string {
    return this.#kernel.hash;
  }

  /** Runs over `x` × `y` × `z` workgroups with `bindings[i]` at `@group(0) @binding(i)`. */
  async dispatch(bindings: readonly GpuBuffer[], x: number, y = 1, z = 1): Promise<void> {
    await this.#gpu._device().dispatch(this.#kernel, bindings.map((b) => b._buffer), x, y, z);
  }
}
