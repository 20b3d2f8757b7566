/**
 * A host's GPU as a node holds it: opened at start when the program asked
 * for GPUs, otherwise found by a silent check (no Dawn) and opened on
 * first use, so a CPU-only program never loads the GPU stack (which costs
 * 150–300 ms and prints Vulkan warnings on stderr).
 */
import { existsSync, readdirSync } from "node:fs";
import type { GpuBackend, GpuDevice } from "./device.js";

export class HostGpu {
  #device: GpuDevice | undefined;
  #why: string;
  #open: (() => Promise<GpuDevice | string>) | undefined;
  #opening: Promise<GpuDevice | string> | undefined;
  #closed = false;

  private constructor(device: GpuDevice | undefined, why: string, open: (() => Promise<GpuDevice | string>) | undefined) {
    this.#device = device;
    this.#why = why;
    this.#open = open;
  }

  /** A device already open. */
  static opened(device: GpuDevice): HostGpu {
    return new HostGpu(device, "", undefined);
  }

  /** No device, and why (for the errors of whoever asks for one). */
  static none(why: string): HostGpu {
    return new HostGpu(undefined, why, undefined);
  }

  /** A device that `open` opens the first time something needs it. */
  static lazy(open: () => Promise<GpuDevice | string>): HostGpu {
    return new HostGpu(undefined, "", open);
  }

  /** There is a device, or one is expected to open (a lazy one not tried yet). */
  get present(): boolean {
    return this.#device !== undefined || (this.#open !== undefined && !this.#closed);
  }

  /** The device, once it is open. */
  get device(): GpuDevice | undefined {
    return this.#device;
  }

  /** Why there is no device ("" while there is one, or one may still open). */
  get why(): string {
    return this.#why;
  }

  /** The device (opening it the first time), or why there is none. */
  open(): Promise<GpuDevice | string> {
    if (this.#device) return Promise.resolve(this.#device);
    if (this.#closed) return Promise.resolve("the host is shutting down");
    if (!this.#open) return Promise.resolve(this.#why);
    return (this.#opening ??= this.#open().then((d) => {
      this.#open = undefined;
      if (typeof d === "string") this.#why = d;
      else if (this.#closed) d.close();
      else this.#device = d;
      return this.#device ?? this.#why;
    }));
  }

  close(): void {
    this.#closed = true;
    this.#device?.close();
    this.#device = undefined;
    this.#why = "the host is shutting down";
  }

  /**
   * Without loading Dawn: why this machine cannot have a WebGPU adapter for
   * `backend` (Dawn's default when undefined), or undefined when it may.
   * Linux needs the Vulkan loader and at least one installable client
   * driver (a GPU's, or Mesa's lavapipe); macOS has Metal, Windows D3D12.
   */
  static missing(backend?: GpuBackend): string | undefined {
    if (backend === "null") return undefined;
    if (process.platform !== "linux" || (backend !== undefined && backend !== "vulkan")) return undefined;
    const libs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib", "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu"];
    const extra = (process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean);
    if (![...extra, ...libs].some((d) => existsSync(`${d}/libvulkan.so.1`))) return "no Vulkan loader (libvulkan.so.1) is installed";
    if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || process.env.VK_ADD_DRIVER_FILES) return undefined;
    const icdDirs = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d", ...(process.env.XDG_DATA_DIRS ?? "").split(":").filter(Boolean).map((d) => `${d}/vulkan/icd.d`)];
    for (const d of icdDirs) {
      try {
        if (readdirSync(d).some((f) => f.endsWith(".json"))) return undefined;
      } catch {
        // not there
      }
    }
    return "no Vulkan driver is installed (no GPU driver, and no software one such as Mesa's lavapipe)";
  }
}
