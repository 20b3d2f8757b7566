/**
 * The object refs inside encoded values: which arguments a task waits
 * for, and which refs a value keeps alive.
 */
import { mayHoldRefs, nestedRefs, readArrayHeader, refAt, skipValue } from "../../common/msgpack-walk.js";

/** The refs in an encoded argument array: top-level ones (resolved) and nested ones (kept alive). */
export function argRefs(args: Uint8Array): { deps: string[] | undefined; nested: string[] | undefined } {
  if (!mayHoldRefs(args)) return { deps: undefined, nested: undefined };
  const all = nestedRefs(args);
  if (all.length === 0) return { deps: undefined, nested: undefined };
  let deps: string[] | undefined;
  const { count, start } = readArrayHeader(args, 0);
  let p = start;
  for (let i = 0; i < count; i++) {
    const id = refAt(args, p);
    if (id !== undefined) (deps ??= []).push(id);
    p = skipValue(args, p);
  }
  return { deps, nested: beyondTop(all, deps) };
}

/** Of `all` the refs in a value, those not among its top-level `deps` (each dep counts once), or undefined for none. */
export function beyondTop(all: readonly string[], deps: readonly string[] | undefined): string[] | undefined {
  if (!deps) return all.length > 0 ? [...all] : undefined;
  let nested: string[] | undefined;
  const top = [...deps];
  for (const id of all) {
    const i = top.indexOf(id);
    if (i >= 0) top.splice(i, 1);
    else (nested ??= []).push(id);
  }
  return nested;
}

export function nestedOrUndefined(b: Uint8Array): string[] | undefined {
  if (!mayHoldRefs(b)) return undefined;
  const n = nestedRefs(b);
  return n.length > 0 ? n : undefined;
}
