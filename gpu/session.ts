/// <reference types="@webgpu/types" />
import type { GpuKernel } from "./device.js";

/**
 * The GPU buffers and kernels one owner holds — a task, an actor, or a
 * driver — named by small integer handles, as guests see them across the
 * WIT boundary. Closing the session destroys its buffers, so a task that
 * forgets to free them leaks nothing past its end.
 */
export class GpuSession {
  readonly #buffers = new Map<number, GPUBuffer>();
  readonly #kernels = new Map<number, GpuKernel>();
  #next = 1;
  #bytes = 0;

  /** Bytes of device memory the session's live buffers hold. */
  get bytes(): number {
    return this.#bytes;
  }

  addBuffer(b: GPUBuffer): number {
    const h = this.#next++;
    this.#buffers.set(h, b);
    this.#bytes += b.size;
    return h;
  }

  addKernel(k: GpuKernel): number {
    const h = this.#next++;
    this.#kernels.set(h, k);
    return h;
  }

  /** The buffer `h` names; RangeError when the session holds none by that handle. */
  buffer(h: number): GPUBuffer {
    const b = this.#buffers.get(h);
    if (!b) throw new RangeError(`no GPU buffer ${h} is held by this ${this.#kernels.has(h) ? "caller (that handle is a kernel)" : "caller"}`);
    return b;
  }

  kernel(h: number): GpuKernel {
    const k = this.#kernels.get(h);
    if (!k) throw new RangeError(`no GPU kernel ${h} is held by this ${this.#buffers.has(h) ? "caller (that handle is a buffer)" : "caller"}`);
    return k;
  }

  /** Destroys buffer `h` (false: no such buffer). */
  destroyBuffer(h: number): boolean {
    const b = this.#buffers.get(h);
    if (!b) return false;
    this.#buffers.delete(h);
    this.#bytes -= b.size;
    b.destroy();
    return true;
  }

  close(): void {
    for (const b of this.#buffers.values()) b.destroy();
    this.#buffers.clear();
    this.#kernels.clear();
    this.#bytes = 0;
  }
}
