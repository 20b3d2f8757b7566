/**
 * Isolates' blocking calls: a guest's `get` or `wait` writes a request and
 * sleeps on its reply area until the host answers. Each call is a small
 * state machine:
 *
 *   evaluate ─ done or timed out ──────────────► answer (values / indices / failure)
 *      │
 *      ├─ the isolate may run a task the call waits for ─► lent ─ resume ─► evaluate
 *      └─ otherwise ─► parked: watch each missing object once; a seal that
 *                      may make the call answerable, or the deadline, ─► evaluate
 *
 * While a call waits, the host takes back the tasks its isolate had not
 * started and lends the isolate's resources out (BlockingHost.blocked).
 * A task lent to a waiting isolate may block too, so calls form a stack
 * per isolate; only the top one is evaluated.
 */
import { keyToHex } from "../../common/ids.js";
import type { TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry, ObjectTable } from "../../store/index.js";
import { FAILED, PENDING } from "../../store/index.js";
import type { Piece } from "../isolate/index.js";
import { errorToFailure, failureBytes } from "./failures.js";

/** How the answers reach the waiting isolate (IsolatePool implements it; a fake in tests). */
export interface ReplyChannel {
  /** The call will be answered only later: the isolate stops spinning and sleeps. */
  parked(iso: number): void;
  /** The isolate skips the task records it has not read (they were taken back). */
  discardUnread(iso: number): void;
  replyValues(iso: number, values: readonly Piece[]): void;
  replyIndices(iso: number, indices: readonly number[]): void;
  replyFailure(iso: number, failure: Uint8Array): void;
}

/** What a waiting isolate's node does with it (HostNode implements it). */
export interface BlockingHost {
  /**
   * The isolate waits for `unready` (`first`: the call's first look).
   * Returns the tasks taken back from it, and one it may run meanwhile
   * (only when `mayLend`) — a task that produces one of the objects.
   */
  blocked(iso: number, unready: string[], first: boolean, mayLend: boolean): { reclaimed: TaskSpec[]; help: TaskSpec | undefined };
  /** The isolate's call was answered: it takes its resources back. */
  resumed(iso: number): void;
  /** The error a get of `unready` on `iso` fails with because it could never be answered (DeadlockError), if so. */
  deadlock(iso: number, unready: readonly string[]): Error | undefined;
  /** The cancel of the task in `slot`, if it was cancelled: its calls are answered at once (a get fails with it). */
  cancelled(slot: number): Error | undefined;
  /** Runs `task` nested in the waiting isolate (answers the call with R_RUN). */
  lend(iso: number, task: TaskSpec): void;
  /** The isolate will skip these tasks: their executions end. */
  dropUnstarted(iso: number, tasks: TaskSpec[]): void;
  /**
   * Keeps `e` readable in shared memory for the task in `slot` until it
   * ends (reading it back if spilled). Throws what the store throws.
   */
  pin(slot: number, e: ObjectEntry): void;
}

const GET = 0;
const WAIT = 1;

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
  /** Why it is answered with a failure at once (a deadlock). */
  failure: Error | undefined;
  onSealed: () => void;
}

export class BlockingCalls {
  readonly #objects: ObjectTable;
  readonly #replies: ReplyChannel;
  readonly #host: BlockingHost;
  /** Blocking calls per isolate: a task it runs nested while it waits may block too. */
  readonly #calls = new Map<number, PendingCall[]>();

  constructor(objects: ObjectTable, replies: ReplyChannel, host: BlockingHost) {
    this.#objects = objects;
    this.#replies = replies;
    this.#host = host;
  }

  /** A guest's `get` of `ids` (timeoutMs < 0: no deadline). */
  get(iso: number, slot: number, ids: string[], timeoutMs: number): void {
    this.#call(GET, iso, slot, ids, 0, timeoutMs);
  }

  /** A guest's `wait` for `numReturns` of `ids`. */
  wait(iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void {
    this.#call(WAIT, iso, slot, ids, Math.min(numReturns, ids.length), timeoutMs);
  }

  /** The isolate finished the task it was lent and waits again. */
  resume(iso: number): void {
    const call = this.#top(iso);
    if (!call) return;
    call.lent = false;
    this.#evaluate(call);
  }

  /** The isolate was lent a task (by this call, or by the scheduler while it is parked). */
  lent(iso: number): void {
    const call = this.#top(iso);
    if (call) call.lent = true;
  }

  /** The task in `slot` on `iso` was cancelled: a call of it that waits is answered now. */
  cancelled(iso: number, slot: number): void {
    const call = this.#top(iso);
    if (call && call.slot === slot && !call.lent) this.#evaluate(call);
  }

  /** Calls waiting on `iso` now (nested ones included). */
  depth(iso: number): number {
    return this.#calls.get(iso)?.length ?? 0;
  }

  /** The isolate is gone: its calls are dropped unanswered. */
  isolateExited(iso: number): void {
    for (const call of this.#calls.get(iso) ?? []) this.#stopWatching(call);
    this.#calls.delete(iso);
  }

  close(): void {
    for (const stack of this.#calls.values()) for (const call of stack) if (call.timer) clearTimeout(call.timer);
    this.#calls.clear();
  }

  #top(iso: number): PendingCall | undefined {
    const stack = this.#calls.get(iso);
    return stack?.[stack.length - 1];
  }

  #call(kind: typeof GET | typeof WAIT, iso: number, slot: number, ids: string[], numReturns: number, timeoutMs: number): void {
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
      failure: undefined,
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

  /** Answers the call if it can; otherwise helps or parks the isolate and watches the objects. */
  #evaluate(call: PendingCall): void {
    const unready: string[] = [];
    let ready = 0;
    for (const id of call.ids) {
      const e = this.#objects.entry(id);
      if (e === undefined || e.state !== PENDING) ready++;
      else unready.push(id);
    }
    const done = call.kind === GET ? unready.length === 0 : ready >= call.numReturns;
    if (done || call.timedOut || this.#host.cancelled(call.slot) !== undefined) {
      this.#answer(call);
      return;
    }
    if (!call.blocked && (call.kind === GET || call.numReturns >= call.ids.length)) {
      // one that could never be answered fails now rather than hang (a wait for all of them, as an
      // async method's await is, is answered with what is ready: its get then fails with the deadlock)
      call.failure = this.#host.deadlock(call.iso, unready);
      if (call.failure) return this.#answer(call);
    }
    // a call with a deadline is not lent work: the task might outlast it
    const mayLend = call.timeoutMs < 0;
    const { reclaimed, help } = this.#host.blocked(call.iso, unready, !call.blocked, mayLend);
    call.blocked = true;
    if (reclaimed.length > 0) {
      this.#replies.discardUnread(call.iso);
      this.#host.dropUnstarted(call.iso, reclaimed);
    }
    if (help) {
      call.lent = true;
      this.#host.lend(call.iso, help);
      return;
    }
    // parked: tell the isolate to stop spinning, and watch each missing object once
    this.#replies.parked(call.iso);
    call.unready = unready.length;
    const w = (call.watched ??= new Set());
    for (const id of unready) {
      if (w.has(id)) continue;
      w.add(id);
      this.#objects.whenSealed(id, call.onSealed);
    }
  }

  #stopWatching(call: PendingCall): void {
    if (call.timer) clearTimeout(call.timer);
    if (call.watched) for (const id of call.watched) this.#objects.unwatch(id, call.onSealed);
  }

  #answer(call: PendingCall): void {
    const stack = this.#calls.get(call.iso)!;
    stack.pop();
    if (stack.length === 0) this.#calls.delete(call.iso);
    this.#stopWatching(call);
    if (call.kind === WAIT) {
      const idx: number[] = [];
      for (let i = 0; i < call.ids.length && idx.length < call.numReturns; i++) {
        const e = this.#objects.entry(call.ids[i]!);
        if (e === undefined || e.state !== PENDING) idx.push(i);
      }
      this.#replies.replyIndices(call.iso, idx);
    } else {
      const failure = this.#values(call);
      if (failure instanceof Uint8Array) this.#replies.replyFailure(call.iso, failure);
      else this.#replies.replyValues(call.iso, failure);
    }
    if (call.blocked) this.#host.resumed(call.iso);
  }

  /** The values a get returns, pinned for its task; or the failure it gets instead. */
  #values(call: PendingCall): Piece[] | Uint8Array {
    const values: Piece[] = [];
    // a cancelled task's get fails with its cancel, so a guest that waits stops there
    const cancel = this.#host.cancelled(call.slot) ?? call.failure;
    if (cancel) return errorToFailure(cancel);
    for (const id of call.ids) {
      const e = this.#objects.entry(id);
      if (e === undefined) return failureBytes({ code: "WRAY_OBJECT_LOST", name: "ObjectLostError", message: `object ${keyToHex(id)} was freed`, task: "", stack: "" });
      if (e.state === PENDING) return failureBytes({ code: "WRAY_GET_TIMEOUT", name: "GetTimeoutError", message: `get timed out after ${call.timeoutMs} ms`, task: "", stack: "" });
      if (e.state === FAILED) return errorToFailure(e.error);
      // the isolate copies from shared memory after this returns: keep it there until the task ends
      try {
        this.#host.pin(call.slot, e);
      } catch (err) {
        return errorToFailure(err as Error);
      }
      values.push(e.arena ?? e.bytes!);
    }
    return values;
  }
}
