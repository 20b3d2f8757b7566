/**
 * The host: drivers, nodes, and everything that runs guests. Apps that
 * embed a host use this front (`wray/host`); programs that only run tasks
 * need just `wray`.
 */
export { init, Driver, ComponentModule, RemoteFunction, ActorClass, ActorMethod, Jobs, JobHandle, JobNotFoundError, JobFailedError } from "./driver/index.js";
export type { JobRecord, JobState, JobLogLine, JobOptions } from "./driver/index.js";
export type { InitOptions, RefArgs, WaitResult, Actor, ActorMethods, InstanceOf, ConstructorArgs, TaskArgs, TaskResult } from "./driver/index.js";
export { HostNode, resolveOptions, resolveActorOptions, ActorManager, prepareComponent } from "./node/index.js";
export type { NodeOptions, TaskOptions, ActorOptions, ComponentRecord, FunctionInfo, ActorRecord, ActorState, ComponentManifest, PreparedComponent } from "./node/index.js";
export {
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
  InsecureFileError,
} from "./errors.js";
export { formatLog } from "./log.js";
export type { LogRecord, LogLevel } from "./log.js";
export type { TrapKind } from "./errors.js";
export { ObjectRef } from "../common/object-ref.js";
export { ActorHandle } from "../common/actor-handle.js";
export type { ValueOf } from "../common/object-ref.js";
export { WrayError } from "../common/errors.js";
export type { WrayErrorCode } from "../common/errors.js";
/** Low level: one guest instance in the current thread, called without an isolate (benchmarks, tools). */
export { GuestInstance, loadComponent } from "./isolate/guest.js";
export type { RuntimeHost, GuestBytes } from "./isolate/imports/runtime.js";
export { Head } from "./head/index.js";
export type { HeadOptions, ClusterStatus, NodeStatus } from "./head/index.js";
export { ClusterNode } from "./cluster/index.js";
export type { ClusterOptions } from "./cluster/index.js";
export { formatStatus } from "./cli/cluster.js";
export { ShardedControlStore } from "../store/index.js";
export { InprocTransport, WsTransport, ConnectionFailedError, AddressInUseError, UnauthorizedError, ConnectionClosedError, PermissionDeniedError } from "../net/index.js";
export { Gpu, GpuBuffer, Kernel, openHostGpu, ActorPool, PlacementGroup, Queue, StateApi } from "./driver/index.js";
export type { StateListOptions, ProgressOptions, ProgressStream } from "./driver/index.js";
export { TaskTable } from "../common/task-events.js";
export { TaskEvents } from "./node/index.js";
export type { TaskRecord, TaskSummaryRow, TimelineEvent, ActorRow, TaskFilter, TaskState, TaskEventBatch } from "../common/task-events.js";
export type { Bundle, QueueOptions, QueueWait, QueueActor } from "./driver/index.js";
export { GpuDevice, GpuSession, HostGpu, GPU_BACKENDS, GpuError, GpuUnavailableError, GpuCompileError, GpuValidationError, GpuOutOfMemoryError, GpuDeviceLostError } from "../gpu/index.js";
export type { GpuBackend, GpuKernel, GpuOpenOptions, GpuErrorCode, WgslMessage } from "../gpu/index.js";
export type { Transport } from "../net/index.js";
export type { ControlStore } from "../store/index.js";
