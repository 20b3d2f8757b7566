/**
 * The host's end of one isolate's channel: its worker thread, the task
 * ring the host writes, the event ring it reads (each event record read
 * with records.ts and handed on), the reply area for the isolate's
 * blocking call, and its control port. The pool (pool.ts) keeps one per
 * isolate.
 */
import type { MessagePort, Worker } from "node:worker_threads";
import type { ByteSlab } from "../../common/slab.js";
import type { ArenaRef } from "../../store/index.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ChannelMemory, RingReader, RingWriter } from "./channel.js";
import { GUEST_MEMORY_KB, ISOLATE_BELL, ISOLATE_PARKED, REPLY_HEADER, REPLY_PARKED, REPLY_READY, REPLY_STATE, RUNNING_SEQ, RUNNING_SLOT, CANCEL_SLOT } from "./channel.js";
import type { PoolEvents } from "./events.js";
import type { ControlMessage, Piece, PieceView } from "./protocol.js";
import { GPU_FROM_BYTES, GPU_WRITE, R_PORT, T_CONTROL, T_STOLEN, T_TASK } from "./protocol.js";
import type { Layout } from "./records.js";
import * as R from "./records.js";

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
/** E_GPU as the host reads it: the payload stays bytes (host/node/gpu-calls.ts reads it by op). */
const GPU_CALL = R.gpuCall(undefined);

export class IsolateLink {
  readonly id: number;
  readonly worker: Worker;
  readonly mem: ChannelMemory;
  readonly tasks: RingWriter;
  readonly events: RingReader;
  readonly port: MessagePort;
  /** Runs one actor; not one of the pool's task isolates. */
  readonly dedicated: boolean;
  /** Components it has loaded. */
  readonly loaded = new Set<number>();
  /** T_CONTROL records still to write (the ring was full). */
  controlBacklog = 0;
  exited = false;
  /** Small values copied out of the ring land here (shared by the pool's links). */
  readonly #slab: ByteSlab;

  constructor(id: number, worker: Worker, mem: ChannelMemory, ends: { tasks: RingWriter; events: RingReader }, port: MessagePort, dedicated: boolean, slab: ByteSlab) {
    this.id = id;
    this.worker = worker;
    this.mem = mem;
    this.tasks = ends.tasks;
    this.events = ends.events;
    this.port = port;
    this.dedicated = dedicated;
    this.#slab = slab;
  }

  // ---- host → isolate -------------------------------------------------------------

  /**
   * Wakes the isolate if it sleeps. The record was committed (a seq-cst store)
   * before we read PARKED, and the isolate sets PARKED before it re-reads
   * the ring, so either we see PARKED or it sees the record.
   */
  ring(): void {
    const ctl = this.mem.ctl;
    if (Atomics.load(ctl, ISOLATE_PARKED) === 0) return;
    Atomics.add(ctl, ISOLATE_BELL, 1);
    Atomics.notify(ctl, ISOLATE_BELL);
  }

  /** Posts `m` on the control port and tells the isolate it waits (or remembers to, if its ring is full). */
  control(m: ControlMessage): void {
    this.port.postMessage(m);
    this.controlBacklog++;
    this.flushControl();
  }

  /** Writes the T_CONTROL records the ring had no room for. */
  flushControl(): void {
    while (this.controlBacklog > 0) {
      if (this.tasks.begin(T_CONTROL, 0) < 0) return;
      this.tasks.commit();
      this.controlBacklog--;
      this.ring();
    }
  }

  /**
   * Appends a task to the ring. Returns the record's position (for
   * `steal`), or -1 when the ring is full (or the isolate is gone).
   */
  sendTask(slot: number, task: TaskSpec, pieces: readonly Piece[]): number {
    if (this.exited) return -1;
    if (this.controlBacklog > 0) this.flushControl();
    const w = this.tasks;
    const at = w.begin(T_TASK, R.taskRecordSize(task.nameBytes, pieces));
    if (at < 0) return -1;
    const pos = w.position;
    R.writeTaskRecord(w.view, w.bytes, at, slot, task.component, task.kind, task.numReturns, task.taskId, task.nameBytes, pieces);
    w.commit();
    this.ring();
    return pos;
  }

  /**
   * Takes back the task record at ring position `pos` if the
   * isolate has not started it (it skips a stolen record). The isolate
   * claims records in ring order, so once this fails for a record it fails
   * for every record before it.
   */
  steal(pos: number): boolean {
    if (this.exited) return false;
    return this.tasks.swapType(pos, T_TASK, T_STOLEN) === T_TASK;
  }

  /**
   * Takes back the records the isolate has not read. Only while it is
   * blocked in a call (it resyncs its ring when the call returns).
   */
  discardUnread(): void {
    this.tasks.discardUnread();
  }

  /** Writes reply `r` with `layout` for the waiting isolate, and wakes it. */
  reply<W>(layout: Layout<W, unknown>, r: W): void {
    if (this.exited) return;
    const area = this.mem.reply;
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
      this.port.postMessage({ type: "reply", bytes: b } satisfies ControlMessage);
      R.writeReplyHeader(new DataView(area.buffer, area.byteOffset, REPLY_HEADER), R_PORT, 0);
    }
    // the isolate waits until REPLY_STATE is READY: store, then wake
    Atomics.store(this.mem.ctl, REPLY_STATE, REPLY_READY);
    Atomics.notify(this.mem.ctl, REPLY_STATE);
  }

  /**
   * Tells a waiting isolate its call will be answered only later, so it
   * stops spinning and sleeps. (No notify: a sleeping isolate is woken by
   * the reply itself.)
   */
  parked(): void {
    if (!this.exited) Atomics.compareExchange(this.mem.ctl, REPLY_STATE, 0, REPLY_PARKED);
  }

  /** The linear memory of the guest instance that last ran here, bytes (as of its last task or host call). */
  guestMemory(): number {
    return Atomics.load(this.mem.ctl, GUEST_MEMORY_KB) * 1024;
  }

  /** The slot it runs now (-1: none) and a counter of its task starts. */
  running(): { slot: number; seq: number } {
    return { slot: Atomics.load(this.mem.ctl, RUNNING_SLOT), seq: Atomics.load(this.mem.ctl, RUNNING_SEQ) };
  }

  /**
   * Marks the task in `slot` cancelled for its guest's `cancelled()` (`on`),
   * or takes the mark off again (its task is over: the slot may be reused).
   */
  markCancelled(slot: number, on: boolean): void {
    if (on) Atomics.store(this.mem.ctl, CANCEL_SLOT, slot);
    else Atomics.compareExchange(this.mem.ctl, CANCEL_SLOT, slot, -1);
  }

  // ---- isolate → host ---------------------------------------------------------------

  /** Reads every event waiting in the event ring and hands each on to `ev` (or `ev.guests`). Returns how many. */
  poll(ev: PoolEvents): number {
    const r = this.events;
    const id = this.id;
    const dv = r.view;
    const b = r.bytes;
    let n = 0;
    for (;;) {
      const type = r.next();
      if (type < 0) break;
      n++;
      const at = r.at;
      const len = r.length;
      const guest = ev.guests;
      switch (type) {
        case R.RESULT.type: {
          const x = R.RESULT.read(dv, b, at, len);
          if (x.values === undefined) ev.result(id, x.slot, x.status, x.ms, undefined, x.detail!.slice());
          else ev.result(id, x.slot, x.status, x.ms, this.#copyPieces(b, x.values), undefined);
          break;
        }
        case R.SUBMIT.type: {
          const x = R.SUBMIT.read(dv, b, at, len);
          guest.guestSubmit(id, x.parentSlot, x.numReturns, x.taskId, decoder.decode(x.name), this.#copyPiece(b, x.args), x.options.slice());
          break;
        }
        case R.GET.type: {
          const x = R.GET.read(dv, b, at, len);
          guest.get(id, x.slot, x.ids, x.timeoutMs);
          break;
        }
        case R.WAIT.type: {
          const x = R.WAIT.read(dv, b, at, len);
          guest.wait(id, x.slot, x.ids, x.numReturns, x.timeoutMs);
          break;
        }
        case R.CREATE_ACTOR.type: {
          const x = R.CREATE_ACTOR.read(dv, b, at, len);
          guest.guestCreateActor(id, x.parentSlot, x.actorId, decoder.decode(x.name), this.#copyPiece(b, x.args), x.options.slice());
          break;
        }
        case R.CALL_ACTOR.type: {
          const x = R.CALL_ACTOR.read(dv, b, at, len);
          guest.guestCallActor(id, x.parentSlot, x.numReturns, x.taskId, x.actorKey, decoder.decode(x.name), this.#copyPiece(b, x.args), x.options.slice());
          break;
        }
        case R.GET_ACTOR.type: {
          const x = R.GET_ACTOR.read(dv, b, at, len);
          guest.getActor(id, x.slot, decoder.decode(x.name));
          break;
        }
        case GPU_CALL.type: {
          const x = GPU_CALL.read(dv, b, at, len);
          const upload = x.op === GPU_FROM_BYTES || x.op === GPU_WRITE;
          const payload = x.payload!;
          guest.gpuCall(id, {
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
        case R.CANCEL.type: {
          const x = R.CANCEL.read(dv, b, at, len);
          guest.cancel(id, x.slot, x.id, x.flags);
          break;
        }
        case R.DEFER.type: {
          const x = R.DEFER.read(dv, b, at, len);
          guest.defer(id, x.slot, x.timeoutMs, this.#copyPiece(b, x.value));
          break;
        }
        case R.RESOLVE.type: {
          const x = R.RESOLVE.read(dv, b, at, len);
          guest.resolve(id, x.slot, x.id, this.#copyPiece(b, x.value));
          break;
        }
        case R.RESUME.type:
          guest.resume(id, R.RESUME.read(dv, b, at, len).slot);
          break;
        case R.PUT.type: {
          const x = R.PUT.read(dv, b, at, len);
          guest.put(id, x.slot, x.index, this.#copyPiece(b, x.value));
          break;
        }
        case R.LOG.type: {
          const x = R.LOG.read(dv, b, at, len);
          guest.log(id, x.slot, x.level, decoder.decode(x.message));
          break;
        }
        case R.ALLOC.type: {
          const x = R.ALLOC.read(dv, b, at, len);
          let ref: ArenaRef | undefined;
          let err = "";
          try {
            ref = guest.alloc(id, x.slot, x.length, x.lead);
          } catch (e) {
            err = e instanceof Error ? e.message : String(e);
          }
          if (ref) this.reply(R.ALLOCATED, ref);
          else this.reply(R.FAILURE, new TextEncoder().encode(err));
          break;
        }
        case R.LOADED.type: {
          const x = R.LOADED.read(dv, b, at, len);
          if (x.ok) this.loaded.add(x.component);
          ev.loaded(id, x.component, x.ok, decoder.decode(x.message));
          break;
        }
        default:
          throw new Error(`isolate ${id} sent an unknown event type ${type}`);
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
}
