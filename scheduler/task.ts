import type { TaskId } from "../common/ids.js";
import type { ObjectEntry } from "../store/index.js";
import { TaskCancelledError } from "./errors.js";
import type { Shape } from "./resources.js";

/** Run-time figures of one function, shared by all its tasks. */
export interface FunctionStats {
  /** Moving average of its run time, ms (NaN until it has run). */
  avgMs: number;
}

/**
 * Everything needed to run a task (or actor call) once more: immutable
 * after submission except for the scheduler's bookkeeping fields.
 */
export interface TaskSpec {
  readonly taskId: TaskId;
  /** The exported function (or method) to call. */
  readonly name: string;
  /** `name` as UTF-8, shared by every call of one function. */
  readonly nameBytes: Uint8Array;
  /** Host-local index of the component that exports `name`. */
  readonly component: number;
  /** KIND_TASK, KIND_CONSTRUCT or KIND_METHOD (host/isolate/protocol.ts). */
  readonly kind: number;
  /** The arguments as a MessagePack array; top-level ObjectRefs are resolved before the call. */
  readonly args: Uint8Array;
  /** Keys of the top-level ObjectRef arguments, in order (undefined: none). */
  readonly deps: readonly string[] | undefined;
  /** Keys of refs nested deeper in the arguments (kept alive, not resolved). */
  readonly nested: readonly string[] | undefined;
  readonly numReturns: number;
  readonly returnIds: readonly string[];
  /** The store entries of the returns (saves a lookup per result). */
  readonly returns: readonly ObjectEntry[];
  readonly stats: FunctionStats;
  readonly shape: Shape;
  /** Runs left after a crash of its isolate or node, a lost result, or a retried guest error. */
  retriesLeft: number;
  /** Guest errors that are retried (within retriesLeft): all, or these error names; undefined: none. */
  retryExceptions: true | readonly string[] | undefined;
  /** 0: no limit. */
  readonly timeoutMs: number;
  /** True for tasks submitted by a running guest (they may be run nested by a waiting parent). */
  readonly nestedSubmit: boolean;
  /**
   * The task whose guest submitted it, when that ran on this host (the
   * scheduler lends a waiting isolate only work that descends from what it
   * waits in, which cannot depend on the waiting task's own result).
   */
  parent: TaskSpec | undefined;
  /**
   * The driver (node ID) whose program this task belongs to, when it came
   * from another node (undefined: this node's own): its guest's logs go
   * there, and actors it creates die when that driver leaves.
   */
  job: string | undefined;
  /** Dependencies not yet sealed. */
  unresolved: number;
  /** Order of first queueing (0 until then), for fairness between shapes. */
  seq: number;
  /** The host's slot of its execution while it is sent to an isolate or lent to one (-1: none). */
  slot: number;
  /** Called once when it has finished for good (ran, failed or was rejected): a cluster node reports it to its owner. */
  onDone: ((task: TaskSpec) => void) | undefined;
  /**
   * When it was submitted (ms since the epoch), for task events (NaN: not
   * recorded): its runner's finish carries it, so a task that ends before
   * its owner's events are drained needs no event of its own for it.
   */
  submittedAt: number;
}

/** What a submission sets of a TaskSpec; the rest is bookkeeping that starts empty. */
export type TaskFields = Pick<TaskSpec, "taskId" | "name" | "nameBytes" | "component" | "kind" | "args" | "deps" | "nested" | "numReturns" | "returnIds" | "returns" | "stats" | "shape" | "retriesLeft" | "timeoutMs"> & {
  nestedSubmit?: boolean;
};

/** A TaskSpec of `f`, its bookkeeping not started (no parent, job, slot or callback yet). */
export function newTaskSpec(f: TaskFields): TaskSpec {
  return {
    taskId: f.taskId,
    name: f.name,
    nameBytes: f.nameBytes,
    component: f.component,
    kind: f.kind,
    args: f.args,
    deps: f.deps,
    nested: f.nested,
    numReturns: f.numReturns,
    returnIds: f.returnIds,
    returns: f.returns,
    stats: f.stats,
    shape: f.shape,
    retriesLeft: f.retriesLeft,
    timeoutMs: f.timeoutMs,
    nestedSubmit: f.nestedSubmit ?? false,
    unresolved: 0,
    seq: 0,
    slot: -1,
    parent: undefined,
    onDone: undefined,
    job: undefined,
    retryExceptions: undefined,
    submittedAt: NaN,
  };
}

/** maxRetries (and maxRestarts, maxTaskRetries) -1 as a count: more than any task or actor gets, and it fits the wire's u32. */
export const UNLIMITED_RETRIES = 0xffff_ffff;

/** Drops the references a task holds on its arguments (one set per run, taken when it was made). */
export function releaseArgs(store: { release(id: string): void }, task: TaskSpec): void {
  if (task.deps) for (const d of task.deps) store.release(d);
  if (task.nested) for (const d of task.nested) store.release(d);
}

/**
 * The cancellation of `task`, when it was cancelled while it waited (for
 * its arguments, or to be placed): cancelling fails a task's results at
 * once, wherever the task is, and each place a task could start from
 * looks here before it starts it.
 */
export function cancelledBy(task: TaskSpec): TaskCancelledError | undefined {
  // a cancel through any one of its results fails that one first
  for (const e of task.returns) if (e.error instanceof TaskCancelledError) return e.error;
  return undefined;
}
