/**
 * One wray node: the object store, the local scheduler and the isolate
 * pool of a host, and the glue between them — turning submissions into
 * task records, results into sealed objects, and isolates' blocking calls
 * into replies.
 *
 * Everything here runs on the host thread. Nothing blocks: isolates wait in
 * their own threads, and the host answers them when it can.
 */
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { readFileSync } from "node:fs";
import { decode, encode } from "@msgpack/msgpack";
import type { TaskId } from "../common/ids.js";
import { keyToBytes, keyToHex, objectKey } from "../common/ids.js";
import { mayHoldRefs, nestedRefs, readArrayHeader, refAt, skipValue } from "../common/msgpack-walk.js";
import type { Executor, FunctionStats, ResourceRequest, TaskSpec } from "../scheduler/index.js";
import { LocalScheduler, shapeOf } from "../scheduler/index.js";
import type { ArenaRef, ObjectEntry } from "../store/index.js";
import { Arena, FAILED, INLINE_MAX, ObjectStore, PENDING, SpillFiles } from "../store/index.js";
import type { GpuDevice, GpuErrorCode } from "../gpu/index.js";
import { GpuError, GpuSession, HostGpu } from "../gpu/index.js";
import type { PreparedComponent } from "./component.js";
import { GpuCalls } from "./gpu-calls.js";
import type { GuestSourceMap } from "./source-map.js";
import { remapStack } from "./source-map.js";
import type { ActorOptionsResolved, ActorRecord } from "./actors.js";
import { ActorManager } from "./actors.js";
import { ActorNotFoundError, GuestTrapError, IsolateDiedError, TaskError, TaskTimeoutError, UnknownFunctionError } from "./errors.js";
import type { TrapKind } from "./isolate/guest.js";
import type { GpuCall, PoolEvents } from "./isolate/pool.js";
import { IsolatePool } from "./isolate/pool.js";
import type { LogLevel, Piece } from "./isolate/protocol.js";
import type { LogRecord } from "./log.js";
import { printLog } from "./log.js";
import { GPU_DESTROY, KIND_CONSTRUCT, KIND_METHOD, KIND_TASK, LOG_LEVELS, STATUS_FAILED, STATUS_OK, STATUS_TRAP, UNREADABLE_SEGMENT } from "./isolate/protocol.js";

/** What a node asks of its cluster membership (host/cluster.ts implements it). */
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
  /** A guest's log record, from a task of driver `job`'s program: sent to that driver. */
  forwardLog(job: string, record: LogRecord): void;
}

export interface NodeOptions {
  /** CPUs this node offers to tasks. Default: the machine's cores. */
  numCpus?: number;
  /** GPUs this node offers. Default: 1 when it has a GPU device (`gpu`), else 0. */
  numGpus?: number;
  /**
   * The host's GPU device (`GpuDevice.open`), which the node then owns and
   * closes; a HostGpu (one that opens on first use); or why there is none,
   * for the errors of guests that ask for it. `init()` and `wray start`
   * find one by themselves.
   */
  gpu?: GpuDevice | HostGpu | string;
  /** Custom resources, e.g. `{ memoryBound: 2 }`. */
  resources?: Record<string, number>;
  /** Isolates started at once and kept. Default: numCpus (at least 1). */
  numIsolates?: number;
  /** Most isolates (blocked ones included). Default: max(16, 4 × numIsolates). */
  maxIsolates?: number;
  /** Bytes of shared memory for large objects. Default: 30% of RAM. */
  objectStoreMemory?: number;
  /**
   * Where objects are spilled when the store is full (a directory of this
   * process's own is made in it, and removed at shutdown). Default: the
   * system's temporary directory.
   */
  objectSpillingDirectory?: string;
  /** Spill to disk under pressure (default true); when false a full store refuses new objects. */
  objectSpilling?: boolean;
  /** How long a waiting thread spins before it sleeps, ms. Default 0.1. */
  spinMs?: number;
  /** Isolates beyond `numIsolates` are stopped after this long idle, ms. Default 10000. */
  idleIsolateTimeoutMs?: number;
  /**
   * Where log records go: what guests print (and, on a cluster, what the
   * driver's tasks and actors print on other nodes) and what wray says.
   * Default: one line each on the console (`formatLog`).
   */
  log?: (record: LogRecord) => void;
}

/** Options of a task, as `fn(name, options)` and `.options()` take them. */
export interface TaskOptions extends ResourceRequest {
  /** How many ObjectRefs `remote` returns (the task returns an array of that length). Default 1. */
  numReturns?: number;
  /** Runs left after the isolate running it crashes. Default 3. */
  maxRetries?: number;
  /** Stops the task (and its isolate) after this long. Default: no limit. */
  timeoutMs?: number;
}

/** One exported function as the host tracks it. */
export interface FunctionInfo {
  readonly name: string;
  /** The name as UTF-8, for task records. */
  readonly nameBytes: Uint8Array;
  readonly stats: FunctionStats;
  /** The most arguments it takes, if the guest said (Infinity otherwise): see ComponentManifest.maxArgs. */
  readonly maxArgs: number;
}

export interface ComponentRecord {
  readonly index: number;
  readonly source: string;
  readonly prepared: PreparedComponent;
  readonly functions: Map<string, FunctionInfo>;
}

interface Execution {
  task: TaskSpec;
  iso: number;
  /** Refs a running guest made (children, puts): released when it finishes. */
  owned: string[] | undefined;
  /** Arena blocks that carry the task's arguments (freed when it finishes). */
  blocks: ArenaRef[] | undefined;
  timedOut: boolean;
  /** Lent to a waiting isolate (runs nested), rather than sent through its ring. */
  lent: boolean;
  /** Objects pinned for it (arguments in shared memory, values its gets returned), unpinned when it ends. */
  pinned: ObjectEntry[] | undefined;
  /** The object store's refusal (no room for its arguments or results): what it fails with, if it fails. */
  storeError: Error | undefined;
  /** A task's GPU buffers and kernels (actors keep theirs per isolate, in HostNode.#actorGpu). */
  gpu: GpuSession | undefined;
  /** Where its record is in the isolate's ring (-1: lent, not sent), to take it back unstarted. */
  ringPos: number;
}

const GET = 0;
const WAIT = 1;
/** A wait for resources that actors hold is logged once it has lasted this long, ms. */
const STALL_LOG_MS = 1000;

/** A blocking `get`/`wait` of an isolate. */
interface PendingCall {
  kind: typeof GET | typeof WAIT;
  iso: number;
  slot: number;
  ids: string[];
  numReturns: number;
  /** true once the isolate was lent a task and has not resumed yet */
  lent: boolean;
  blocked: boolean;
  timedOut: boolean;
  timeoutMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  watched: Set<string> | undefined;
  /** Objects not sealed yet, as of the last look (sealing counts it down). */
  unready: number;
  onSealed: () => void;
}

const textEncoder = new TextEncoder();

export class HostNode implements Executor, PoolEvents {
  readonly store: ObjectStore;
  readonly scheduler: LocalScheduler;
  readonly pool: IsolatePool;
  readonly actors: ActorManager;
  readonly numCpus: number;
  /** The host's GPU device, when it has one. */
  /** The host's GPU (opened at start, or on first use, or absent). */
  readonly gpu: HostGpu;
  readonly #gpuCalls: GpuCalls;
  /** Actors' GPU sessions, by the actor's isolate: they live as long as the actor. */
  readonly #actorGpu = new Map<number, GpuSession>();
  /** Set when this node is part of a cluster (host/cluster.ts): submissions and foreign objects go through it. */
  cluster: ClusterLink | undefined;
  readonly #log: (record: LogRecord) => void;
  readonly #components: ComponentRecord[] = [];
  readonly #execs: (Execution | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  /** Blocking calls per isolate: a task it runs nested while it waits may block too. */
  readonly #calls = new Map<number, PendingCall[]>();
  readonly #minIsolates: number;
  #timed = 0;
  /** Executions sent or lent to isolates that have not reported back yet. */
  #inFlight = 0;
  /** Of those, the ones blocked in a GPU call. */
  #gpuWaiting = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  readonly #reaper: ReturnType<typeof setInterval>;
  readonly #idleIsolateMs: number;
  readonly #watch = new Map<number, { seq: number; since: number }>();
  #closed = false;

  constructor(options: NodeOptions = {}) {
    const numCpus = options.numCpus ?? hostCores();
    this.numCpus = numCpus;
    const resources: Record<string, number> = { CPU: numCpus, ...(options.resources ?? {}) };
    const g = options.gpu;
    this.gpu = g instanceof HostGpu ? g : typeof g === "object" ? HostGpu.opened(g) : HostGpu.none(g ?? "it was started without one");
    const numGpus = options.numGpus ?? (this.gpu.present ? 1 : 0);
    if (numGpus) resources.GPU = numGpus;
    const capacity = options.objectStoreMemory ?? Math.floor(totalmem() * 0.3);
    if (typeof capacity !== "number" || !(capacity >= 1 << 20) || !Number.isFinite(capacity)) {
      throw new RangeError(`objectStoreMemory must be a number of bytes >= 1 MiB, got ${options.objectStoreMemory}`);
    }
    const spillDir = options.objectSpillingDirectory ?? tmpdir();
    if (typeof spillDir !== "string" || spillDir.length === 0) throw new TypeError("objectSpillingDirectory must be a non-empty path");
    const spill = options.objectSpilling === false ? undefined : new SpillFiles(spillDir);
    this.store = new ObjectStore(new Arena({ capacity: Math.floor(capacity) }), { spill });
    this.#gpuCalls = new GpuCalls(this.gpu, this.store);
    this.scheduler = new LocalScheduler(this.store, this, { resources });
    this.#minIsolates = options.numIsolates ?? Math.max(1, Math.ceil(numCpus));
    this.pool = new IsolatePool(
      {
        min: this.#minIsolates,
        max: options.maxIsolates ?? Math.max(16, 4 * this.#minIsolates),
        spinMs: options.spinMs ?? 0.1,
        cores: hostCores(),
        inlineMax: INLINE_MAX,
        maxHeapMb: 1024,
      },
      this,
      this.store.arena,
    );
    this.actors = new ActorManager({
      store: this.store,
      scheduler: this.scheduler,
      startIsolate: () => this.pool.startDedicated(),
      stopIsolate: (iso) => this.pool.terminate(iso),
      discardUnread: (iso) => this.pool.discardUnread(iso),
      send: (iso, task) => this.send(iso, task),
      reject: (task, error) => this.reject(task, error),
      actorDied: (r) => this.cluster?.actorDied(r),
    });
    this.#log = options.log ?? printLog;
    this.#idleIsolateMs = options.idleIsolateTimeoutMs ?? 10_000;
    if (!(this.#idleIsolateMs >= 0)) throw new RangeError(`idleIsolateTimeoutMs must be >= 0, got ${options.idleIsolateTimeoutMs}`);
    this.#reaper = setInterval(() => {
      for (const iso of this.scheduler.retireIdle(this.#idleIsolateMs, this.#minIsolates)) this.pool.terminate(iso);
      this.#logStalls();
    }, Math.max(50, Math.min(STALL_LOG_MS / 2, this.#idleIsolateMs / 2)));
    this.#reaper.unref();
  }

  start(): void {
    this.pool.start();
  }

  /**
   * Says once, in the log, when a task or actor has waited `STALL_LOG_MS`
   * for resources that actors hold (they come back only when those actors
   * die; meanwhile other work runs). Waits for running tasks to finish
   * resolve by themselves and are only in `stats()`.
   */
  #logStalls(): void {
    for (const w of this.scheduler.stalls(STALL_LOG_MS)) {
      if (!w.heldByActors) continue;
      const lacks = w.shortfall.map((s) => `${s.resource} (needs ${s.needs}, ${s.available} of ${s.total} free, held by ${s.heldBy.join(", ") || "nobody"})`);
      const who = w.count > 1 ? `${w.what} and ${w.count - 1} more like it` : w.what;
      this.#say(`${who} has waited ${(w.waitingMs / 1000).toFixed(1)} s for ${lacks.join(" and ")}; it runs when they are released, and other work runs meanwhile`);
    }
  }

  // ---- components ----------------------------------------------------------------

  addComponent(prepared: PreparedComponent, source: string): ComponentRecord {
    const existing = this.#components.find((c) => c.prepared.hash === prepared.hash);
    if (existing) return existing;
    const rec: ComponentRecord = { index: this.#components.length, source, prepared, functions: new Map() };
    this.#components.push(rec);
    this.pool.addComponent({ index: rec.index, glue: prepared.glue, modules: prepared.modules });
    return rec;
  }

  /** The component with this hash, if loaded here. */
  componentByHash(hash: string): ComponentRecord | undefined {
    return this.#components.find((c) => c.prepared.hash === hash);
  }

  component(index: number): ComponentRecord {
    const c = this.#components[index];
    if (!c) throw new RangeError(`no component ${index}`);
    return c;
  }

  /** The host's record of function `name` of `c` (made on first use). */
  functionInfo(c: ComponentRecord, name: string): FunctionInfo {
    let f = c.functions.get(name);
    if (!f) c.functions.set(name, (f = { name, nameBytes: textEncoder.encode(name), stats: { avgMs: NaN }, maxArgs: c.prepared.manifest.maxArgs[name] ?? Infinity }));
    return f;
  }

  // ---- submission ---------------------------------------------------------------------

  /**
   * Makes a spec from a submission. The caller has already made the return
   * objects (taking one reference each for its handles); this takes the
   * task's own references on its arguments.
   */
  makeTask(
    c: ComponentRecord,
    fn: FunctionInfo,
    taskId: TaskId,
    args: Uint8Array,
    deps: string[] | undefined,
    nested: string[] | undefined,
    options: ResolvedOptions,
    nestedSubmit: boolean,
    returnIds: string[],
    returns: ObjectEntry[],
    kind = KIND_TASK,
  ): TaskSpec {
    if (deps) for (const d of deps) this.store.addRef(d);
    if (nested) for (const d of nested) this.store.addRef(d);
    return {
      taskId,
      name: fn.name,
      nameBytes: fn.nameBytes,
      stats: fn.stats,
      component: c.index,
      kind,
      args,
      deps,
      nested,
      numReturns: options.numReturns,
      returnIds,
      returns,
      shape: options.shape,
      retriesLeft: options.maxRetries,
      timeoutMs: options.timeoutMs,
      nestedSubmit,
      unresolved: 0,
      seq: 0,
      slot: -1,
      parent: undefined,
      onDone: undefined,
      job: undefined,
    };
  }

  /** Submits a task: to this node's scheduler, or, in a cluster, wherever the cluster node decides. */
  submit(task: TaskSpec): void {
    if (this.cluster) this.cluster.submit(task);
    else this.scheduler.submit(task);
  }

  /** Drops the references a task holds on its arguments. */
  releaseArgs(task: TaskSpec): void {
    if (task.deps) for (const d of task.deps) this.store.release(d);
    if (task.nested) for (const d of task.nested) this.store.release(d);
  }

  // ---- Executor --------------------------------------------------------------------------

  #slot(e: Execution): number {
    const s = this.#freeSlots.pop();
    if (s !== undefined) {
      this.#execs[s] = e;
      return s;
    }
    this.#execs.push(e);
    return this.#execs.length - 1;
  }

  #freeSlot(slot: number): void {
    const exec = this.#execs[slot];
    if (exec && exec.task.slot === slot) exec.task.slot = -1;
    this.#execs[slot] = undefined;
    this.#freeSlots.push(slot);
  }

  /**
   * The task's arguments as pieces (see #pieces). When the store cannot
   * provide them (no room to read one back or to gather them), a piece
   * that fails the task in the isolate, in its place in the pipeline.
   */
  #argPieces(task: TaskSpec, exec: Execution, maxRecord: number): Piece[] {
    try {
      return this.#pieces(task, exec, maxRecord);
    } catch (err) {
      exec.storeError = err as Error;
      return [{ seg: UNREADABLE_SEGMENT, off: 0, len: 0 }];
    }
  }

  /**
   * Keeps `e` in shared memory until `exec` ends, reading it back first if
   * it was spilled (objects inline need nothing). Throws what the store
   * throws when it cannot.
   */
  #pinFor(exec: Execution, e: ObjectEntry): void {
    if (e.arena === undefined && e.spill === undefined) return;
    this.store.pin(e);
    (exec.pinned ??= []).push(e);
  }

  /**
   * The task's arguments as pieces: top-level ObjectRef arguments replaced
   * by their values (inline bytes, or the arena block), the rest as spans
   * of the encoded array. Arguments too big for a record go to the arena.
   */
  #pieces(task: TaskSpec, exec: Execution, maxRecord: number): Piece[] {
    const args = task.args;
    let pieces: Piece[];
    if (task.deps === undefined) pieces = [args];
    else {
      pieces = [];
      const { count, start } = readArrayHeader(args, 0);
      let spanStart = 0;
      let p = start;
      for (let i = 0; i < count; i++) {
        const id = refAt(args, p);
        const end = skipValue(args, p);
        if (id !== undefined) {
          if (p > spanStart) pieces.push(args.subarray(spanStart, p));
          const e = this.store.entry(id)!;
          this.#pinFor(exec, e);
          pieces.push(e.arena ?? e.bytes!);
          spanStart = end;
        }
        p = end;
      }
      if (p > spanStart) pieces.push(args.subarray(spanStart, p));
    }
    let inline = 0;
    for (const x of pieces) if (x instanceof Uint8Array) inline += x.length;
    if (inline + 64 * pieces.length + task.nameBytes.length + 64 <= maxRecord) return pieces;
    // too big for one record: gather the arguments into one arena block
    let total = 0;
    for (const x of pieces) total += x instanceof Uint8Array ? x.length : x.len;
    const ref = this.store.alloc(total);
    const view = this.store.arena.view(ref);
    let at = 0;
    for (const x of pieces) {
      const src = x instanceof Uint8Array ? x : this.store.arena.view(x);
      view.set(src, at);
      at += src.length;
    }
    (exec.blocks ??= []).push(ref);
    return [ref];
  }

  send(iso: number, task: TaskSpec): boolean {
    const exec: Execution = { task, iso, owned: undefined, blocks: undefined, timedOut: false, lent: false, pinned: undefined, storeError: undefined, gpu: undefined, ringPos: -1 };
    const slot = this.#slot(exec);
    const pos = this.pool.sendTask(iso, slot, task, this.#argPieces(task, exec, this.pool.maxRecord(iso)));
    if (pos < 0) {
      this.#freeBlocks(exec);
      this.#freeSlot(slot);
      return false;
    }
    exec.ringPos = pos;
    task.slot = slot;
    this.#inFlight++;
    if (task.timeoutMs > 0) this.#startWatchdog();
    return true;
  }

  #top(iso: number): PendingCall | undefined {
    const stack = this.#calls.get(iso);
    return stack?.[stack.length - 1];
  }

  lend(iso: number, task: TaskSpec): void {
    const call = this.#top(iso);
    const exec: Execution = { task, iso, owned: undefined, blocks: undefined, timedOut: false, lent: true, pinned: undefined, storeError: undefined, gpu: undefined, ringPos: -1 };
    const slot = this.#slot(exec);
    task.slot = slot;
    this.#inFlight++;
    if (call) call.lent = true;
    if (task.timeoutMs > 0) this.#startWatchdog();
    this.pool.replyRun(iso, slot, task, this.#argPieces(task, exec, 1 << 30));
  }

  grow(): boolean {
    return this.pool.grow();
  }

  steal(iso: number, task: TaskSpec): boolean {
    const exec = this.#execs[task.slot];
    if (exec === undefined || exec.task !== task || exec.iso !== iso || exec.ringPos < 0) return false;
    if (!this.pool.steal(iso, exec.ringPos)) return false;
    // it never started: nothing of it ran, so the task itself goes on (elsewhere)
    this.#freeSlot(task.slot);
    this.#abandon(exec);
    return true;
  }

  canLend(iso: number, task: TaskSpec): boolean {
    return this.pool.hasLoaded(iso, task.component);
  }

  reject(task: TaskSpec, error: Error): void {
    for (const e of task.returns) this.store.fail(e, error);
    this.releaseArgs(task);
    task.onDone?.(task);
  }

  /** Frees the argument blocks of `exec` and ends its pins. */
  #freeBlocks(exec: Execution): void {
    if (exec.blocks) for (const b of exec.blocks) this.store.arena.free(b);
    exec.blocks = undefined;
    if (exec.pinned) for (const e of exec.pinned) this.store.unpin(e);
    exec.pinned = undefined;
  }

  // ---- PoolEvents -----------------------------------------------------------------------------

  /**
   * Results are on their way: keep the host awake for a moment after each
   * event rather than paying a thread wake-up per batch (the pool's spin is
   * bounded by spinMs after the last event, so long tasks cost little).
   */
  expectingSoon(): boolean {
    // a task waiting on the GPU answers nothing soon, and spinning for it
    // takes the CPU that Dawn (and a software adapter) needs to get it done
    return this.#inFlight > this.#gpuWaiting;
  }

  isolateReady(iso: number): void {
    this.scheduler.addIsolate(iso);
  }

  loaded(_iso: number, component: number, ok: boolean, message: string): void {
    if (!ok) this.#say(`an isolate failed to load ${this.#components[component]?.source ?? component}: ${message}`);
  }

  result(iso: number, slot: number, status: number, ms: number, values: Piece[] | undefined, detail: Uint8Array | undefined): void {
    const exec = this.#execs[slot];
    if (!exec) return;
    this.#freeSlot(slot);
    const task = exec.task;
    const returns = task.returns;
    const actor = task.kind === KIND_TASK ? undefined : this.actors.onIsolate(iso);
    let err: Error | undefined;
    if (status === STATUS_OK) {
      for (let i = 0; i < returns.length; i++) {
        const v = values![i]!;
        if (v instanceof Uint8Array) this.store.sealInline(returns[i]!, v, nestedOrUndefined(v));
        else this.store.sealArena(returns[i]!, v, nestedOrUndefined(this.store.arena.view(v)));
      }
    } else {
      const name = actor && task.kind === KIND_METHOD ? `${actor.className}.${task.name}` : task.name;
      if (actor?.death && task.kind === KIND_METHOD) err = actor.death; // a call behind a failed constructor
      else if (exec.storeError) err = exec.storeError; // the store had no room for its arguments or results
      else if (status === STATUS_FAILED) err = failureToError(name, detail!, this.#components[task.component]?.prepared.sourceMap);
      else err = trapOrHostError(name, status, detail!);
      for (const e of returns) this.store.fail(e, err);
    }
    this.#finish(exec);
    if (task.kind === KIND_TASK) this.scheduler.finished(iso, task, ms);
    else this.actors.finished(iso, task, err, status === STATUS_TRAP);
    task.onDone?.(task);
  }

  /** `exec` is over: its task's references on its arguments go too. */
  #finish(exec: Execution): void {
    this.#abandon(exec);
    this.releaseArgs(exec.task);
  }

  /**
   * Ends an execution but not its task (which may run again elsewhere):
   * frees its argument blocks, ends its pins, drops the refs its guest made.
   */
  #abandon(exec: Execution): void {
    this.#inFlight--;
    exec.gpu?.close();
    exec.gpu = undefined;
    this.#freeBlocks(exec);
    if (exec.owned) for (const id of exec.owned) this.store.release(id);
    exec.owned = undefined;
    if (exec.task.timeoutMs > 0) this.#timed--;
  }

  /** A guest's argument bytes (large ones came through the arena: keep a private copy). */
  #guestBytes(args: Piece): Uint8Array {
    if (args instanceof Uint8Array) return args;
    const bytes = this.store.arena.view(args).slice();
    this.store.arena.free(args);
    return bytes;
  }

  /**
   * What every guest submission needs: its options, the refs in its
   * arguments, and its return objects (owned by the submitting task).
   * `failure` says what is wrong with it, if anything.
   */
  #guestParts(parent: Execution, what: string, taskId: TaskId, numReturns: number, bytes: Uint8Array, options: Uint8Array) {
    let failure: Error | undefined;
    let raw: unknown = {};
    try {
      raw = options.length > 0 ? decode(options) : {};
    } catch (e) {
      failure = new TypeError(`${what}: options are not valid MessagePack (${(e as Error).message})`);
    }
    let deps: string[] | undefined;
    let nested: string[] | undefined;
    try {
      ({ deps, nested } = argRefs(bytes));
    } catch (e) {
      failure = new TypeError(`${what} was submitted with malformed arguments: ${(e as Error).message}`);
    }
    const owned = (parent.owned ??= []);
    const returnIds = new Array<string>(numReturns);
    const returns = new Array<ObjectEntry>(numReturns);
    for (let i = 0; i < numReturns; i++) {
      const id = objectKey(taskId, i + 1);
      returnIds[i] = id;
      returns[i] = this.store.expect(id, 1);
      owned.push(id);
    }
    return { raw, deps: failure ? undefined : deps, nested: failure ? undefined : nested, returnIds, returns, failure };
  }

  guestSubmit(_iso: number, parentSlot: number, numReturns: number, taskId: TaskId, name: string, args: Piece, options: Uint8Array): void {
    const parent = this.#execs[parentSlot];
    const bytes = this.#guestBytes(args);
    if (!parent) return;
    const c = this.#components[parent.task.component]!;
    const p = this.#guestParts(parent, `task '${name}'`, taskId, numReturns, bytes, options);
    let failure = p.failure;
    let opts = DEFAULT_RESOLVED;
    try {
      opts = resolveOptions(p.raw);
      if (opts.numReturns !== numReturns) throw new RangeError("numReturns disagrees with the isolate's");
    } catch (e) {
      failure ??= e instanceof Error ? e : new Error(String(e));
      opts = { ...DEFAULT_RESOLVED, numReturns };
    }
    if (!failure && !c.prepared.manifest.tasks.includes(name)) {
      failure = new UnknownFunctionError("task", name, c.source, c.prepared.manifest.tasks);
    }
    const task = this.makeTask(c, this.functionInfo(c, name), taskId, bytes, failure ? undefined : p.deps, failure ? undefined : p.nested, opts, true, p.returnIds, p.returns);
    task.parent = parent.task;
    task.job = parent.task.job;
    if (failure) this.reject(task, failure);
    else this.submit(task);
  }

  // ---- actors ----------------------------------------------------------------------------------

  /**
   * Creates an actor of class `className` of `c` whose ID is `actorId`
   * (its constructor call's task ID). Throws ActorNameTakenError for a name
   * in use; the caller has checked the class.
   */
  createActor(
    c: ComponentRecord,
    className: string,
    actorId: TaskId,
    args: Uint8Array,
    deps: string[] | undefined,
    nested: string[] | undefined,
    options: ActorOptionsResolved,
    job?: string,
  ): ActorRecord {
    this.actors.checkName(options.name);
    const ctor = this.#constructorCall(c, className, actorId, args, deps, nested);
    ctor.job = job;
    return this.actors.create(ctor, new Set(c.prepared.manifest.actors[className] ?? []), options);
  }

  #constructorCall(c: ComponentRecord, className: string, actorId: TaskId, args: Uint8Array, deps: string[] | undefined, nested: string[] | undefined): TaskSpec {
    return this.makeTask(c, this.functionInfo(c, className), actorId, args, deps, nested, NO_RETURNS, false, [], [], KIND_CONSTRUCT);
  }

  /** Queues a call of `method` on actor `r` (its results already exist). */
  callActor(
    r: ActorRecord,
    method: string,
    taskId: TaskId,
    args: Uint8Array,
    deps: string[] | undefined,
    nested: string[] | undefined,
    numReturns: number,
    returnIds: string[],
    returns: ObjectEntry[],
    onDone?: (task: TaskSpec) => void,
  ): void {
    const c = this.#components[r.component]!;
    const opts = numReturns === 1 ? DEFAULT_RESOLVED : { ...DEFAULT_RESOLVED, numReturns };
    const task = this.makeTask(c, this.functionInfo(c, method), taskId, args, deps, nested, opts, false, returnIds, returns, KIND_METHOD);
    task.onDone = onDone;
    task.job = r.job;
    this.actors.call(r, task);
  }

  guestCreateActor(_iso: number, parentSlot: number, actorId: TaskId, cls: string, args: Piece, options: Uint8Array): void {
    const parent = this.#execs[parentSlot];
    const bytes = this.#guestBytes(args);
    if (!parent) return;
    const c = this.#components[parent.task.component]!;
    const p = this.#guestParts(parent, `actor ${cls}`, actorId, 0, bytes, options);
    let failure = p.failure;
    let opts: ActorOptionsResolved | undefined;
    try {
      opts = resolveActorOptions(p.raw);
      this.actors.checkName(opts.name);
    } catch (e) {
      failure ??= e instanceof Error ? e : new Error(String(e));
    }
    const known = c.prepared.manifest.actors;
    if (!failure && !(cls in known)) failure = new UnknownFunctionError("actor class", cls, c.source, Object.keys(known));
    const ctor = this.#constructorCall(c, cls, actorId, bytes, failure ? undefined : p.deps, failure ? undefined : p.nested);
    if (failure || !opts) this.actors.createDead(ctor, failure?.message ?? "bad options", failure ?? new Error("bad options"));
    else if (this.cluster) {
      this.releaseArgs(ctor); // the cluster makes the constructor call where the actor goes
      this.cluster.createActor(c, cls, actorId, bytes, p.deps, p.nested, opts, parent.task.job);
    } else this.actors.create(ctor, new Set(known[cls] ?? []), opts);
  }

  guestCallActor(_iso: number, parentSlot: number, numReturns: number, taskId: TaskId, actorKey: string, method: string, args: Piece, options: Uint8Array): void {
    const parent = this.#execs[parentSlot];
    const bytes = this.#guestBytes(args);
    if (!parent) return;
    const r = this.actors.get(actorKey);
    const p = this.#guestParts(parent, `${r?.className ?? "actor"}.${method}`, taskId, numReturns, bytes, options);
    let failure = p.failure;
    if (!r && !failure && this.cluster?.callActor(actorKey, method, taskId, bytes, p.deps, p.nested, numReturns, p.returnIds, p.returns)) return;
    if (!r) failure ??= new ActorNotFoundError(`with ID ${keyToHex(actorKey)}`);
    else if (r.state !== "dead" && !r.methods.has(method)) failure ??= new UnknownFunctionError("method", method, `actor class ${r.className}`, [...r.methods]);
    if (failure || !r) {
      const c = this.#components[parent.task.component]!;
      const task = this.makeTask(c, this.functionInfo(c, method), taskId, bytes, undefined, undefined, { ...DEFAULT_RESOLVED, numReturns }, false, p.returnIds, p.returns, KIND_METHOD);
      this.reject(task, failure ?? new Error("unknown actor"));
      return;
    }
    this.callActor(r, method, taskId, bytes, p.deps, p.nested, numReturns, p.returnIds, p.returns);
  }

  alloc(_iso: number, slot: number, len: number): ArenaRef {
    try {
      return this.store.alloc(len);
    } catch (err) {
      // if the task fails for it, it fails with this error
      const exec = this.#execs[slot];
      if (exec) exec.storeError = err as Error;
      throw err;
    }
  }

  getActor(iso: number, _slot: number, name: string): void {
    const r = this.actors.byName(name);
    if (r || !this.cluster) {
      this.pool.replyActor(iso, r ? keyToBytes(r.key) : undefined);
      return;
    }
    // the isolate waits for the answer; the control store knows the cluster's names
    this.cluster.actorByName(name).then(
      (key) => this.pool.replyActor(iso, key !== undefined ? keyToBytes(key) : undefined),
      () => this.pool.replyActor(iso, undefined),
    );
  }

  /** A guest's GPU call: answered when the device has done it (the isolate sleeps meanwhile). */
  gpuCall(iso: number, call: GpuCall): void {
    const exec = this.#execs[call.slot];
    if (call.op === GPU_DESTROY) {
      if (exec) (exec.task.kind === KIND_TASK ? exec.gpu : this.#actorGpu.get(iso))?.destroyBuffer(call.a);
      return;
    }
    if (!exec) {
      // the task is gone (timed out): its isolate is being stopped
      if (call.piece && !(call.piece instanceof Uint8Array)) this.store.arena.free(call.piece);
      return;
    }
    const session = this.#gpuSession(exec, iso);
    this.pool.parked(iso);
    this.#gpuWaiting++;
    const alive = () => this.#execs[call.slot] === exec;
    this.#gpuCalls
      .answer(session, call, {
        taskId: exec.task.taskId,
        alive,
        keepBlock: (ref) => (exec.blocks ??= []).push(ref),
        own: (id) => (exec.owned ??= []).push(id),
        want: (id) => {
          if (!this.cluster) return false;
          this.cluster.want(id);
          (exec.owned ??= []).push(id);
          return true;
        },
      })
      .then((a) => {
        this.#gpuWaiting--;
        if (alive()) this.pool.replyGpu(iso, a.code, a.value, a.piece);
      });
  }

  /** The GPU session of the task `exec` runs, or of the actor whose isolate `iso` is. */
  #gpuSession(exec: Execution, iso: number): GpuSession {
    if (exec.task.kind === KIND_TASK) return (exec.gpu ??= new GpuSession());
    let s = this.#actorGpu.get(iso);
    if (!s) this.#actorGpu.set(iso, (s = new GpuSession()));
    return s;
  }

  put(_iso: number, slot: number, index: number, value: Piece): void {
    const exec = this.#execs[slot];
    if (!exec) {
      if (!(value instanceof Uint8Array)) this.store.arena.free(value);
      return;
    }
    const id = objectKey(exec.task.taskId, index);
    this.store.expect(id, 1);
    (exec.owned ??= []).push(id);
    if (value instanceof Uint8Array) this.store.sealInline(id, value, nestedOrUndefined(value));
    else this.store.sealArena(id, value, nestedOrUndefined(this.store.arena.view(value)));
  }

  log(iso: number, slot: number, level: number, message: string): void {
    const task = this.#execs[slot]?.task;
    const actor = this.actors.onIsolate(iso);
    const job = task?.job;
    for (const text of message.split("\n")) {
      const r: LogRecord = { level: LOG_LEVELS[level] ?? "info", source: "guest", text, task: task?.name ?? "?" };
      if (actor) {
        r.actor = actor.className;
        r.actorId = keyToHex(actor.key);
      }
      // here, in this host's own log, and at the driver whose program it is
      this.#log(r);
      if (job !== undefined) this.cluster?.forwardLog(job, r);
    }
  }

  /** A record from elsewhere (a guest on another node, for this driver), or wray's own line. */
  emitLog(record: LogRecord): void {
    this.#log(record);
  }

  #say(line: string, level: LogLevel = "info"): void {
    this.#log({ level, source: "wray", text: line });
  }

  // ---- blocking calls of isolates ----------------------------------------------------------------

  get(iso: number, slot: number, ids: string[], timeoutMs: number): void {
    this.#call(GET, iso, slot, ids, 0, timeoutMs);
  }

  wait(iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void {
    this.#call(WAIT, iso, slot, ids, Math.min(numReturns, ids.length), timeoutMs);
  }

  #call(kind: typeof GET | typeof WAIT, iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void {
    if (this.cluster) {
      // objects of other nodes (refs that came in values): find them in the cluster, held until the task ends
      for (const id of ids) {
        if (this.store.entry(id) !== undefined) continue;
        this.cluster.want(id);
        const exec = this.#execs[slot];
        if (exec) (exec.owned ??= []).push(id);
        else this.store.release(id);
      }
    }
    const call: PendingCall = {
      kind,
      iso,
      slot,
      ids,
      numReturns,
      lent: false,
      blocked: false,
      timedOut: false,
      timeoutMs,
      timer: undefined,
      watched: undefined,
      unready: 0,
      onSealed: () => {
        // count down; look at the whole call again only once it may be answerable
        const left = --call.unready;
        const answerable = call.kind === GET ? left <= 0 : call.ids.length - left >= call.numReturns;
        if (answerable && this.#top(iso) === call && !call.lent) this.#evaluate(call);
      },
    };
    let stack = this.#calls.get(iso);
    if (!stack) this.#calls.set(iso, (stack = []));
    stack.push(call);
    if (timeoutMs >= 0) {
      call.timer = setTimeout(() => {
        call.timedOut = true;
        if (this.#top(iso) === call && !call.lent) this.#evaluate(call);
      }, timeoutMs);
    }
    this.#evaluate(call);
  }

  resume(iso: number, _slot: number): void {
    const call = this.#top(iso);
    if (!call) return;
    call.lent = false;
    this.#evaluate(call);
  }

  /** Answers the call if it can; otherwise helps or parks the isolate and watches the objects. */
  #evaluate(call: PendingCall): void {
    const unready: string[] = [];
    let ready = 0;
    for (const id of call.ids) {
      const e = this.store.entry(id);
      if (e === undefined || e.state !== PENDING) ready++;
      else unready.push(id);
    }
    const done = call.kind === GET ? unready.length === 0 : ready >= call.numReturns;
    if (done || call.timedOut) {
      this.#answer(call);
      return;
    }
    // a call with a deadline is not lent work: the task might outlast it
    const mayLend = call.timeoutMs < 0;
    let reclaimed: TaskSpec[];
    let help: TaskSpec | undefined;
    if (this.actors.onIsolate(call.iso)) ({ reclaimed, lend: help } = this.actors.blocked(call.iso, mayLend));
    else ({ reclaimed, help } = this.scheduler.blocked(call.iso, unready, !call.blocked, mayLend));
    call.blocked = true;
    if (reclaimed.length > 0) {
      this.pool.discardUnread(call.iso);
      this.#dropUnstarted(call.iso, reclaimed);
    }
    if (help) {
      this.lend(call.iso, help);
      return;
    }
    // parked: tell the isolate to stop spinning, and watch each missing object once
    this.pool.parked(call.iso);
    call.unready = unready.length;
    const w = (call.watched ??= new Set());
    for (const id of unready) {
      if (w.has(id)) continue;
      w.add(id);
      this.store.whenSealed(id, call.onSealed);
    }
  }

  /**
   * The isolate will skip these tasks (they were taken back to run
   * elsewhere): their executions end here, unpinning their arguments.
   */
  #dropUnstarted(iso: number, tasks: TaskSpec[]): void {
    const taken = new Set(tasks);
    for (let slot = 0; slot < this.#execs.length; slot++) {
      const exec = this.#execs[slot];
      if (!exec || exec.iso !== iso || exec.lent || !taken.has(exec.task)) continue;
      this.#freeSlot(slot);
      this.#abandon(exec);
    }
  }

  #answer(call: PendingCall): void {
    const stack = this.#calls.get(call.iso)!;
    stack.pop();
    if (stack.length === 0) this.#calls.delete(call.iso);
    if (call.timer) clearTimeout(call.timer);
    if (call.watched) for (const id of call.watched) this.store.unwatch(id, call.onSealed);
    if (call.kind === WAIT) {
      const idx: number[] = [];
      for (let i = 0; i < call.ids.length && idx.length < call.numReturns; i++) {
        const e = this.store.entry(call.ids[i]!);
        if (e === undefined || e.state !== PENDING) idx.push(i);
      }
      this.pool.replyIndices(call.iso, idx);
    } else {
      const values: Piece[] = [];
      let failure: Uint8Array | undefined;
      const exec = this.#execs[call.slot];
      for (const id of call.ids) {
        const e = this.store.entry(id);
        if (e === undefined) {
          failure = failureBytes({ code: "WRAY_OBJECT_LOST", name: "ObjectLostError", message: `object ${keyToHex(id)} was freed`, task: "", stack: "" });
          break;
        }
        if (e.state === PENDING) {
          failure = failureBytes({ code: "WRAY_GET_TIMEOUT", name: "GetTimeoutError", message: `get timed out after ${call.timeoutMs} ms`, task: "", stack: "" });
          break;
        }
        if (e.state === FAILED) {
          failure = errorToFailure(e.error);
          break;
        }
        // the isolate copies from shared memory after this returns: keep it there until the task ends
        try {
          if (exec) this.#pinFor(exec, e);
          else this.store.bytes(e);
        } catch (err) {
          failure = errorToFailure(err as Error);
          break;
        }
        values.push(e.arena ?? e.bytes!);
      }
      if (failure) this.pool.replyFailure(call.iso, failure);
      else this.pool.replyValues(call.iso, values);
    }
    if (call.blocked) this.scheduler.resumed(call.iso);
  }

  // ---- isolate failures ------------------------------------------------------------------------------

  isolateExited(iso: number, why: string): void {
    this.#actorGpu.get(iso)?.close();
    this.#actorGpu.delete(iso);
    for (const call of this.#calls.get(iso) ?? []) {
      if (call.timer) clearTimeout(call.timer);
      if (call.watched) for (const id of call.watched) this.store.unwatch(id, call.onSealed);
    }
    this.#calls.delete(iso);
    this.#watch.delete(iso);
    const death = this.actors.isolateExited(iso, why);
    if (death) {
      // an actor's calls are not retried elsewhere: its state died with it
      for (let slot = 0; slot < this.#execs.length; slot++) {
        const exec = this.#execs[slot];
        if (!exec || exec.iso !== iso) continue;
        this.#freeSlot(slot);
        this.#finish(exec);
        for (const e of exec.task.returns) this.store.fail(e, death);
        exec.task.onDone?.(exec.task);
      }
      return;
    }
    const running = this.scheduler.removeIsolate(iso);
    const retry: TaskSpec[] = [];
    for (let slot = 0; slot < this.#execs.length; slot++) {
      const exec = this.#execs[slot];
      if (!exec || exec.iso !== iso) continue;
      this.#freeSlot(slot);
      const task = exec.task;
      const wasRunning = running.includes(task);
      this.#abandon(exec);
      if (!wasRunning) {
        retry.push(task);
        continue;
      }
      if (exec.timedOut) this.reject(task, new TaskTimeoutError(task.name, task.timeoutMs));
      else if (task.retriesLeft > 0) {
        task.retriesLeft--;
        retry.push(task);
      } else this.reject(task, new IsolateDiedError(task.name, why));
    }
    if (retry.length > 0) this.scheduler.requeue(retry);
    if (!this.#closed && this.pool.size < this.#minIsolates) this.pool.grow();
  }

  // ---- timeouts ----------------------------------------------------------------------------------------

  #startWatchdog(): void {
    this.#timed++;
    if (this.#watchdog) return;
    this.#watchdog = setInterval(() => this.#checkTimeouts(), 20);
    this.#watchdog.unref();
  }

  #checkTimeouts(): void {
    if (this.#timed <= 0) {
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
      this.#watch.clear();
      return;
    }
    const now = performance.now();
    for (const iso of this.pool.isolates()) {
      const r = this.pool.running(iso);
      if (!r || r.slot < 0) {
        this.#watch.delete(iso);
        continue;
      }
      let w = this.#watch.get(iso);
      if (!w || w.seq !== r.seq) this.#watch.set(iso, (w = { seq: r.seq, since: now }));
      const exec = this.#execs[r.slot];
      if (!exec || exec.iso !== iso || exec.task.timeoutMs <= 0) continue;
      if (now - w.since > exec.task.timeoutMs) {
        exec.timedOut = true;
        this.pool.terminate(iso);
      }
    }
  }

  // ---- driver support ----------------------------------------------------------------------------------

  /** Handles pending isolate events now (the driver calls this while it spins). */
  poll(): number {
    return this.pool.poll();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reaper);
    if (this.#watchdog) clearInterval(this.#watchdog);
    for (const stack of this.#calls.values()) for (const call of stack) if (call.timer) clearTimeout(call.timer);
    this.#calls.clear();
    await this.pool.close();
    for (const s of this.#actorGpu.values()) s.close();
    this.#actorGpu.clear();
    this.gpu.close();
    this.store.close();
  }
}

// ---- the machine -------------------------------------------------------------------------------------------

let cores: number | undefined;

/**
 * The cores this process may use: the CPUs it may run on, capped by a
 * cgroup CPU quota (containers, CI runners), as Ray counts them. It is the
 * default `numCpus`, and bounds how many threads may spin (spin.ts).
 */
export function hostCores(): number {
  if (cores !== undefined) return cores;
  cores = availableParallelism();
  const quota = cgroupQuota();
  if (quota !== undefined) cores = Math.max(1, Math.min(cores, Math.ceil(quota)));
  return cores;
}

/** The cgroup CPU quota in cores (v2 `cpu.max`, else v1 `cfs_quota_us`), or undefined for none. */
function cgroupQuota(): number | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read("/sys/fs/cgroup/cpu.max")?.split(/\s+/);
  if (v2 && v2[0] !== "max" && Number(v2[0]) > 0 && Number(v2[1]) > 0) return Number(v2[0]) / Number(v2[1]);
  const q = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"));
  const p = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
  return q > 0 && p > 0 ? q / p : undefined;
}

// ---- options -----------------------------------------------------------------------------------------------

export interface ResolvedOptions {
  numReturns: number;
  maxRetries: number;
  timeoutMs: number;
  shape: ReturnType<typeof shapeOf>;
}

const DEFAULT_RESOLVED: ResolvedOptions = { numReturns: 1, maxRetries: 3, timeoutMs: 0, shape: shapeOf({}) };
/** A constructor call: no results, no retries (an actor's state cannot be rebuilt yet). */
const NO_RETURNS: ResolvedOptions = { numReturns: 0, maxRetries: 0, timeoutMs: 0, shape: shapeOf({}, 0) };

/** Options of an actor, as `mod.actor(name, options)` and `.options()` take them. */
export interface ActorOptions extends ResourceRequest {
  /** Registers the actor under this name (see `getActor`); names are unique while the actor lives. */
  name?: string;
  /** How many calls may run interleaved while earlier ones wait in `get` (default 1: one at a time). */
  maxConcurrency?: number;
  /**
   * "detached": on a cluster, the actor outlives the driver that made it
   * (find it by `name` from a later driver, end it with `kill`). Without
   * it an actor dies when its driver exits, as in Ray.
   */
  lifetime?: "detached";
}

const ACTOR_OPTION_KEYS = new Set(["name", "maxConcurrency", "lifetime", "numCpus", "numGpus", "resources"]);

/** Checks actor options (RangeError/TypeError naming the bad option). Actors hold 0 CPUs unless asked. */
export function resolveActorOptions(raw: unknown): ActorOptionsResolved {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object") throw new TypeError("actor options must be an object");
  const o = raw as ActorOptions;
  for (const k of Object.keys(o)) if (!ACTOR_OPTION_KEYS.has(k)) throw new TypeError(`unknown actor option '${k}'`);
  if (o.name !== undefined && (typeof o.name !== "string" || o.name.length === 0)) throw new TypeError("actor option 'name' must be a non-empty string");
  const maxConcurrency = o.maxConcurrency ?? 1;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 1000) {
    throw new RangeError(`maxConcurrency must be a whole number from 1 to 1000, got ${o.maxConcurrency}`);
  }
  if (o.lifetime !== undefined && o.lifetime !== "detached") throw new TypeError(`actor option 'lifetime' must be "detached" (or left out), got ${JSON.stringify(o.lifetime)}`);
  const r: ActorOptionsResolved = { name: o.name, maxConcurrency, shape: shapeOf(o, 0) };
  if (o.lifetime !== undefined) r.lifetime = o.lifetime;
  return r;
}

const OPTION_KEYS = new Set(["numReturns", "maxRetries", "timeoutMs", "numCpus", "numGpus", "resources"]);

/** Checks task options and normalizes them (RangeError/TypeError naming the bad option). */
export function resolveOptions(raw: unknown): ResolvedOptions {
  if (raw === undefined || raw === null) return DEFAULT_RESOLVED;
  if (typeof raw !== "object") throw new TypeError("task options must be an object");
  const o = raw as TaskOptions;
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new TypeError(`unknown task option '${k}'`);
  const numReturns = o.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 0 || numReturns > 10_000) throw new RangeError(`numReturns must be a whole number from 0 to 10000, got ${o.numReturns}`);
  const maxRetries = o.maxRetries ?? 3;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError(`maxRetries must be a whole number >= 0, got ${o.maxRetries}`);
  const timeoutMs = o.timeoutMs ?? 0;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`timeoutMs must be a number >= 0, got ${o.timeoutMs}`);
  const shape = shapeOf(o);
  if (numReturns === 1 && maxRetries === 3 && timeoutMs === 0 && shape === DEFAULT_RESOLVED.shape) return DEFAULT_RESOLVED;
  return { numReturns, maxRetries, timeoutMs, shape };
}

// ---- values and errors ------------------------------------------------------------------------------------------

/** The refs in an encoded argument array: top-level ones (resolved) and nested ones (kept alive). */
export function argRefs(args: Uint8Array): { deps: string[] | undefined; nested: string[] | undefined } {
  if (!mayHoldRefs(args)) return { deps: undefined, nested: undefined };
  const all = nestedRefs(args);
  if (all.length === 0) return { deps: undefined, nested: undefined };
  let deps: string[] | undefined;
  const { count, start } = readArrayHeader(args, 0);
  let p = start;
  for (let i = 0; i < count; i++) {
    const id = refAt(args, p);
    if (id !== undefined) (deps ??= []).push(id);
    p = skipValue(args, p);
  }
  let nested: string[] | undefined;
  if (!deps) nested = all;
  else {
    const top = [...deps];
    for (const id of all) {
      const i = top.indexOf(id);
      if (i >= 0) top.splice(i, 1);
      else (nested ??= []).push(id);
    }
  }
  return { deps, nested };
}

export function nestedOrUndefined(b: Uint8Array): string[] | undefined {
  if (!mayHoldRefs(b)) return undefined;
  const n = nestedRefs(b);
  return n.length > 0 ? n : undefined;
}

interface Failure {
  code?: string;
  name?: string;
  message?: string;
  task?: string;
  stack?: string;
}

function failureToError(taskName: string, bytes: Uint8Array, sourceMap: GuestSourceMap | undefined): TaskError {
  let f: Failure;
  try {
    f = (decode(bytes) ?? {}) as Failure;
  } catch {
    f = { message: "the guest reported a failure that is not valid MessagePack" };
  }
  const message = String(f.message ?? "failed");
  const stack = remapStack(String(f.stack ?? ""), sourceMap);
  if (f.code === "WRAY_UNKNOWN_FUNCTION") return new TaskError(taskName, "UnknownFunction", message, "");
  if (typeof f.code === "string" && f.code.startsWith("WRAY_GPU_")) {
    // a GPU call the guest did not catch: the typed error rides along as the cause
    const cause = f.code === "WRAY_GPU_BAD_ARGUMENT" ? new RangeError(message) : new GpuError(f.code as GpuErrorCode, message);
    return new TaskError(taskName, String(f.name ?? "GpuError"), message, stack, "WRAY_TASK_ERROR", cause);
  }
  if (f.code && f.code !== "WRAY_TASK_ERROR" && f.task !== undefined) {
    // a failure the guest received from the host (a failed argument, a timeout) and did not catch
    return new TaskError(taskName, String(f.name ?? f.code), message, stack);
  }
  return new TaskError(taskName, String(f.name ?? "Error"), message, stack);
}

function trapOrHostError(taskName: string, status: number, detail: Uint8Array): TaskError {
  const text = new TextDecoder().decode(detail);
  if (status === STATUS_TRAP) {
    const nl = text.indexOf("\n");
    return new GuestTrapError(taskName, text.slice(0, nl) as TrapKind, text.slice(nl + 1));
  }
  return new TaskError(taskName, "HostError", text, "");
}

function failureBytes(f: Required<Failure>): Uint8Array {
  return encode(f);
}

function errorToFailure(err: Error | undefined): Uint8Array {
  if (err instanceof TaskError) {
    return failureBytes({ code: err.code, name: err.guestName, message: err.message, task: err.taskName, stack: err.guestStack });
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return failureBytes({
    code: typeof code === "string" ? code : "WRAY_TASK_ERROR",
    name: err?.name ?? "Error",
    message: err?.message ?? "failed",
    task: "",
    stack: "",
  });
}
