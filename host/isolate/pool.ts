/**
 * The isolate pool of one host: starts and stops isolates (worker
 * threads), writes task records into their rings, answers their blocking
 * calls, and reads what they report, handing each event to the host.
 *
 * The host thread learns of new events in two ways: `poll()` (called by
 * the host while it spins waiting for a result it wants soon), and a
 * waiter on the shared host bell (`Atomics.waitAsync`), re-armed after each
 * wake-up, for everything else.
 *
 * This file's parts:
 *   options and events   PoolOptions, PoolEvents (what the node hears), GpuCall
 *   lifecycle            starting isolates (shared and dedicated), terminate, close
 *   components           loading a component into every isolate
 *   host → isolate       task records into rings, steal/discard, replies to blocking calls
 *   isolate → host       poll: each event record read (records.ts) and handed to PoolEvents
 *   the host bell        sleeping until an isolate rings, and the bounded spin before it
 */
import { MessageChannel, Worker } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import type { TaskId } from "../../common/ids.js";
import { ByteSlab } from "../../common/slab.js";
import type { Arena, ArenaRef } from "../../store/index.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ChannelSizes, RingReader, RingWriter } from "./channel.js";
import {
  ChannelMemory,
  DEFAULT_SIZES,
  HOST_AWAKE,
  HOST_BELL,
  HOST_BELL_BYTES,
  HOST_PARKED,
  ISOLATE_AWAKE,
  ISOLATE_BELL,
  ISOLATE_PARKED,
  REPLY_HEADER,
  REPLY_PARKED,
  REPLY_READY,
  REPLY_STATE,
  RUNNING_SEQ,
  RUNNING_SLOT,
  hostEnds,
} from "./channel.js";
import type { ControlMessage, IsolateInit, Piece, PieceView } from "./protocol.js";
import {
  GPU_FROM_BYTES,
  GPU_WRITE,
  R_PORT,
  T_CONTROL,
  T_STOLEN,
  T_TASK,
} from "./protocol.js";
import type { Layout } from "./records.js";
import * as R from "./records.js";
import type { SpinShared } from "./spin.js";
import { Spinner, awake, sleeping } from "./spin.js";

export interface PoolOptions {
  /** Isolates started up front and kept. */
  min: number;
  /** Most isolates at once (blocked ones included). */
  max: number;
  /** Bounded spin before a thread sleeps, in ms (0: sleep at once). */
  spinMs: number;
  /** Cores the host may use: spinning stops while more of its threads than that are awake (spin.ts). */
  cores: number;
  /** Largest value that travels inline in records. */
  inlineMax: number;
  /** Heap limit of each isolate's JavaScript (not its guests' linear memory). */
  maxHeapMb?: number;
  channelSizes?: ChannelSizes;
}

/** Isolates' lifecycle and results, delivered on the host thread (HostNode implements this). */
export interface PoolEvents {
  isolateReady(iso: number): void;
  isolateExited(iso: number, why: string): void;
  /** `values` for STATUS_OK, else `detail` (failure map, or trap/host-error text). */
  result(iso: number, slot: number, status: number, ms: number, values: Piece[] | undefined, detail: Uint8Array | undefined): void;
  loaded(iso: number, component: number, ok: boolean, message: string): void;
  /** True while an isolate will need the host again within microseconds (it runs a lent task). */
  expectingSoon(): boolean;
  /** Where guests' requests go. */
  readonly guests: GuestEvents;
}

/** What running guests ask of the host, delivered on the host thread (host/node/guest-calls.ts implements this). */
export interface GuestEvents {
  guestSubmit(iso: number, parentSlot: number, numReturns: number, taskId: TaskId, name: string, args: Piece, options: Uint8Array): void;
  /** Blocking: answer with replyValues, replyFailure, or replyRun (a task to run meanwhile). */
  get(iso: number, slot: number, ids: string[], timeoutMs: number): void;
  /** Blocking: answer with replyIndices, or replyRun. */
  wait(iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void;
  /** Blocking: the isolate ran the task it was lent and waits again. */
  resume(iso: number, slot: number): void;
  put(iso: number, slot: number, index: number, value: Piece): void;
  log(iso: number, slot: number, level: number, message: string): void;
  guestCreateActor(iso: number, parentSlot: number, actorId: TaskId, cls: string, args: Piece, options: Uint8Array): void;
  guestCallActor(iso: number, parentSlot: number, numReturns: number, taskId: TaskId, actorKey: string, method: string, args: Piece, options: Uint8Array): void;
  /** Blocking: answer with replyActor. */
  getActor(iso: number, slot: number, name: string): void;
  /** A GPU call (E_GPU's fields; `payload` is a copy of what follows them). Blocking but for GPU_DESTROY: answer with replyGpu. */
  gpuCall(iso: number, call: GpuCall): void;
  /** Shared memory for a value the task in `slot` writes (the store may spill to make room). Throws when it cannot. */
  alloc(iso: number, slot: number, len: number): ArenaRef;
}

/** One E_GPU record as the host hands it on: its fields, and the op's payload copied out of the ring. */
export interface GpuCall extends Omit<R.GpuRecord<Uint8Array>, "payload"> {
  /** The op's bytes piece (GPU_FROM_BYTES, GPU_WRITE), or its raw payload otherwise. */
  piece: Piece | undefined;
  payload: Uint8Array;
}

interface Handle {
  readonly id: number;
  readonly worker: Worker;
  readonly mem: ChannelMemory;
  readonly tasks: RingWriter;
  readonly events: RingReader;
  readonly port: MessagePort;
  /** T_CONTROL records still to write (the ring was full). */
  controlBacklog: number;
  exited: boolean;
  readonly loaded: Set<number>;
  /** Runs one actor; not one of the pool's task isolates. */
  readonly dedicated: boolean;
}

export interface ComponentImage {
  index: number;
  glue: string;
  modules: Record<string, WebAssembly.Module>;
}

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
/** E_GPU as the host reads it: the payload stays bytes (host/node/gpu-calls.ts reads it by op). */
const GPU_CALL = R.gpuCall(undefined);
const WORKER_URL = new URL("./worker.js", import.meta.url);

export class IsolatePool {
  readonly #options: PoolOptions;
  readonly #events: PoolEvents;
  readonly #arena: Arena;
  readonly #handles = new Map<number, Handle>();
  readonly #components: ComponentImage[] = [];
  readonly #bell: Int32Array;
  readonly #bellSab: SharedArrayBuffer;
  #nextId = 0;
  /** Task isolates (dedicated actor isolates are not counted). */
  #taskIsolates = 0;
  #parks = 0;
  #polling = false;
  #closed = false;
  /** Small values copied out of rings land here (see ByteSlab). */
  readonly #slab = new ByteSlab();
  readonly #spinShared: SpinShared;
  /** The host thread's spin policy (pollAwhile, and the driver's waits through `spin`). */
  readonly #spinner: Spinner;

  constructor(options: PoolOptions, events: PoolEvents, arena: Arena) {
    if (!(options.min >= 1) || !(options.max >= options.min)) throw new RangeError(`isolates: need 1 <= min <= max, got ${options.min}..${options.max}`);
    this.#options = options;
    this.#events = events;
    this.#arena = arena;
    this.#bellSab = new SharedArrayBuffer(HOST_BELL_BYTES);
    this.#bell = new Int32Array(this.#bellSab);
    this.#spinShared = { bell: this.#bell, awakeIdx: HOST_AWAKE, cores: options.cores };
    this.#spinner = new Spinner(this.#spinShared, options.spinMs);
    // the host thread counts itself awake until it parks on the bell
    awake(this.#spinShared);
    arena.setListener({
      segmentAdded: (id, sab) => this.#broadcast({ type: "segment", id, sab }, false),
      segmentDropped: (id) => this.#broadcast({ type: "drop-segment", id }, false),
    });
  }

  /** How many of this host's threads count themselves awake now (see spin.ts). */
  get awakeThreads(): number {
    return Atomics.load(this.#bell, HOST_AWAKE);
  }

  /** Task isolates running (actors' isolates are not counted). */
  get size(): number {
    return this.#taskIsolates;
  }

  /** Starts the minimum number of isolates and the host-bell waiter. */
  start(): void {
    for (let i = 0; i < this.#options.min; i++) this.#spawn(false);
    this.#armBell();
  }

  /** Starts one more isolate unless at the limit. */
  grow(): boolean {
    if (this.#closed || this.#taskIsolates >= this.#options.max) return false;
    this.#spawn(false);
    return true;
  }

  /** Starts an isolate of its own for one actor; returns its ID. */
  startDedicated(): number {
    if (this.#closed) throw new Error("the isolate pool is closed");
    return this.#spawn(true);
  }

  #spawn(dedicated: boolean): number {
    const id = this.#nextId++;
    const mem = ChannelMemory.create(this.#options.channelSizes ?? DEFAULT_SIZES);
    const { port1, port2 } = new MessageChannel();
    const init: IsolateInit = {
      id,
      channel: mem.sab,
      sizes: mem.sizes,
      hostBell: this.#bellSab,
      control: port2,
      segments: this.#arena.segments(),
      spinMs: this.#options.spinMs,
      cores: this.#options.cores,
      inlineMax: this.#options.inlineMax,
    };
    const worker = new Worker(WORKER_URL, {
      workerData: init,
      transferList: [port2],
      // options of its own, not the driver's: a driver run as `node
      // --input-type=module -e ...` (or under a loader) would otherwise start
      // every isolate with flags that make no sense for a worker's file
      execArgv: [],
      resourceLimits: this.#options.maxHeapMb ? { maxOldGenerationSizeMb: this.#options.maxHeapMb } : undefined,
    });
    // isolates do not keep the process alive: the driver does while it waits for them
    worker.unref();
    port1.unref();
    const { tasks, events } = hostEnds(mem);
    const h: Handle = { id, worker, mem, tasks, events, port: port1, controlBacklog: 0, exited: false, loaded: new Set(), dedicated };
    this.#handles.set(id, h);
    if (!dedicated) this.#taskIsolates++;
    let why = "";
    worker.on("error", (e) => {
      why = e instanceof Error ? e.message : String(e);
    });
    worker.on("exit", (code) => this.#exited(h, why || `exited with code ${code}`));
    for (const c of this.#components) this.#sendLoad(h, c);
    if (!dedicated) this.#events.isolateReady(id);
    return id;
  }

  #exited(h: Handle, why: string): void {
    if (h.exited) return;
    // stopped while awake (a runaway guest, say): it can no longer take itself off the count
    if (Atomics.load(h.mem.ctl, ISOLATE_AWAKE) === 1) {
      Atomics.store(h.mem.ctl, ISOLATE_AWAKE, 0);
      sleeping(this.#spinShared);
    }
    // results it wrote before it died still count
    this.#pollOne(h);
    h.exited = true;
    this.#handles.delete(h.id);
    if (!h.dedicated) this.#taskIsolates--;
    h.port.close();
    if (!this.#closed) this.#events.isolateExited(h.id, why);
  }

  /** Stops an isolate at once (a runaway guest). `isolateExited` follows. */
  terminate(iso: number): void {
    const h = this.#handles.get(iso);
    if (h && !h.exited) void h.worker.terminate();
  }

  // ---- components ---------------------------------------------------------------

  /** Makes a component available in every isolate, present and future. */
  addComponent(c: ComponentImage): void {
    this.#components.push(c);
    for (const h of this.#handles.values()) this.#sendLoad(h, c);
  }

  hasLoaded(iso: number, component: number): boolean {
    return this.#handles.get(iso)?.loaded.has(component) ?? false;
  }

  #sendLoad(h: Handle, c: ComponentImage): void {
    const m: ControlMessage = { type: "load", component: c.index, glue: c.glue, modules: c.modules };
    h.port.postMessage(m);
    this.#control(h);
  }

  #broadcast(m: ControlMessage, announce: boolean): void {
    for (const h of this.#handles.values()) {
      h.port.postMessage(m);
      if (announce) this.#control(h);
    }
  }

  /** Tells `h` a control message waits (or remembers to, if its ring is full). */
  #control(h: Handle): void {
    h.controlBacklog++;
    this.#flushControl(h);
  }

  #flushControl(h: Handle): void {
    while (h.controlBacklog > 0) {
      if (h.tasks.begin(T_CONTROL, 0) < 0) return;
      h.tasks.commit();
      h.controlBacklog--;
      this.#ring(h);
    }
  }

  // ---- host → isolate ---------------------------------------------------------------

  /**
   * Wakes `h` if it sleeps. The record was committed (a seq-cst store)
   * before we read PARKED, and the isolate sets PARKED before it re-reads
   * the ring, so either we see PARKED or it sees the record.
   */
  #ring(h: Handle): void {
    const ctl = h.mem.ctl;
    if (Atomics.load(ctl, ISOLATE_PARKED) === 0) return;
    Atomics.add(ctl, ISOLATE_BELL, 1);
    Atomics.notify(ctl, ISOLATE_BELL);
  }

  /** The largest task record an isolate's ring accepts. */
  maxRecord(iso: number): number {
    return this.#handles.get(iso)?.tasks.maxPayload ?? 0;
  }

  /**
   * Appends a task to `iso`'s ring. Returns the record's position (for
   * `steal`), or -1 when the ring is full (or the isolate is gone).
   */
  sendTask(iso: number, slot: number, task: TaskSpec, pieces: readonly Piece[]): number {
    const h = this.#handles.get(iso);
    if (!h || h.exited) return -1;
    if (h.controlBacklog > 0) this.#flushControl(h);
    const w = h.tasks;
    const at = w.begin(T_TASK, R.taskRecordSize(task.nameBytes, pieces));
    if (at < 0) return -1;
    const pos = w.position;
    R.writeTaskRecord(w.view, w.bytes, at, slot, task.component, task.kind, task.numReturns, task.taskId, task.nameBytes, pieces);
    w.commit();
    this.#ring(h);
    return pos;
  }

  /**
   * Takes back the task record at ring position `pos` of `iso` if the
   * isolate has not started it (it skips a stolen record). The isolate
   * claims records in ring order, so once this fails for a record it fails
   * for every record before it.
   */
  steal(iso: number, pos: number): boolean {
    const h = this.#handles.get(iso);
    if (!h || h.exited) return false;
    return h.tasks.swapType(pos, T_TASK, T_STOLEN) === T_TASK;
  }

  /**
   * Takes back the records `iso` has not read. Only while it is blocked in
   * a call (it resyncs its ring when the call returns).
   */
  discardUnread(iso: number): void {
    this.#handles.get(iso)?.tasks.discardUnread();
  }

  /** Writes reply `r` with `layout` to the waiting isolate `iso`, and wakes it. */
  #reply<W>(iso: number, layout: Layout<W, unknown>, r: W): void {
    const h = this.#handles.get(iso);
    if (!h || h.exited) return;
    const area = h.mem.reply;
    const size = layout.size(r);
    if (REPLY_HEADER + size <= area.length) {
      const dv = new DataView(area.buffer, area.byteOffset, area.byteLength);
      R.writeReplyHeader(dv, layout.type, size);
      layout.write(dv, area, REPLY_HEADER, r);
    } else {
      // too big for the reply area: the bytes go by message, the area says so
      const b = new Uint8Array(REPLY_HEADER + size);
      const dv = new DataView(b.buffer);
      R.writeReplyHeader(dv, layout.type, size);
      layout.write(dv, b, REPLY_HEADER, r);
      h.port.postMessage({ type: "reply", bytes: b } satisfies ControlMessage);
      R.writeReplyHeader(new DataView(area.buffer, area.byteOffset, REPLY_HEADER), R_PORT, 0);
    }
    // the isolate waits until REPLY_STATE is READY: store, then wake
    Atomics.store(h.mem.ctl, REPLY_STATE, REPLY_READY);
    Atomics.notify(h.mem.ctl, REPLY_STATE);
  }

  /**
   * Tells a waiting isolate its call will be answered only later, so it
   * stops spinning and sleeps. (No notify: a sleeping isolate is woken by
   * the reply itself.)
   */
  parked(iso: number): void {
    const h = this.#handles.get(iso);
    if (h && !h.exited) Atomics.compareExchange(h.mem.ctl, REPLY_STATE, 0, REPLY_PARKED);
  }

  replyValues(iso: number, values: readonly Piece[]): void {
    this.#reply(iso, R.VALUES, values);
  }

  /** Answers get-actor: the actor's 16-byte ID, or none. */
  replyActor(iso: number, actorId: Uint8Array | undefined): void {
    this.#reply(iso, R.ACTOR, actorId);
  }

  replyFailure(iso: number, failure: Uint8Array): void {
    this.#reply(iso, R.FAILURE, failure);
  }

  replyIndices(iso: number, indices: readonly number[]): void {
    this.#reply(iso, R.INDICES, indices);
  }

  /** Answers a GPU call: `code` is GPU_OK or a WIT error-code; `piece` the message or the bytes. */
  replyGpu(iso: number, code: number, value: number, piece: Piece): void {
    this.#reply(iso, R.GPU_REPLY, { code, value, piece });
  }

  /** Answers a blocking call with a task to run nested. */
  replyRun(iso: number, slot: number, task: TaskSpec, pieces: readonly Piece[]): void {
    this.#reply(iso, R.RUN, { slot, component: task.component, kind: task.kind, numReturns: task.numReturns, taskId: task.taskId, name: task.nameBytes, pieces });
  }

  // ---- isolate → host ------------------------------------------------------------------

  /** Handles every event waiting in every isolate's ring. Returns how many. */
  poll(): number {
    if (this.#polling) return 0;
    this.#polling = true;
    let n = 0;
    try {
      for (const h of this.#handles.values()) n += this.#pollOne(h);
    } finally {
      this.#polling = false;
    }
    return n;
  }

  /** True when some isolate has written events not handled yet. */
  pending(): boolean {
    for (const h of this.#handles.values()) if (h.events.ready()) return true;
    return false;
  }

  #pollOne(h: Handle): number {
    const r = h.events;
    const dv = r.view;
    const b = r.bytes;
    let n = 0;
    for (;;) {
      const type = r.next();
      if (type < 0) break;
      n++;
      const at = r.at;
      const len = r.length;
      const ev = this.#events;
      const guest = ev.guests;
      switch (type) {
        case R.RESULT.type: {
          const x = R.RESULT.read(dv, b, at, len);
          if (x.values === undefined) ev.result(h.id, x.slot, x.status, x.ms, undefined, x.detail!.slice());
          else ev.result(h.id, x.slot, x.status, x.ms, this.#copyPieces(b, x.values), undefined);
          break;
        }
        case R.SUBMIT.type: {
          const x = R.SUBMIT.read(dv, b, at, len);
          guest.guestSubmit(h.id, x.parentSlot, x.numReturns, x.taskId, decoder.decode(x.name), this.#copyPiece(b, x.args), x.options.slice());
          break;
        }
        case R.GET.type: {
          const x = R.GET.read(dv, b, at, len);
          guest.get(h.id, x.slot, x.ids, x.timeoutMs);
          break;
        }
        case R.WAIT.type: {
          const x = R.WAIT.read(dv, b, at, len);
          guest.wait(h.id, x.slot, x.ids, x.numReturns, x.timeoutMs);
          break;
        }
        case R.CREATE_ACTOR.type: {
          const x = R.CREATE_ACTOR.read(dv, b, at, len);
          guest.guestCreateActor(h.id, x.parentSlot, x.actorId, decoder.decode(x.name), this.#copyPiece(b, x.args), x.options.slice());
          break;
        }
        case R.CALL_ACTOR.type: {
          const x = R.CALL_ACTOR.read(dv, b, at, len);
          guest.guestCallActor(h.id, x.parentSlot, x.numReturns, x.taskId, x.actorKey, decoder.decode(x.name), this.#copyPiece(b, x.args), x.options.slice());
          break;
        }
        case R.GET_ACTOR.type: {
          const x = R.GET_ACTOR.read(dv, b, at, len);
          guest.getActor(h.id, x.slot, decoder.decode(x.name));
          break;
        }
        case GPU_CALL.type: {
          const x = GPU_CALL.read(dv, b, at, len);
          const upload = x.op === GPU_FROM_BYTES || x.op === GPU_WRITE;
          const payload = x.payload!;
          guest.gpuCall(h.id, {
            slot: x.slot,
            op: x.op,
            a: x.a,
            b: x.b,
            n1: x.n1,
            n2: x.n2,
            piece: upload ? this.#copyPiece(payload, R.readPayload(R.GPU_UPLOAD, payload)) : undefined,
            payload: upload ? EMPTY : payload.slice(),
          });
          break;
        }
        case R.RESUME.type:
          guest.resume(h.id, R.RESUME.read(dv, b, at, len).slot);
          break;
        case R.PUT.type: {
          const x = R.PUT.read(dv, b, at, len);
          guest.put(h.id, x.slot, x.index, this.#copyPiece(b, x.value));
          break;
        }
        case R.LOG.type: {
          const x = R.LOG.read(dv, b, at, len);
          guest.log(h.id, x.slot, x.level, decoder.decode(x.message));
          break;
        }
        case R.ALLOC.type: {
          const x = R.ALLOC.read(dv, b, at, len);
          let ref: ArenaRef | undefined;
          let err = "";
          try {
            ref = guest.alloc(h.id, x.slot, x.length);
          } catch (e) {
            err = e instanceof Error ? e.message : String(e);
          }
          if (ref) this.#reply(h.id, R.ALLOCATED, ref);
          else this.replyFailure(h.id, new TextEncoder().encode(err));
          break;
        }
        case R.LOADED.type: {
          const x = R.LOADED.read(dv, b, at, len);
          if (x.ok) h.loaded.add(x.component);
          ev.loaded(h.id, x.component, x.ok, decoder.decode(x.message));
          break;
        }
        default:
          throw new Error(`isolate ${h.id} sent an unknown event type ${type}`);
      }
      r.release();
    }
    return n;
  }

  #copyPiece(b: Uint8Array, p: PieceView): Piece {
    return p.arena ? { seg: p.a, off: p.b, len: p.len } : this.#slab.copy(b, p.a, p.a + p.len);
  }

  #copyPieces(b: Uint8Array, views: PieceView[]): Piece[] {
    const out: Piece[] = new Array(views.length);
    for (let i = 0; i < views.length; i++) out[i] = this.#copyPiece(b, views[i]!);
    return out;
  }

  // ---- the host bell ------------------------------------------------------------------------

  /**
   * Sleeps (without blocking the event loop) until an isolate rings, then
   * polls. Isolates ring only while PARKED is set, so after announcing it we
   * poll once more before sleeping; `seen` is read first so a ring that
   * lands in between makes waitAsync return at once.
   */
  #armBell(): void {
    if (this.#closed) return;
    const bell = this.#bell;
    for (;;) {
      const seen = Atomics.load(bell, HOST_BELL);
      this.#parks = (this.#parks % 0x3fffffff) + 1;
      Atomics.store(bell, HOST_PARKED, this.#parks);
      if (this.poll() > 0) {
        Atomics.store(bell, HOST_PARKED, 0);
        continue;
      }
      const w = Atomics.waitAsync(bell, HOST_BELL, seen);
      if (!w.async) {
        Atomics.store(bell, HOST_PARKED, 0);
        continue;
      }
      sleeping(this.#spinShared);
      void w.value.then(() => {
        awake(this.#spinShared);
        Atomics.store(bell, HOST_PARKED, 0);
        this.pollAwhile();
        this.#armBell();
      });
      return;
    }
  }

  /**
   * Handles events; while isolates will need the host again within
   * microseconds (they run tasks), keeps polling for up to `spinMs` after
   * the last event, since a sleeping host costs each request a thread
   * wake-up (15-100 µs on VMs) — as far as the spin policy allows (see
   * spin.ts: not when more threads are awake than cores, nor while such
   * spins rarely catch an event). Otherwise returns at once, so the event
   * loop (the driver's code) runs. Hosts also call it after handing
   * isolates tasks that came from other nodes, to catch quick results
   * without a wake-up.
   */
  pollAwhile(): void {
    const spinner = this.#spinner;
    const pending = () => this.pending();
    for (;;) {
      this.poll();
      if (this.#closed || !this.#events.expectingSoon()) return;
      if (!spinner.spin(pending)) return;
    }
  }

  /**
   * Spins on the host thread until `ready()` or `ms` pass, as far as the
   * spin policy allows; returns `ready()`. For the driver's waits.
   */
  spin(ready: () => boolean, ms: number): boolean {
    return this.#spinner.spin(ready, ms);
  }

  /** The slot an isolate runs now (-1: none) and a counter of its task starts. */
  running(iso: number): { slot: number; seq: number } | undefined {
    const h = this.#handles.get(iso);
    if (!h) return undefined;
    return { slot: Atomics.load(h.mem.ctl, RUNNING_SLOT), seq: Atomics.load(h.mem.ctl, RUNNING_SEQ) };
  }

  isolates(): number[] {
    return [...this.#handles.keys()];
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#handles.values()];
    this.#handles.clear();
    // wake the bell waiter so its promise settles
    Atomics.add(this.#bell, HOST_BELL, 1);
    Atomics.notify(this.#bell, HOST_BELL);
    await Promise.all(
      all.map(async (h) => {
        h.exited = true;
        h.port.close();
        await h.worker.terminate();
      }),
    );
  }
}
