/**
 * The base of every error wray raises on purpose, with a stable `code`.
 *
 * Codes are listed in docs/errors.md. Each module declares its own
 * subclasses in its `errors.ts`; this file holds only what all of them
 * share, so that `catch (e) { if (e instanceof WrayError) switch (e.code) }`
 * works across the package. Wrong arguments from a caller are plain
 * `TypeError`/`RangeError`, never a WrayError.
 */
export type WrayErrorCode =
  // a task or method failed while running
  | "WRAY_TASK_ERROR"
  | "WRAY_GUEST_TRAP"
  | "WRAY_ISOLATE_DIED"
  | "WRAY_TASK_TIMEOUT"
  | "WRAY_TASK_CANCELLED"
  | "WRAY_GUEST_OUT_OF_MEMORY"
  // objects
  | "WRAY_GET_TIMEOUT"
  | "WRAY_OBJECT_LOST"
  | "WRAY_OBJECT_TOO_LARGE"
  | "WRAY_OBJECT_STORE_FULL"
  | "WRAY_SPILL_FAILED"
  // actors
  | "WRAY_ACTOR_DIED"
  | "WRAY_ACTOR_NOT_FOUND"
  | "WRAY_ACTOR_NAME_TAKEN"
  // queues
  | "WRAY_QUEUE_EMPTY"
  | "WRAY_QUEUE_FULL"
  // scheduling
  | "WRAY_TASK_INFEASIBLE"
  | "WRAY_DEADLOCK"
  | "WRAY_PLACEMENT_GROUP_INFEASIBLE"
  | "WRAY_PLACEMENT_GROUP_REMOVED"
  // components and builds
  | "WRAY_BUILD_FAILED"
  | "WRAY_COMPONENT_NOT_FOUND"
  | "WRAY_COMPONENT_INVALID"
  | "WRAY_WORLD_MISMATCH"
  | "WRAY_UNKNOWN_FUNCTION"
  | "WRAY_COMPONENT_INTEGRITY"
  // GPU
  | "WRAY_GPU_UNAVAILABLE"
  | "WRAY_GPU_COMPILE"
  | "WRAY_GPU_VALIDATION"
  | "WRAY_GPU_OUT_OF_MEMORY"
  | "WRAY_GPU_DEVICE_LOST"
  // cluster
  | "WRAY_PROTOCOL_ERROR"
  | "WRAY_CONNECTION_CLOSED"
  | "WRAY_UNAUTHORIZED"
  | "WRAY_CONNECTION_FAILED"
  | "WRAY_ADDRESS_IN_USE"
  | "WRAY_NO_CLUSTER"
  | "WRAY_JOB_NOT_FOUND"
  | "WRAY_JOB_FAILED"
  | "WRAY_JOB_WAIT_TIMEOUT"
  | "WRAY_REMOTE_ERROR"
  | "WRAY_NODE_DIED"
  | "WRAY_NODE_FENCED"
  | "WRAY_HEAD_UNAVAILABLE"
  | "WRAY_CONTROL_STORE_ERROR"
  | "WRAY_PERMISSION_DENIED"
  | "WRAY_INSECURE_TOKEN_FILE"
  // lifecycle
  | "WRAY_SHUTDOWN";

export class WrayError extends Error {
  readonly code: WrayErrorCode;

  constructor(code: WrayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
