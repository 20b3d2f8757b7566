/**
 * wray: Ray's tasks and object store over WebAssembly-sandboxed guests.
 *
 * @example
 * import { init } from "wray";
 * const ray = await init();
 * const mod = await ray.load("examples/quickstart/tasks.wasm");
 * const add = mod.fn<[number, number], number>("add");
 * console.log(await ray.get(add.remote(1, 2))); // 3
 * await ray.shutdown();
 */
export {
  init,
  Driver,
  ComponentModule,
  RemoteFunction,
  ActorClass,
  ActorMethod,
  ActorHandle,
  ObjectRef,
  WrayError,
  TaskError,
  GuestTrapError,
  IsolateDiedError,
  TaskTimeoutError,
  GuestOutOfMemoryError,
  ComponentNotFoundError,
  ComponentIntegrityError,
  ComponentInvalidError,
  WorldMismatchError,
  UnknownFunctionError,
  ShutdownError,
  ActorDiedError,
  ActorNotFoundError,
  ActorNameTakenError,
  DeadlockError,
  QueueEmptyError,
  QueueFullError,
  NoClusterError,
  NodeDiedError,
  NodeFencedError,
  HeadUnavailableError,
  JobNotFoundError,
  JobFailedError,
  Jobs,
  JobHandle,
  formatLog,
} from "./host/index.js";
export { ConnectionFailedError, UnauthorizedError, ConnectionClosedError, PermissionDeniedError } from "./net/index.js";
export type { LogRecord, LogLevel } from "./host/index.js";
export type { InitOptions, RefArgs, WaitResult, TaskOptions, ActorOptions, Actor, ActorMethods, InstanceOf, ConstructorArgs, TaskArgs, TaskResult, TrapKind, ValueOf, WrayErrorCode } from "./host/index.js";
export { GetTimeoutError, ObjectStoreFullError, ObjectTooLargeError, SpillError, ObjectLostError, OwnerDiedError } from "./store/index.js";
export type { MemorySummary, ObjectInfo, StoreStats } from "./store/index.js";
export { InfeasibleTaskError, TaskCancelledError, PlacementGroupInfeasibleError, PlacementGroupRemovedError } from "./scheduler/index.js";
export type { PlacementStrategy } from "./scheduler/index.js";
export type { SchedulerStats, ResourceWait, ResourceShortfall } from "./scheduler/index.js";
export { Gpu, GpuBuffer, Kernel, ActorPool, PlacementGroup, Queue, StateApi } from "./host/index.js";
export type { ProgressOptions, ProgressStream, StateListOptions, TaskRecord, TaskSummaryRow, TimelineEvent, ActorRow, TaskFilter, TaskState } from "./host/index.js";
export type { Bundle, QueueOptions, QueueWait, QueueActor } from "./host/index.js";
export type { JobRecord, JobState, JobLogLine, JobOptions } from "./host/index.js";
export { GpuError, GpuUnavailableError, GpuCompileError, GpuValidationError, GpuOutOfMemoryError, GpuDeviceLostError } from "./gpu/index.js";
export type { GpuBackend, GpuErrorCode, WgslMessage } from "./gpu/index.js";
export {
  buildGuest,
  buildAsGuest,
  buildCGuest,
  buildRustGuest,
  asToolchainAvailable,
  cToolchainAvailable,
  rustToolchainAvailable,
  guestLanguage,
  witDir,
  BuildError,
} from "./guest-sdk/index.js";
export type { AsBuildOptions, BuildOptions, BuildResult, GuestLanguage } from "./guest-sdk/index.js";
