/**
 * Fixed binary layouts for the messages every task sends (TASK_SUBMIT,
 * TASK_RUN, ACTOR_CREATE, ACTOR_CALL carry a WireTask; TASK_DONE a
 * TaskDoneBody). They travel as the MessagePack `bin` body of an ordinary
 * `[type, id, body]` message, written straight into the frame, so a frame
 * stays one MessagePack stream while the hot path skips building and
 * checking maps: encoding a task is a few stores, decoding a few loads.
 *
 * Layouts (little-endian; `str` is u16 length + UTF-8; node IDs are the
 * 16 bytes of their 32-digit hex form, component hashes the 32 of their
 * 64-digit hex form):
 *
 *   task: u8 FORMAT, u8 flags (TF_*), u8 kind, u8 flags (TF2_*), u32 numReturns,
 *         u32 retries, f64 timeoutMs, 16 id, 16 owner,
 *         [unless TF_NO_COMPONENT] 32 component,
 *         str name, u8 resource count × (str name, f64 units),
 *         u32 args length + args,
 *         [TF_DEPS]   u32 count × (20 id, f64 size, u8 0 + u32 length + value
 *                                  | u8 1 + u8 count × 16 node),
 *         [TF_NESTED] u32 count × 20 id,
 *         [TF_ACTOR] 16 actor, [TF_ACTOR_NAME] str, [TF_MAX_CONC] u32,
 *         [TF_TRIED] u8 count × 16 node, [TF2_JOB] 16 node, [TF2_MEMORY] u32 MiB,
 *         [TF2_RETRY_EXC] u8 count (0: every error) × str name,
 *         [TF2_RESTART] u32 maxRestarts, u32 maxTaskRetries, u32 checkpointInterval,
 *         [TF2_SUBMITTED] f64 ms since the epoch
 *   done: u8 FORMAT, u8 flags (DF_*), 16 id, 16 node,
 *         [DF_ERROR]   u32 length + encoded error,
 *         [DF_RESULTS] u32 count × (u8 0 + u32 length + value
 *                                   | u8 1 + 16 node + f64 size + u32 count × 20 nested)
 *
 * Decoding checks every length against the bytes there are and throws
 * WireError for anything else; binary fields of the result are views into
 * the frame, like MessagePack's.
 *
 * This file's parts:
 *   layouts          flags (TF_*, TF2_*, DF_*), the Out writer
 *   writing          writeTask, writeDone
 *   reading          the In reader, memos of repeated strings, readTask, readDone
 */
import { WireError } from "./errors.js";
import type { TaskDoneBody, WireArg, WireResult, WireTask } from "./messages.js";

const FORMAT = 1;

const TF_DEPS = 1;
const TF_NESTED = 2;
const TF_ACTOR = 4;
const TF_ACTOR_NAME = 8;
const TF_MAX_CONC = 16;
const TF_TRIED = 32;
/** No component hash (an actor call: the actor's node knows its component). */
const TF_NO_COMPONENT = 64;
/** The task carries the node ID of its job's driver (WireTask.job). */
const TF2_JOB = 1;
/** A detached actor's constructor (WireTask.lifetime). */
const TF2_DETACHED = 2;
/** The task's guest has its own linear memory cap (WireTask.memoryMb). */
const TF2_MEMORY = 4;
/** Guest errors the task is retried on (WireTask.retryExceptions). */
const TF2_RETRY_EXC = 8;
/** An actor's restart options (WireTask.restart). */
const TF2_RESTART = 16;
/** When its owner submitted it, for task events (WireTask.submittedAt). */
const TF2_SUBMITTED = 32;

const DF_ERROR = 1;
const DF_RESULTS = 2;

/** A node ID: 32 lowercase hex digits (16 random bytes). */
export const NODE_ID = /^[0-9a-f]{32}$/;
const HASH = /^[0-9a-f]{64}$/;

// ---- writing ----------------------------------------------------------------------------------

/** Appends to a growable buffer; `bytes`/`view` may be replaced as it grows. */
export class Out {
  bytes: Uint8Array;
  view: DataView;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + n));
    grown.set(this.bytes.subarray(0, this.at));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.bytes[this.at++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.bytes.set(b, this.at);
    this.at += b.length;
  }

  /** u32 length, then the bytes. */
  blob(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }

  /** u16 length, then UTF-8 (ASCII written directly). */
  str(s: string): void {
    this.room(2 + s.length * 3);
    const start = this.at;
    let p = start + 2;
    const b = this.bytes;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        p = start + 2 + utf8.encodeInto(s, b.subarray(start + 2)).written;
        break;
      }
      b[p++] = c;
    }
    const len = p - start - 2;
    if (len > 0xffff) throw new RangeError(`a string of ${len} bytes is too long for the wire (at most 65535)`);
    this.view.setUint16(start, len, true);
    this.at = p;
  }

  /** Hex digits as bytes (`digits` of them, lowercase); the last few conversions are kept (node IDs and hashes repeat). */
  hex(s: string, digits: number, what: string): void {
    let b = hexBytes.get(s);
    if (b === undefined) {
      if (s.length !== digits || !(digits === 32 ? NODE_ID : HASH).test(s)) throw new RangeError(`${what} must be ${digits} lowercase hex digits, got '${s}'`);
      b = new Uint8Array(digits / 2);
      for (let i = 0; i < digits; i += 2) b[i >> 1] = (nib(s.charCodeAt(i)) << 4) | nib(s.charCodeAt(i + 1));
      if (hexBytes.size >= 64) hexBytes.clear();
      hexBytes.set(s, b);
    } else if (b.length * 2 !== digits) throw new RangeError(`${what} must be ${digits} lowercase hex digits, got '${s}'`);
    this.raw(b);
  }
}

const hexBytes = new Map<string, Uint8Array>();

const utf8 = new TextEncoder();

function nib(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

function fixed(out: Out, b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${b.length}`);
  out.raw(b);
}

export function writeTask(out: Out, t: WireTask): void {
  let flags = 0;
  if (t.deps !== undefined) flags |= TF_DEPS;
  if (t.nested !== undefined) flags |= TF_NESTED;
  if (t.actor !== undefined) flags |= TF_ACTOR;
  if (t.actorName !== undefined) flags |= TF_ACTOR_NAME;
  if (t.maxConcurrency !== undefined) flags |= TF_MAX_CONC;
  if (t.tried !== undefined) flags |= TF_TRIED;
  if (t.component === "") flags |= TF_NO_COMPONENT;
  let flags2 = 0;
  if (t.job !== undefined) flags2 |= TF2_JOB;
  if (t.lifetime === "detached") flags2 |= TF2_DETACHED;
  if (t.memoryMb !== undefined) flags2 |= TF2_MEMORY;
  if (t.retryExceptions !== undefined) flags2 |= TF2_RETRY_EXC;
  if (t.restart !== undefined) flags2 |= TF2_RESTART;
  if (t.submittedAt !== undefined) flags2 |= TF2_SUBMITTED;
  out.room(16 + 64);
  out.u8(FORMAT);
  out.u8(flags);
  out.u8(t.kind);
  out.u8(flags2);
  out.u32(t.numReturns);
  out.u32(t.retries);
  out.f64(t.timeoutMs);
  fixed(out, t.id, 16, "a task ID");
  out.hex(t.owner, 32, "a node ID");
  if (t.component !== "") out.hex(t.component, 64, "a component hash");
  out.str(t.name);
  out.u8(t.resources.length);
  for (const [k, v] of t.resources) {
    out.str(k);
    out.f64(v);
  }
  out.blob(t.args);
  if (t.deps !== undefined) {
    out.u32(t.deps.length);
    for (const d of t.deps) {
      fixed(out, d.id, 20, "an object ID");
      out.f64(d.size);
      if (d.value !== undefined) {
        out.u8(0);
        out.blob(d.value);
      } else {
        const nodes = d.nodes ?? [];
        out.u8(1);
        out.u8(nodes.length);
        for (const n of nodes) out.hex(n, 32, "a node ID");
      }
    }
  }
  if (t.nested !== undefined) {
    out.u32(t.nested.length);
    for (const n of t.nested) fixed(out, n, 20, "an object ID");
  }
  if (t.actor !== undefined) fixed(out, t.actor, 16, "an actor ID");
  if (t.actorName !== undefined) out.str(t.actorName);
  if (t.maxConcurrency !== undefined) out.u32(t.maxConcurrency);
  if (t.tried !== undefined) {
    out.u8(t.tried.length);
    for (const n of t.tried) out.hex(n, 32, "a node ID");
  }
  if (t.job !== undefined) out.hex(t.job, 32, "a node ID");
  if (t.memoryMb !== undefined) {
    out.room(4);
    out.u32(t.memoryMb);
  }
  if (t.retryExceptions !== undefined) {
    const names = t.retryExceptions === true ? [] : t.retryExceptions;
    out.room(1);
    out.u8(names.length);
    for (const n of names) out.str(n);
  }
  if (t.restart !== undefined) {
    out.room(12);
    out.u32(t.restart.maxRestarts);
    out.u32(t.restart.maxTaskRetries);
    out.u32(t.restart.checkpointInterval);
  }
  if (t.submittedAt !== undefined) {
    out.room(8);
    out.f64(t.submittedAt);
  }
}

export function writeDone(out: Out, d: TaskDoneBody): void {
  out.room(34);
  out.u8(FORMAT);
  out.u8((d.error !== undefined ? DF_ERROR : 0) | (d.results !== undefined ? DF_RESULTS : 0));
  fixed(out, d.id, 16, "a task ID");
  out.hex(d.node, 32, "a node ID");
  if (d.error !== undefined) out.blob(d.error);
  if (d.results !== undefined) {
    out.u32(d.results.length);
    for (const r of d.results) {
      if (r.value !== undefined) {
        out.u8(0);
        out.blob(r.value);
      } else {
        out.u8(1);
        out.hex(r.node ?? "", 32, "a node ID");
        out.f64(r.size ?? 0);
        const nested = r.nested ?? [];
        out.u32(nested.length);
        for (const n of nested) fixed(out, n, 20, "an object ID");
      }
    }
  }
}

// ---- reading ----------------------------------------------------------------------------------

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const utf8d = new TextDecoder("utf-8", { fatal: true });

let lastView: DataView = new DataView(new ArrayBuffer(0));

/** A DataView over all of `b`'s buffer (the bodies of one frame share it, so one view serves them all). */
function viewOf(b: Uint8Array): DataView {
  if (lastView.buffer !== b.buffer) lastView = new DataView(b.buffer);
  return lastView;
}

/** Reads one body; every read checks its bounds. Strings repeat (names, node IDs), so the last of each field is kept (Memo). */
class In {
  readonly b: Uint8Array;
  /** Over the whole buffer: reads add `base`. */
  readonly v: DataView;
  readonly base: number;
  at = 0;

  constructor(b: Uint8Array) {
    this.b = b;
    this.v = viewOf(b);
    this.base = b.byteOffset;
  }

  need(n: number): void {
    if (this.at + n > this.b.length) throw new WireError(`binary body ends early (needs ${this.at + n} bytes, has ${this.b.length})`);
  }

  u8(): number {
    this.need(1);
    return this.b[this.at++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.v.getUint16(this.base + this.at, true);
    this.at += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.v.getUint32(this.base + this.at, true);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.v.getFloat64(this.base + this.at, true);
    this.at += 8;
    return v;
  }

  /** `n` bytes as a view. */
  view(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  blob(): Uint8Array {
    return this.view(this.u32());
  }

  str(memo: Memo): string {
    const len = this.u16();
    this.need(len);
    const b = this.b;
    const at = this.at;
    this.at += len;
    if (memo.is(b, at, len)) return memo.value;
    let out = "";
    for (let i = at; i < at + len; i++) {
      if (b[i]! >= 0x80) {
        try {
          out = utf8d.decode(b.subarray(at, at + len));
        } catch {
          throw new WireError("a string on the wire is not UTF-8");
        }
        break;
      }
      out += String.fromCharCode(b[i]!);
    }
    return memo.keep(b, at, len, out);
  }

  /** `n` bytes as lowercase hex. */
  hex(n: number, memo: Memo): string {
    this.need(n);
    const b = this.b;
    const at = this.at;
    this.at += n;
    if (memo.is(b, at, n)) return memo.value;
    let out = "";
    for (let i = at; i < at + n; i++) out += HEX[b[i]!]!;
    return memo.keep(b, at, n, out);
  }
}

/** The last string decoded from some field, and its bytes: a repeat costs a compare. */
class Memo {
  #bytes = new Uint8Array(0);
  value = "";

  is(b: Uint8Array, at: number, n: number): boolean {
    const m = this.#bytes;
    if (m.length !== n) return false;
    for (let i = 0; i < n; i++) if (m[i] !== b[at + i]) return false;
    return true;
  }

  keep(b: Uint8Array, at: number, n: number, value: string): string {
    this.#bytes = n <= 256 ? b.slice(at, at + n) : new Uint8Array(0);
    this.value = value;
    return value;
  }
}

const owners = new Memo();
const components = new Memo();
const names = new Memo();
const resourceNames = new Memo();
const nodes = new Memo();
const other = new Memo();

export function readTask(body: Uint8Array): WireTask {
  const r = new In(body);
  if (r.u8() !== FORMAT) throw new WireError("unknown task format");
  const flags = r.u8();
  const kind = r.u8();
  const flags2 = r.u8();
  const numReturns = r.u32();
  const retries = r.u32();
  const timeoutMs = r.f64();
  if (!Number.isFinite(timeoutMs)) throw new WireError("a task's timeout is not a number");
  const id = r.view(16);
  const owner = r.hex(16, owners);
  const component = flags & TF_NO_COMPONENT ? "" : r.hex(32, components);
  const name = r.str(names);
  const nres = r.u8();
  const resources: [string, number][] = new Array(nres);
  for (let i = 0; i < nres; i++) {
    const k = r.str(resourceNames);
    const v = r.f64();
    if (!(Number.isInteger(v) && v >= 0)) throw new WireError(`resource '${k}' has a bad amount`);
    resources[i] = [k, v];
  }
  const args = r.blob();
  const t: WireTask = { id, owner, component, name, kind, args, numReturns, retries, timeoutMs, resources };
  if (flags & TF_DEPS) {
    const n = r.u32();
    r.need(n * 29);
    const deps: WireArg[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const a: WireArg = { id: r.view(20), size: r.f64() };
      if (!(Number.isInteger(a.size) && a.size >= 0)) throw new WireError("an argument has a bad size");
      const tag = r.u8();
      if (tag === 0) a.value = r.blob();
      else if (tag === 1) {
        const c = r.u8();
        a.nodes = new Array(c);
        for (let j = 0; j < c; j++) a.nodes[j] = r.hex(16, nodes);
      } else throw new WireError("an argument has an unknown form");
      deps[i] = a;
    }
    t.deps = deps;
  }
  if (flags & TF_NESTED) {
    const n = r.u32();
    r.need(n * 20);
    t.nested = new Array(n);
    for (let i = 0; i < n; i++) t.nested[i] = r.view(20);
  }
  if (flags & TF_ACTOR) t.actor = r.view(16);
  if (flags & TF_ACTOR_NAME) t.actorName = r.str(other);
  if (flags & TF_MAX_CONC) t.maxConcurrency = r.u32();
  if (flags & TF_TRIED) {
    const n = r.u8();
    t.tried = new Array(n);
    for (let i = 0; i < n; i++) t.tried[i] = r.hex(16, nodes);
  }
  if (flags2 & TF2_JOB) t.job = r.hex(16, owners);
  if (flags2 & TF2_DETACHED) t.lifetime = "detached";
  if (flags2 & TF2_MEMORY) {
    const mb = r.u32();
    if (mb < 1 || mb > 4096) throw new WireError(`a task's memory cap of ${mb} MiB is out of range (1 to 4096)`);
    t.memoryMb = mb;
  }
  if (flags2 & TF2_RETRY_EXC) {
    const n = r.u8();
    if (n === 0) t.retryExceptions = true;
    else {
      const names = new Array<string>(n);
      for (let i = 0; i < n; i++) names[i] = r.str(other);
      t.retryExceptions = names;
    }
  }
  if (flags2 & TF2_RESTART) t.restart = { maxRestarts: r.u32(), maxTaskRetries: r.u32(), checkpointInterval: r.u32() };
  if (flags2 & TF2_SUBMITTED) {
    const at = r.f64();
    if (!Number.isFinite(at)) throw new WireError("a task's submit time is not a number");
    t.submittedAt = at;
  }
  if (r.at !== body.length) throw new WireError(`task body has ${body.length - r.at} bytes left over`);
  return t;
}

export function readDone(body: Uint8Array): TaskDoneBody {
  const r = new In(body);
  if (r.u8() !== FORMAT) throw new WireError("unknown result format");
  const flags = r.u8();
  const d: TaskDoneBody = { id: r.view(16), node: r.hex(16, nodes) };
  if (flags & DF_ERROR) d.error = r.blob();
  if (flags & DF_RESULTS) {
    const n = r.u32();
    r.need(n);
    const results: WireResult[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const tag = r.u8();
      if (tag === 0) results[i] = { value: r.blob() };
      else if (tag === 1) {
        const res: WireResult = { node: r.hex(16, nodes), size: r.f64() };
        if (!(Number.isInteger(res.size) && res.size! >= 0)) throw new WireError("a result has a bad size");
        const c = r.u32();
        r.need(c * 20);
        if (c > 0) {
          res.nested = new Array(c);
          for (let j = 0; j < c; j++) res.nested[j] = r.view(20);
        }
        results[i] = res;
      } else throw new WireError("a result has an unknown form");
    }
    d.results = results;
  }
  if (r.at !== body.length) throw new WireError(`result body has ${body.length - r.at} bytes left over`);
  return d;
}
