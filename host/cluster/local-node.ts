/**
 * The cluster's one seam to the node it joins: what cluster code uses of a
 * host's node (HostNode implements it; tests give fakes of the parts they
 * exercise).
 */
import type { TaskId } from "../../common/ids.js";
import type { Shape, TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry, ObjectStore } from "../../store/index.js";
import type { LogRecord } from "../log.js";
import type { ActorOptionsResolved, ActorRecord, BundleReservations, CancelOptions, CancelOutcome, ClusterLink, ComponentRecord } from "../node/index.js";
import type { PreparedComponent, TaskEvents } from "../node/index.js";

/** The local scheduler as placement sees it. */
export interface LocalQueue {
  readonly resources: {
    feasible(shape: Shape): boolean;
    readonly total: ReadonlyMap<string, number>;
    readonly available: ReadonlyMap<string, number>;
  };
  /** Tasks waiting here (not running). */
  readonly backlog: number;
  /** Mean run time of the tasks here, ms (NaN before any ran). */
  readonly meanTaskMs: number;
  submit(task: TaskSpec): void;
}

export interface LocalNode {
  readonly store: ObjectStore;
  /** Task state transitions recorded here, drained to the head. */
  readonly taskEvents: TaskEvents;
  readonly scheduler: LocalQueue;
  /** Placement-group bundles reserved here (the head asks for them). */
  readonly bundles: BundleReservations;
  readonly actors: {
    get(key: string): ActorRecord | undefined;
    kill(r: ActorRecord): void;
    count(): { alive: number };
  };
  readonly components: {
    /** The node's cap on guests' linear memory, MiB. */
    readonly memoryMb: number;
    add(prepared: PreparedComponent, source: string): ComponentRecord;
    byHash(hash: string): ComponentRecord | undefined;
    at(index: number): ComponentRecord;
  };
  readonly pool: {
    /** Polls isolates for a moment rather than sleeping until one rings. */
    pollAwhile(): void;
  };
  /** Set while the node is a member (the cluster node sets and clears it). */
  cluster: ClusterLink | undefined;
  /** Ends a task that will not run, failing its results. */
  reject(task: TaskSpec, error: Error): void;
  /** Drops the references a task holds on its arguments. */
  releaseArgs(task: TaskSpec): void;
  createActor(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, options: ActorOptionsResolved, job?: string): ActorRecord;
  callActor(r: ActorRecord, method: string, taskId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined, numReturns: number, returnIds: string[], returns: ObjectEntry[], onDone?: (task: TaskSpec) => void): void;
  emitLog(record: LogRecord): void;
  /** Cancels a task where it is on this node. Throws TypeError for `force` on an actor call. */
  cancelHere(taskKey: string, options: CancelOptions, result?: ObjectEntry): CancelOutcome;
  /** Ends what this node runs or queues for job `job` (a driver's node ID), which has ended. */
  evictJob(job: string): void;
}
