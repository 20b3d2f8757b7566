import { WrayError } from "../common/errors.js";

/**
 * Why a GPU operation failed. The codes match the WIT `gpu.error-code`
 * cases, in order after `WRAY_GPU_` (host/isolate/imports/gpu.ts maps them), so a
 * guest sees the same code the driver does.
 */
export type GpuErrorCode = "WRAY_GPU_UNAVAILABLE" | "WRAY_GPU_COMPILE" | "WRAY_GPU_VALIDATION" | "WRAY_GPU_OUT_OF_MEMORY" | "WRAY_GPU_DEVICE_LOST";

/** A GPU operation failed; `message` is Dawn's where Dawn gave one. */
export class GpuError extends WrayError {
  declare readonly code: GpuErrorCode;
  constructor(code: GpuErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** This host has no GPU device: no adapter, `numGpus: 0`, or it was shut down. */
export class GpuUnavailableError extends GpuError {
  constructor(why: string) {
    super("WRAY_GPU_UNAVAILABLE", `no GPU device: ${why}`);
  }
}

/** One message of the WGSL compiler. */
export interface WgslMessage {
  type: "error" | "warning" | "info";
  /** 1-based; 0 when the message is about no line. */
  line: number;
  column: number;
  message: string;
}

/**
 * A WGSL shader did not compile. The message names the first error's line
 * and column and quotes the line; `messages` has every one.
 */
export class GpuCompileError extends GpuError {
  readonly line: number;
  readonly column: number;
  readonly messages: readonly WgslMessage[];
  constructor(messages: readonly WgslMessage[], source: string, entryPoint: string) {
    const first = messages.find((m) => m.type === "error");
    let text: string;
    if (first && first.line > 0) {
      const quoted = source.split("\n")[first.line - 1] ?? "";
      text = `WGSL error at line ${first.line}:${first.column}: ${first.message}\n  ${quoted.trim()}`;
    } else text = `WGSL error: ${first?.message ?? `entry point '${entryPoint}' could not be compiled`}`;
    const more = messages.filter((m) => m.type === "error").length - 1;
    super("WRAY_GPU_COMPILE", more > 0 ? `${text}\n  (and ${more} more error${more > 1 ? "s" : ""})` : text);
    this.line = first?.line ?? 0;
    this.column = first?.column ?? 0;
    this.messages = messages;
  }
}

/** WebGPU validation failed: bindings that do not match the kernel, sizes past the device's limits. */
export class GpuValidationError extends GpuError {
  constructor(message: string) {
    super("WRAY_GPU_VALIDATION", message);
  }
}

/** The device could not allocate the memory asked for. */
export class GpuOutOfMemoryError extends GpuError {
  constructor(message: string) {
    super("WRAY_GPU_OUT_OF_MEMORY", message);
  }
}

/** The device was lost (driver reset, device destroyed at shutdown); it takes no more work. */
export class GpuDeviceLostError extends GpuError {
  constructor(message: string) {
    super("WRAY_GPU_DEVICE_LOST", `the GPU device was lost: ${message}`);
  }
}
