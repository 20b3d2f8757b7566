import { WrayError } from "../common/errors.js";

/**
 * A task asks for more of a resource than this node has: it can never run
 * here. (Retrying does not help; lower the request or add a node that has it.)
 */
export class InfeasibleTaskError extends WrayError {
  readonly retryable = false;
  readonly taskName: string;
  constructor(taskName: string, shortfall: string) {
    super("WRAY_TASK_INFEASIBLE", `task '${taskName}' can never be scheduled: ${shortfall}`);
    this.taskName = taskName;
  }
}

/**
 * The task (or actor call) was cancelled (`cancel`) before it produced its
 * results: raised by `get` on them, and by `get` on the results of tasks
 * that took them as arguments. A cancelled task is never retried.
 */
export class TaskCancelledError extends WrayError {
  readonly taskName: string;
  /** The cancelled task's ID (hex). */
  readonly taskId: string;
  constructor(taskName: string, taskId: string, how = "") {
    super("WRAY_TASK_CANCELLED", `${taskName ? `task '${taskName}' (${taskId})` : `task ${taskId}`} was cancelled${how}`);
    this.taskName = taskName;
    this.taskId = taskId;
  }
}

/** A placement group's bundles can never be reserved in this cluster as it is (its strategy, the nodes' totals). */
export class PlacementGroupInfeasibleError extends WrayError {
  readonly groupId: string;
  constructor(groupId: string, why: string) {
    super("WRAY_PLACEMENT_GROUP_INFEASIBLE", `placement group ${groupId} can never be placed: ${why}`);
    this.groupId = groupId;
  }
}

/** The placement group was removed: what was scheduled into it fails, and waits for it fail. */
export class PlacementGroupRemovedError extends WrayError {
  readonly groupId: string;
  constructor(groupId: string, what = "") {
    super("WRAY_PLACEMENT_GROUP_REMOVED", `${what ? `${what}: ` : ""}placement group ${groupId} was removed`);
    this.groupId = groupId;
  }
}
