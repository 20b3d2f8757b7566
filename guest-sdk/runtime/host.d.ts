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
  };
  export default host;
}
