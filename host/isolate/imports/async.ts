/**
 * Async tasks and methods of JS guests (the `runtime-async` world): the
 * component-model async builtins their runtime imports, implemented at the
 * core level as the `host` interface is (imports/runtime.ts), and the loop
 * that drives one async call to its end.
 *
 * The protocol (the Canonical ABI's async "callback" lifting):
 * - `[async-lift]…#invoke` starts the call and returns a code: EXIT (it
 *   returned, through `[task-return]`), YIELD (call back now), or WAIT
 *   with a waitable set (it awaits something).
 * - What a wray guest awaits is a wake-up, `host-async.watch(ids, n,
 *   timeout)`: a future whose read stays pending until the host says the
 *   objects are ready (or the time ran out).
 * - The loop serves the call's pending reads one at a time with a blocking
 *   `wait` of the isolate (its CPU is lent meanwhile, as for any blocking
 *   get), writes the read's value, and calls the call's own `[callback]`
 *   with FUTURE_READ, until it exits.
 * Each call keeps its own context word (what the runtime saves across a
 * WAIT); calls nest (a task lent to a waiting isolate may be async too),
 * so the current call is a stack.
 *
 * Awaiting a promise that another call resolves is not a wake-up: the
 * runtime would finish it inside the other call, and it cannot. A call
 * that waits with nothing pending fails (see `drive`).
 */
import type { GuestMemory } from "./runtime.js";
import { readIds } from "./runtime.js";

export const HOST_ASYNC_IMPORT = "wray:runtime/host-async@0.1.0";
export const GUEST_ASYNC_EXPORT = "wray:runtime/guest-async@0.1.0";

// the Canonical ABI's codes
const CALLBACK_EXIT = 0;
const CALLBACK_YIELD = 1;
const CALLBACK_WAIT = 2;
const EVENT_NONE = 0;
const EVENT_FUTURE_READ = 4;
/** A read that cannot complete now. */
const BLOCKED = 0xffff_ffff;
const COPY_COMPLETED = 0;
const COPY_CANCELLED = 2;

/** One wake-up a call awaits. */
interface Watch {
  readonly ids: Uint8Array[];
  readonly numReturns: number;
  readonly timeoutMs: number;
  /** Where the pending read wants its u32 (undefined until it reads). */
  readPtr: number | undefined;
  readonly call: AsyncCall;
}

/** One async call in progress. */
interface AsyncCall {
  /** The runtime's context word for it. */
  ctx: number;
  /** Its reply, once it returned. */
  result: Uint8Array | undefined;
  /** Its wake-ups, by future handle. */
  readonly watches: Map<number, Watch>;
}

/** Answers a wake-up by blocking the isolate: 1 once the objects are ready, 0 if the time ran out. */
export type ServeWatch = (ids: Uint8Array[], numReturns: number, timeoutMs: number) => number;

/** The builtins and the drive loop of one guest instance. */
export class AsyncCalls {
  readonly #mem: () => GuestMemory;
  readonly #calls: AsyncCall[] = [];
  readonly #watches = new Map<number, Watch>();
  #nextHandle = 1;
  #nextSet = 1;

  constructor(mem: () => GuestMemory) {
    this.#mem = mem;
  }

  #current(): AsyncCall {
    const c = this.#calls[this.#calls.length - 1];
    if (!c) throw new Error("an async builtin outside of any async call");
    return c;
  }

  /** Core imports to merge into each core instance's imports, by module name. */
  imports(): Record<string, Record<string, unknown>> {
    const self = this;
    const taskReturn = (ptr: number, len: number) => {
      self.#current().result = new Uint8Array(self.#mem().memory.buffer, ptr, len).slice();
    };
    return {
      $root: {
        "[context-get-0]": () => self.#current().ctx,
        "[context-set-0]": (v: number) => {
          self.#current().ctx = v;
        },
        "[waitable-set-new]": () => self.#nextSet++,
        // a call's reads are known by their watch: sets need no bookkeeping of their own
        "[waitable-join]": () => {},
        "[waitable-set-drop]": () => {},
        "[subtask-drop]": () => {},
        "[subtask-cancel]": () => COPY_CANCELLED,
      },
      "[export]$root": { "[task-cancel]": () => {} },
      // adapters between the runtime's own modules (jco tracks tasks there; our calls bypass jco)
      async: { "enter-sync-call": () => 1, "exit-sync-call": () => {} },
      [`[export]${GUEST_ASYNC_EXPORT}`]: { "[task-return]invoke": taskReturn, "[task-return]call": taskReturn },
      [HOST_ASYNC_IMPORT]: {
        watch(idsPtr: number, idsLen: number, numReturns: number, timeout: bigint): number {
          const call = self.#current();
          const h = self.#nextHandle++;
          const w: Watch = { ids: readIds(self.#mem(), idsPtr, idsLen), numReturns: numReturns >>> 0, timeoutMs: Number(timeout), readPtr: undefined, call };
          self.#watches.set(h, w);
          call.watches.set(h, w);
          return h;
        },
        "[async-lower][future-read-0]watch"(h: number, ptr: number): number {
          const w = self.#watches.get(h);
          if (!w) throw new Error(`read of unknown wake-up ${h}`);
          w.readPtr = ptr;
          return BLOCKED;
        },
        "[future-cancel-read-0]watch"(h: number): number {
          const w = self.#watches.get(h);
          if (w) w.readPtr = undefined;
          return (0 << 4) | COPY_CANCELLED;
        },
        "[future-drop-readable-0]watch"(h: number): void {
          const w = self.#watches.get(h);
          self.#watches.delete(h);
          w?.call.watches.delete(h);
        },
        "[future-new-0]watch"(): never {
          throw new Error("guests do not make wake-ups of their own");
        },
      },
    };
  }

  /**
   * Runs one async call: `start()` calls its `[async-lift]` export,
   * `callback` its `[callback]`; `serve` answers its wake-ups. Returns its
   * reply (copied). Throws when it waits for something that is not a
   * wake-up (nothing would ever finish it).
   */
  drive(start: () => number, callback: (e0: number, e1: number, e2: number) => number, serve: ServeWatch): Uint8Array {
    const call: AsyncCall = { ctx: 0, result: undefined, watches: new Map() };
    const enter = (f: () => number): number => {
      this.#calls.push(call);
      try {
        return f();
      } finally {
        this.#calls.pop();
      }
    };
    let code = enter(start);
    for (;;) {
      const kind = code & 0xf;
      if (kind === CALLBACK_EXIT) break;
      if (kind === CALLBACK_YIELD) {
        code = enter(() => callback(EVENT_NONE, 0, 0));
        continue;
      }
      if (kind !== CALLBACK_WAIT) throw new Error(`async call returned an unknown code ${code}`);
      const next = [...call.watches].find(([, w]) => w.readPtr !== undefined);
      if (!next) throw new Error("the async function awaits something that is not an object (a promise another call resolves): nothing would ever finish it");
      const [h, w] = next;
      const value = serve(w.ids, w.numReturns, w.timeoutMs);
      const ptr = w.readPtr!;
      w.readPtr = undefined;
      new DataView(this.#mem().memory.buffer).setUint32(ptr, value, true);
      code = enter(() => callback(EVENT_FUTURE_READ, h, (1 << 4) | COPY_COMPLETED));
    }
    // wake-ups the runtime did not drop (a call that ended while one was pending) go with the call
    for (const h of call.watches.keys()) this.#watches.delete(h);
    if (call.result === undefined) throw new Error("the async function ended without a result");
    return call.result;
  }
}
