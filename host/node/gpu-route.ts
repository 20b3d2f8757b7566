/**
 * Which GPU session a guest's GPU call belongs to — the task's own (closed
 * when it ends), or for an actor its isolate's (closed when the actor
 * dies) — and the isolate's wait while the device works.
 */
import { GpuSession } from "../../gpu/index.js";
import type { HostGpu } from "../../gpu/index.js";
import type { ObjectStore } from "../../store/index.js";
import type { GpuCall } from "../isolate/index.js";
import type { Piece } from "../isolate/index.js";
import { GPU_DESTROY, KIND_TASK } from "../isolate/index.js";
import type { Execution, Executions } from "./executions.js";
import { GpuCalls } from "./gpu-calls.js";

/** How GPU answers reach the isolate (IsolatePool implements it). */
export interface GpuReplies {
  parked(iso: number): void;
  replyGpu(iso: number, code: number, value: number, piece: Piece): void;
}

export class GuestGpu {
  readonly #calls: GpuCalls;
  readonly #store: ObjectStore;
  readonly #executions: Executions;
  readonly #replies: GpuReplies;
  /** Actors' GPU sessions, by the actor's isolate: they live as long as the actor. */
  readonly #actorSessions = new Map<number, GpuSession>();
  /** Calls the device is working on (their isolates sleep meanwhile). */
  waiting = 0;

  constructor(gpu: HostGpu, store: ObjectStore, executions: Executions, replies: GpuReplies) {
    this.#calls = new GpuCalls(gpu, store);
    this.#store = store;
    this.#executions = executions;
    this.#replies = replies;
  }

  /**
   * A guest's GPU call: answered when the device has done it. `want` finds
   * an object this node does not hold (false: there is nowhere to look).
   */
  call(iso: number, call: GpuCall, want: (exec: Execution, id: string) => boolean): void {
    const executions = this.#executions;
    const exec = executions.at(call.slot);
    if (call.op === GPU_DESTROY) {
      if (exec) (exec.task.kind === KIND_TASK ? exec.gpu : this.#actorSessions.get(iso))?.destroyBuffer(call.a);
      return;
    }
    if (!exec) {
      // the task is gone (timed out): its isolate is being stopped
      if (call.piece && !(call.piece instanceof Uint8Array)) this.#store.arena.free(call.piece);
      return;
    }
    const session = this.#session(exec, iso);
    this.#replies.parked(iso);
    this.waiting++;
    const alive = () => executions.at(call.slot) === exec;
    this.#calls
      .answer(session, call, {
        taskId: exec.task.taskId,
        alive,
        keepBlock: (ref) => (exec.blocks ??= []).push(ref),
        own: (id) => executions.own(exec, id),
        want: (id) => want(exec, id),
      })
      .then((a) => {
        this.waiting--;
        if (alive()) this.#replies.replyGpu(iso, a.code, a.value, a.piece);
      });
  }

  /** The GPU session of the task `exec` runs, or of the actor whose isolate `iso` is. */
  #session(exec: Execution, iso: number): GpuSession {
    if (exec.task.kind === KIND_TASK) return (exec.gpu ??= new GpuSession());
    let s = this.#actorSessions.get(iso);
    if (!s) this.#actorSessions.set(iso, (s = new GpuSession()));
    return s;
  }

  /** The isolate is gone: its actor's buffers and kernels go with it. */
  isolateExited(iso: number): void {
    this.#actorSessions.get(iso)?.close();
    this.#actorSessions.delete(iso);
  }

  close(): void {
    for (const s of this.#actorSessions.values()) s.close();
    this.#actorSessions.clear();
  }
}
