// What the host provides to a running AssemblyScript task or actor method:
// the `host` interface of wit/runtime.wit, lowered by hand (canonical ABI,
// one memory, UTF-8 strings). Lists the host returns are allocated in our
// memory through cabi_realloc (abi.ts); they are copied into GC-managed
// objects here and their raw blocks freed at once.
import { ActorHandle, ACTOR_ID_BYTES, Kind, ObjectRef, Reader, Writer } from "./msgpack";

// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "log")
declare function host_log(level: i32, ptr: usize, len: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "submit")
declare function host_submit(fp: usize, fl: usize, ap: usize, al: usize, op: usize, ol: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "get")
declare function host_get(ids: usize, n: usize, timeoutMs: i64, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "wait")
declare function host_wait(ids: usize, n: usize, numReturns: u32, timeoutMs: i64, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "put")
declare function host_put(vp: usize, vl: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "create-actor")
declare function host_create_actor(cp: usize, cl: usize, ap: usize, al: usize, op: usize, ol: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "call-actor")
declare function host_call_actor(hp: usize, hl: usize, mp: usize, ml: usize, ap: usize, al: usize, op: usize, ol: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "get-actor")
declare function host_get_actor(np: usize, nl: usize, ret: usize): void;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "now")
declare function host_now(): f64;
@external("wray:runtime/host@0.1.0", "cancelled")
declare function host_cancelled(): i32;
// @ts-ignore: decorator
@external("wray:runtime/host@0.1.0", "random-seed")
declare function host_random_seed(): i64;

// where the host writes a returned list's (pointer, length)
const RET = memory.data(8);

export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/** Writes a line to the host's log, tagged with the running task. */
export function log(message: string, level: Level = Level.Info): void {
  const b = String.UTF8.encode(message);
  host_log(level, changetype<usize>(b), b.byteLength);
}

// the returned list<u8> at RET as a GC-managed copy; frees the raw block
function takeBytes(at: usize): Uint8Array {
  const p = load<usize>(at);
  const n = load<u32>(at, 4);
  const out = new Uint8Array(n);
  if (n > 0) {
    memory.copy(out.dataStart, p, n);
    heap.free(p);
  }
  return out;
}

// the returned list<object-id> at RET as ObjectRefs
function takeRefs(): ObjectRef[] {
  const p = load<usize>(RET);
  const n = load<u32>(RET, 4);
  const out = new Array<ObjectRef>(n);
  for (let i: u32 = 0; i < n; i++) out[i] = new ObjectRef(takeBytes(p + 8 * i));
  if (n > 0) heap.free(p);
  return out;
}

// a lowered list<object-id>: (pointer, length) pairs pointing into the refs' own bytes
function lowerIds(refs: ObjectRef[]): usize {
  const n = refs.length;
  const p = heap.alloc(n > 0 ? 8 * n : 8);
  for (let i = 0; i < n; i++) {
    const id = unchecked(refs[i]).id;
    store<usize>(p + 8 * i, id.dataStart);
    store<u32>(p + 8 * i, id.length, 4);
  }
  return p;
}

const EMPTY = new Writer(16);

/**
 * Submits the task `fn` of this component with `args` (a Writer holding a
 * MessagePack array: `new Writer().array(2).f64(1).f64(2)`) and returns the
 * ObjectRefs of its results (one unless `options` sets `numReturns`).
 * `options` is a MessagePack map (`numCpus`, `resources`, ...) or null.
 */
export function submit(fn: string, args: Writer, options: Writer | null = null): ObjectRef[] {
  const f = String.UTF8.encode(fn);
  const o = options === null ? EMPTY : options;
  host_submit(changetype<usize>(f), f.byteLength, args.dataStart, args.len, o.dataStart, o.len, RET);
  return takeRefs();
}

/**
 * What `get` and `getValues` return: a Reader over the values, in the order
 * of the refs asked for, or — when one of them failed or the wait timed
 * out — `failed` and the failure (forward it with `out.fail(values)`).
 */
export class Values extends Reader {
  /** One of the objects holds an error, or the timeout passed. */
  failed: bool = false;
  /** How many values follow (0 when failed). */
  count: u32 = 0;
  /** The whole reply: an array of the values, or the failure map. */
  reply: Uint8Array;

  constructor(reply: Uint8Array) {
    super(reply.dataStart, reply.dataStart + <usize>reply.length, reply.buffer);
    this.reply = reply;
    if (this.kind() == Kind.Map) this.failed = true;
    else this.count = this.array();
  }

  /** The failure's message ("" when not failed). */
  message(): string {
    if (!this.failed) return "";
    const r = Reader.of(this.reply);
    const n = r.map();
    for (let i: u32 = 0; i < n && r.error === null; i++) {
      let key = "";
      if (r.kind() == Kind.Str) key = r.str();
      else r.skip();
      if (key == "message" && r.kind() == Kind.Str) return r.str();
      r.skip();
    }
    return "failed";
  }
}

/**
 * Blocks until every object is ready (or `timeoutMs` passes; negative: no
 * limit) and returns their values. While it waits, this task's CPU goes
 * back to the scheduler.
 */
export function get(refs: ObjectRef[], timeoutMs: i64 = -1): Values {
  const ids = lowerIds(refs);
  host_get(ids, refs.length, timeoutMs, RET);
  heap.free(ids);
  return new Values(takeBytes(RET));
}

/** Blocks until `numReturns` of the objects are ready; the indices of the ready ones, in order. */
export function wait(refs: ObjectRef[], numReturns: u32, timeoutMs: i64 = -1): u32[] {
  const ids = lowerIds(refs);
  host_wait(ids, refs.length, numReturns, timeoutMs, RET);
  heap.free(ids);
  const p = load<usize>(RET);
  const n = load<u32>(RET, 4);
  const out = new Array<u32>(n);
  for (let i: u32 = 0; i < n; i++) out[i] = load<u32>(p + 4 * i);
  if (n > 0) heap.free(p);
  return out;
}

/** Stores a value (a Writer holding one MessagePack value) in the object store. */
export function put(value: Writer): ObjectRef {
  host_put(value.dataStart, value.len, RET);
  return new ObjectRef(takeBytes(RET));
}

/**
 * Creates an actor of `cls` (a class this component declares with
 * `actor(...)`); its constructor runs in the actor's own isolate.
 * `options` may set `name`, `maxConcurrency`, `numCpus`, ...
 */
export function createActor(cls: string, args: Writer, options: Writer | null = null): ActorHandle {
  const c = String.UTF8.encode(cls);
  const o = options === null ? EMPTY : options;
  host_create_actor(changetype<usize>(c), c.byteLength, args.dataStart, args.len, o.dataStart, o.len, RET);
  return new ActorHandle(takeBytes(RET));
}

/** Calls `method` on an actor; calls from one caller run in the order they are made. */
export function callActor(actor: ActorHandle, method: string, args: Writer, options: Writer | null = null): ObjectRef[] {
  const m = String.UTF8.encode(method);
  const o = options === null ? EMPTY : options;
  host_call_actor(actor.id.dataStart, actor.id.length, changetype<usize>(m), m.byteLength, args.dataStart, args.len, o.dataStart, o.len, RET);
  return takeRefs();
}

/** The actor registered under `name`, or null. */
export function getActor(name: string): ActorHandle | null {
  const b = String.UTF8.encode(name);
  host_get_actor(changetype<usize>(b), b.byteLength, RET);
  const id = takeBytes(RET);
  return id.length == ACTOR_ID_BYTES ? new ActorHandle(id) : null;
}

/** Wall-clock milliseconds since the Unix epoch, with fractions. */
export function now(): f64 {
  return host_now();
}

/** True once the running task was cancelled: a long loop polls it and returns early. */
export function cancelled(): bool {
  return host_cancelled() != 0;
}

/** 64 bits from the host's random source. */
export function randomSeed(): u64 {
  return <u64>host_random_seed();
}

// for `Math.random` (asc --use seed=...)
export function wraySeed(): f64 {
  return <f64>(<u64>host_random_seed() >>> 11);
}
