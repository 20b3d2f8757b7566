/**
 * Errors across nodes: a task that fails on one node fails `get` on its
 * owner with the same class, code, message and fields, so a program
 * behaves the same on one host or many.
 */
import { decodeError, encodeError, registerErrorClasses } from "../../common/error-codec.js";
import { ConnectionClosedError, PermissionDeniedError, ProtocolError, RemoteError, UnauthorizedError, WireError } from "../../net/index.js";
import { InfeasibleTaskError, PlacementGroupInfeasibleError, PlacementGroupRemovedError, TaskCancelledError } from "../../scheduler/index.js";
import { ControlStoreError, GetTimeoutError, ObjectLostError, ObjectStoreFullError, ObjectTooLargeError, OwnerDiedError, SpillError } from "../../store/index.js";
import {
  ActorDiedError,
  ActorNameTakenError,
  DeadlockError,
  ActorNotFoundError,
  ComponentIntegrityError,
  ComponentNotFoundError,
  ComponentInvalidError,
  WorldMismatchError,
  JobNotFoundError,
  JobFailedError,
  GuestOutOfMemoryError,
  GuestTrapError,
  IsolateDiedError,
  NodeDiedError,
  NodeFencedError,
  HeadUnavailableError,
  TaskError,
  TaskTimeoutError,
  UnknownFunctionError,
} from "../errors.js";

registerErrorClasses([
  TaskError,
  GuestTrapError,
  IsolateDiedError,
  TaskTimeoutError,
  GuestOutOfMemoryError,
  ActorDiedError,
  ActorNotFoundError,
  ActorNameTakenError,
  DeadlockError,
  UnknownFunctionError,
  ComponentNotFoundError,
  ComponentIntegrityError,
  ComponentInvalidError,
  WorldMismatchError,
  JobNotFoundError,
  JobFailedError,
  NodeDiedError,
  NodeFencedError,
  HeadUnavailableError,
  InfeasibleTaskError,
  TaskCancelledError,
  PlacementGroupInfeasibleError,
  PlacementGroupRemovedError,
  ObjectLostError,
  OwnerDiedError,
  ObjectStoreFullError,
  ObjectTooLargeError,
  SpillError,
  GetTimeoutError,
  ControlStoreError,
  ConnectionClosedError,
  UnauthorizedError,
  ProtocolError,
  PermissionDeniedError,
  RemoteError,
  WireError,
]);

export { encodeError, decodeError };
