/**
 * Executions: one per task sent or lent to an isolate, found by the slot
 * number its records carry. An execution owns what the run needs beyond
 * the task itself — argument blocks in shared memory, pins, the refs its
 * guest made, its GPU session — and gives them back when it ends, whether
 * the task ends with it (finish) or goes on elsewhere (abandon).
 */
import { copyInto } from "../../common/copy.js";
import { readArrayHeader, refAt, skipValue } from "../../common/msgpack-walk.js";
import type { GpuSession } from "../../gpu/index.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ArenaRef, ObjectEntry, ObjectStore } from "../../store/index.js";
import type { Piece } from "../isolate/index.js";
import { UNREADABLE_SEGMENT } from "../isolate/index.js";
import { releaseArgs } from "./components.js";

export interface Execution {
  task: TaskSpec;
  iso: number;
  /** Refs a running guest made (children, puts): released when it finishes. */
  owned: string[] | undefined;
  /** Arena blocks that carry the task's arguments (freed when it finishes). */
  blocks: ArenaRef[] | undefined;
  timedOut: boolean;
  /** Its task was cancelled while it ran (its results have failed; it is not retried). */
  cancelled: boolean;
  /** ...and its isolate was stopped for it (cancel with force). */
  forced: boolean;
  /** Lent to a waiting isolate (runs nested), rather than sent through its ring. */
  lent: boolean;
  /** Objects pinned for it (arguments in shared memory, values its gets returned), unpinned when it ends. */
  pinned: ObjectEntry[] | undefined;
  /** The object store's refusal (no room for its arguments or results): what it fails with, if it fails. */
  storeError: Error | undefined;
  /** A task's GPU buffers and kernels (actors keep theirs per isolate: see GuestGpu). */
  gpu: GpuSession | undefined;
  /** Where its record is in the isolate's ring (-1: lent, not sent), to take it back unstarted. */
  ringPos: number;
  /** Its method deferred its result (deferrals.ts), or was refused that: what its call fails with. */
  deferred: boolean;
  deferError: Error | undefined;
  /** Task events: when it was sent to its isolate (ms since the epoch; NaN: not recorded), and whether an event said so yet. */
  scheduledAt: number;
  scheduledShown: boolean;
}

export class Executions {
  readonly #store: ObjectStore;
  readonly #slots: (Execution | undefined)[] = [];
  readonly #free: number[] = [];
  /** Executions open (sent or lent, not reported back). */
  inFlight = 0;
  /** Of those, the ones with a timeout (the watchdog runs while there are any). */
  timed = 0;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** Opens an execution of `task` on `iso` and gives it a slot (see close). */
  open(task: TaskSpec, iso: number, lent: boolean): Execution {
    const exec: Execution = { task, iso, owned: undefined, blocks: undefined, timedOut: false, cancelled: false, forced: false, lent, pinned: undefined, storeError: undefined, gpu: undefined, ringPos: -1, deferred: false, deferError: undefined, scheduledAt: NaN, scheduledShown: false };
    const s = this.#free.pop();
    if (s !== undefined) this.#slots[s] = exec;
    else this.#slots.push(exec);
    task.slot = s ?? this.#slots.length - 1;
    this.inFlight++;
    if (task.timeoutMs > 0) this.timed++;
    return exec;
  }

  /** The execution in `slot`, if any. */
  at(slot: number): Execution | undefined {
    return this.#slots[slot];
  }

  /** Frees the slot of `exec` (its records are answered or void); abandon or finish it too. */
  close(exec: Execution): void {
    const slot = exec.task.slot;
    if (this.#slots[slot] !== exec) return;
    exec.task.slot = -1;
    this.#slots[slot] = undefined;
    this.#free.push(slot);
  }

  /** The open execution of the task whose key is `taskKey`, if any (a look through all: for cancels, which are rare). */
  find(taskKey: string): Execution | undefined {
    for (const e of this.#slots) if (e !== undefined && e.task.taskId.key === taskKey) return e;
    return undefined;
  }

  /** Every open execution. */
  *all(): IterableIterator<Execution> {
    for (const e of this.#slots) if (e !== undefined) yield e;
  }

  /** The open executions on isolate `iso`. */
  onIsolate(iso: number): Execution[] {
    const out: Execution[] = [];
    for (const e of this.#slots) if (e !== undefined && e.iso === iso) out.push(e);
    return out;
  }

  /**
   * Ends an execution but not its task (which may run again elsewhere):
   * frees its argument blocks, ends its pins, drops the refs its guest made.
   */
  abandon(exec: Execution): void {
    this.inFlight--;
    exec.gpu?.close();
    exec.gpu = undefined;
    this.freeBlocks(exec);
    if (exec.owned) for (const id of exec.owned) this.#store.release(id);
    exec.owned = undefined;
    if (exec.task.timeoutMs > 0) this.timed--;
  }

  /** `exec` is over, and its task with it: its references on its arguments go too. */
  finish(exec: Execution): void {
    this.abandon(exec);
    releaseArgs(this.#store, exec.task);
  }

  /** Frees the argument blocks of `exec` and ends its pins. */
  freeBlocks(exec: Execution): void {
    const store = this.#store;
    if (exec.blocks) for (const b of exec.blocks) store.arena.free(b);
    exec.blocks = undefined;
    if (exec.pinned) for (const e of exec.pinned) store.unpin(e);
    exec.pinned = undefined;
  }

  /** Keeps `id` alive until `exec` ends. */
  own(exec: Execution, id: string): void {
    (exec.owned ??= []).push(id);
  }

  /**
   * Keeps `e` in shared memory until `exec` ends, reading it back first if
   * it was spilled (objects inline need nothing). Throws what the store
   * throws when it cannot.
   */
  pin(exec: Execution, e: ObjectEntry): void {
    if (e.arena === undefined && e.spill === undefined) return;
    this.#store.pin(e);
    (exec.pinned ??= []).push(e);
  }

  /**
   * The task's arguments as pieces (see #pieces). When the store cannot
   * provide them (no room to read one back or to gather them), a piece
   * that fails the task in the isolate, in its place in the pipeline.
   */
  argPieces(exec: Execution, maxRecord: number): Piece[] {
    try {
      return this.#pieces(exec, maxRecord);
    } catch (err) {
      exec.storeError = err as Error;
      return [{ seg: UNREADABLE_SEGMENT, off: 0, len: 0 }];
    }
  }

  /**
   * The task's arguments as pieces: top-level ObjectRef arguments replaced
   * by their values (inline bytes, or the arena block), the rest as spans
   * of the encoded array. Arguments too big for a record go to the arena.
   */
  #pieces(exec: Execution, maxRecord: number): Piece[] {
    const task = exec.task;
    const store = this.#store;
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
          const e = store.entry(id)!;
          this.pin(exec, e);
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
    const ref = store.alloc(total);
    const view = store.arena.view(ref);
    let at = 0;
    for (const x of pieces) {
      const src = x instanceof Uint8Array ? x : store.arena.view(x);
      copyInto(view, src, at);
      at += src.length;
    }
    (exec.blocks ??= []).push(ref);
    return [ref];
  }
}
