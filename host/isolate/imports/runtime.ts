/**
 * The `wray:runtime/host` interface, implemented at the core-wasm level:
 * each function takes the flattened canonical-ABI parameters and lowers its
 * result into the guest's memory itself. This replaces jco's generated
 * trampolines, which cost ~10 µs per call in task bookkeeping that a fixed
 * world does not need.
 *
 * Signatures (wit/runtime.wit, canonical ABI, results past one value go
 * through a return pointer):
 *   log(level i32, msg_ptr i32, msg_len i32)
 *   submit(fn_ptr, fn_len, args_ptr, args_len, opt_ptr, opt_len, ret i32)
 *   get(ids_ptr, ids_len, timeout i64, ret)
 *   wait(ids_ptr, ids_len, num_returns i32, timeout i64, ret)
 *   put(val_ptr, val_len, ret)
 *   create-actor(cls_ptr, cls_len, args_ptr, args_len, opt_ptr, opt_len, ret)
 *   call-actor(id_ptr, id_len, m_ptr, m_len, args_ptr, args_len, opt_ptr, opt_len, ret)
 *   get-actor(name_ptr, name_len, ret)
 *   now() -> f64
 *   random-seed() -> i64
 *   cancelled() -> i32
 *   cancel(id_ptr, id_len, force i32, recursive i32)
 *   defer(timeout i64, val_ptr, val_len, ret)
 *   resolve(id_ptr, id_len, val_ptr, val_len) -> i32
 */
import { OBJECT_ID_BYTES } from "../../../common/ids.js";

export const RUNTIME_IMPORT = "wray:runtime/host@0.1.0";

/** A guest's view of its own memory, set once the instance exists. */
export interface GuestMemory {
  memory: WebAssembly.Memory;
  realloc: (oldPtr: number, oldSize: number, align: number, newSize: number) => number;
}

/** A value the host returns for a blocking call: bytes to hand to the guest, written by `fill`. */
export interface GuestBytes {
  length: number;
  /** Writes the bytes at `ptr` of `mem` (one copy, straight from the source). */
  fill(mem: Uint8Array, ptr: number): void;
}

/** What the isolate does for each call; memory views passed in are valid only during the call. */
export interface RuntimeHost {
  log(level: number, message: Uint8Array): void;
  submit(fn: Uint8Array, args: Uint8Array, options: Uint8Array): Uint8Array[];
  get(ids: Uint8Array[], timeoutMs: number): GuestBytes;
  wait(ids: Uint8Array[], numReturns: number, timeoutMs: number): number[];
  put(value: Uint8Array): Uint8Array;
  createActor(cls: Uint8Array, args: Uint8Array, options: Uint8Array): Uint8Array;
  callActor(actor: Uint8Array, method: Uint8Array, args: Uint8Array, options: Uint8Array): Uint8Array[];
  /** The actor's 16-byte ID, or an empty array. */
  getActor(name: Uint8Array): Uint8Array;
  /** The running task was cancelled. */
  cancelled(): boolean;
  cancel(id: Uint8Array, force: boolean, recursive: boolean): void;
  /** The running actor method's result comes later (resolve); returns its object ID. */
  defer(timeoutMs: number, onTimeout: Uint8Array): Uint8Array;
  /** Gives a deferred call its result; false when none such waits. */
  resolve(id: Uint8Array, value: Uint8Array): boolean;
}

function u8(m: GuestMemory): Uint8Array {
  return new Uint8Array(m.memory.buffer);
}
function dv(m: GuestMemory): DataView {
  return new DataView(m.memory.buffer);
}

export function readIds(m: GuestMemory, ptr: number, len: number): Uint8Array[] {
  const d = dv(m);
  const mem = u8(m);
  const ids = new Array<Uint8Array>(len);
  for (let i = 0; i < len; i++) {
    const p = d.getUint32(ptr + i * 8, true);
    const n = d.getUint32(ptr + i * 8 + 4, true);
    // copy: the guest may free or reuse its memory while the host works
    ids[i] = mem.slice(p, p + n);
  }
  return ids;
}

/** Lowers a list of 20-byte object IDs at `ret` (list<list<u8>>). */
function lowerIds(m: GuestMemory, ret: number, ids: Uint8Array[]): void {
  const arr = m.realloc(0, 0, 4, ids.length * 8);
  for (let i = 0; i < ids.length; i++) {
    const p = m.realloc(0, 0, 1, OBJECT_ID_BYTES);
    u8(m).set(ids[i]!, p);
    const d = dv(m);
    d.setUint32(arr + i * 8, p, true);
    d.setUint32(arr + i * 8 + 4, OBJECT_ID_BYTES, true);
  }
  const d = dv(m);
  d.setUint32(ret, arr, true);
  d.setUint32(ret + 4, ids.length, true);
}

function lowerBytes(m: GuestMemory, ret: number, b: Uint8Array): void {
  const p = m.realloc(0, 0, 1, b.length);
  u8(m).set(b, p);
  const d = dv(m);
  d.setUint32(ret, p, true);
  d.setUint32(ret + 4, b.length, true);
}

/**
 * Builds the import object for one guest instance. `mem()` returns the
 * instance's memory and realloc (they exist only after instantiation, while
 * the imports are needed before).
 */
export function registerRuntime(host: RuntimeHost, mem: () => GuestMemory): Record<string, (...args: never[]) => unknown> {
  const now = (): number => performance.timeOrigin + performance.now();
  const seed = new BigUint64Array(1);
  return {
    log(level: number, ptr: number, len: number): void {
      host.log(level, u8(mem()).slice(ptr, ptr + len));
    },
    submit(fp: number, fl: number, ap: number, al: number, op: number, ol: number, ret: number): void {
      const m = mem();
      const b = u8(m);
      lowerIds(m, ret, host.submit(b.subarray(fp, fp + fl), b.subarray(ap, ap + al), b.subarray(op, op + ol)));
    },
    "create-actor"(cp: number, cl: number, ap: number, al: number, op: number, ol: number, ret: number): void {
      const m = mem();
      const b = u8(m);
      lowerBytes(m, ret, host.createActor(b.subarray(cp, cp + cl), b.subarray(ap, ap + al), b.subarray(op, op + ol)));
    },
    "call-actor"(ip: number, il: number, mp: number, ml: number, ap: number, al: number, op: number, ol: number, ret: number): void {
      const m = mem();
      const b = u8(m);
      lowerIds(m, ret, host.callActor(b.slice(ip, ip + il), b.subarray(mp, mp + ml), b.subarray(ap, ap + al), b.subarray(op, op + ol)));
    },
    "get-actor"(np: number, nl: number, ret: number): void {
      const m = mem();
      lowerBytes(m, ret, host.getActor(u8(m).slice(np, np + nl)));
    },
    get(ip: number, il: number, timeout: bigint, ret: number): void {
      const m = mem();
      const reply = host.get(readIds(m, ip, il), Number(timeout));
      const p = m.realloc(0, 0, 1, reply.length);
      reply.fill(u8(m), p);
      const d = dv(m);
      d.setUint32(ret, p, true);
      d.setUint32(ret + 4, reply.length, true);
    },
    wait(ip: number, il: number, numReturns: number, timeout: bigint, ret: number): void {
      const m = mem();
      const ready = host.wait(readIds(m, ip, il), numReturns >>> 0, Number(timeout));
      const p = m.realloc(0, 0, 4, ready.length * 4);
      const d = dv(m);
      for (let i = 0; i < ready.length; i++) d.setUint32(p + i * 4, ready[i]!, true);
      d.setUint32(ret, p, true);
      d.setUint32(ret + 4, ready.length, true);
    },
    put(vp: number, vl: number, ret: number): void {
      const m = mem();
      lowerBytes(m, ret, host.put(u8(m).subarray(vp, vp + vl)));
    },
    now,
    cancelled(): number {
      return host.cancelled() ? 1 : 0;
    },
    cancel(ip: number, il: number, force: number, recursive: number): void {
      host.cancel(u8(mem()).slice(ip, ip + il), force !== 0, recursive !== 0);
    },
    defer(timeout: bigint, vp: number, vl: number, ret: number): void {
      const m = mem();
      lowerBytes(m, ret, host.defer(Number(timeout), u8(m).subarray(vp, vp + vl)));
    },
    resolve(ip: number, il: number, vp: number, vl: number): number {
      const b = u8(mem());
      return host.resolve(b.slice(ip, ip + il), b.subarray(vp, vp + vl)) ? 1 : 0;
    },
    "random-seed"(): bigint {
      crypto.getRandomValues(seed);
      return BigInt.asIntN(64, seed[0]!);
    },
  };
}
