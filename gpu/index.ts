/**
 * The host's GPU: one WebGPU device per host (Dawn, npm `webgpu`), the
 * per-owner handle tables guests and drivers use, and typed errors.
 */
export { GpuDevice, GPU_BACKENDS } from "./device.js";
export type { GpuBackend, GpuKernel, GpuOpenOptions } from "./device.js";
export { GpuSession } from "./session.js";
export { HostGpu } from "./host-gpu.js";
export { GpuError, GpuUnavailableError, GpuCompileError, GpuValidationError, GpuOutOfMemoryError, GpuDeviceLostError } from "./errors.js";
export type { GpuErrorCode, WgslMessage } from "./errors.js";
