/**
 * Dependency resolution, the one place it happens: a task (or actor call,
 * or a task about to leave for another node) waits until each of its
 * top-level ObjectRef arguments is resolved, then goes on.
 *
 * "Resolved" is whatever the caller's `watch` waits for: sealed here
 * (`ObjectTable.whenSealed`: the local scheduler and actors, which then
 * run the task here) or, for the owner placing a task in a cluster, sealed
 * or known to be on another node (it travels with a location, not bytes).
 */
import { keyToHex } from "../common/ids.js";
import type { ObjectTable } from "../store/index.js";
import { FAILED, ObjectLostError, PENDING } from "../store/index.js";

/** A task as resolution sees it: its arguments, and how many it still waits for. */
export interface Dependent {
  readonly deps: readonly string[] | undefined;
  readonly name: string;
  unresolved: number;
}

/** Registers `cb` for when `id` resolves; false (and no call) if it already is. */
export type Watch = (id: string, cb: () => void) => boolean;

/**
 * Waits for the arguments of `t` that are not resolved yet, counting them
 * in `t.unresolved`; calls `ready` when the last one resolves. Returns
 * false when none had to be waited for — `ready` is not called then: the
 * caller goes on at once.
 */
export function awaitDeps(t: Dependent, watch: Watch, ready: () => void): boolean {
  const deps = t.deps;
  if (deps === undefined) return false;
  const one = () => {
    if (--t.unresolved === 0) ready();
  };
  // counted before each registration, and one more held until all are made: a callback that
  // runs during registration (an argument sealed at once, failed) cannot bring the count to 0
  t.unresolved++;
  for (let i = 0; i < deps.length; i++) {
    t.unresolved++;
    if (!watch(deps[i]!, one)) t.unresolved--;
  }
  return --t.unresolved > 0;
}

/**
 * Why `t` cannot run although its arguments resolved: one failed (its
 * error) or was freed. Undefined when it can run.
 */
export function depFailure(table: ObjectTable, t: Dependent): Error | undefined {
  if (t.deps === undefined) return undefined;
  for (const d of t.deps) {
    const e = table.entry(d);
    if (e === undefined) return new ObjectLostError(keyToHex(d), `an argument of '${t.name}', freed before it ran`);
    if (e.state === FAILED) return e.error;
    if (e.state === PENDING) return new ObjectLostError(keyToHex(d), `'${t.name}' was about to run before it was made`);
  }
  return undefined;
}
