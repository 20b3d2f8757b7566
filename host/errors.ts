import { WrayError } from "../common/errors.js";
import type { TrapKind } from "./isolate/index.js";

export type { TrapKind };

/**
 * A task (or actor method) failed. Raised by `get` on any of its results,
 * and by `get` on the results of tasks that took them as arguments.
 */
export class TaskError extends WrayError {
  /** The task that failed. */
  readonly taskName: string;
  /** The guest error's name (`TypeError`, ...), or the trap kind. */
  readonly guestName: string;
  /** The guest's message, as it wrote it. */
  readonly guestMessage: string;
  /** The guest's stack trace, where it had one. */
  readonly guestStack: string;

  constructor(
    taskName: string,
    guestName: string,
    guestMessage: string,
    guestStack: string,
    code: "WRAY_TASK_ERROR" | "WRAY_GUEST_TRAP" | "WRAY_ISOLATE_DIED" | "WRAY_TASK_TIMEOUT" | "WRAY_GUEST_OUT_OF_MEMORY" = "WRAY_TASK_ERROR",
    cause?: unknown,
  ) {
    super(code, `task '${taskName}' failed: ${guestName ? `${guestName}: ` : ""}${guestMessage}`, cause === undefined ? undefined : { cause });
    this.taskName = taskName;
    this.guestName = guestName;
    this.guestMessage = guestMessage;
    this.guestStack = guestStack;
    if (guestStack) this.stack = `${this.name}: ${this.message}\n  guest stack:\n${guestStack}`;
  }
}

/** The guest trapped (unreachable, stack overflow, out of bounds...). Its instance was discarded; the host lives on. */
export class GuestTrapError extends TaskError {
  readonly trap: TrapKind;
  constructor(taskName: string, trap: TrapKind, detail: string) {
    super(taskName, trap, detail, "", "WRAY_GUEST_TRAP");
    this.trap = trap;
  }
}

/** The isolate running the task died (out of memory, killed) and no retries were left. */
export class IsolateDiedError extends TaskError {
  constructor(taskName: string, why: string) {
    super(taskName, "IsolateDied", why, "", "WRAY_ISOLATE_DIED");
  }
}

/**
 * The guest ran out of memory: its linear memory reached its `memoryMb`
 * limit (memory.grow failed inside it), or the host's memory guard stopped
 * it to keep the host alive. Its instance (for the guard, its isolate) was
 * discarded; the host lives on.
 */
export class GuestOutOfMemoryError extends TaskError {
  /** The limit that was reached, MiB: the guest's `memoryMb`, or the host's `hostMemoryLimitMb`. */
  readonly limitMb: number;
  /** The guest's linear memory when it was stopped, MiB. */
  readonly usedMb: number;
  constructor(taskName: string, detail: string, limitMb: number, usedMb: number) {
    super(taskName, "OutOfMemory", detail, "", "WRAY_GUEST_OUT_OF_MEMORY");
    this.limitMb = limitMb;
    this.usedMb = usedMb;
  }
}

/** The task ran longer than its `timeoutMs`; its isolate was stopped. */
export class TaskTimeoutError extends TaskError {
  constructor(taskName: string, timeoutMs: number) {
    super(taskName, "Timeout", `ran longer than its timeout of ${timeoutMs} ms and was stopped`, "", "WRAY_TASK_TIMEOUT");
  }
}

/**
 * The actor is dead — killed, its constructor failed, a method trapped, or
 * its isolate died — so this call could not run. `cause` says why it died.
 */
export class ActorDiedError extends WrayError {
  readonly className: string;
  readonly actorId: string;
  /** Why it died ("it was killed", "its driver 3f2a9c01 exited", ...). */
  readonly reason: string;
  constructor(className: string, actorId: string, why: string, cause?: unknown) {
    super("WRAY_ACTOR_DIED", `actor ${className} (${actorId}) is dead: ${why}`, cause === undefined ? undefined : { cause });
    this.className = className;
    this.actorId = actorId;
    this.reason = why;
  }
}

/** `init({ address: "auto" })` (or WRAY_ADDRESS=auto) found no cluster started on this machine. */
export class NoClusterError extends WrayError {
  constructor(why: string) {
    super("WRAY_NO_CLUSTER", `no wray cluster to join: ${why}; start one with \`wray start --head\`, or give init() an address (ws://HEAD:PORT)`);
  }
}

/**
 * An actor method's `get` waits for the result of a call to the same actor
 * that is queued behind it: with one call at a time (maxConcurrency 1, or
 * every concurrent slot taken) that call can never run, so the get fails
 * at once instead of hanging.
 */
export class DeadlockError extends WrayError {
  readonly className: string;
  readonly actorId: string;
  constructor(className: string, actorId: string, waiting: string, queued: string) {
    super(
      "WRAY_DEADLOCK",
      `actor ${className} (${actorId}): ${className}.${waiting} called get() on the result of ${className}.${queued}, a call to the same actor queued behind it, which cannot start until ${waiting} returns; pass the value instead, or give the actor maxConcurrency > 1`,
    );
    this.className = className;
    this.actorId = actorId;
  }
}

/** A Queue's get found it empty: at once (getNowait, block false), or when its timeout ran out. */
export class QueueEmptyError extends WrayError {
  constructor(what: string) {
    super("WRAY_QUEUE_EMPTY", `${what}: the queue is empty`);
  }
}

/** A Queue's put found it full (maxsize items): at once (putNowait, block false), or when its timeout ran out. */
export class QueueFullError extends WrayError {
  readonly maxsize: number;
  constructor(what: string, maxsize: number) {
    super("WRAY_QUEUE_FULL", `${what}: the queue is full (maxsize ${maxsize})`);
    this.maxsize = maxsize;
  }
}

/** No live actor has that name (or that ID). */
export class ActorNotFoundError extends WrayError {
  constructor(what: string) {
    super("WRAY_ACTOR_NOT_FOUND", `no live actor ${what}`);
  }
}

/** An actor with that name is already alive; names are unique. */
export class ActorNameTakenError extends WrayError {
  constructor(name: string) {
    super("WRAY_ACTOR_NAME_TAKEN", `an actor named '${name}' already exists`);
  }
}

/** A component file does not exist. */
export class ComponentNotFoundError extends WrayError {
  readonly path: string;
  /** `why`: where it was looked for, when not at a path (a cluster's functions table). */
  constructor(path: string, why?: string) {
    super("WRAY_COMPONENT_NOT_FOUND", why === undefined ? `no component at ${path} (build one with \`wray build\`)` : `${path}: ${why}`);
    this.path = path;
  }
}

/**
 * Component bytes that do not hash to the name they came under: refused by
 * the head's functions table, and by every host before it compiles them.
 */
export class ComponentIntegrityError extends WrayError {
  readonly hash: string;
  readonly actual: string;
  constructor(hash: string, actual: string, where: string) {
    super("WRAY_COMPONENT_INTEGRITY", `component ${hash.slice(0, 12)}: ${where} bytes that hash to ${actual.slice(0, 12)}, not to their name; refused (code is named by the SHA-256 of its bytes)`);
    this.hash = hash;
    this.actual = actual;
  }
}

/**
 * A secret's file (the cluster token, a TLS key) that other users of this
 * machine can read, or that another user owns: refused, with the fix.
 */
export class InsecureFileError extends WrayError {
  readonly path: string;
  constructor(path: string, what: string, why: string) {
    super("WRAY_INSECURE_TOKEN_FILE", `${what} ${path} ${why}: anyone who can read it can join the cluster. Fix: chmod 600 ${path} (owned by the user who runs wray)`);
    this.path = path;
  }
}

/** The bytes are not a valid WebAssembly component. */
export class ComponentInvalidError extends WrayError {
  constructor(source: string, why: string) {
    super("WRAY_COMPONENT_INVALID", `cannot load ${source}: ${why}`);
  }
}

/** A valid component, but not of the `wray:runtime` world this host runs. */
export class WorldMismatchError extends WrayError {
  constructor(source: string, why: string) {
    super("WRAY_WORLD_MISMATCH", `cannot load ${source}: ${why}`);
  }
}

/** A task or actor name the component does not export. */
export class UnknownFunctionError extends WrayError {
  constructor(kind: string, name: string, source: string, known: readonly string[]) {
    super("WRAY_UNKNOWN_FUNCTION", `${source} exports no ${kind} named '${name}' (it has: ${known.join(", ") || "none"})`);
  }
}

/** The cluster was shut down. */
export class ShutdownError extends WrayError {
  constructor(what: string) {
    super("WRAY_SHUTDOWN", `${what}: wray has been shut down`);
  }
}

/** The node running a task died, and the task had no retries left (or was an actor's call). */
export class NodeDiedError extends WrayError {
  readonly nodeId: string;
  constructor(what: string, nodeId: string, why: string) {
    super("WRAY_NODE_DIED", `${what}: node ${nodeId.slice(0, 8)} died (${why})`);
    this.nodeId = nodeId;
  }
}

/**
 * The head declared this node dead (it missed its heartbeats, or its
 * connection closed) and will not take it back: whatever it still does as
 * that node is ignored by the cluster. It must join again as a new node.
 */
export class NodeFencedError extends WrayError {
  readonly nodeId: string;
  constructor(nodeId: string, why: string) {
    super("WRAY_NODE_FENCED", `node ${nodeId.slice(0, 8)} was declared dead (${why}): it may not act as that node again, and must join as a new one`);
    this.nodeId = nodeId;
  }
}

/**
 * The head could not be reached for `waitedMs` (it died or is cut off):
 * work that needs it (placing tasks and actors, names, the control store)
 * fails with this once `headReconnectTimeoutMs` has passed.
 */
export class HeadUnavailableError extends WrayError {
  readonly address: string;
  constructor(address: string, waitedMs: number, what: string) {
    super("WRAY_HEAD_UNAVAILABLE", `${what}: the head at ${address} was not reachable for ${Math.round(waitedMs / 1000)} s (headReconnectTimeoutMs); is it running? restart it with \`wray start --head --restore\``);
    this.address = address;
  }
}

/** What JobFailedError says of the job (a JobRecord has these fields and more). */
export interface JobFailure {
  id: string;
  state: string;
  error?: { name: string; message: string; code?: string; stack?: string };
}

/** No job has this ID (it never existed, or its record's time ran out). */
export class JobNotFoundError extends WrayError {
  readonly jobId: string;
  constructor(jobId: string) {
    super("WRAY_JOB_NOT_FOUND", `no job '${jobId}' (see \`wray job list\`; ended jobs are kept for the head's --job-retention-s)`);
    this.jobId = jobId;
  }
}

/** A job ended without its result: it failed (the entry's error) or was stopped. */
export class JobFailedError extends WrayError {
  readonly job: JobFailure;
  constructor(job: JobFailure) {
    const why = job.error ? `${job.error.name}: ${job.error.message}` : job.state;
    super("WRAY_JOB_FAILED", `job ${job.id} ${job.state === "stopped" ? "was stopped" : "failed"}: ${why}`);
    this.job = job;
    if (job.error?.stack) this.stack = `${this.name}: ${this.message}\n  ${job.error.stack.split("\n").join("\n  ")}`;
  }
}
