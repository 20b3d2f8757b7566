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
 * Each isolate's end of the channel is an IsolateLink (link.ts): its
 * rings, its reply area, its control port, and the reading of its events
 * (handed to PoolEvents and GuestEvents, events.ts). The pool keeps the
 * links, starts and stops isolates, loads components into all of them,
 * and owns the host bell and the host thread's spin.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import { ByteSlab } from "../../common/slab.js";
import type { Arena } from "../../store/index.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ChannelSizes } from "./channel.js";
import { ChannelMemory, DEFAULT_SIZES, HOST_AWAKE, HOST_BELL, HOST_BELL_BYTES, HOST_PARKED, ISOLATE_AWAKE, hostEnds } from "./channel.js";
import type { PoolEvents } from "./events.js";
import { IsolateLink } from "./link.js";
import type { ControlMessage, IsolateInit, Piece } from "./protocol.js";
import * as R from "./records.js";
import type { SpinShared } from "./spin.js";
import { Spinner, awake, sleeping } from "./spin.js";

export type { PoolEvents, GuestEvents, GpuCall } from "./events.js";

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

export interface ComponentImage {
  index: number;
  glue: string;
  modules: Record<string, WebAssembly.Module>;
  /** The cap compiled into its memories, bytes: a guest failing near it ran out of memory. */
  memoryLimit: number;
}

const WORKER_URL = new URL("./worker.js", import.meta.url);

export class IsolatePool {
  readonly #options: PoolOptions;
  readonly #events: PoolEvents;
  readonly #arena: Arena;
  readonly #handles = new Map<number, IsolateLink>();
  readonly #components: ComponentImage[] = [];
  readonly #bell: Int32Array;
  readonly #bellSab: SharedArrayBuffer;
  #nextId = 0;
  /** Task isolates (dedicated actor isolates are not counted). */
  #taskIsolates = 0;
  #parks = 0;
  #wakeups = 0;
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
      segmentAdded: (id, sab) => this.#broadcast({ type: "segment", id, sab }),
      segmentDropped: (id) => this.#broadcast({ type: "drop-segment", id }),
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
    const h = new IsolateLink(id, worker, mem, hostEnds(mem), port1, dedicated, this.#slab);
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

  #exited(h: IsolateLink, why: string): void {
    if (h.exited) return;
    // stopped while awake (a runaway guest, say): it can no longer take itself off the count
    if (Atomics.load(h.mem.ctl, ISOLATE_AWAKE) === 1) {
      Atomics.store(h.mem.ctl, ISOLATE_AWAKE, 0);
      sleeping(this.#spinShared);
    }
    // results it wrote before it died still count
    h.poll(this.#events);
    h.exited = true;
    this.#handles.delete(h.id);
    if (!h.dedicated) this.#taskIsolates--;
    h.port.close();
    if (!this.#closed) this.#events.isolateExited(h.id, why);
  }

  /** Marks (or unmarks) the task in `slot` on `iso` cancelled, for its guest's `cancelled()`. */
  markCancelled(iso: number, slot: number, on: boolean): void {
    this.#handles.get(iso)?.markCancelled(slot, on);
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

  #sendLoad(h: IsolateLink, c: ComponentImage): void {
    h.control({ type: "load", component: c.index, glue: c.glue, modules: c.modules, memoryLimit: c.memoryLimit });
  }

  /** Arena segments come and go: every isolate reads the news from its port before it next maps a piece. */
  #broadcast(m: ControlMessage): void {
    for (const h of this.#handles.values()) h.port.postMessage(m);
  }

  // ---- host → isolate ---------------------------------------------------------------

  /** The largest task record an isolate's ring accepts. */
  maxRecord(iso: number): number {
    return this.#handles.get(iso)?.tasks.maxPayload ?? 0;
  }

  /**
   * Appends a task to `iso`'s ring. Returns the record's position (for
   * `steal`), or -1 when the ring is full (or the isolate is gone).
   */
  sendTask(iso: number, slot: number, task: TaskSpec, pieces: readonly Piece[]): number {
    return this.#handles.get(iso)?.sendTask(slot, task, pieces) ?? -1;
  }

  /**
   * Takes back the task record at ring position `pos` of `iso` if the
   * isolate has not started it (it skips a stolen record). The isolate
   * claims records in ring order, so once this fails for a record it fails
   * for every record before it.
   */
  steal(iso: number, pos: number): boolean {
    return this.#handles.get(iso)?.steal(pos) ?? false;
  }

  /**
   * Takes back the records `iso` has not read. Only while it is blocked in
   * a call (it resyncs its ring when the call returns).
   */
  discardUnread(iso: number): void {
    this.#handles.get(iso)?.discardUnread();
  }

  /**
   * Tells a waiting isolate its call will be answered only later, so it
   * stops spinning and sleeps. (No notify: a sleeping isolate is woken by
   * the reply itself.)
   */
  parked(iso: number): void {
    this.#handles.get(iso)?.parked();
  }

  replyValues(iso: number, values: readonly Piece[]): void {
    this.#handles.get(iso)?.reply(R.VALUES, values);
  }

  /** Answers get-actor: the actor's 16-byte ID, or none. */
  replyActor(iso: number, actorId: Uint8Array | undefined): void {
    this.#handles.get(iso)?.reply(R.ACTOR, actorId);
  }

  replyFailure(iso: number, failure: Uint8Array): void {
    this.#handles.get(iso)?.reply(R.FAILURE, failure);
  }

  replyIndices(iso: number, indices: readonly number[]): void {
    this.#handles.get(iso)?.reply(R.INDICES, indices);
  }

  /** Answers a GPU call: `code` is GPU_OK or a WIT error-code; `piece` the message or the bytes. */
  replyGpu(iso: number, code: number, value: number, piece: Piece): void {
    this.#handles.get(iso)?.reply(R.GPU_REPLY, { code, value, piece });
  }

  /** Answers a blocking call with a task to run nested. */
  replyRun(iso: number, slot: number, task: TaskSpec, pieces: readonly Piece[]): void {
    this.#handles.get(iso)?.reply(R.RUN, { slot, component: task.component, kind: task.kind, numReturns: task.numReturns, taskId: task.taskId, name: task.nameBytes, pieces });
  }

  // ---- isolate → host ------------------------------------------------------------------

  /** Handles every event waiting in every isolate's ring. Returns how many. */
  poll(): number {
    if (this.#polling) return 0;
    this.#polling = true;
    let n = 0;
    try {
      for (const h of this.#handles.values()) n += h.poll(this.#events);
    } finally {
      this.#polling = false;
    }
    return n;
  }

  /** Times an isolate woke the sleeping host thread (each costs the host a thread wake-up). */
  get wakeups(): number {
    return this.#wakeups;
  }

  /** True when some isolate has written events not handled yet. */
  pending(): boolean {
    for (const h of this.#handles.values()) if (h.events.ready()) return true;
    return false;
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
        this.#wakeups++;
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
  /** The linear memory of the guest that last ran on `iso`, bytes (0 for none). */
  guestMemory(iso: number): number {
    return this.#handles.get(iso)?.guestMemory() ?? 0;
  }

  running(iso: number): { slot: number; seq: number } | undefined {
    return this.#handles.get(iso)?.running();
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
