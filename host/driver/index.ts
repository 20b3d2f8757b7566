/**
 * The driver API: what a program uses to run tasks and actors — `init()`,
 * the Driver (load, get, wait, put, actors, shutdown), the handles of
 * tasks and actors, and the GPU from the driver's side.
 *
 * Imports: node/, cluster/, head/ (its files: where a local head is),
 * store/, net/, gpu/, common/. Never imports cli/: the CLI is built on
 * this, not the other way round.
 */
export { init } from "./init.js";
export type { InitOptions } from "./init.js";
export { Driver } from "./driver.js";
export { ComponentModule, RemoteFunction, ActorClass, ActorMethod } from "./handles.js";
export type { RefArgs, WaitResult, Actor, ActorMethods, InstanceOf, ConstructorArgs, TaskArgs, TaskResult } from "./handles.js";
export { Gpu, GpuBuffer, Kernel, openHostGpu } from "./gpu.js";
export { ActorPool } from "./actor-pool.js";
export { Queue, queueComponentPath } from "./queue.js";
export { StateApi } from "./state.js";
export type { ProgressOptions, ProgressStream } from "./progress.js";
export type { StateListOptions } from "./state.js";
export type { QueueOptions, QueueWait, QueueActor } from "./queue.js";
export { PlacementGroup } from "./placement-groups.js";
export type { Bundle } from "./placement-groups.js";
export { Jobs, JobHandle, JobNotFoundError, JobFailedError, JOB_ENDED } from "./jobs.js";
export type { JobRecord, JobState, JobLogLine, JobOptions, AskHead } from "./jobs.js";
