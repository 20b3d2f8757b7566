/**
 * The head's job runner: jobs submitted to the cluster run here, each under
 * a driver of its own in the head's process, so the client that submitted
 * one may leave. Everything a job's entry task submits, creates or puts
 * belongs to that driver; when the job ends the driver leaves the cluster,
 * and as with any driver, its actors (not detached) die and its objects
 * are freed. A job's code is a guest task like any other: sandboxed, with
 * a task's limits (Ray's job API runs a shell command on the head).
 *
 * Records: the control store's `jobs` table (state, times, the entry's
 * result or error with the guest's stack, the node it ran on) and
 * `jobLogs` (the lines its tasks and actors printed, the last
 * `maxLogLines`), written as the job goes, so they outlive the job and a
 * head restart. A head that starts on a store with jobs still pending or
 * running (its last process died under them) marks them failed, saying
 * why: jobs do not resume. Ended jobs are kept `retentionMs`.
 */
import { randomBytes } from "node:crypto";
import { decode, encode } from "@msgpack/msgpack";
import type { JobListBody, JobLogsBody, JobSubmitBody, TlsOptions } from "../../net/index.js";
import { ProtocolError } from "../../net/index.js";
import { TABLES } from "../../store/index.js";
import type { ShardedControlStore } from "../../store/index.js";
import type { Driver, JobLogLine, JobRecord } from "../driver/index.js";
import { JOB_ENDED, init } from "../driver/index.js";
import { ComponentNotFoundError } from "../errors.js";
import type { Head, JobService } from "../head/index.js";
import type { LogRecord } from "../log.js";
import type { ObjectRef } from "../../common/object-ref.js";
import type { RemoteFunction } from "../driver/index.js";

export interface JobRunnerOptions {
  /** The head the jobs' drivers join (in this process). */
  head: Head;
  token: string;
  /** The head's TLS (its CA, and a certificate for each job driver's own server), when it listens on wss://. */
  tls?: TlsOptions;
  log: (line: string) => void;
  /** How long an ended job's record and logs are kept, ms. Default 7 days. */
  retentionMs?: number;
  /** Log lines kept per job (the oldest go first). Default 10,000. */
  maxLogLines?: number;
}

/** The most an entry's result may take, encoded, to be kept in its record. */
const MAX_RESULT_BYTES = 64 << 10;
/** Written logs of a running job are brought up to date at most this often. */
const LOG_FLUSH_MS = 250;
/** How long an ended job's record waits for the task events that say where its entry ran. */
const NODE_WAIT_MS = 15_000;
/** How long a stop waits for the entry task to end once cancelled, before the job's driver leaves anyway. */
const STOP_GRACE_MS = 10_000;

interface LiveJob {
  record: JobRecord;
  driver?: Driver;
  ref?: ObjectRef;
  lines: JobLogLine[];
  seq: number;
  /** Set by stop (or the timeout): how the job ends, whatever its entry does. */
  stopping?: { state: "stopped" | "failed"; error: NonNullable<JobRecord["error"]> };
  timer?: ReturnType<typeof setTimeout>;
  flush?: ReturnType<typeof setTimeout>;
  /** Settles once the job has ended and its records are written. */
  done?: Promise<void>;
}

export class JobRunner implements JobService {
  readonly #o: Required<Pick<JobRunnerOptions, "retentionMs" | "maxLogLines">> & JobRunnerOptions;
  readonly #store: ShardedControlStore;
  readonly #live = new Map<string, LiveJob>();
  #prune: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(options: JobRunnerOptions) {
    this.#o = { retentionMs: 7 * 24 * 3600_000, maxLogLines: 10_000, ...options };
    this.#store = options.head.store;
  }

  /** A runner for `head`'s jobs; jobs a dead head left running are marked failed first. */
  static async start(options: JobRunnerOptions): Promise<JobRunner> {
    const r = new JobRunner(options);
    await r.#restore();
    r.#prune = setInterval(() => void r.#pruneEnded().catch(() => {}), 3600_000);
    r.#prune.unref();
    return r;
  }

  async #restore(): Promise<void> {
    for (const [, rec] of await this.#store.scan<JobRecord>(TABLES.jobs)) {
      if (JOB_ENDED.has(rec.state)) continue;
      this.#o.log(`(wray) job ${rec.id} was ${rec.state} when the last head stopped: marked failed`);
      await this.#store.put(TABLES.jobs, rec.id, {
        ...rec,
        state: "failed",
        endedAt: Date.now(),
        error: { name: "HeadRestartedError", message: `the head stopped while the job was ${rec.state}; jobs do not resume after a head restart (submit it again)` },
      } satisfies JobRecord);
    }
    await this.#pruneEnded();
  }

  async #pruneEnded(): Promise<void> {
    const before = Date.now() - this.#o.retentionMs;
    for (const [id, rec] of await this.#store.scan<JobRecord>(TABLES.jobs)) {
      if (JOB_ENDED.has(rec.state) && (rec.endedAt ?? 0) < before) {
        await this.#store.delete(TABLES.jobLogs, id);
        await this.#store.delete(TABLES.jobs, id);
      }
    }
  }

  // ---- requests (JOB_*) ---------------------------------------------------------------------------

  /**
   * Starts a job's driver, loads its component and finds its entry before
   * answering, so a component that does not load or an entry it does not
   * export fail the submit itself (with their own errors); then the job
   * runs on its own.
   */
  async submit(b: JobSubmitBody): Promise<{ id: string }> {
    if (this.#closed) throw new ProtocolError("the head is stopping: it takes no jobs");
    const bytes = await this.#store.get<Uint8Array>(TABLES.functions, b.component);
    if (!(bytes instanceof Uint8Array)) throw new ComponentNotFoundError(b.component, "not in the cluster's functions table (send it with FUNCTION_PUT first)");
    let args: unknown;
    try {
      args = decode(b.args);
    } catch (e) {
      throw new ProtocolError(`a job's arguments must be a MessagePack array: ${(e as Error).message}`);
    }
    if (!Array.isArray(args)) throw new ProtocolError("a job's arguments must be a MessagePack array");
    const id = randomBytes(8).toString("hex");
    const record: JobRecord = { id, entry: b.entry, component: b.component, state: "pending", submittedAt: Date.now(), logLines: 0, logsDropped: 0 };
    if (b.name !== undefined) record.name = b.name;
    if (b.resources !== undefined) record.resources = b.resources;
    if (b.timeoutMs !== undefined && b.timeoutMs > 0) record.timeoutMs = b.timeoutMs;
    const job: LiveJob = { record, lines: [], seq: 0 };
    this.#live.set(id, job);
    await this.#put(job);
    let fn: RemoteFunction<unknown[], unknown>;
    try {
      const driver = await init({ address: this.#o.head.address, token: this.#o.token, ...(this.#o.tls ? { tls: this.#o.tls } : {}), numCpus: 0, numGpus: 0, log: (r) => this.#heard(job, r) });
      job.driver = driver;
      const mod = await driver.load(bytes);
      fn = mod.fn(b.entry, taskOptions(b.resources));
    } catch (e) {
      // the submitter hears why; no job was started
      this.#live.delete(id);
      await job.driver?.shutdown().catch(() => {});
      await this.#store.delete(TABLES.jobs, id);
      throw e;
    }
    job.done = this.#run(job, fn, args);
    this.#o.log(`(wray) job ${id} started: ${b.entry} (component ${b.component.slice(0, 12)})`);
    return { id };
  }

  async list(b: JobListBody): Promise<JobRecord[]> {
    const rows = (await this.#store.scan<JobRecord>(TABLES.jobs)).map(([id, r]) => this.#live.get(id)?.record ?? r);
    return rows.sort((a, c) => c.submittedAt - a.submittedAt).slice(0, b.limit ?? 100);
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.#live.get(id)?.record ?? (await this.#store.get<JobRecord>(TABLES.jobs, id)) ?? null;
  }

  async logs(b: JobLogsBody): Promise<JobLogLine[] | null> {
    const since = b.since ?? 0;
    const limit = b.limit ?? 1000;
    const live = this.#live.get(b.id);
    let lines: JobLogLine[];
    if (live) lines = live.lines;
    else {
      if ((await this.#store.get(TABLES.jobs, b.id)) === undefined) return null;
      lines = (await this.#store.get<{ lines: JobLogLine[] }>(TABLES.jobLogs, b.id))?.lines ?? [];
    }
    const out: JobLogLine[] = [];
    for (const l of lines) {
      if (l.seq <= since) continue;
      out.push(l);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Stops a job: its entry (and what it submitted) cancelled, its driver gone (its actors killed, its objects freed). */
  async stop(id: string): Promise<JobRecord | null> {
    const job = this.#live.get(id);
    if (!job) return this.get(id);
    await this.#stop(job, { state: "stopped", error: { name: "JobStoppedError", message: "stopped by `wray job stop` (or JobHandle.stop())" } });
    return job.record;
  }

  /** The head is stopping: running jobs fail, saying so. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#prune) clearInterval(this.#prune);
    await Promise.all([...this.#live.values()].map((j) => this.#stop(j, { state: "failed", error: { name: "HeadStoppedError", message: "the cluster's head stopped while the job ran" } })));
  }

  // ---- a job's life -------------------------------------------------------------------------

  async #run(job: LiveJob, fn: RemoteFunction<unknown[], unknown>, args: unknown[]): Promise<void> {
    const driver = job.driver!;
    let end: Pick<JobRecord, "state" | "result" | "resultNote" | "error">;
    try {
      if (job.stopping) throw new Error("stopped before it started");
      const ref = fn.remote(...args) as ObjectRef;
      job.ref = ref;
      job.record = { ...job.record, state: "running", startedAt: Date.now(), entryTask: ref.taskHex, ...(driver.nodeId ? { driver: driver.nodeId } : {}) };
      await this.#put(job);
      const t = job.record.timeoutMs;
      if (t !== undefined) {
        job.timer = setTimeout(() => void this.#stop(job, { state: "stopped", error: { name: "JobTimeoutError", message: `the job ran past its timeout of ${t} ms and was stopped` } }), t);
      }
      const value = await driver.get(ref);
      end = job.stopping ?? { state: "succeeded", ...keptResult(value) };
    } catch (e) {
      end = job.stopping ?? { state: "failed", error: errorOf(e) };
    }
    if (job.timer) clearTimeout(job.timer);
    job.record = { ...job.record, ...end, endedAt: Date.now() };
    try {
      await this.#flushLogs(job);
      await this.#put(job);
    } catch (e) {
      // the control store refused (the head is closing): the next head marks the job failed
      this.#o.log(`(wray) job ${job.record.id}: its end could not be recorded: ${(e as Error).message}`);
    }
    // what its entry left running or queued (tasks it did not wait for) ends with it
    if (driver.nodeId !== undefined) this.#o.head.jobEnded(driver.nodeId);
    // the job's driver leaves: its actors die, its objects are freed
    await driver.shutdown().catch((e: Error) => this.#o.log(`(wray) job ${job.record.id}: its driver did not close cleanly: ${e.message}`));
    this.#live.delete(job.record.id);
    void this.#fillNode(job.record.id, job.record.entryTask);
    this.#o.log(`(wray) job ${job.record.id} ${job.record.state}${job.record.error ? `: ${job.record.error.name}: ${job.record.error.message}` : ""}`);
  }

  async #stop(job: LiveJob, how: NonNullable<LiveJob["stopping"]>): Promise<void> {
    if (JOB_ENDED.has(job.record.state)) return;
    job.stopping ??= how;
    if (job.ref && job.driver) {
      try {
        job.driver.cancel(job.ref, { force: true, recursive: true });
      } catch {
        // it ended meanwhile
      }
    }
    if (!job.done) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS)));
    await Promise.race([job.done, late]);
    clearTimeout(timer);
    // the entry did not end in time: its driver leaves anyway (what it left running dies with it)
    if (!JOB_ENDED.has(job.record.state)) await job.driver?.shutdown().catch(() => {});
    await job.done;
  }

  /**
   * Adds the node the entry task ran on to an ended job's record, once the
   * head's task events say (a node sends its events every so often, so
   * they may come after the result).
   */
  async #fillNode(id: string, task: string | undefined): Promise<void> {
    if (task === undefined) return;
    for (let deadline = Date.now() + NODE_WAIT_MS; Date.now() < deadline && !this.#closed; ) {
      try {
        const t = (await this.#o.head.state.query({ what: "task", id: task })) as { node?: string } | undefined;
        if (t?.node) {
          const rec = await this.#store.get<JobRecord>(TABLES.jobs, id);
          if (rec) await this.#store.put(TABLES.jobs, id, { ...rec, node: t.node } satisfies JobRecord);
          return;
        }
      } catch {
        // the head is closing
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  // ---- records and logs ---------------------------------------------------------------------

  #put(job: LiveJob): Promise<void> {
    return this.#store.put(TABLES.jobs, job.record.id, job.record);
  }

  /** A line the job's driver heard: its guests' lines are the job's log. */
  #heard(job: LiveJob, r: LogRecord): void {
    if (r.source !== "guest") return;
    const line: JobLogLine = { seq: ++job.seq, time: Date.now(), level: r.level, text: r.text };
    if (r.task !== undefined) line.task = r.task;
    if (r.actor !== undefined) line.actor = r.actor;
    job.lines.push(line);
    if (job.lines.length > this.#o.maxLogLines) {
      job.lines.shift();
      job.record.logsDropped++;
    }
    job.record.logLines = job.lines.length;
    job.flush ??= setTimeout(() => void this.#flushLogs(job).catch(() => {}), LOG_FLUSH_MS);
    job.flush.unref?.();
  }

  async #flushLogs(job: LiveJob): Promise<void> {
    if (job.flush) clearTimeout(job.flush);
    job.flush = undefined;
    await this.#store.put(TABLES.jobLogs, job.record.id, { lines: job.lines });
  }
}

/** TaskOptions for a job's `resources` (CPU and GPU by their own options). */
function taskOptions(resources: Record<string, number> | undefined): { numCpus?: number; numGpus?: number; resources?: Record<string, number> } {
  if (resources === undefined) return {};
  const { CPU, GPU, ...rest } = resources;
  const o: { numCpus?: number; numGpus?: number; resources?: Record<string, number> } = {};
  if (CPU !== undefined) o.numCpus = CPU;
  if (GPU !== undefined) o.numGpus = GPU;
  if (Object.keys(rest).length > 0) o.resources = rest;
  return o;
}

/** The result for the record, if it encodes in MAX_RESULT_BYTES; else why not. */
function keptResult(value: unknown): Pick<JobRecord, "result" | "resultNote"> {
  try {
    const n = encode(value).length;
    if (n > MAX_RESULT_BYTES) return { resultNote: `the result takes ${n} bytes, over the ${MAX_RESULT_BYTES} a job's record keeps: return a smaller value, or put() it and return what finds it` };
    return { result: value };
  } catch (e) {
    return { resultNote: `the result could not be kept: ${(e as Error).message}` };
  }
}

function errorOf(e: unknown): NonNullable<JobRecord["error"]> {
  const err = e instanceof Error ? e : new Error(String(e));
  const out: NonNullable<JobRecord["error"]> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") out.code = code;
  if (err.stack) out.stack = err.stack;
  return out;
}
