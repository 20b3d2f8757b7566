/**
 * The node's one seam to its cluster: what a HostNode asks of its
 * membership (host/cluster implements it). A node without one is a
 * single-host node.
 */
import type { TaskId } from "../../common/ids.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry } from "../../store/index.js";
import type { LogRecord } from "../log.js";
import type { ActorOptionsResolved, ActorRecord } from "./actors.js";
import type { CancelOptions } from "./cancel.js";
import type { ComponentRecord } from "./components.js";

/** What a node asks of its cluster membership (host/cluster implements it). */
export interface ClusterLink {
  /** Places a task: here, or on another node. */
  submit(task: TaskSpec): void;
  /** An ID this node has no entry for: make a pending one and find the object in the cluster. */
  want(id: string): ObjectEntry;
  /** Calls a method of an actor on another node (false: the actor is not known to the cluster link). */
  callActor(actorKey: string, method: string, taskId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, numReturns: number, returnIds: string[], returns: ObjectEntry[]): boolean;
  /** Creates an actor somewhere in the cluster, for the program of driver `job` (undefined: this node's). */
  createActor(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, options: ActorOptionsResolved, job: string | undefined): void;
  /** The key of the live actor named `name`, found in the control store. */
  actorByName(name: string): Promise<string | undefined>;
  /** An actor of this node died: record it in the control store. */
  actorDied(r: ActorRecord): void;
  /** An actor of this node restarted here (the head counts it against its maxRestarts). */
  actorRestarted(r: ActorRecord): void;
  /** An actor of this node saved a checkpoint (its owner keeps it, for a restart elsewhere). */
  actorCheckpointed(r: ActorRecord, value: Uint8Array, covered: string[]): void;
  /** Cancels a task by key: here, or where this node placed it (it owns it), or where it runs for its owner. */
  cancel(taskKey: string, options: CancelOptions, result?: ObjectEntry): void;
  /** A guest's log record, from a task of driver `job`'s program: sent to that driver. */
  forwardLog(job: string, record: LogRecord): void;
  /** Sends a guest's log record to the head too (batched), for `wray logs` and the dashboard. */
  logToHead(record: LogRecord): void;
}
