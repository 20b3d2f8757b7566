// Types of the `wray:runtime/host` interface as componentize-qjs exposes it
// to guest JavaScript (see wit/runtime.wit for the meaning of each call).
declare module "wray:runtime/host@0.1.0" {
  export type LogLevel = "debug" | "info" | "warn" | "error";
  export function log(level: LogLevel, message: string): void;
  export function submit(fn: string, args: Uint8Array, options: Uint8Array): Uint8Array[];
  export function get(ids: Uint8Array[], timeoutMs: number): Uint8Array;
  export function wait(ids: Uint8Array[], numReturns: number, timeoutMs: number): number[] | Uint32Array;
  export function put(value: Uint8Array): Uint8Array;
  export function now(): number;
  export function randomSeed(): number | bigint;
  export function createActor(cls: string, args: Uint8Array, options: Uint8Array): Uint8Array;
  export function callActor(actor: Uint8Array, method: string, args: Uint8Array, options: Uint8Array): Uint8Array[];
  export function getActor(name: string): Uint8Array;
  export function cancelled(): boolean;
  export function cancel(id: Uint8Array, force: boolean, recursive: boolean): void;
  export function defer(timeoutMs: number | bigint, onTimeout: Uint8Array): Uint8Array;
  export function resolve(id: Uint8Array, value: Uint8Array): boolean;
  const host: {
    log: typeof log;
    submit: typeof submit;
    get: typeof get;
    wait: typeof wait;
    put: typeof put;
    now: typeof now;
    randomSeed: typeof randomSeed;
    createActor: typeof createActor;
    callActor: typeof callActor;
    getActor: typeof getActor;
    cancelled: typeof cancelled;
    cancel: typeof cancel;
    defer: typeof defer;
    resolve: typeof resolve;
  };
  export default host;
}

// Types of the `wray:runtime/gpu` interface as componentize-qjs exposes it:
// u64 as numbers, option as undefined, list<u32> from plain arrays; a
// `gpu-error` result is thrown as an Error whose `payload` is the record.
declare module "wray:runtime/gpu@0.1.0" {
  export type ErrorCode = "unavailable" | "compile" | "validation" | "out-of-memory" | "device-lost" | "bad-argument";
  export type ElementName = "bytes" | "int8" | "uint8-clamped" | "int16" | "uint16" | "int32" | "uint32" | "float32" | "float64" | "int64" | "uint64";
  export function adapter(): string;
  export function createBuffer(size: number): number;
  export function bufferFromBytes(bytes: Uint8Array): number;
  export function bufferFromObject(id: Uint8Array): number;
  export function writeBuffer(buffer: number, offset: number, bytes: Uint8Array): void;
  export function compile(wgsl: string, entryPoint: string): number;
  export function dispatch(kernel: number, bindings: number[], x: number, y: number, z: number): void;
  export function readBuffer(buffer: number, offset: number, length: number | undefined): Uint8Array;
  export function readObject(buffer: number, offset: number, length: number | undefined, element: ElementName): Uint8Array;
  export function destroyBuffer(buffer: number): void;
  const gpu: {
    adapter: typeof adapter;
    createBuffer: typeof createBuffer;
    bufferFromBytes: typeof bufferFromBytes;
    bufferFromObject: typeof bufferFromObject;
    writeBuffer: typeof writeBuffer;
    compile: typeof compile;
    dispatch: typeof dispatch;
    readBuffer: typeof readBuffer;
    readObject: typeof readObject;
    destroyBuffer: typeof destroyBuffer;
  };
  export default gpu;
}
