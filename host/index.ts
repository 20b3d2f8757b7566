/**
 * The host: drivers, nodes, and everything that runs guests. Apps that
 * embed a host use this front (`wray/host`); programs that only run tasks
 * need just `wray`.
 */
export { init, Driver, ComponentModule, RemoteFunction } from "./driver.js";
export type { InitOptions, RefArgs, WaitResult } from "./driver.js";
export { HostNode, resolveOptions } from "./node.js";
export type { NodeOptions, TaskOptions, ComponentRecord, FunctionInfo } from "./node.js";
export { prepareComponent } from "./component.js";
export type { ComponentManifest, PreparedComponent } from "./component.js";
export {
  TaskError,
  GuestTrapError,
  IsolateDiedError,
  TaskTimeoutError,
  ComponentNotFoundError,
  ComponentInvalidError,
  WorldMismatchError,
  UnknownFunctionError,
  ShutdownError,
} from "./errors.js";
export type { TrapKind } from "./errors.js";
export { ObjectRef } from "../common/object-ref.js";
export type { ValueOf } from "../common/object-ref.js";
export { WrayError } from "../common/errors.js";
export type { WrayErrorCode } from "../common/errors.js";
