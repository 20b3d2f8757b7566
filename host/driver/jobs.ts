/**
 * Jobs, from a client (`ray.jobs`, and `wray job` through the same
 * requests): a job is a component, an entry task and its arguments that
 * the head runs for the cluster (host/jobs), so the client that submitted
 * it may leave. Unlike Ray's job API, which runs a shell command on the
 * head, a job's entry point is a guest task: it runs in the sandbox, with
 * a task's limits.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { encode } from "@msgpack/msgpack";
import { WrayError } from "../../common/errors.js";
import { ObjectRef } from "../../common/object-ref.js";
import { ComponentNotFoundError, JobFailedError, JobNotFoundError } from "../errors.js";
import type { JobIdBody, JobListBody, JobLogsBody, JobSubmitBody, MessageType } from "../../net/index.js";
import { MSG } from "../../net/index.js";

export { JobFailedError, JobNotFoundError };

/** Where a job is: pending (its driver starting), running, or ended (succeeded, failed, stopped). */
export type JobState = "pending" | "running" | "succeeded" | "failed" | "stopped";
/** States a job does not leave. */
export const JOB_ENDED: ReadonlySet<JobState> = new Set(["succeeded", "failed", "stopped"]);

/** A job's record, as the control store keeps it (the `jobs` table). */
export interface JobRecord {
  id: string;
  name?: string;
  /** The entry task's name. */
  entry: string;
  /** The component's SHA-256 (hex), in the functions table. */
  component: string;
  state: JobState;
  /** ms since the epoch. */
  submittedAt: number;
  startedAt?: number;
  endedAt?: number;
  /** The node the entry task ran on (32 hex digits), once known. */
  node?: string;
  /** The job's own driver, in the head's process: everything the job makes is its. */
  driver?: string;
  /** The entry task's ID (hex). */
  entryTask?: string;
  resources?: Record<string, number>;
  timeoutMs?: number;
  /** The entry's result (succeeded), when it fits the record (64 KiB encoded). */
  result?: unknown;
  /** Why `result` is missing from a job that succeeded. */
  resultNote?: string;
  /** Why it failed or was stopped: the error, with the guest's stack where it had one. */
  error?: { name: string; message: string; code?: string; stack?: string };
  /** Lines of its tasks' and actors' logs kept, and lines dropped past the limit. */
  logLines: number;
  logsDropped: number;
}

/** One line a job's task or actor printed. */
export interface JobLogLine {
  /** Counts the job's lines from 1 (ask for lines after the last you got). */
  seq: number;
  /** ms since the epoch, when the job's driver heard it. */
  time: number;
  level: string;
  text: string;
  task?: string;
  actor?: string;
}

/** What to run: the entry task, its arguments and resources, a time limit. */
export interface JobOptions {
  entry: string;
  args?: unknown[];
  resources?: Record<string, number>;
  /** Stop the job after this long, ms. Default: no limit. */
  timeoutMs?: number;
  name?: string;
}

/** Sends a request to the head. */
export type AskHead = <T>(type: MessageType, body: unknown, timeoutMs?: number) => Promise<T>;

/** How often `wait` asks for the job's state. */
const POLL_MS = 100;

/** A job the head runs: its state, logs, result, and stop. */
export class JobHandle {
  readonly id: string;
  readonly #ask: AskHead;

  constructor(id: string, ask: AskHead) {
    this.id = id;
    this.#ask = ask;
  }

  /** Its record now. Rejects with JobNotFoundError. */
  async status(): Promise<JobRecord> {
    const r = await this.#ask<JobRecord | null>(MSG.JOB_GET, { id: this.id } satisfies JobIdBody);
    if (r === null) throw new JobNotFoundError(this.id);
    return r;
  }

  /** Resolves with its record once it has ended (succeeded, failed or stopped); GetTimeoutError-like rejection after `timeoutMs`. */
  async wait(options: { timeoutMs?: number } = {}): Promise<JobRecord> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const r = await this.status();
      if (JOB_ENDED.has(r.state)) return r;
      if (Date.now() >= deadline) throw new WrayError("WRAY_JOB_WAIT_TIMEOUT", `job ${this.id} is still ${r.state} after ${options.timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  }

  /** Its entry's result once it succeeds; rejects with JobFailedError if it fails or is stopped. */
  async result(): Promise<unknown> {
    const r = await this.wait();
    if (r.state !== "succeeded") throw new JobFailedError(r);
    return r.result;
  }

  /** Its log lines after line `since` (0: from the first kept), at most `limit`. */
  async logs(options: { since?: number; limit?: number } = {}): Promise<JobLogLine[]> {
    const body: JobLogsBody = { id: this.id };
    if (options.since !== undefined) body.since = options.since;
    if (options.limit !== undefined) body.limit = options.limit;
    const r = await this.#ask<JobLogLine[] | null>(MSG.JOB_LOGS, body);
    if (r === null) throw new JobNotFoundError(this.id);
    return r;
  }

  /** Stops it (its tasks cancelled, its actors killed, its objects freed); resolves with its record. A job that ended stays as it ended. */
  async stop(): Promise<JobRecord> {
    const r = await this.#ask<JobRecord | null>(MSG.JOB_STOP, { id: this.id } satisfies JobIdBody, 60_000);
    if (r === null) throw new JobNotFoundError(this.id);
    return r;
  }
}

/** `ray.jobs`: submit jobs to the cluster's head, and find them again. */
export class Jobs {
  readonly #ask: AskHead;

  constructor(ask: AskHead) {
    this.#ask = ask;
  }

  /**
   * Sends the component (a `.wasm` path or its bytes) to the cluster and
   * has the head run `options.entry` with `options.args`. Resolves with the
   * job once the head has loaded the component and found the entry
   * (ComponentInvalidError, UnknownFunctionError otherwise); the job then
   * runs whether or not this client stays.
   */
  async submit(component: string | Uint8Array, options: JobOptions): Promise<JobHandle> {
    if (typeof options?.entry !== "string" || options.entry.length === 0) throw new TypeError("jobs.submit(): options.entry must name the entry task");
    if (options.args !== undefined && !Array.isArray(options.args)) throw new TypeError("jobs.submit(): options.args must be an array");
    const t = options.timeoutMs;
    if (t !== undefined && !(Number.isSafeInteger(t) && t >= 0)) throw new RangeError(`jobs.submit(): timeoutMs must be a whole number of ms >= 0, got ${String(t)}`);
    if (options.resources !== undefined) {
      if (typeof options.resources !== "object" || options.resources === null) throw new TypeError("jobs.submit(): resources must be an object of numbers");
      for (const [k, v] of Object.entries(options.resources)) if (typeof v !== "number" || !(v >= 0)) throw new RangeError(`jobs.submit(): resource '${k}' must be a number >= 0`);
    }
    if (options.args?.some((a) => a instanceof ObjectRef)) throw new TypeError("jobs.submit(): a job's arguments are plain values (an ObjectRef belongs to this driver; the job runs under its own)");
    let bytes: Uint8Array;
    try {
      bytes = typeof component === "string" ? new Uint8Array(await readFile(component)) : component;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ComponentNotFoundError(String(component));
      throw e;
    }
    if (!(bytes instanceof Uint8Array)) throw new TypeError("jobs.submit(): component must be a path to a .wasm file or its bytes");
    const hash = createHash("sha256").update(bytes).digest("hex");
    await this.#ask(MSG.FUNCTION_PUT, { hash, bytes }, 120_000);
    const body: JobSubmitBody = { component: hash, entry: options.entry, args: encode(options.args ?? []) };
    if (options.resources !== undefined) body.resources = options.resources;
    if (t !== undefined && t > 0) body.timeoutMs = t;
    if (options.name !== undefined) body.name = String(options.name);
    const { id } = await this.#ask<{ id: string }>(MSG.JOB_SUBMIT, body, 120_000);
    return new JobHandle(id, this.#ask);
  }

  /** The job with this ID. Rejects with JobNotFoundError. */
  async get(id: string): Promise<JobHandle> {
    const h = new JobHandle(id, this.#ask);
    await h.status();
    return h;
  }

  /** The latest jobs, newest first. */
  list(options: { limit?: number } = {}): Promise<JobRecord[]> {
    const body: JobListBody = {};
    if (options.limit !== undefined) body.limit = options.limit;
    return this.#ask<JobRecord[]>(MSG.JOB_LIST, body);
  }
}
