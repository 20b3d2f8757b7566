/**
 * An isolate: one worker thread that runs guest components.
 *
 * It reads tasks from its channel's ring, runs each in an instance of its
 * component (instances are reused; a trapped one is dropped), and writes
 * results back. Guest calls that must wait (`get`, `wait`) block this
 * thread in `Atomics.wait` until the host replies; the host may instead
 * lend it a task to run nested meanwhile. The thread only returns to its
 * event loop to load components (dynamic import is asynchronous).
 *
 * This file's parts:
 *   main loop            take a record, run it, sleep on the bell when the ring is empty
 *   control port         component loads, arena segments, oversized replies
 *   running tasks        lowering arguments into guest memory, results, traps and running out of memory (memoryMb) as E_RESULT
 *   writing events       records out (records.ts), ringing the host, blocking calls
 *   RuntimeHost          what guests call: submit, actors, get/wait (lent tasks run here), put, log
 * Guests' GPU calls are in worker-gpu.ts.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { Decoder, decode } from "@msgpack/msgpack";
import { copyInto } from "../../common/copy.js";
import { BLOCK_ALIGN } from "../../store/arena.js";
import { OBJECT_ID_BYTES, PUT_INDEX_FLAG, TASK_ID_BYTES, childTaskId } from "../../common/ids.js";
import { arrayHeader, binaryHeaderLength, isMapAt, splitArray } from "../../common/msgpack-walk.js";
import type { GuestBytes, RuntimeHost } from "./imports/runtime.js";
import type { RingReader, RingWriter } from "./channel.js";
import {
  ChannelMemory,
  HOST_AWAKE,
  HOST_BELL,
  HOST_PARKED,
  ISOLATE_AWAKE,
  ISOLATE_BELL,
  ISOLATE_PARKED,
  REPLY_HEADER,
  REPLY_PENDING,
  REPLY_READY,
  REPLY_STATE,
  GUEST_MEMORY_KB,
  RUNNING_SEQ,
  CANCEL_SLOT,
  RUNNING_SLOT,
  TO_HOST_READ,
  isolateEnds,
} from "./channel.js";
import type { SpinShared } from "./spin.js";
import { Spinner, awake, sleeping } from "./spin.js";
import type { LoadedComponent } from "./guest.js";
import { GuestInstance, loadComponent, trapKind, trapMessage } from "./guest.js";
import type { ControlMessage, IsolateInit, Piece, PieceView } from "./protocol.js";
import {
  CANCEL_FORCE,
  CANCEL_RECURSIVE,
  E_RESULT,
  KIND_CONSTRUCT,
  KIND_METHOD,
  KIND_TASK,
  R_ACTOR,
  R_ALLOC,
  R_FAILURE,
  R_INDICES,
  R_PORT,
  R_RUN,
  R_VALUES,
  STATUS_FAILED,
  STATUS_HOST_ERROR,
  STATUS_OK,
  STATUS_OUT_OF_MEMORY,
  STATUS_TRAP,
  T_CONTROL,
  T_STARTED,
  T_TASK,
  UNREADABLE_SEGMENT,
  readPiece,
  writeTaskId,
} from "./protocol.js";
import type { Layout, TaskHeader } from "./records.js";
import type { Exec, Reply } from "./worker-gpu.js";
import { IsolateGpu, objectId, read } from "./worker-gpu.js";
import * as R from "./records.js";


const textDecoder = new TextDecoder();
/**
 * How long a blocking call spins before the host has looked at it. Long
 * enough to cover a sleeping host's wake-up (up to ~100 µs on VMs); the spin
 * stops as soon as the host marks the call PARKED.
 */
const CALL_SPIN_MS = 0.5;

/** Instances with more linear memory than this are dropped after their task. */
const MAX_KEPT_MEMORY = 256 << 20;

/** A dropped instance with more linear memory than this is given back to the system at once (see collect). */
const COLLECT_AFTER_DROP = 64 << 20;

/**
 * A full garbage collection of this isolate. V8 frees a guest's linear
 * memory only when it collects the instance, and an idle isolate does not
 * collect: without this, an instance dropped after it ran out of memory
 * would keep its gigabytes until the isolate next allocated. The function
 * is made on first use (never, in an isolate that drops no large instance);
 * nothing happens where the flag cannot be set.
 */
let gc: (() => void) | null | undefined;
function collect(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gc = runInNewContext("gc") as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}

/** What guests' allocators say when memory.grow fails (QuickJS, Rust's alloc error, C libraries). */
const OUT_OF_MEMORY_TEXT = /out of memory|memory allocation of \d+ bytes failed|could not allocate|allocation failed/i;

/**
 * Whether a guest that failed ran out of memory: it said so, or it failed
 * with its memory within an eighth (at least 16 MiB) of its cap, where the
 * next allocation would not fit (a trap after a failed grow says nothing
 * more: Rust aborts, C dereferences NULL).
 */
/** A guest failure map's "name: message" (empty when it does not decode). */
function failureMessage(reply: Uint8Array): string {
  try {
    const f = decode(reply) as { name?: unknown; message?: unknown } | null;
    return `${String(f?.name ?? "")}: ${String(f?.message ?? "")}`;
  } catch {
    return "";
  }
}

function outOfMemory(used: number, limit: number, message: string): boolean {
  if (limit <= 0) return false;
  return OUT_OF_MEMORY_TEXT.test(message) || limit - used < Math.max(limit / 8, 16 << 20);
}

class Isolate implements RuntimeHost {
  readonly #init: IsolateInit;
  readonly #mem: ChannelMemory;
  readonly #ctl: Int32Array;
  readonly #hostBell: Int32Array;
  readonly #tasks: RingReader;
  readonly #events: RingWriter;
  readonly #replyDv: DataView;
  readonly #segments = new Map<number, SharedArrayBuffer>();
  readonly #components = new Map<number, LoadedComponent>();
  readonly #free = new Map<number, GuestInstance[]>();
  /** Control messages read early (while looking for a reply) and not handled yet. */
  readonly #pendingControl: ControlMessage[] = [];
  readonly #stack: Exec[] = [];
  readonly #optionsDecoder = new Decoder();
  readonly #piece: PieceView = { arena: false, a: 0, b: 0, len: 0 };
  /** The host park we last woke (HOST_PARKED). */
  #notifiedPark = 0;
  /** In an actor's isolate: the actor's instance, once constructed. */
  #actor: GuestInstance | undefined;
  /** The memory cap of each loaded component, bytes (0: none), and of the actor's instance. */
  readonly #limits = new Map<number, number>();
  #actorLimit = 0;
  /** A large instance was dropped: collect once the task's frame is gone. */
  #collectSoon = false;
  /**
   * More tasks wait in the ring behind the one running: its result need not
   * wake a sleeping host, which learns of it with the others when this
   * isolate starts its last queued task or runs out of work. A wake-up per
   * result cost the host 15-25 µs of CPU, taken from the isolates' cores
   * (fan-out of 100 µs tasks on 2 cores: 0.68 of the CPUs' time did work).
   */
  #quiet = false;
  /** Events written under #quiet that no ring has announced yet. */
  #unannounced = false;
  /** The instance running now (the innermost, when tasks nest). */
  #running: GuestInstance | undefined;
  readonly #spinShared: SpinShared;
  /** Spins for the next task when out of work. */
  readonly #idleSpin: Spinner;
  /** Spins for the host to look at a blocking call. */
  readonly #callSpin: Spinner;
  /** Guests' GPU calls (worker-gpu.ts). */
  readonly #gpu: IsolateGpu;

  constructor(init: IsolateInit) {
    this.#init = init;
    this.#mem = new ChannelMemory(init.channel, init.sizes);
    this.#ctl = this.#mem.ctl;
    this.#hostBell = new Int32Array(init.hostBell);
    const ends = isolateEnds(this.#mem);
    this.#tasks = ends.tasks;
    this.#events = ends.events;
    this.#replyDv = new DataView(this.#mem.reply.buffer, this.#mem.reply.byteOffset, this.#mem.reply.byteLength);
    for (const [id, sab] of init.segments) this.#segments.set(id, sab);
    this.#spinShared = { bell: this.#hostBell, awakeIdx: HOST_AWAKE, cores: init.cores };
    this.#idleSpin = new Spinner(this.#spinShared, init.spinMs);
    this.#callSpin = new Spinner(this.#spinShared, init.spinMs > 0 ? Math.max(CALL_SPIN_MS, init.spinMs) : 0);
    this.#gpu = new IsolateGpu({
      call: (layout, r) => this.#call(layout, r),
      emit: (layout, r) => this.#emit(layout, r),
      current: () => this.#current(),
      toArena: (b) => this.#toArena(b),
      segment: (id) => this.#segment(id),
      inlineMax: init.inlineMax,
      maxPayload: this.#events.maxPayload,
    });
    awake(this.#spinShared);
    Atomics.store(this.#ctl, ISOLATE_AWAKE, 1);
  }

  /** Sleeps in Atomics.wait on `ctl[index]` while it holds `value`, out of the host's awake count meanwhile. */
  #sleep(index: number, value: number, timeoutMs?: number): void {
    Atomics.store(this.#ctl, ISOLATE_AWAKE, 0);
    sleeping(this.#spinShared);
    Atomics.wait(this.#ctl, index, value, timeoutMs);
    awake(this.#spinShared);
    Atomics.store(this.#ctl, ISOLATE_AWAKE, 1);
  }

  // ---- main loop -------------------------------------------------------------

  async run(): Promise<never> {
    for (;;) {
      const load = this.#runUntilLoad();
      await this.#load(load);
    }
  }

  /** Runs ring records until a component must be loaded (which needs the event loop). */
  #runUntilLoad(): ControlMessage & { type: "load" } {
    const tasks = this.#tasks;
    for (;;) {
      const type = tasks.next();
      if (type === T_TASK) {
        // claim it first: the host may have taken it back to run elsewhere
        if (tasks.swapType(T_TASK, T_STARTED) === T_TASK) {
          // the last queued task: the host hears of the results so far now, and refills while it runs
          this.#quiet = tasks.ready();
          if (!this.#quiet && this.#unannounced) this.#ringHost();
          this.#runTask(tasks.bytes, tasks.view, tasks.at, true);
          this.#quiet = false;
          // out of the task's frame, so the dropped instance is garbage
          if (this.#collectSoon) {
            this.#collectSoon = false;
            collect();
          }
        } else tasks.release();
      } else if (type === T_CONTROL) {
        tasks.release();
        const m = this.#nextControl();
        if (m?.type === "load") return m;
      } else {
        tasks.release();
        this.#idle();
      }
    }
  }

  /** Spin, then sleep until the host writes to the ring. */
  #idle(): void {
    const ctl = this.#ctl;
    const tasks = this.#tasks;
    // out of work: whatever we wrote must reach the host now
    this.#ringHost();
    if (this.#idleSpin.spin(() => tasks.ready())) return;
    this.#drainControl();
    const seen = Atomics.load(ctl, ISOLATE_BELL);
    Atomics.store(ctl, ISOLATE_PARKED, 1);
    // re-check after announcing: the host rings only when it sees PARKED
    if (!tasks.ready()) this.#sleep(ISOLATE_BELL, seen);
    Atomics.store(ctl, ISOLATE_PARKED, 0);
  }

  async #load(m: ControlMessage & { type: "load" }): Promise<void> {
    let ok = 1;
    let message = "";
    try {
      const c = await loadComponent(m.component, m.glue, m.modules);
      this.#components.set(m.component, c);
      this.#limits.set(m.component, m.memoryLimit);
      // one instance up front: it compiles lazily-compiled code while the isolate is idle anyway
      this.#release(m.component, new GuestInstance(c, this, this.#gpu));
    } catch (e) {
      ok = 0;
      message = e instanceof Error ? e.message : String(e);
    }
    this.#emit(R.LOADED, { component: m.component, ok: ok === 1, message: new TextEncoder().encode(message) });
    this.#ringHost();
  }

  // ---- control port ----------------------------------------------------------

  #apply(m: ControlMessage): boolean {
    if (m.type === "segment") this.#segments.set(m.id, m.sab);
    else if (m.type === "drop-segment") this.#segments.delete(m.id);
    else return false;
    return true;
  }

  /** Applies every queued segment message; keeps the rest for later. */
  #drainControl(): void {
    for (;;) {
      const r = receiveMessageOnPort(this.#init.control);
      if (!r) return;
      const m = r.message as ControlMessage;
      if (!this.#apply(m)) this.#pendingControl.push(m);
    }
  }

  /** The next message that is not a segment message. */
  #nextControl(): ControlMessage | undefined {
    for (;;) {
      const early = this.#pendingControl.shift();
      if (early) return early;
      const r = receiveMessageOnPort(this.#init.control);
      if (!r) return undefined;
      const m = r.message as ControlMessage;
      if (!this.#apply(m)) return m;
    }
  }

  #segment(id: number): SharedArrayBuffer {
    if (id === UNREADABLE_SEGMENT) throw new Error("the host could not make an argument readable");
    let s = this.#segments.get(id);
    if (!s) {
      this.#drainControl();
      s = this.#segments.get(id);
      if (!s) throw new Error(`arena segment ${id} is unknown to isolate ${this.#init.id}`);
    }
    return s;
  }

  // ---- running tasks ----------------------------------------------------------

  #take(component: number): GuestInstance {
    const free = this.#free.get(component);
    const inst = free?.pop();
    if (inst) return inst;
    const c = this.#components.get(component);
    if (!c) throw new Error(`component ${component} is not loaded in isolate ${this.#init.id}`);
    return new GuestInstance(c, this, this.#gpu);
  }

  #release(component: number, inst: GuestInstance): void {
    let free = this.#free.get(component);
    if (!free) this.#free.set(component, (free = []));
    free.push(inst);
  }

  /**
   * Runs the task whose record starts at `at` in `bytes`. For ring records
   * (`fromRing`), the ring is released as soon as the arguments are in
   * guest memory, which tells the host the task has started.
   */
  #runTask(bytes: Uint8Array, dv: DataView, at: number, fromRing: boolean): void {
    const h = R.readTaskHeader(dv, bytes, at);
    let inst: GuestInstance;
    let namePtr: number;
    let argsPtr: number;
    try {
      if (h.kind === KIND_METHOD) {
        if (!this.#actor) throw new Error("this isolate holds no live actor");
        inst = this.#actor;
      } else inst = this.#take(h.component);
      namePtr = inst.lowerBytes(h.name);
      argsPtr = this.#lowerPieces(inst, bytes, dv, h);
    } catch (e) {
      if (fromRing) this.#tasks.release();
      this.#hostError(h.slot, e, 0);
      return;
    }
    if (fromRing) this.#tasks.release();
    const exec: Exec = { slot: h.slot, taskId: h.taskId, children: 0, puts: 0 };
    this.#stack.push(exec);
    Atomics.store(this.#ctl, RUNNING_SLOT, h.slot);
    Atomics.add(this.#ctl, RUNNING_SEQ, 1);
    const t0 = performance.now();
    let constructed = false;
    const limit = h.kind === KIND_METHOD ? this.#actorLimit : (this.#limits.get(h.component) ?? 0);
    const outer = this.#running;
    this.#running = inst;
    const onReply = (reply: Uint8Array) => {
      if (h.kind === KIND_CONSTRUCT) constructed = reply.length > 0 && !isMapAt(reply, 0);
      if (limit > 0 && reply.length > 0 && isMapAt(reply, 0) && this.#ranOut(h.slot, inst, limit, failureMessage(reply), performance.now() - t0)) return;
      this.#result(h.slot, reply, h.numReturns, performance.now() - t0);
    };
    try {
      if (h.kind === KIND_CONSTRUCT) {
        if (inst.hasAsync) this.#actorClass = textDecoder.decode(h.name);
        inst.construct(namePtr, h.name.length, argsPtr, h.argsTotal, onReply);
      } else if (inst.hasAsync && inst.isAsync(textDecoder.decode(h.name), h.kind === KIND_METHOD ? this.#actorClass : undefined)) {
        // an async task or method: it runs to its end here, its awaits served by blocking waits (the CPU is lent meanwhile)
        if (h.kind === KIND_METHOD) inst.callAsync(namePtr, h.name.length, argsPtr, h.argsTotal, h.numReturns, this.#serveWatch, onReply);
        else inst.invokeAsync(namePtr, h.name.length, argsPtr, h.argsTotal, h.numReturns, this.#serveWatch, onReply);
      } else if (h.kind === KIND_METHOD) inst.call(namePtr, h.name.length, argsPtr, h.argsTotal, h.numReturns, onReply);
      else inst.invoke(namePtr, h.name.length, argsPtr, h.argsTotal, h.numReturns, onReply);
    } catch (e) {
      inst.poisoned = true;
      if (!this.#ranOut(h.slot, inst, limit, trapKind(e) === "out-of-memory" ? "out of memory" : trapMessage(e), performance.now() - t0)) this.#trap(h.slot, e, performance.now() - t0);
    } finally {
      this.#running = outer;
      this.#stack.pop();
      const parent = this.#stack[this.#stack.length - 1];
      Atomics.store(this.#ctl, RUNNING_SLOT, parent ? parent.slot : -1);
      // for the host's memory guard: what this isolate's guest holds
      const size = inst.memory.buffer.byteLength;
      Atomics.store(this.#ctl, GUEST_MEMORY_KB, size >>> 10);
      if (h.kind === KIND_TASK) {
        // an instance whose memory ballooned (a guest that caught its own
        // out-of-memory) is not kept: linear memory never shrinks
        if (!inst.poisoned && size <= MAX_KEPT_MEMORY) this.#release(h.component, inst);
        else if (size > COLLECT_AFTER_DROP) this.#collectSoon = true;
      } else if (h.kind === KIND_CONSTRUCT) {
        // an actor's instance is its own for life; a failed constructor leaves no actor
        if (constructed && !inst.poisoned) {
          this.#actor = inst;
          this.#actorLimit = limit;
        }
      } else if (inst.poisoned) {
        this.#actor = undefined;
        if (size > COLLECT_AFTER_DROP) this.#collectSoon = true;
      }
    }
  }

  /** Copies the argument pieces into one fresh block of guest memory. */
  #lowerPieces(inst: GuestInstance, bytes: Uint8Array, dv: DataView, h: TaskHeader): number {
    const ptr = inst.alloc(h.argsTotal);
    const mem = new Uint8Array(inst.memory.buffer);
    const p = this.#piece;
    let at = h.piecesAt;
    let to = ptr;
    for (let i = 0; i < h.nPieces; i++) {
      at = readPiece(dv, at, p);
      if (p.arena) copyInto(mem, new Uint8Array(this.#segment(p.a), p.b, p.len), to);
      else mem.set(bytes.subarray(p.a, p.a + p.len), to);
      to += p.len;
    }
    return ptr;
  }

  #result(slot: number, reply: Uint8Array, numReturns: number, ms: number): void {
    if (reply.length === 0) return this.#hostError(slot, new Error("the guest replied with no bytes"), ms);
    if (isMapAt(reply, 0)) {
      // a failure map: the guest threw
      this.#emit(R.RESULT, { slot, status: STATUS_FAILED, ms, values: undefined, detail: reply });
      return;
    }
    if (numReturns === 1 && reply[0] === 0x91 && reply.length - 1 <= this.#init.inlineMax) {
      // the common case, one small value: straight into the record
      const at = this.#begin(E_RESULT, R.resultOneInlineSize(reply.length - 1));
      R.writeResultOneInline(this.#events.view, this.#events.bytes, at, slot, ms, reply.subarray(1));
      this.#done();
      return;
    }
    let values: Uint8Array[];
    try {
      values = splitArray(reply);
    } catch (e) {
      return this.#hostError(slot, new Error(`the guest's reply is not valid MessagePack: ${(e as Error).message}`), ms);
    }
    if (values.length !== numReturns) {
      return this.#hostError(slot, new Error(`the guest returned ${values.length} values, expected ${numReturns}`), ms);
    }
    let pieces: Piece[];
    try {
      pieces = this.#pieces(values);
    } catch (e) {
      // the store had no room for the results: the task fails, the instance is fine
      return this.#hostError(slot, e, ms);
    }
    this.#emit(R.RESULT, { slot, status: STATUS_OK, ms, values: pieces, detail: undefined });
  }

  /**
   * Values small enough travel inline; large ones (or ones that would
   * overflow the ring record) are copied into arena blocks the host hands
   * out, straight from guest memory.
   */
  #pieces(values: Uint8Array[]): Piece[] {
    const budget = this.#events.maxPayload >>> 1;
    let size = 0;
    const out: Piece[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v.length <= this.#init.inlineMax && size + v.length <= budget) {
        out[i] = v;
        size += v.length + 8;
      } else {
        out[i] = this.#toArena(v);
      }
    }
    return out;
  }

  /**
   * A failed guest that ran out of memory: its instance is discarded (its
   * memory never shrinks) and the task fails with STATUS_OUT_OF_MEMORY.
   * False when the failure was something else.
   */
  #ranOut(slot: number, inst: GuestInstance, limit: number, message: string, ms: number): boolean {
    const used = inst.memory.buffer.byteLength;
    if (!outOfMemory(used, limit, message)) return false;
    inst.poisoned = true;
    const text = new TextEncoder().encode(`${used}\n${limit}\n${message}`);
    this.#emit(R.RESULT, { slot, status: STATUS_OUT_OF_MEMORY, ms, values: undefined, detail: text });
    return true;
  }

  #trap(slot: number, e: unknown, ms: number): void {
    const kind = trapKind(e);
    const text = new TextEncoder().encode(`${kind}\n${trapMessage(e)}`);
    this.#emit(R.RESULT, { slot, status: STATUS_TRAP, ms, values: undefined, detail: text });
  }

  #hostError(slot: number, e: unknown, ms: number): void {
    const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e));
    this.#emit(R.RESULT, { slot, status: STATUS_HOST_ERROR, ms, values: undefined, detail: text });
  }

  // ---- writing events -----------------------------------------------------------

  /** Reserves an event record and returns its payload offset; write it, then `#done()`. */
  #begin(type: number, size: number): number {
    const ev = this.#events;
    let at = ev.begin(type, size);
    while (at < 0) {
      // the host is behind: wake it and wait for room (rare)
      this.#ringHost();
      this.#sleep(TO_HOST_READ, Atomics.load(this.#ctl, TO_HOST_READ), 1);
      at = ev.begin(type, size);
    }
    return at;
  }

  #done(): void {
    this.#events.commit();
    // a sleeping host learns of every event at once (the next task may run
    // for a long time), unless queued tasks follow (#quiet); a busy host
    // costs us only the load of its PARKED flag
    if (this.#quiet) this.#unannounced = true;
    else this.#ringHost();
  }

  /** Writes event `r` with `layout` (records.ts) and lets the host know. */
  #emit<W>(layout: Layout<W, unknown>, r: W): void {
    const at = this.#begin(layout.type, layout.size(r));
    layout.write(this.#events.view, this.#events.bytes, at, r);
    this.#done();
  }

  /**
   * Wakes the host if it sleeps (see IsolatePool.#ring for why checking
   * PARKED first is safe). A park is announced once: later events before the
   * host wakes need no second system call.
   */
  #ringHost(): void {
    this.#unannounced = false;
    const bell = this.#hostBell;
    const park = Atomics.load(bell, HOST_PARKED);
    if (park === 0 || park === this.#notifiedPark) return;
    this.#notifiedPark = park;
    Atomics.add(bell, HOST_BELL, 1);
    Atomics.notify(bell, HOST_BELL);
  }

  /**
   * A blocking call: writes the request, waits for the reply and returns
   * the reply's kind; the payload is at `this.#reply()`.
   */
  #call<W>(layout: Layout<W, unknown>, r: W): Reply {
    const ctl = this.#ctl;
    // the memory guard sees a guest's growth at its host calls too, not only when its task ends
    if (this.#running) Atomics.store(ctl, GUEST_MEMORY_KB, this.#running.memory.buffer.byteLength >>> 10);
    Atomics.store(ctl, REPLY_STATE, REPLY_PENDING);
    this.#emit(layout, r);
    this.#ringHost();
    // Spin while the host has not looked at the call yet (it answers most
    // calls at once, and a thread wake-up costs more than the wait); once it
    // says the answer will take a while (PARKED), sleep.
    this.#callSpin.spin(() => Atomics.load(ctl, REPLY_STATE) !== REPLY_PENDING);
    for (;;) {
      const state = Atomics.load(ctl, REPLY_STATE);
      if (state === REPLY_READY) break;
      // the host stores READY before it notifies, so a wake-up is never lost
      this.#sleep(REPLY_STATE, state);
    }
    // the host may have taken back tasks we had not started while we waited
    this.#tasks.resync();
    const head = R.readReplyHeader(this.#replyDv);
    if (head.kind !== R_PORT) return { kind: head.kind, dv: this.#replyDv, bytes: this.#mem.reply, at: REPLY_HEADER, length: head.length };
    for (;;) {
      const r = receiveMessageOnPort(this.#init.control);
      if (!r) throw new Error("reply announced on the control port is missing");
      const m = r.message as ControlMessage;
      if (m.type === "reply") {
        const b = m.bytes;
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const { kind, length } = R.readReplyHeader(dv);
        return { kind, dv, bytes: b, at: REPLY_HEADER, length };
      }
      if (!this.#apply(m)) this.#pendingControl.push(m);
    }
  }

  #alloc(len: number, lead: number): { seg: number; off: number; len: number } {
    const slot = this.#current().slot;
    const r = this.#call(R.ALLOC, { length: len, slot, lead });
    if (r.kind !== R_ALLOC) throw new Error(`the host refused ${len} bytes of object store: ${textDecoder.decode(read(R.FAILURE, r))}`);
    const { seg, off } = read(R.ALLOCATED, r);
    return { seg, off, len };
  }

  #current(): Exec {
    const e = this.#stack[this.#stack.length - 1];
    if (!e) throw new Error("a runtime call outside of any task");
    return e;
  }

  // ---- RuntimeHost: what guests call ------------------------------------------------

  log(level: number, message: Uint8Array): void {
    const slot = this.#current().slot;
    const m = message.length > 65536 ? message.subarray(0, 65536) : message;
    this.#emit(R.LOG, { slot, level, message: m });
  }

  /** `numReturns` of encoded task options (the SDK has checked it). */
  #numReturns(options: Uint8Array): number {
    if (options.length === 0) return 1;
    const o = this.#optionsDecoder.decode(options) as { numReturns?: unknown } | null;
    const n = o && typeof o === "object" ? o.numReturns : undefined;
    return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 10_000 ? n : 1;
  }

  submit(fn: Uint8Array, args: Uint8Array, options: Uint8Array): Uint8Array[] {
    const exec = this.#current();
    const numReturns = this.#numReturns(options);
    const id = childTaskId(exec.taskId, exec.children++);
    const argPiece: Piece = args.length <= this.#init.inlineMax ? args : this.#toArena(args);
    this.#emit(R.SUBMIT, { parentSlot: exec.slot, numReturns, taskId: id, name: fn, args: argPiece, options });
    const ids = new Array<Uint8Array>(numReturns);
    for (let i = 0; i < numReturns; i++) ids[i] = objectId(id, i + 1);
    return ids;
  }

  createActor(cls: Uint8Array, args: Uint8Array, options: Uint8Array): Uint8Array {
    const exec = this.#current();
    const id = childTaskId(exec.taskId, exec.children++);
    const argPiece: Piece = args.length <= this.#init.inlineMax ? args : this.#toArena(args);
    this.#emit(R.CREATE_ACTOR, { parentSlot: exec.slot, actorId: id, name: cls, args: argPiece, options });
    const out = new Uint8Array(TASK_ID_BYTES);
    writeTaskId(new DataView(out.buffer), 0, id);
    return out;
  }

  callActor(actor: Uint8Array, method: Uint8Array, args: Uint8Array, options: Uint8Array): Uint8Array[] {
    const exec = this.#current();
    const numReturns = this.#numReturns(options);
    const id = childTaskId(exec.taskId, exec.children++);
    const argPiece: Piece = args.length <= this.#init.inlineMax ? args : this.#toArena(args);
    this.#emit(R.CALL_ACTOR, { parentSlot: exec.slot, numReturns, taskId: id, actor, name: method, args: argPiece, options });
    const ids = new Array<Uint8Array>(numReturns);
    for (let i = 0; i < numReturns; i++) ids[i] = objectId(id, i + 1);
    return ids;
  }

  /** The class of this isolate's actor, for telling its async methods (components with async exports only). */
  #actorClass = "";

  /** An async call's wake-up, answered by a blocking wait: 1 once `numReturns` of `ids` (0: all) are ready, 0 if time ran out. */
  readonly #serveWatch = (ids: Uint8Array[], numReturns: number, timeoutMs: number): number => {
    const need = numReturns === 0 || numReturns > ids.length ? ids.length : numReturns;
    if (need === 0) return 1;
    return this.wait(ids, need, timeoutMs).length >= need ? 1 : 0;
  };

  cancelled(): boolean {
    // the host writes CANCEL_SLOT before anything else of a cancel, and clears it only once the task is over
    return Atomics.load(this.#ctl, CANCEL_SLOT) === this.#current().slot;
  }

  cancel(id: Uint8Array, force: boolean, recursive: boolean): void {
    if (id.length !== OBJECT_ID_BYTES) throw new RangeError("cancel(): not an object ID");
    this.#emit(R.CANCEL, { slot: this.#current().slot, flags: (force ? CANCEL_FORCE : 0) | (recursive ? CANCEL_RECURSIVE : 0), id });
  }

  defer(timeoutMs: number, onTimeout: Uint8Array): Uint8Array {
    const exec = this.#current();
    const value: Piece = onTimeout.length <= this.#init.inlineMax ? onTimeout : this.#toArena(onTimeout);
    // the host checks that the call may defer (an actor method with one return) when its result comes back
    this.#emit(R.DEFER, { slot: exec.slot, timeoutMs, value });
    return objectId(exec.taskId, 1);
  }

  resolve(id: Uint8Array, value: Uint8Array): boolean {
    if (id.length !== OBJECT_ID_BYTES) throw new RangeError("resolve(): not an object ID");
    const exec = this.#current();
    const piece: Piece = value.length <= this.#init.inlineMax ? value : this.#toArena(value);
    const r = this.#call(R.RESOLVE, { slot: exec.slot, id, value: piece });
    if (r.kind !== R_INDICES) throw new Error(`unexpected reply ${r.kind} to resolve`);
    return read(R.INDICES, r)[0] === 1;
  }

  getActor(name: Uint8Array): Uint8Array {
    const exec = this.#current();
    const r = this.#call(R.GET_ACTOR, { slot: exec.slot, name });
    if (r.kind !== R_ACTOR) throw new Error(`unexpected reply ${r.kind} to get-actor`);
    return read(R.ACTOR, r)?.slice() ?? new Uint8Array(0);
  }

  /** `b` (one value) in a fresh arena block, a binary value's bytes aligned after its header (so a get can view them in place). */
  #toArena(b: Uint8Array): Piece {
    const ref = this.#alloc(b.length, -binaryHeaderLength(b) & (BLOCK_ALIGN - 1));
    copyInto(new Uint8Array(this.#segment(ref.seg), ref.off, b.length), b);
    return ref;
  }

  get(ids: Uint8Array[], timeoutMs: number): GuestBytes {
    const bad = ids.findIndex((id) => id.length !== OBJECT_ID_BYTES);
    if (bad >= 0) return failureBytes("WRAY_TASK_ERROR", `get(): element ${bad} is not an object ID`);
    const exec = this.#current();
    let r = this.#call(R.GET, { slot: exec.slot, timeoutMs, ids });
    while (r.kind === R_RUN) r = this.#helpThenResume(r, exec.slot);
    if (r.kind === R_FAILURE) return this.#failureReply(r);
    if (r.kind !== R_VALUES) throw new Error(`unexpected reply ${r.kind} to get`);
    return this.#valuesReply(r);
  }

  wait(ids: Uint8Array[], numReturns: number, timeoutMs: number): number[] {
    const exec = this.#current();
    const bad = ids.findIndex((id) => id.length !== OBJECT_ID_BYTES);
    if (bad >= 0) throw new RangeError(`wait(): element ${bad} is not an object ID`);
    let r = this.#call(R.WAIT, { slot: exec.slot, numReturns, timeoutMs, ids });
    while (r.kind === R_RUN) r = this.#helpThenResume(r, exec.slot);
    if (r.kind !== R_INDICES) throw new Error(`unexpected reply ${r.kind} to wait`);
    return read(R.INDICES, r);
  }

  /** Runs a task the host lent us while we wait, then asks to keep waiting. */
  #helpThenResume(r: Reply, slot: number): Reply {
    // copy: the nested task's own calls reuse the reply area
    const rec = r.bytes.slice(r.at, r.at + r.length);
    this.#runTask(rec, new DataView(rec.buffer), 0, false);
    return this.#call(R.RESUME, { slot });
  }

  #failureReply(r: Reply): GuestBytes {
    const b = read(R.FAILURE, r).slice();
    return { length: b.length, fill: (mem, ptr) => mem.set(b, ptr) };
  }

  #valuesReply(r: Reply): GuestBytes {
    const bytes = r.bytes;
    const pieces = read(R.VALUES, r);
    const head = arrayHeader(pieces.length);
    let total = head.length;
    for (const p of pieces) total += p.len;
    return {
      length: total,
      fill: (mem, ptr) => {
        mem.set(head, ptr);
        let to = ptr + head.length;
        for (const p of pieces) {
          if (p.arena) copyInto(mem, new Uint8Array(this.#segment(p.a), p.b, p.len), to);
          else mem.set(bytes.subarray(p.a, p.a + p.len), to);
          to += p.len;
        }
      },
    };
  }

  put(value: Uint8Array): Uint8Array {
    const exec = this.#current();
    const index = (PUT_INDEX_FLAG | ++exec.puts) >>> 0;
    const piece: Piece = value.length <= this.#init.inlineMax ? value : this.#toArena(value);
    this.#emit(R.PUT, { slot: exec.slot, index, value: piece });
    return objectId(exec.taskId, index);
  }
}

function failureBytes(code: string, message: string): GuestBytes {
  const b = encodeFailure(code, message);
  return { length: b.length, fill: (mem, ptr) => mem.set(b, ptr) };
}

function encodeFailure(code: string, message: string): Uint8Array {
  // a two-key map { code, message } in MessagePack, built by hand to keep the isolate lean
  const enc = new TextEncoder();
  const parts = [enc.encode("code"), enc.encode(code), enc.encode("message"), enc.encode(message)];
  const out: number[] = [0x82];
  for (const p of parts) {
    if (p.length < 32) out.push(0xa0 | p.length);
    else if (p.length < 0x100) out.push(0xd9, p.length);
    else out.push(0xda, p.length >> 8, p.length & 0xff);
    for (const x of p) out.push(x);
  }
  return Uint8Array.from(out);
}

const init = workerData as IsolateInit;
void new Isolate(init).run();
