/**
 * Instances of a guest component inside an isolate, and the fast path that
 * calls them.
 *
 * jco's generated glue wires a component's core modules together (there
 * are a dozen for a QuickJS guest) and we keep using it for that, once per
 * instance. Calls then bypass it: the glue's per-call bookkeeping costs
 * ~10 µs, while lowering our fixed `guest` signatures by hand costs well
 * under 1 µs. We capture every core instance the glue creates (through its
 * `instantiateCore` hook), find the one exporting `wray:runtime/guest`'s
 * functions, and take its memory and `cabi_realloc` — the canonical
 * options of a component with one memory, which is every component that
 * wit-bindgen, componentize-qjs or `jco new` produce.
 */
import type { GpuHost } from "./imports/gpu.js";
import { GPU_IMPORT, NO_GPU, registerGpu } from "./imports/gpu.js";
import type { GuestMemory, RuntimeHost } from "./imports/runtime.js";
import { RUNTIME_IMPORT, registerRuntime } from "./imports/runtime.js";
import type { ServeWatch } from "./imports/async.js";
import { AsyncCalls, GUEST_ASYNC_EXPORT, HOST_ASYNC_IMPORT } from "./imports/async.js";
import { decode } from "@msgpack/msgpack";

// jco's glue for components with async exports wraps some imports for JSPI,
// which Node 20 lacks. wray calls those components' exports itself (see
// imports/async.ts), never suspending a wasm stack, so plain functions do.
const wasm = WebAssembly as unknown as { Suspending?: unknown; promising?: unknown };
if (wasm.Suspending === undefined) {
  wasm.Suspending = function Suspending(fn: unknown) {
    return fn;
  };
  wasm.promising = (fn: unknown) => fn;
}

export const GUEST_EXPORT = "wray:runtime/guest@0.1.0";

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (m: WebAssembly.Module, imports: Record<string, Record<string, unknown>>) => WebAssembly.Instance,
) => Record<string, unknown>;

/** A component as an isolate holds it: the glue and the compiled core modules. */
export interface LoadedComponent {
  readonly index: number;
  readonly instantiate: Instantiate;
  readonly modules: Readonly<Record<string, WebAssembly.Module>>;
}

/** Loads the glue (an ES module's source) without touching the file system. */
export async function loadComponent(index: number, glue: string, modules: Record<string, WebAssembly.Module>): Promise<LoadedComponent> {
  const url = "data:text/javascript;base64," + Buffer.from(glue).toString("base64");
  const mod = (await import(url)) as { instantiate?: Instantiate };
  if (typeof mod.instantiate !== "function") throw new Error("component glue has no instantiate()");
  return { index, instantiate: mod.instantiate, modules };
}

type Fn = (...args: number[]) => number;

/** One instance: its memory and the raw core exports of the guest interface. */
export class GuestInstance implements GuestMemory {
  memory!: WebAssembly.Memory;
  realloc!: (oldPtr: number, oldSize: number, align: number, newSize: number) => number;
  #invoke!: Fn;
  #invokePost: Fn | undefined;
  #construct: Fn | undefined;
  #constructPost: Fn | undefined;
  #call: Fn | undefined;
  #callPost: Fn | undefined;
  #describe: Fn | undefined;
  #describePost: Fn | undefined;
  /** Set when a call trapped: the instance's state can no longer be trusted. */
  poisoned = false;
  /** The async exports (guest-async), for components of the runtime-async world. */
  #async: { calls: AsyncCalls; invoke: Fn; invokeCallback: Fn; call: Fn | undefined; callCallback: Fn | undefined } | undefined;
  /** Its async tasks and "Class.method"s, from its manifest (read on first need). */
  #asyncNames: Set<string> | undefined;

  /** `gpu` serves the `wray:runtime/gpu` imports of components that have them; without it they fail as unavailable. */
  constructor(component: LoadedComponent, host: RuntimeHost, gpu: GpuHost = NO_GPU) {
    const captured: { module: WebAssembly.Module; imports: Record<string, Record<string, unknown>>; instance: WebAssembly.Instance }[] = [];
    const runtime = registerRuntime(host, () => this);
    const gpuImports = registerGpu(gpu, () => this);
    const asyncCalls = new AsyncCalls(() => this);
    const asyncImports = asyncCalls.imports();
    const jcoImports = {
      // jco checks these exist; calls never reach them (the core imports are replaced below)
      [RUNTIME_IMPORT.replace(/@.*/, "")]: stubImports(RUNTIME_STUBS),
      [RUNTIME_IMPORT]: stubImports(RUNTIME_STUBS),
      [GPU_IMPORT.replace(/@.*/, "")]: stubImports(GPU_STUBS),
      [GPU_IMPORT]: stubImports(GPU_STUBS),
      [HOST_ASYNC_IMPORT.replace(/@.*/, "")]: stubImports(["watch"]),
      [HOST_ASYNC_IMPORT]: stubImports(["watch"]),
    };
    component.instantiate(
      (name) => {
        const m = component.modules[name];
        if (!m) throw new Error(`component has no core module ${name}`);
        return m;
      },
      jcoImports,
      (module, imports = {}) => {
        if (imports[RUNTIME_IMPORT]) imports[RUNTIME_IMPORT] = { ...imports[RUNTIME_IMPORT], ...runtime };
        if (imports[GPU_IMPORT]) imports[GPU_IMPORT] = { ...imports[GPU_IMPORT], ...gpuImports };
        // an async component's builtins: only the names its modules import are replaced
        for (const [m, fns] of Object.entries(asyncImports)) {
          const have = imports[m];
          if (!have) continue;
          const mine: Record<string, unknown> = {};
          for (const k of Object.keys(fns)) if (k in have) mine[k] = fns[k];
          imports[m] = { ...have, ...mine };
        }
        const instance = new WebAssembly.Instance(module, imports);
        captured.push({ module, imports, instance });
        return instance;
      },
    );
    for (const { instance } of captured) {
      const e = instance.exports as Record<string, unknown>;
      const lift = e[`[async-lift]${GUEST_ASYNC_EXPORT}#invoke`];
      if (typeof lift !== "function") continue;
      this.#async = {
        calls: asyncCalls,
        invoke: lift as Fn,
        invokeCallback: e[`[callback][async-lift]${GUEST_ASYNC_EXPORT}#invoke`] as Fn,
        call: e[`[async-lift]${GUEST_ASYNC_EXPORT}#call`] as Fn | undefined,
        callCallback: e[`[callback][async-lift]${GUEST_ASYNC_EXPORT}#call`] as Fn | undefined,
      };
    }
    for (const { module, imports, instance } of captured) {
      const e = instance.exports as Record<string, unknown>;
      const invoke = e[`${GUEST_EXPORT}#invoke`];
      if (typeof invoke !== "function") continue;
      this.#invoke = invoke as Fn;
      this.#invokePost = e[`cabi_post_${GUEST_EXPORT}#invoke`] as Fn | undefined;
      this.#construct = e[`${GUEST_EXPORT}#construct`] as Fn | undefined;
      this.#constructPost = e[`cabi_post_${GUEST_EXPORT}#construct`] as Fn | undefined;
      this.#call = e[`${GUEST_EXPORT}#call`] as Fn | undefined;
      this.#callPost = e[`cabi_post_${GUEST_EXPORT}#call`] as Fn | undefined;
      this.#describe = e[`${GUEST_EXPORT}#describe`] as Fn | undefined;
      this.#describePost = e[`cabi_post_${GUEST_EXPORT}#describe`] as Fn | undefined;
      const realloc = e.cabi_realloc;
      if (typeof realloc !== "function") throw new Error("the guest exports no cabi_realloc");
      this.realloc = realloc as GuestMemory["realloc"];
      let memory = e.memory instanceof WebAssembly.Memory ? e.memory : undefined;
      for (const d of WebAssembly.Module.imports(module)) {
        if (d.kind === "memory") memory = imports[d.module]?.[d.name] as WebAssembly.Memory;
      }
      if (!memory) throw new Error("cannot find the guest's memory");
      this.memory = memory;
      return;
    }
    throw new Error(`the component does not export ${GUEST_EXPORT}`);
  }

  /** Copies `b` into fresh guest memory; returns its address. */
  lowerBytes(b: Uint8Array): number {
    const p = this.realloc(0, 0, 1, b.length);
    new Uint8Array(this.memory.buffer, p, b.length).set(b);
    return p;
  }

  /** Allocates `n` bytes of guest memory for the caller to fill. */
  alloc(n: number): number {
    return this.realloc(0, 0, 1, n);
  }

  /**
   * Calls an export that returns `list<u8>` and hands `onReply` a view of
   * the reply inside guest memory (valid only during the callback).
   */
  #dv: DataView | undefined;

  /** A DataView of guest memory, remade only when the memory grew (its buffer changed). */
  #view(): DataView {
    const buf = this.memory.buffer;
    let d = this.#dv;
    if (d === undefined || d.buffer !== buf) this.#dv = d = new DataView(buf);
    return d;
  }

  #reply<T>(ret: number, post: Fn | undefined, onReply: (reply: Uint8Array) => T): T {
    const d = this.#view();
    const ptr = d.getUint32(ret, true);
    const len = d.getUint32(ret + 4, true);
    try {
      return onReply(new Uint8Array(this.memory.buffer, ptr, len));
    } finally {
      post?.(ret);
    }
  }

  /** `invoke(function, args, num-returns)`: name and args already lowered. */
  invoke<T>(namePtr: number, nameLen: number, argsPtr: number, argsLen: number, numReturns: number, onReply: (r: Uint8Array) => T): T {
    const ret = this.#invoke(namePtr, nameLen, argsPtr, argsLen, numReturns);
    return this.#reply(ret, this.#invokePost, onReply);
  }

  construct<T>(namePtr: number, nameLen: number, argsPtr: number, argsLen: number, onReply: (r: Uint8Array) => T): T {
    if (!this.#construct) throw new Error(`the component does not export ${GUEST_EXPORT}#construct`);
    const ret = this.#construct(namePtr, nameLen, argsPtr, argsLen);
    return this.#reply(ret, this.#constructPost, onReply);
  }

  call<T>(namePtr: number, nameLen: number, argsPtr: number, argsLen: number, numReturns: number, onReply: (r: Uint8Array) => T): T {
    if (!this.#call) throw new Error(`the component does not export ${GUEST_EXPORT}#call`);
    const ret = this.#call(namePtr, nameLen, argsPtr, argsLen, numReturns);
    return this.#reply(ret, this.#callPost, onReply);
  }

  /**
   * Whether the task `name` (or, with `className`, the method) is async:
   * then it runs through invokeAsync/callAsync. False for components
   * without async exports, without reading anything.
   */
  /** Whether the component has async exports at all (the runtime-async world). */
  get hasAsync(): boolean {
    return this.#async !== undefined;
  }

  isAsync(name: string, className?: string): boolean {
    if (!this.#async) return false;
    if (!this.#asyncNames) {
      const m = decode(this.describe()) as { asyncTasks?: string[]; asyncMethods?: Record<string, string[]> };
      const names = new Set<string>(m.asyncTasks ?? []);
      for (const [c, ms] of Object.entries(m.asyncMethods ?? {})) for (const x of ms) names.add(`${c}.${x}`);
      this.#asyncNames = names;
    }
    return this.#asyncNames.has(className === undefined ? name : `${className}.${name}`);
  }

  /** `guest-async.invoke`: runs an async task to its end, serving its awaits with `serve`; hands `onReply` the reply. */
  invokeAsync<T>(namePtr: number, nameLen: number, argsPtr: number, argsLen: number, numReturns: number, serve: ServeWatch, onReply: (r: Uint8Array) => T): T {
    const a = this.#async!;
    return onReply(a.calls.drive(() => a.invoke(namePtr, nameLen, argsPtr, argsLen, numReturns), a.invokeCallback, serve));
  }

  /** `guest-async.call`: as invokeAsync, for a method of the instance's actor. */
  callAsync<T>(namePtr: number, nameLen: number, argsPtr: number, argsLen: number, numReturns: number, serve: ServeWatch, onReply: (r: Uint8Array) => T): T {
    const a = this.#async!;
    if (!a.call || !a.callCallback) throw new Error(`the component does not export ${GUEST_ASYNC_EXPORT}#call`);
    return onReply(a.calls.drive(() => a.call!(namePtr, nameLen, argsPtr, argsLen, numReturns), a.callCallback, serve));
  }

  /** The component's description (MessagePack), copied out. */
  describe(): Uint8Array {
    if (!this.#describe) throw new Error(`the component does not export ${GUEST_EXPORT}#describe`);
    const ret = this.#describe();
    return this.#reply(ret, this.#describePost, (r) => r.slice());
  }
}

// the interfaces' functions as jco names them in its glue
const RUNTIME_STUBS = ["log", "submit", "get", "wait", "put", "now", "randomSeed", "createActor", "callActor", "getActor", "cancelled", "cancel", "defer", "resolve"];
const GPU_STUBS = ["adapter", "createBuffer", "bufferFromBytes", "bufferFromObject", "writeBuffer", "compile", "dispatch", "readBuffer", "readObject", "destroyBuffer"];

function stubImports(names: readonly string[]): Record<string, () => never> {
  const fail = (): never => {
    throw new Error("unreachable: wray's imports are bound at the core level");
  };
  return Object.fromEntries(names.map((n) => [n, fail]));
}

/** Trap kinds, from V8's messages (a closed set, as wasmtime's Trap). */
export type TrapKind =
  | "unreachable"
  | "stack-overflow"
  | "memory-out-of-bounds"
  | "out-of-memory"
  | "integer-division-by-zero"
  | "integer-overflow"
  | "indirect-call"
  | "host-error";

/**
 * A guest that calls a WASI function it was built with a stub for (QuickJS
 * guests have every WASI import stubbed to trap) reaches the stub through
 * jco's adapter between the composed components, which fails before the
 * stub's `unreachable` because calls bypass jco's task bookkeeping.
 */
const STUB_CALL = /missing current caller task metadata/;

/** A trap's message for people. */
export function trapMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return STUB_CALL.test(m) ? "the guest called a WASI function that wray does not provide (its stub traps)" : m;
}

export function trapKind(e: unknown): TrapKind {
  const m = e instanceof Error ? e.message : String(e);
  if (/unreachable/i.test(m) || STUB_CALL.test(m)) return "unreachable";
  if (/call stack size|stack overflow/i.test(m)) return "stack-overflow";
  if (/memory access out of bounds|out of bounds memory/i.test(m)) return "memory-out-of-bounds";
  if (/out of memory|could not allocate|Memory\.grow|allocation failed/i.test(m)) return "out-of-memory";
  if (/divide by zero|division by zero|remainder by zero/i.test(m)) return "integer-division-by-zero";
  if (/integer overflow|unrepresentable/i.test(m)) return "integer-overflow";
  if (/table|null function|signature mismatch/i.test(m)) return "indirect-call";
  return "host-error";
}
