/**
 * The executor side: tasks, actors and actor calls this node runs for
 * other nodes, and the reports that go back to their owners. The node
 * that runs a task reports TASK_DONE straight to the owner: small results
 * inline, large ones (and ones holding refs) kept here until the owner
 * frees them. Guest log lines of another driver's tasks go to that driver,
 * before the result they came with.
 */
import type { TaskId } from "../../common/ids.js";
import { bytesToKey, keyToBytes, keyToHex, objectKey, taskIdFromKey } from "../../common/ids.js";
import type { ActorCheckpointBody, ActorStateBody, FunctionPutBody, LogBody, TaskCancelBody, TaskDoneBody, WireResult, WireTask } from "../../net/index.js";
import { MSG } from "../../net/index.js";
import { shapeFromEntries } from "../../scheduler/index.js";
import type { ObjectEntry, RemoteControlStore } from "../../store/index.js";
import { FAILED, TABLES } from "../../store/index.js";
import { ActorNotFoundError, ComponentIntegrityError, ComponentNotFoundError } from "../errors.js";
import type { ActorTableRecord } from "../head/index.js";
import type { LogRecord } from "../log.js";
import type { ActorOptionsResolved, ActorRecord, CancelOptions, CancelOutcome, ComponentRecord } from "../node/index.js";
import { functionInfo, makeTask, prepareComponent } from "../node/index.js";
import type { LocalNode } from "./local-node.js";
import type { ClusterObjects } from "./objects.js";
import type { Peers } from "./peers.js";
import type { HeadLink } from "./placement.js";
import { encodeError } from "./remote-errors.js";

/** How long calls that arrive before their actor is started here wait for it. */
const EARLY_CALL_WAIT_MS = 30_000;
/** Cancels kept for tasks that have not come yet (a cancel may overtake its task: they come by different connections). */
const MAX_EARLY_CANCELS = 4096;

export class RemoteRun {
  readonly #node: LocalNode;
  readonly #gcs: RemoteControlStore;
  readonly #head: HeadLink;
  readonly #peers: Peers;
  readonly #objects: ClusterObjects;
  /** This node's queue drained after a report: the head may want to hear of it (an early heartbeat). */
  readonly #drained: () => void;
  readonly #components = new Map<string, Promise<ComponentRecord>>();
  readonly #published = new Set<string>();
  /** TASK_RUN/ACTOR_* messages waiting for a component to load, in arrival order. */
  readonly #inbox: { hash: string; run: (c: ComponentRecord | undefined, err?: Error) => void }[] = [];
  /** Calls that came before their actor started here, by actor. */
  readonly #early = new Map<string, { calls: WireTask[]; timer: ReturnType<typeof setTimeout> }>();
  /** Guest log records waiting to go to their drivers (sent before the next result, or at once). */
  readonly #logs = new Map<string, LogBody["records"]>();
  /** Owners of the checkpointed actors here (their checkpoints go to them). */
  readonly #owners = new Map<string, string>();
  /** Cancels of tasks not here yet, by task key, oldest first (bounded: MAX_EARLY_CANCELS). */
  readonly #earlyCancels = new Map<string, CancelOptions>();
  #logsQueued = false;
  #spinQueued = false;

  constructor(node: LocalNode, gcs: RemoteControlStore, head: HeadLink, peers: Peers, objects: ClusterObjects, drained: () => void) {
    this.#node = node;
    this.#gcs = gcs;
    this.#head = head;
    this.#peers = peers;
    this.#objects = objects;
    this.#drained = drained;
  }

  // ---- components ----------------------------------------------------------------------------

  /** Puts a component's bytes in the functions table (once), so other nodes can load it. */
  async publishComponent(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.#published.has(hash)) return;
    if ((await this.#gcs.get(TABLES.functions, hash)) === undefined) await this.#head.request(MSG.FUNCTION_PUT, { hash, bytes } satisfies FunctionPutBody);
    this.#published.add(hash);
  }

  #load(hash: string): Promise<ComponentRecord> {
    const have = this.#node.components.byHash(hash);
    if (have) return Promise.resolve(have);
    let p = this.#components.get(hash);
    if (!p) {
      p = (async () => {
        const name = `component ${hash.slice(0, 12)}`;
        const bytes = await this.#gcs.get<Uint8Array>(TABLES.functions, hash);
        if (!bytes) throw new ComponentNotFoundError(name, "it is not in the control store's functions table");
        const prepared = await prepareComponent(bytes, name, this.#node.components.memoryMb);
        // the table is checked where it is written; this host checks again what it runs
        if (prepared.hash !== hash) throw new ComponentIntegrityError(hash, prepared.hash, "the functions table held");
        return this.#node.components.add(prepared, name);
      })();
      this.#components.set(hash, p);
      p.catch(() => this.#components.delete(hash));
    }
    return p;
  }

  /** Runs `run` with the component, in arrival order with the other messages that need one. */
  #withComponent(hash: string, run: (c: ComponentRecord | undefined, err?: Error) => void): void {
    const c = this.#inbox.length === 0 ? this.#node.components.byHash(hash) : undefined;
    if (c) return run(c);
    this.#inbox.push({ hash, run });
    if (this.#inbox.length === 1) void this.#drainInbox();
  }

  async #drainInbox(): Promise<void> {
    while (this.#inbox.length > 0) {
      const next = this.#inbox[0]!;
      let c: ComponentRecord | undefined;
      let err: Error | undefined;
      try {
        c = await this.#load(next.hash);
      } catch (e) {
        err = e as Error;
      }
      this.#inbox.shift();
      next.run(c, err);
    }
  }

  // ---- tasks ----------------------------------------------------------------------------------

  #returnsFor(taskId: TaskId, n: number): { ids: string[]; entries: ObjectEntry[] } {
    const ids = new Array<string>(n);
    const entries = new Array<ObjectEntry>(n);
    for (let i = 0; i < n; i++) {
      ids[i] = objectKey(taskId, i + 1);
      entries[i] = this.#node.store.expect(ids[i]!, 1);
    }
    return { ids, entries };
  }

  /** TASK_RUN: run a task for its owner. */
  run(w: WireTask): void {
    // for an owner declared dead: nobody would take its results
    if (this.#peers.deathOf(w.owner) !== undefined) return;
    this.#withComponent(w.component, (c, err) => {
      const taskId = taskIdFromKey(bytesToKey(w.id, 0, 16));
      const { ids, entries } = this.#returnsFor(taskId, w.numReturns);
      if (!c) {
        for (const e of entries) this.#node.store.fail(e, err ?? new ComponentNotFoundError(`component ${w.component.slice(0, 12)}`, "it could not be loaded"));
        this.#report(w, entries);
        return;
      }
      const options = { numReturns: w.numReturns, maxRetries: w.retries, timeoutMs: w.timeoutMs, shape: shapeFromEntries(w.resources), memoryMb: w.memoryMb, retryExceptions: w.retryExceptions };
      const deps = this.#objects.argEntries(w);
      // nested refs are not resolved here: a guest's get finds them in the cluster (want)
      const task = makeTask(this.#node.store, { component: c, fn: functionInfo(c, w.name), taskId, args: w.args, deps, nested: undefined, options, returnIds: ids, returns: entries });
      task.job = w.job ?? w.owner;
      if (w.submittedAt !== undefined) task.submittedAt = w.submittedAt;
      task.onDone = () => this.#report(w, entries);
      this.#node.scheduler.submit(task);
      if (this.#earlyCancels.size > 0) this.#cancelIfAsked(taskId.key);
      this.#spinSoon();
    });
  }

  /**
   * After tasks from other nodes start here with none queued behind them
   * (a caller waiting on each): poll for their results for a moment
   * rather than sleep until an isolate rings, which costs a thread wake-up.
   */
  #spinSoon(): void {
    if (this.#spinQueued) return;
    this.#spinQueued = true;
    queueMicrotask(() => {
      this.#spinQueued = false;
      if (this.#node.scheduler.backlog === 0) this.#node.pool.pollAwhile();
    });
  }

  /** Tells the owner how `w` ended; keeps results it may pull. */
  #report(w: WireTask, entries: ObjectEntry[]): void {
    const body: TaskDoneBody = { id: w.id, node: this.#peers.nodeId };
    const store = this.#node.store;
    const failed = entries.find((e) => e.state === FAILED);
    if (failed) body.error = encodeError(failed.error);
    else {
      const results: WireResult[] = [];
      for (const e of entries) {
        if (!e.arena && !e.spill && e.bytes && !e.nested) {
          results.push({ value: e.bytes });
          continue;
        }
        const size = e.arena?.len ?? e.spill?.len ?? e.bytes?.length ?? 0;
        const r: WireResult = { node: this.#peers.nodeId, size };
        if (e.nested) {
          r.nested = e.nested.map((k) => keyToBytes(k));
          for (const k of e.nested) {
            const ne = store.entry(k);
            if (ne) this.#objects.publish(ne);
          }
        }
        results.push(r);
        this.#objects.hold(e, w.owner);
      }
      body.results = results;
    }
    // the task's lines reach its driver before its result does
    if (this.#logs.size > 0) this.#flushLogs();
    this.#peers.send(w.owner, MSG.TASK_DONE, body);
    for (const e of entries) store.release(e);
    if (this.#node.scheduler.backlog === 0) this.#drained();
  }

  // ---- actors ----------------------------------------------------------------------------------

  /** ACTOR_CREATE from the head: start the actor here, and record it in the actors table. */
  startActor(w: WireTask): void {
    this.#withComponent(w.component, (c, err) => {
      const actorId = taskIdFromKey(bytesToKey(w.actor!, 0, 16));
      const hex = keyToHex(actorId.key);
      const job = w.job ?? w.owner;
      const rec: ActorTableRecord = { node: this.#peers.nodeId, className: w.name, owner: w.owner, job, state: "alive", methods: [] };
      if (w.actorName !== undefined) rec.name = w.actorName;
      if (w.lifetime === "detached") rec.lifetime = "detached";
      const options: ActorOptionsResolved = { name: w.actorName, maxConcurrency: w.maxConcurrency ?? 1, shape: shapeFromEntries(w.resources), memoryMb: w.memoryMb };
      // restarts here (its isolate crashed, a method trapped) come out of what was left, and are reported to the head (one budget)
      if (w.restart !== undefined) {
        if (w.restart.maxRestarts > 0) options.maxRestarts = w.restart.maxRestarts;
        if (w.restart.maxTaskRetries > 0) options.maxTaskRetries = w.restart.maxTaskRetries;
        if (w.restart.checkpointInterval > 0) options.checkpointInterval = w.restart.checkpointInterval;
      }
      const deps = c ? this.#objects.argEntries(w) : undefined;
      let failure = err;
      let r: ActorRecord | undefined;
      if (c) {
        try {
          r = this.#node.createActor(c, w.name, actorId, w.args, deps, undefined, options, job);
          rec.methods = [...r.methods];
        } catch (e) {
          failure = e as Error;
        }
      }
      if (!r) {
        rec.state = "dead";
        rec.death = failure?.message ?? "could not start";
      } else if (w.restart !== undefined && w.restart.checkpointInterval > 0) this.#owners.set(actorId.key, w.owner);
      this.#head.request(MSG.ACTOR_STATE, { actor: hex, state: rec.state, methods: rec.methods, ...(rec.death === undefined ? {} : { death: rec.death }) } satisfies ActorStateBody).catch(() => {});
      this.#flushEarly(actorId.key);
    });
  }

  /** ACTOR_CALL from a caller: queue it on the local actor; report to the caller when done. */
  runCall(w: WireTask): void {
    const key = bytesToKey(w.actor!, 0, 16);
    const early = this.#early.get(key);
    if (early) {
      early.calls.push(w);
      return;
    }
    const r = this.#node.actors.get(key);
    if (!r) {
      // the call overtook the head's ACTOR_CREATE (they come by different connections), or the
      // actor's component is still loading: hold calls, in order, until it starts
      const e = { calls: [w], timer: setTimeout(() => this.#flushEarly(key), EARLY_CALL_WAIT_MS) };
      e.timer.unref();
      this.#early.set(key, e);
      return;
    }
    const taskId = taskIdFromKey(bytesToKey(w.id, 0, 16));
    const { ids, entries } = this.#returnsFor(taskId, w.numReturns);
    const deps = this.#objects.argEntries(w);
    this.#node.callActor(r, w.name, taskId, w.args, deps, undefined, w.numReturns, ids, entries, () => this.#report(w, entries));
    if (this.#earlyCancels.size > 0) this.#cancelIfAsked(taskId.key);
    this.#spinSoon();
  }

  /** TASK_CANCEL from a task's owner: cancel it here, or, when it has not come yet, once it does. */
  cancel(b: TaskCancelBody): void {
    const key = bytesToKey(b.task, 0, 16);
    const options: CancelOptions = { force: b.force, recursive: b.recursive };
    let outcome: CancelOutcome;
    try {
      outcome = this.#node.cancelHere(key, options);
    } catch {
      return; // force on an actor call: its owner refused it already
    }
    if (outcome !== "unknown") return;
    this.#earlyCancels.set(key, options);
    if (this.#earlyCancels.size > MAX_EARLY_CANCELS) this.#earlyCancels.delete(this.#earlyCancels.keys().next().value!);
  }

  /** A task came whose cancel came first. */
  #cancelIfAsked(key: string): void {
    const options = this.#earlyCancels.get(key);
    if (options === undefined) return;
    this.#earlyCancels.delete(key);
    try {
      this.#node.cancelHere(key, options);
    } catch {
      // force on an actor call: refused by its owner already
    }
  }

  /** Runs (or, if the actor never started here, fails) the calls that came before the actor. */
  #flushEarly(key: string): void {
    const early = this.#early.get(key);
    if (!early) return;
    this.#early.delete(key);
    clearTimeout(early.timer);
    const r = this.#node.actors.get(key);
    for (const w of early.calls) {
      if (r) {
        this.runCall(w);
        continue;
      }
      const { entries } = this.#returnsFor(taskIdFromKey(bytesToKey(w.id, 0, 16)), w.numReturns);
      for (const e of entries) this.#node.store.fail(e, new ActorNotFoundError(`with ID ${keyToHex(key)} on node ${this.#peers.nodeId.slice(0, 8)}`));
      this.#report(w, entries);
    }
  }

  /** Actor `key` of this node saved a checkpoint: its owner (another node) keeps it, for a restart after this node dies. */
  checkpointed(key: string, value: Uint8Array, covered: string[]): void {
    const owner = this.#owners.get(key);
    if (owner === undefined || owner === this.#peers.nodeId) return;
    this.#peers.send(owner, MSG.ACTOR_CHECKPOINT, { actor: keyToBytes(key), value, covered: covered.map((k) => keyToBytes(k)) } satisfies ActorCheckpointBody);
  }

  /** Actor `key` of this node died: its checkpoints go nowhere any more. */
  actorDied(key: string): void {
    this.#owners.delete(key);
  }

  /** ACTOR_KILL: kill the actor if it is here. */
  kill(actor: Uint8Array): void {
    const r = this.#node.actors.get(bytesToKey(actor, 0, 16));
    if (r) this.#node.actors.kill(r);
  }

  // ---- logs ------------------------------------------------------------------------------------

  /** A guest's log record for driver `job`: batched, sent before the next result or soon. */
  forwardLog(job: string, record: LogRecord): void {
    if (job === this.#peers.nodeId || this.#peers.deathOf(job) !== undefined) return;
    let list = this.#logs.get(job);
    if (!list) this.#logs.set(job, (list = []));
    list.push(wireLog(record));
    if (!this.#logsQueued) {
      this.#logsQueued = true;
      setImmediate(() => this.#flushLogs());
    }
  }

  #flushLogs(): void {
    this.#logsQueued = false;
    for (const [job, records] of this.#logs) this.#peers.send(job, MSG.LOG, { node: this.#peers.nodeId, records } satisfies LogBody);
    this.#logs.clear();
  }

  /** Node `id` died: its log lines are of no use now. */
  nodeDied(id: string): void {
    this.#logs.delete(id);
  }
}

/** A log record as LOG carries it (to a driver, or to the head). */
export function wireLog(record: LogRecord): LogBody["records"][number] {
  const r: LogBody["records"][number] = { level: record.level, text: record.text };
  if (record.task !== undefined) r.task = record.task;
  if (record.actor !== undefined) r.actor = record.actor;
  if (record.actorId !== undefined) r.actorId = record.actorId;
  return r;
}
