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
