/**
 * The isolate runtime: worker threads that run guest components
 * (worker.ts), the pool the host thread drives them with (pool.ts), the
 * shared-memory channel between them (channel.ts) and the records that
 * travel over it (protocol.ts), one guest instance with our fixed-signature
 * calls (guest.ts), the host functions guests import (imports/), and the
 * spin-then-sleep waits (spin.ts).
 *
 * Imports: common/, store/ (the arena, types), scheduler/ (TaskSpec, a
 * type). Never imports node/, cluster/, head/, driver/ or cli/. The
 * thread side (worker.ts) imports nothing of the pool; both sides share
 * protocol.ts and channel.ts.
 */
export { IsolatePool } from "./pool.js";
export type { PoolEvents, GuestEvents, PoolOptions, GpuCall, ComponentImage } from "./pool.js";
export { GuestInstance, loadComponent, GUEST_EXPORT } from "./guest.js";
export { GPU_BAD_ARGUMENT, GPU_ERROR_CODES, GPU_TO_END, GPU_UNAVAILABLE } from "./imports/gpu.js";
export type { TrapKind } from "./guest.js";
export type { RuntimeHost, GuestBytes } from "./imports/runtime.js";
export * from "./protocol.js";
export { GPU_GRID, GPU_OBJECT_ID, GPU_PUT_INDEX, GPU_SOURCE, readPayload } from "./records.js";
