/**
 * The components a node has loaded, the functions it has seen of each,
 * and how a submission becomes a task spec.
 */
import type { TaskId } from "../../common/ids.js";
import type { FunctionStats, TaskSpec } from "../../scheduler/index.js";
import { newTaskSpec, releaseArgs } from "../../scheduler/index.js";
import type { ObjectEntry, ObjectStore } from "../../store/index.js";
import type { ComponentImage } from "../isolate/index.js";
import { KIND_TASK } from "../isolate/index.js";
import type { PreparedComponent } from "./component.js";
import { DEFAULT_GUEST_MEMORY_MB, capMemory } from "./component.js";
import type { ResolvedOptions } from "./options.js";

/** One exported function as the host tracks it. */
export interface FunctionInfo {
  readonly name: string;
  /** The name as UTF-8, for task records. */
  readonly nameBytes: Uint8Array;
  readonly stats: FunctionStats;
  /** The most arguments it takes, if the guest said (Infinity otherwise): see ComponentManifest.maxArgs. */
  readonly maxArgs: number;
}

export interface ComponentRecord {
  readonly index: number;
  readonly source: string;
  readonly prepared: PreparedComponent;
  readonly functions: Map<string, FunctionInfo>;
  /** The cap on its guests' linear memory, MiB. */
  readonly memoryMb: number;
  /** This component with another cap (Components.withMemory). */
  readonly withMemory: (memoryMb: number | undefined) => ComponentRecord;
}

const textEncoder = new TextEncoder();

/** A node's loaded components, by index (what task records name) and by hash (what other nodes name). */
export class Components {
  readonly #list: ComponentRecord[] = [];
  /** Hands a new component to the isolates. */
  readonly #load: (spec: ComponentImage) => void;

  /** The node's cap on guests' linear memory, MiB (tasks and actors may name their own). */
  readonly memoryMb: number;

  constructor(load: (spec: ComponentImage) => void, memoryMb = DEFAULT_GUEST_MEMORY_MB) {
    this.#load = load;
    this.memoryMb = memoryMb;
  }

  /** Adds a component (once per hash: a second add returns the first record). */
  add(prepared: PreparedComponent, source: string): ComponentRecord {
    const existing = this.byHash(prepared.hash);
    if (existing) return existing;
    const rec: ComponentRecord = { index: this.#list.length, source, prepared, functions: new Map(), memoryMb: prepared.memoryMb, withMemory: (mb) => this.withMemory(rec, mb) };
    return this.#added(rec, prepared.modules);
  }

  #added(rec: ComponentRecord, modules: Record<string, WebAssembly.Module>): ComponentRecord {
    this.#list.push(rec);
    this.#load({ index: rec.index, glue: rec.prepared.glue, modules, memoryLimit: rec.memoryMb * (1 << 20) });
    return rec;
  }

  /** The component with this hash, if loaded here (as it was added, with the node's memory cap). */
  byHash(hash: string): ComponentRecord | undefined {
    return this.#list.find((c) => c.prepared.hash === hash);
  }

  /**
   * `c` with its guests' linear memory capped at `memoryMb` (a task's or
   * actor's own `memoryMb`): a record of its own (its own index, so its
   * instances are pooled apart), compiled on first use.
   */
  withMemory(c: ComponentRecord, memoryMb: number | undefined): ComponentRecord {
    if (memoryMb === undefined || memoryMb === c.memoryMb) return c;
    const found = this.#list.find((x) => x.prepared === c.prepared && x.memoryMb === memoryMb);
    if (found) return found;
    const modules: Record<string, WebAssembly.Module> = {};
    for (const [name, b] of Object.entries(c.prepared.wasm)) modules[name] = new WebAssembly.Module(capMemory(b, memoryMb));
    const rec: ComponentRecord = { index: this.#list.length, source: c.source, prepared: c.prepared, functions: c.functions, memoryMb, withMemory: (mb) => this.withMemory(rec, mb) };
    return this.#added(rec, modules);
  }

  /** The component a task record names (RangeError for none). */
  at(index: number): ComponentRecord {
    const c = this.#list[index];
    if (!c) throw new RangeError(`no component ${index}`);
    return c;
  }

  /** The component a task record names, if loaded. */
  find(index: number): ComponentRecord | undefined {
    return this.#list[index];
  }

  /** Where the component came from, for messages (the index when unknown). */
  source(index: number): string {
    return this.#list[index]?.source ?? String(index);
  }
}

/** The host's record of function `name` of `c` (made on first use). */
export function functionInfo(c: ComponentRecord, name: string): FunctionInfo {
  let f = c.functions.get(name);
  if (!f) c.functions.set(name, (f = { name, nameBytes: textEncoder.encode(name), stats: { avgMs: NaN }, maxArgs: c.prepared.manifest.maxArgs[name] ?? Infinity }));
  return f;
}

/** What a task is made from (see makeTask). */
export interface TaskParts {
  component: ComponentRecord;
  /** The function, or for actors the class (constructor) or method. */
  fn: FunctionInfo;
  taskId: TaskId;
  /** The encoded argument array. */
  args: Uint8Array;
  /** Refs among the top-level arguments (resolved before it runs). */
  deps: string[] | undefined;
  /** Refs nested deeper in the arguments (kept alive while it runs). */
  nested: string[] | undefined;
  options: ResolvedOptions;
  returnIds: string[];
  returns: ObjectEntry[];
  /** KIND_TASK (default), KIND_CONSTRUCT or KIND_METHOD. */
  kind?: number;
  /** Submitted by a running guest (it may run nested in its parent's isolate). */
  nestedSubmit?: boolean;
}

/**
 * Makes a spec from a submission. The caller has already made the return
 * objects (taking one reference each for its handles); this takes the
 * task's own references on its arguments (releaseArgs drops them).
 */
export function makeTask(store: ObjectStore, p: TaskParts): TaskSpec {
  const { deps, nested, options, fn } = p;
  if (deps) for (const d of deps) store.addRef(d);
  if (nested) for (const d of nested) store.addRef(d);
  const t = newTaskSpec({
    taskId: p.taskId,
    name: fn.name,
    nameBytes: fn.nameBytes,
    stats: fn.stats,
    // a task's own memory cap runs it on a variant of its component compiled with that cap
    component: options.memoryMb === undefined ? p.component.index : p.component.withMemory(options.memoryMb).index,
    kind: p.kind ?? KIND_TASK,
    args: p.args,
    deps,
    nested,
    numReturns: options.numReturns,
    returnIds: p.returnIds,
    returns: p.returns,
    shape: options.shape,
    retriesLeft: options.maxRetries,
    timeoutMs: options.timeoutMs,
    nestedSubmit: p.nestedSubmit,
  });
  if (options.retryExceptions !== undefined) t.retryExceptions = options.retryExceptions;
  return t;
}

export { releaseArgs };
