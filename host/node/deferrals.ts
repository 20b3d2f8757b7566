/**
 * Deferred results of actor calls (WIT `host.defer` / `host.resolve`): an
 * actor method that defers returns at once, freeing its actor for the
 * calls behind it, and its call's result stays pending until a later call
 * of the same actor resolves it. This is what lets a Queue actor answer a
 * `get` when a `put` comes, without holding the actor meanwhile.
 *
 * Design assumptions:
 * - Only an actor method with one return defers (the constructor, the
 *   host's checkpoint calls and tasks do not): anything else fails its
 *   call with a TypeError when it comes back.
 * - A deferred call ends in exactly one of these ways, whichever comes
 *   first: a resolve (the value given), its timeout (the value named at
 *   defer), a cancel (TaskCancelledError), or the end of the instance that
 *   deferred it, by death or restart (ActorDiedError: a new instance does
 *   not know what the old one promised). `resolve` says whether it gave the
 *   value, so a guest never hands an item to a call that has already ended.
 * - The call counts as finished for its actor when the method returns (the
 *   next call runs); it is done for its owner (`onDone`, TASK_DONE to
 *   another node) only when it ends. A call resolved while its method
 *   still runs (it resolved itself) is done when the method returns.
 */
import type { TaskSpec } from "../../scheduler/index.js";
import type { ObjectEntry, ObjectStore } from "../../store/index.js";
import { PENDING } from "../../store/index.js";
import type { Piece } from "../isolate/index.js";
import type { Execution } from "./executions.js";
import { nestedOrUndefined } from "./values.js";

interface Deferral {
  readonly task: TaskSpec;
  /** The key of the actor whose instance deferred it. */
  readonly actor: string;
  /** What its timeout resolves it with (freed if something else ends it first). */
  onTimeout: Piece | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Its method has not returned yet. */
  running: boolean;
  /** It has ended (while its method still ran): done when the method returns. */
  ended: boolean;
}

export class Deferrals {
  readonly #store: ObjectStore;
  /** By the key of the call's result. */
  readonly #calls = new Map<string, Deferral>();
  /** Calls deferring in their running method, by execution. */
  readonly #running = new WeakMap<Execution, Deferral>();

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** Calls waiting to be resolved. */
  get size(): number {
    return this.#calls.size;
  }

  /**
   * The method running as `exec` (on actor `actor`) defers its result; a
   * second defer in the same call changes nothing. Returns why it may not,
   * if it may not (its call then fails with that when it returns).
   */
  defer(exec: Execution, actor: string | undefined, method: boolean, timeoutMs: number, onTimeout: Piece): Error | undefined {
    const task = exec.task;
    const refusal =
      actor === undefined || !method
        ? `defer(): only an actor method can defer its result ('${task.name}' is ${actor === undefined ? "a task" : "a constructor or a call of the host's"})`
        : task.returns.length !== 1
          ? `defer(): '${task.name}' has numReturns ${task.returns.length}; only a method with one return can defer`
          : undefined;
    if (refusal !== undefined || this.#running.has(exec) || task.returns[0]!.state !== PENDING) {
      this.#free(onTimeout);
      return refusal === undefined ? undefined : new TypeError(refusal);
    }
    const d: Deferral = { task, actor: actor!, onTimeout, timer: undefined, running: true, ended: false };
    this.#running.set(exec, d);
    this.#calls.set(task.returns[0]!.key, d);
    if (timeoutMs >= 0) {
      d.timer = setTimeout(() => this.#timedOut(d), Math.min(timeoutMs, 0x7fffffff));
      d.timer.unref?.();
    }
    return undefined;
  }

  /**
   * A method of `actor` resolves deferred call `id` with `value`: true when
   * it was given. `value` is this call's to keep either way.
   */
  resolve(actor: string, id: string, value: Piece): boolean {
    const d = this.#calls.get(id);
    if (d === undefined || d.actor !== actor || d.ended) {
      this.#free(value);
      return false;
    }
    if (!this.#seal(d, value)) return false;
    this.#end(d);
    return true;
  }

  /**
   * The method running as `exec` returned (`ok` false: it failed).
   * `deferred`: its result is not what it returned; `ended`: that result
   * has been given already (it resolved itself), so its call is done now,
   * else it is done when it ends. A method that failed before its call was
   * given a result is not deferred: its failure is its result.
   */
  returned(exec: Execution, ok: boolean): { deferred: boolean; ended: boolean } {
    const d = this.#running.get(exec);
    if (d === undefined) return { deferred: false, ended: false };
    this.#running.delete(exec);
    d.running = false;
    if (!ok && !d.ended) {
      // it failed after deferring: its failure stands, as an undeferred call's
      this.#drop(d);
      return { deferred: false, ended: false };
    }
    return { deferred: true, ended: d.ended };
  }

  /** The call whose result is `resultKey`, if it waits to be resolved. */
  waiting(resultKey: string): TaskSpec | undefined {
    const d = this.#calls.get(resultKey);
    return d === undefined || d.ended ? undefined : d.task;
  }

  /** The call whose result is `resultKey`, if it waits to be resolved: cancelled (failed with `error`). */
  cancel(resultKey: string, error: Error): boolean {
    const d = this.#calls.get(resultKey);
    if (d === undefined || d.ended) return false;
    for (const e of d.task.returns) this.#store.fail(e, error);
    this.#end(d);
    return true;
  }

  /** The instance of actor `actor` ended (died or restarts): what it deferred fails with `error`. */
  actorEnded(actor: string, error: Error): void {
    for (const d of [...this.#calls.values()]) {
      if (d.actor !== actor) continue;
      // a method still running ends with its isolate, and its call with it
      if (d.running) {
        this.#drop(d);
        continue;
      }
      for (const e of d.task.returns) this.#store.fail(e, error);
      this.#end(d);
    }
  }

  /** The node stops: no timer fires any more. */
  close(): void {
    for (const d of this.#calls.values()) if (d.timer !== undefined) clearTimeout(d.timer);
    this.#calls.clear();
  }

  #timedOut(d: Deferral): void {
    d.timer = undefined;
    if (d.ended || this.#calls.get(d.task.returns[0]!.key) !== d) return;
    const value = d.onTimeout!;
    d.onTimeout = undefined;
    this.#seal(d, value);
    this.#end(d);
  }

  /** Seals the call's result with `value`; false (and `value` freed) when nothing waits for it any more. */
  #seal(d: Deferral, value: Piece): boolean {
    const e: ObjectEntry = d.task.returns[0]!;
    if (!e.live || e.state !== PENDING) {
      this.#free(value);
      return false;
    }
    const store = this.#store;
    if (value instanceof Uint8Array) store.sealInline(e, value, nestedOrUndefined(value));
    else store.sealArena(e, value, nestedOrUndefined(store.arena.view(value)));
    return true;
  }

  /** `d` has its outcome: it is done for its owner now, or when its method returns. */
  #end(d: Deferral): void {
    d.ended = true;
    this.#drop(d);
    if (!d.running) d.task.onDone?.(d.task);
  }

  #drop(d: Deferral): void {
    if (d.timer !== undefined) clearTimeout(d.timer);
    d.timer = undefined;
    this.#free(d.onTimeout);
    d.onTimeout = undefined;
    const key = d.task.returns[0]!.key;
    if (this.#calls.get(key) === d) this.#calls.delete(key);
  }

  #free(p: Piece | undefined): void {
    if (p !== undefined && !(p instanceof Uint8Array)) this.#store.arena.free(p);
  }
}

