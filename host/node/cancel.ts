/**
 * Cancelling a task (Ray's `ray.cancel`) on the node where it is.
 *
 * Design assumptions:
 * - A cancel fails the task's results at once with TaskCancelledError,
 *   wherever the task is: every place a task could start from looks at its
 *   first result first (cancelledBy), so a task cancelled while it waits
 *   for its arguments, or to be placed, or in a message between nodes,
 *   never starts. What waits on the results fails at once too.
 * - A task not started yet (queued, or in an isolate's ring) is taken out
 *   and ends there; so is an actor call not started, and one whose method
 *   deferred its result (deferrals.ts).
 * - A running task cannot be interrupted inside wasm: its guest sees
 *   `cancelled()` (a word of its channel) and its blocking `get` fails
 *   with TaskCancelledError, so a guest that polls stops early. With
 *   `force` its isolate is stopped (as a timeout stops it) and replaced;
 *   the tasks queued behind it go on elsewhere. Actor calls cannot be
 *   forced: the actor's state lives in that isolate (kill the actor).
 * - `recursive` cancels what the task submitted, through the node's
 *   top-level cancel (children may run on other nodes of a cluster).
 * - A cancelled task is never retried.
 */
import { isPutKey, keyToHex, objectKey, taskIdFromKey, taskKeyOfObject } from "../../common/ids.js";
import type { LocalScheduler, TaskSpec } from "../../scheduler/index.js";
import { TaskCancelledError } from "../../scheduler/index.js";
import type { ObjectEntry, ObjectStore } from "../../store/index.js";
import { PENDING } from "../../store/index.js";
import { KIND_TASK } from "../isolate/index.js";
import type { ActorManager } from "./actors.js";
import type { Deferrals } from "./deferrals.js";
import type { Executions } from "./executions.js";

export interface CancelOptions {
  /** Stop a running task's isolate (tasks only). Default false. */
  force: boolean;
  /** Cancel the tasks it submitted too. Default true, as in Ray. */
  recursive: boolean;
}

/**
 * What a cancel found: "removed" (it had not started: it never will),
 * "running" (its guest was told), "stopped" (its isolate was stopped),
 * "waiting" (not started and not found to take out: it waits for its
 * arguments, or is on its way; it will not start), "finished" (too late:
 * it had finished), "unknown" (nothing of it is on this node).
 */
export type CancelOutcome = "removed" | "running" | "stopped" | "waiting" | "finished" | "unknown";

/** What a cancel uses of its node (HostNode implements it). */
export interface CancelHost {
  readonly store: ObjectStore;
  readonly scheduler: LocalScheduler;
  readonly actors: ActorManager;
  readonly executions: Executions;
  readonly deferrals: Deferrals;
  /** Ends a task that will not run: fails its results, drops its argument refs, reports it done. */
  reject(task: TaskSpec, error: Error): void;
  /** Tells the guest running the task in `slot` on `iso` (its `cancelled()`, its blocking calls). */
  tellCancelled(iso: number, slot: number): void;
  /** Stops isolate `iso` (isolateExited follows, and ends the cancelled task there). */
  stopIsolate(iso: number): void;
  /** Cancels a task by key wherever it is (through the cluster, in one): what `recursive` goes through. */
  cancel(taskKey: string, options: CancelOptions, result?: ObjectEntry): void;
}

/** Checks the options a driver or guest gave `cancel` (undefined fields take Ray's defaults). */
export function cancelOptions(o: { force?: unknown; recursive?: unknown } | undefined): CancelOptions {
  if (o !== undefined && (typeof o !== "object" || o === null)) throw new TypeError("cancel(ref, options): options must be an object");
  const force = o?.force ?? false;
  const recursive = o?.recursive ?? true;
  if (typeof force !== "boolean") throw new TypeError(`cancel(): force must be a boolean, got ${typeof force}`);
  if (typeof recursive !== "boolean") throw new TypeError(`cancel(): recursive must be a boolean, got ${typeof recursive}`);
  return { force, recursive };
}

/**
 * Cancels the task whose key is `taskKey` where it is on this node (see
 * the file's header). `result` is the caller's entry of one of its results,
 * when it has one (a driver's results are not indexed by key).
 */
export function cancelHere(host: CancelHost, taskKey: string, options: CancelOptions, result?: ObjectEntry): CancelOutcome {
  const taskId = taskIdFromKey(taskKey);
  const first = result?.live ? result : host.store.entry(objectKey(taskId, 1));
  // a second cancel of a cancelled task may still add force
  if (first !== undefined && first.state !== PENDING && !(first.error instanceof TaskCancelledError)) return "finished";
  const deferred = first !== undefined ? host.deferrals.waiting(first.key) : undefined;
  const call = options.force ? (deferred ?? host.actors.callOf(taskKey)) : undefined;
  if (call !== undefined) throw forcedActorCall(call.name);
  if (deferred !== undefined) {
    host.deferrals.cancel(first!.key, new TaskCancelledError(deferred.name, keyToHex(taskKey)));
    return "removed";
  }
  const found = host.scheduler.cancel(taskKey) ?? host.actors.cancel(taskKey);
  if (found !== undefined && found.iso === undefined) {
    host.reject(found.task, new TaskCancelledError(found.task.name, keyToHex(taskKey)));
    return "removed";
  }
  const exec = host.executions.find(taskKey);
  if (exec === undefined) {
    if (first === undefined) return "unknown";
    // not started, and nowhere to take it from: failing its results keeps it from starting
    const error = new TaskCancelledError("", keyToHex(taskKey));
    host.store.fail(first, error);
    for (let i = 1; ; i++) {
      const e = host.store.entry(objectKey(taskId, i));
      if (e === undefined) break;
      host.store.fail(e, error);
    }
    return "waiting";
  }
  const task = exec.task;
  const force = options.force && task.kind === KIND_TASK;
  if (options.force && !force) throw forcedActorCall(task.name);
  task.retriesLeft = 0;
  task.retryExceptions = undefined;
  const error = new TaskCancelledError(task.name, keyToHex(taskKey), force ? " (its isolate was stopped)" : "");
  for (const e of task.returns) host.store.fail(e, error);
  if (!exec.cancelled) {
    exec.cancelled = true;
    host.tellCancelled(exec.iso, task.slot);
    if (options.recursive && exec.owned) {
      const children = new Set<string>();
      for (const id of exec.owned) if (!isPutKey(id)) children.add(taskKeyOfObject(id));
      for (const child of children) host.cancel(child, options);
    }
  }
  if (!force) return "running";
  exec.forced = true;
  host.stopIsolate(exec.iso);
  return "stopped";
}

/** Force on an actor call: refused before anything is done (Ray refuses it too). */
export function forcedActorCall(name: string): TypeError {
  return new TypeError(`cancel(): force stops a task's isolate; '${name}' is an actor call, and its actor's state lives there: kill() the actor instead`);
}
