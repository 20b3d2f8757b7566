/// <reference types="@webgpu/types" />
/**
 * The host's GPU: one WebGPU device opened through Dawn (npm `webgpu`), and
 * the four things wray does with it — buffers, WGSL compute kernels,
 * dispatches and read-backs.
 *
 * Assumptions:
 * - Everything runs on the host thread. Dawn's promises resolve there, so
 *   guests reach the device through blocking calls the host answers
 *   (host/node/gpu-route.ts), never from their own isolates.
 * - Dawn must never see a SharedArrayBuffer: `queue.writeBuffer` from a
 *   shared view crashes the process (seen with webgpu 0.6.2). Uploads copy
 *   in JavaScript into a buffer mapped at creation, which is also the one
 *   copy an upload needs; writes into existing buffers go through a
 *   private staging array when their source is shared.
 * - Errors are caught with error scopes pushed and popped in the same turn
 *   as the calls they cover, so concurrent callers never see each other's
 *   errors.
 */
import { createHash } from "node:crypto";
import { copyInto } from "../common/copy.js";
import { GpuCompileError, GpuDeviceLostError, GpuOutOfMemoryError, GpuUnavailableError, GpuValidationError } from "./errors.js";
import type { WgslMessage } from "./errors.js";

/** Backends Dawn can be asked for (`--gpu-backend`); by default it picks the first that works. */
export const GPU_BACKENDS = ["vulkan", "metal", "d3d12", "d3d11", "opengl", "opengles", "null"] as const;
export type GpuBackend = (typeof GPU_BACKENDS)[number];

export interface GpuOpenOptions {
  /** Which Dawn backend to use. Default: Dawn's choice. `null` computes nothing (tests of the plumbing only). */
  backend?: GpuBackend;
  /** Ask for the low-power or the high-performance adapter where there are two. */
  powerPreference?: "low-power" | "high-performance";
}

// WebGPU's flag values (fixed by the spec; Dawn puts them on its own globals object, not on globalThis)
const USAGE_MAP_READ = 0x1;
const USAGE_COPY_SRC = 0x4;
const USAGE_COPY_DST = 0x8;
const USAGE_STORAGE = 0x80;
const MAP_MODE_READ = 0x1;
/** Every device buffer wray makes can be bound as storage and copied both ways. */
const BUFFER_USAGE = USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST;
/** Staging buffers for read-backs are kept for reuse up to this size each. */
const STAGING_KEEP_MAX = 16 << 20;

/** A compiled compute pipeline; shared by every caller that compiles the same source and entry point. */
export interface GpuKernel {
  readonly hash: string;
  readonly entryPoint: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

function ceil4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number of bytes >= 0, got ${n}`);
}

export class GpuDevice {
  /** The adapter, as people read it: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)", "NVIDIA H100 ...". */
  readonly adapter: string;
  /** Limits the device was opened with that callers size their data by (read once: the device's are a native object). */
  readonly limits: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number; readonly maxStorageBuffersPerShaderStage: number };
  readonly #device: GPUDevice;
  /**
   * Dawn's instance and adapter. Held for the device's life: when the
   * instance is collected, Dawn tears down what the device still uses and
   * the process aborts (seen with webgpu 0.6.2).
   */
  readonly #dawn: { gpu: GPU; adapter: GPUAdapter };
  readonly #kernels = new Map<string, Promise<GpuKernel>>();
  /** Free staging buffers by size. */
  readonly #staging = new Map<number, GPUBuffer[]>();
  #lost: string | undefined;
  #closed = false;

  private constructor(gpu: GPU, adapter: GPUAdapter, device: GPUDevice) {
    this.#device = device;
    this.#dawn = { gpu, adapter };
    const info = adapter.info;
    this.adapter = info.description || info.device || info.vendor || "unknown adapter";
    const l = device.limits;
    this.limits = { maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage };
    device.lost.then((i) => {
      this.#lost = i.message || i.reason || "lost";
    });
  }

  /**
   * Opens the first adapter Dawn finds and a device on it, or returns the
   * reason there is none (no `webgpu` build for this platform, no Vulkan
   * driver, an adapter that refuses to open a device).
   */
  static async open(options: GpuOpenOptions = {}): Promise<GpuDevice | string> {
    if (options.backend !== undefined && !GPU_BACKENDS.includes(options.backend)) {
      throw new RangeError(`gpuBackend must be one of ${GPU_BACKENDS.join(", ")}, got ${String(options.backend)}`);
    }
    let create: (flags: string[]) => GPU;
    try {
      ({ create } = (await import("webgpu")) as unknown as { create: (flags: string[]) => GPU });
    } catch (e) {
      return `the webgpu package could not be loaded (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`;
    }
    try {
      const gpu = create(options.backend ? [`backend=${options.backend}`] : []);
      const adapter = await gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
      if (!adapter) return options.backend ? `Dawn found no ${options.backend} adapter` : "Dawn found no adapter (no GPU, and no Vulkan driver such as Mesa's lavapipe)";
      const limits = adapter.limits;
      const device = await adapter.requestDevice({
        // as much as the adapter allows: wray's kernels are the user's, sized for their data
        requiredLimits: {
          maxBufferSize: limits.maxBufferSize,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
          maxComputeWorkgroupSizeZ: limits.maxComputeWorkgroupSizeZ,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        },
      });
      return new GpuDevice(gpu, adapter, device);
    } catch (e) {
      return `the adapter would not open a device (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`;
    }
  }

  /** The adapter's vendor and architecture ("mesa software"), for reports. */
  get vendor(): string {
    const info = this.#dawn.adapter.info;
    return [info.vendor, info.architecture].filter(Boolean).join(" ");
  }


  #check(): void {
    if (this.#closed) throw new GpuUnavailableError("the host is shutting down");
    if (this.#lost !== undefined) throw new GpuDeviceLostError(this.#lost);
  }

  /** Pushes the two scopes `#popScopes` pops. */
  #pushScopes(): void {
    this.#device.pushErrorScope("out-of-memory");
    this.#device.pushErrorScope("validation");
  }

  async #popScopes(): Promise<void> {
    const d = this.#device;
    const [validation, oom] = await Promise.all([d.popErrorScope(), d.popErrorScope()]);
    if (this.#lost !== undefined) throw new GpuDeviceLostError(this.#lost);
    if (oom) throw new GpuOutOfMemoryError(oom.message.trim());
    if (validation) throw new GpuValidationError(validation.message.trim());
  }

  #newBuffer(size: number, mapped: boolean): GPUBuffer {
    // zero-sized buffers can't be bound; a 4-byte one keeps empty inputs legal
    return this.#device.createBuffer({ size: Math.max(4, ceil4(size)), usage: BUFFER_USAGE, mappedAtCreation: mapped });
  }

  /** A zero-filled buffer of at least `size` bytes (rounded up to a multiple of 4). */
  async createBuffer(size: number): Promise<GPUBuffer> {
    checkSize("size", size);
    this.#check();
    this.#pushScopes();
    const b = this.#newBuffer(size, false);
    await this.#settle(b);
    return b;
  }

  /**
   * A buffer holding a copy of `bytes` (any view, shared memory included:
   * the one copy goes from it into the buffer's mapping).
   */
  async bufferFrom(bytes: Uint8Array): Promise<GPUBuffer> {
    this.#check();
    this.#pushScopes();
    const b = this.#newBuffer(bytes.length, true);
    // a buffer that could not be made (out of memory, too big) has no mapping to fill
    try {
      copyInto(new Uint8Array(b.getMappedRange(), 0, bytes.length), bytes);
      b.unmap();
    } catch {
      // the error scope says why
    }
    await this.#settle(b);
    return b;
  }

  async #settle(b: GPUBuffer): Promise<void> {
    try {
      await this.#popScopes();
    } catch (e) {
      b.destroy();
      throw e;
    }
  }

  /** Writes `bytes` into `buffer` at `offset`; both multiples of 4. */
  async write(buffer: GPUBuffer, offset: number, bytes: Uint8Array): Promise<void> {
    checkSize("offset", offset);
    if (offset % 4 !== 0 || bytes.length % 4 !== 0) throw new RangeError(`offset (${offset}) and length (${bytes.length}) of a write must be multiples of 4`);
    if (offset + bytes.length > buffer.size) throw new RangeError(`a write of ${bytes.length} bytes at ${offset} runs past the buffer's ${buffer.size} bytes`);
    this.#check();
    // Dawn must not read shared memory (see the top of the file)
    const src = bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes;
    this.#pushScopes();
    this.#device.queue.writeBuffer(buffer, offset, src);
    await this.#popScopes();
  }

  /**
   * Compiles a WGSL compute shader's `entryPoint` into a pipeline, once per
   * (source, entry point): later calls get the cached one.
   */
  compile(wgsl: string, entryPoint = "main"): Promise<GpuKernel> {
    if (typeof wgsl !== "string") throw new TypeError("wgsl must be a string of WGSL source");
    if (typeof entryPoint !== "string" || entryPoint.length === 0) throw new TypeError("entryPoint must be a non-empty string");
    this.#check();
    const hash = createHash("sha256").update(wgsl).update("\0").update(entryPoint).digest("hex");
    let k = this.#kernels.get(hash);
    if (!k) {
      k = this.#compile(wgsl, entryPoint, hash);
      this.#kernels.set(hash, k);
      // a failure is not cached: the caller may fix the device's state (it may have been lost)
      k.catch(() => this.#kernels.delete(hash));
    }
    return k;
  }

  async #compile(wgsl: string, entryPoint: string, hash: string): Promise<GpuKernel> {
    const d = this.#device;
    this.#pushScopes();
    const module = d.createShaderModule({ code: wgsl });
    const scopes = this.#popScopes().catch((e: unknown) => e);
    const info = await module.getCompilationInfo();
    const messages: WgslMessage[] = info.messages.map((m) => ({ type: m.type, line: m.lineNum, column: m.linePos, message: m.message }));
    const scopeError = await scopes;
    if (messages.some((m) => m.type === "error")) throw new GpuCompileError(messages, wgsl, entryPoint);
    if (scopeError) throw scopeError;
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await d.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint } });
    } catch (e) {
      // a missing entry point, a binding the pipeline cannot lay out
      const message = e instanceof Error ? e.message.trim() : String(e);
      if (this.#lost !== undefined) throw new GpuDeviceLostError(this.#lost);
      throw new GpuCompileError([{ type: "error", line: 0, column: 0, message }], wgsl, entryPoint);
    }
    return { hash, entryPoint, pipeline, layout: pipeline.getBindGroupLayout(0) };
  }

  /**
   * Runs `kernel` over `x` × `y` × `z` workgroups with `bindings[i]` at
   * `@group(0) @binding(i)`. Resolves once the work is queued and
   * validated; reads after it see its results.
   */
  async dispatch(kernel: GpuKernel, bindings: readonly GPUBuffer[], x: number, y = 1, z = 1): Promise<void> {
    for (const [name, n] of [["x", x], ["y", y], ["z", z]] as const) {
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`workgroup count ${name} must be a whole number >= 0, got ${n}`);
    }
    this.#check();
    const d = this.#device;
    this.#pushScopes();
    const group = d.createBindGroup({ layout: kernel.layout, entries: bindings.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    d.queue.submit([enc.finish()]);
    await this.#popScopes();
  }

  /**
   * Copies `length` bytes of `buffer` from `offset` back to the host, after
   * all work queued before, and hands a view of them to `sink`, which must
   * copy what it keeps: the view is valid only during the call.
   */
  async read<T>(buffer: GPUBuffer, offset: number, length: number, sink: (bytes: Uint8Array) => T): Promise<T> {
    checkSize("offset", offset);
    checkSize("length", length);
    if (offset + length > buffer.size) throw new RangeError(`a read of ${length} bytes at ${offset} runs past the buffer's ${buffer.size} bytes`);
    this.#check();
    // copies between buffers move whole 4-byte words
    const start = offset & ~3;
    const size = Math.max(4, ceil4(offset + length) - start);
    const d = this.#device;
    const staging = this.#takeStaging(size);
    this.#pushScopes();
    const enc = d.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, start, staging, 0, size);
    d.queue.submit([enc.finish()]);
    // both at once: each waits for Dawn to process events, which takes a while (~0.1–0.2 ms)
    const [scopes, mapped] = await Promise.allSettled([this.#popScopes(), staging.mapAsync(MAP_MODE_READ, 0, size)]);
    if (scopes.status === "rejected" || mapped.status === "rejected") {
      staging.destroy();
      if (this.#lost !== undefined) throw new GpuDeviceLostError(this.#lost);
      const e: unknown = scopes.status === "rejected" ? scopes.reason : (mapped as PromiseRejectedResult).reason;
      throw e instanceof Error && !(e instanceof GpuValidationError) && !(e instanceof GpuOutOfMemoryError) ? new GpuValidationError(e.message) : e;
    }
    try {
      return sink(new Uint8Array(staging.getMappedRange(0, size), offset - start, length));
    } finally {
      staging.unmap();
      this.#giveStaging(staging);
    }
  }

  #takeStaging(size: number): GPUBuffer {
    const free = this.#staging.get(size);
    return free?.pop() ?? this.#device.createBuffer({ size, usage: USAGE_MAP_READ | USAGE_COPY_DST });
  }

  #giveStaging(b: GPUBuffer): void {
    if (b.size > STAGING_KEEP_MAX || this.#closed) return b.destroy();
    let free = this.#staging.get(b.size);
    if (!free) this.#staging.set(b.size, (free = []));
    if (free.length < 2) free.push(b);
    else b.destroy();
  }

  /** Destroys the device; calls after it fail with WRAY_GPU_UNAVAILABLE. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const free of this.#staging.values()) for (const b of free) b.destroy();
    this.#staging.clear();
    this.#kernels.clear();
    this.#device.destroy();
  }
}
