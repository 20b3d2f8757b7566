// MessagePack for guests, with wray's extension types (docs/protocol.md):
//   1 ObjectRef (20-byte ID), 2 ActorHandle (16-byte ID), 3 binary (typed
//   array, ArrayBuffer kind 0, DataView kind 11), 4 Map (one map, keys of
//   any type), 5 Set (one array), -1 timestamp (Date).
// It must agree with common/codec.ts on the host: every value arrives as it
// was sent or is refused with a TypeError naming where in it the part that
// cannot be sent is (functions, symbols, class instances, invalid Dates,
// cycles).
//
// Written for QuickJS, an interpreter, where (measured) a simple operation
// costs ~35 ns, a function call ~100-200 ns, and allocating a typed array or
// DataView ~600-800 ns: so one reused output buffer, scratch float views
// allocated once, few calls per value, and no allocation that a value does
// not need.
import { utf8Length, utf8Read, utf8Write } from "./utf8.js";

export const EXT_OBJECT_REF = 1;
export const EXT_ACTOR_HANDLE = 2;
export const EXT_TYPED_ARRAY = 3;
export const EXT_MAP = 4;
export const EXT_SET = 5;
const BINARY_ARRAY_BUFFER = 0;
const BINARY_DATA_VIEW = 11;
/** How deep values may nest (as on the host).
 *
 * This file's parts:
 *   ObjectRef, ActorHandle and the extension types
 *   encoder              values to MessagePack, with what cannot be sent named
 *   decoder              MessagePack to values, extensions back to refs and handles
 */
const MAX_DEPTH = 100;
export const OBJECT_ID_BYTES = 20;

function hexOf(id: Uint8Array): string {
  let s = "";
  for (let i = 0; i < id.length; i++) s += (id[i]! < 16 ? "0" : "") + id[i]!.toString(16);
  return s;
}

/** A reference to an object in the host's object store. */
export class ObjectRef<T = unknown> {
  /** The 20-byte object ID. */
  readonly id: Uint8Array;
  declare readonly __value?: T;
  /** `await ref` in an async task or method: its value (objects.ts defines it; an ObjectRef is a thenable, as Ray's `await ref`). */
  declare then: <R1 = T, R2 = never>(onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null) => Promise<R1 | R2>;
  constructor(id: Uint8Array) {
    if (!(id instanceof Uint8Array) || id.length !== OBJECT_ID_BYTES) throw new TypeError(`an ObjectRef ID is ${OBJECT_ID_BYTES} bytes`);
    this.id = id;
  }
  /** The ID as 40 lowercase hex digits, as the host prints it. */
  get hex(): string {
    return hexOf(this.id);
  }
  toString(): string {
    return `ObjectRef(${this.hex})`;
  }
}

export const ACTOR_ID_BYTES = 16;

/** A handle to an actor (the SDK gives handles their methods: see index.ts). */
export class ActorHandle {
  /** The 16-byte actor ID. */
  readonly id: Uint8Array;
  constructor(id: Uint8Array) {
    if (!(id instanceof Uint8Array) || id.length !== ACTOR_ID_BYTES) throw new TypeError(`an actor ID is ${ACTOR_ID_BYTES} bytes`);
    this.id = id;
  }
  /** The ID as 32 lowercase hex digits, as the host prints it. */
  get hex(): string {
    return hexOf(this.id);
  }
  toString(): string {
    return `ActorHandle(${this.hex})`;
  }
}

let actorFactory: (id: Uint8Array) => ActorHandle = (id) => new ActorHandle(id);
/** How decoded actor handles are made (the SDK wraps them to expose methods). */
export function setActorFactory(f: (id: Uint8Array) => ActorHandle): void {
  actorFactory = f;
}

type TypedArray =
  | Int8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
// element kinds of extension 3, in the host's order (0 is unused)
const TYPED_KINDS: (new (b: ArrayBuffer, o: number, n: number) => TypedArray)[] = [
  Uint8Array as never, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

/** Hook for values the codec does not know (actor handles, later). */
export interface ExtHooks {
  encode?(value: object): { type: number; data: Uint8Array } | undefined;
  decode?(type: number, data: Uint8Array): unknown;
}
let hooks: ExtHooks = {};
export function setExtHooks(h: ExtHooks): void {
  hooks = h;
}

// Scratch for floats: MessagePack is big-endian, wasm little-endian.
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);

// ---- encoder ---------------------------------------------------------------

let out = new Uint8Array(1024);
let pos = 0;

function grow(n: number): void {
  let size = out.length * 2;
  while (size < pos + n) size *= 2;
  const next = new Uint8Array(size);
  next.set(out.subarray(0, pos));
  out = next;
}

function u32(v: number): void {
  out[pos] = v >>> 24;
  out[pos + 1] = (v >>> 16) & 0xff;
  out[pos + 2] = (v >>> 8) & 0xff;
  out[pos + 3] = v & 0xff;
  pos += 4;
}

function encodeNumber(v: number): void {
  if (pos + 9 > out.length) grow(9);
  if ((v | 0) === v) {
    if (v >= 0) {
      if (v < 0x80) out[pos++] = v;
      else if (v < 0x100) (out[pos++] = 0xcc), (out[pos++] = v);
      else if (v < 0x10000) (out[pos++] = 0xcd), (out[pos++] = v >>> 8), (out[pos++] = v & 0xff);
      else (out[pos++] = 0xce), u32(v);
    } else if (v >= -32) out[pos++] = v & 0xff;
    else if (v >= -0x80) (out[pos++] = 0xd0), (out[pos++] = v & 0xff);
    else if (v >= -0x8000) (out[pos++] = 0xd1), (out[pos++] = (v >>> 8) & 0xff), (out[pos++] = v & 0xff);
    else (out[pos++] = 0xd2), u32(v);
    return;
  }
  if (Number.isSafeInteger(v)) {
    const hi = Math.floor(v / 0x100000000);
    out[pos++] = v >= 0 ? (v < 0x100000000 ? 0xce : 0xcf) : 0xd3;
    if (v >= 0 && v < 0x100000000) return u32(v);
    u32(hi);
    u32(v - hi * 0x100000000);
    return;
  }
  f64[0] = v;
  out[pos] = 0xcb;
  for (let i = 0; i < 8; i++) out[pos + 1 + i] = f64b[7 - i]!;
  pos += 9;
}

function encodeString(s: string): void {
  let len = s.length;
  // ASCII is the common case (names, keys): check, and count otherwise
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      len = utf8Length(s);
      break;
    }
  }
  if (pos + 5 + len > out.length) grow(5 + len);
  if (len < 32) out[pos++] = 0xa0 | len;
  else if (len < 0x100) (out[pos++] = 0xd9), (out[pos++] = len);
  else if (len < 0x10000) (out[pos++] = 0xda), (out[pos++] = len >>> 8), (out[pos++] = len & 0xff);
  else (out[pos++] = 0xdb), u32(len);
  if (len === s.length) for (let i = 0; i < len; i++) out[pos++] = s.charCodeAt(i);
  else pos = utf8Write(s, out, pos);
}

function encodeBin(b: Uint8Array): void {
  const n = b.length;
  if (pos + 5 + n > out.length) grow(5 + n);
  if (n < 0x100) (out[pos++] = 0xc4), (out[pos++] = n);
  else if (n < 0x10000) (out[pos++] = 0xc5), (out[pos++] = n >>> 8), (out[pos++] = n & 0xff);
  else (out[pos++] = 0xc6), u32(n);
  out.set(b, pos);
  pos += n;
}

function encodeExt(type: number, data: Uint8Array): void {
  const n = data.length;
  if (pos + 6 + n > out.length) grow(6 + n);
  if (n === 1) out[pos++] = 0xd4;
  else if (n === 2) out[pos++] = 0xd5;
  else if (n === 4) out[pos++] = 0xd6;
  else if (n === 8) out[pos++] = 0xd7;
  else if (n === 16) out[pos++] = 0xd8;
  else if (n < 0x100) (out[pos++] = 0xc7), (out[pos++] = n);
  else if (n < 0x10000) (out[pos++] = 0xc8), (out[pos++] = n >>> 8), (out[pos++] = n & 0xff);
  else (out[pos++] = 0xc9), u32(n);
  out[pos++] = type & 0xff;
  out.set(data, pos);
  pos += n;
}

function header(n: number, fix: number, t16: number): void {
  if (pos + 5 > out.length) grow(5);
  if (n < 16) out[pos++] = fix | n;
  else if (n < 0x10000) (out[pos++] = t16), (out[pos++] = n >>> 8), (out[pos++] = n & 0xff);
  else (out[pos++] = t16 + 1), u32(n);
}

/** Reserves an ext 32 header whose length `endExt` fills in; returns where the payload starts. */
function beginExt(type: number): number {
  if (pos + 6 > out.length) grow(6);
  out[pos] = 0xc9;
  out[pos + 5] = type;
  pos += 6;
  return pos;
}

function endExt(start: number): void {
  const n = pos - start;
  out[start - 5] = n >>> 24;
  out[start - 4] = (n >>> 16) & 0xff;
  out[start - 3] = (n >>> 8) & 0xff;
  out[start - 2] = n & 0xff;
}

function encodeValue(v: unknown, depth: number): void {
  const t = typeof v;
  if (t === "number") return encodeNumber(v as number);
  if (t === "string") return encodeString(v as string);
  if (pos + 1 > out.length) grow(1);
  if (v === undefined || v === null) {
    out[pos++] = 0xc0;
    return;
  }
  if (t === "boolean") {
    out[pos++] = v ? 0xc3 : 0xc2;
    return;
  }
  if (t !== "object") throw new TypeError(describeUnsendable(v));
  if (depth > MAX_DEPTH) throw new RangeError(`values nest more than ${MAX_DEPTH} levels deep`);
  if (Array.isArray(v)) {
    header(v.length, 0x90, 0xdc);
    for (let i = 0; i < v.length; i++) encodeValue(v[i], depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return encodeObject(v as Record<string, unknown>, depth);
  if (v instanceof Uint8Array) return encodeBin(v);
  if (v instanceof ObjectRef) return encodeExt(EXT_OBJECT_REF, v.id);
  if (v instanceof ActorHandle) return encodeExt(EXT_ACTOR_HANDLE, v.id);
  if (ArrayBuffer.isView(v)) {
    const kind = v instanceof DataView ? BINARY_DATA_VIEW : TYPED_KINDS.indexOf(v.constructor as never);
    if (kind <= 0) throw new TypeError(describeUnsendable(v));
    return encodeBinary(kind, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  if (v instanceof ArrayBuffer) return encodeBinary(BINARY_ARRAY_BUFFER, new Uint8Array(v));
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new TypeError(describeUnsendable(v));
    return encodeDate(v);
  }
  if (v instanceof Map) {
    const start = beginExt(EXT_MAP);
    header(v.size, 0x80, 0xde);
    for (const [k, x] of v) encodeValue(k, depth + 1), encodeValue(x, depth + 1);
    return endExt(start);
  }
  if (v instanceof Set) {
    const start = beginExt(EXT_SET);
    header(v.size, 0x90, 0xdc);
    for (const x of v) encodeValue(x, depth + 1);
    return endExt(start);
  }
  const ext = hooks.encode?.(v);
  if (ext) return encodeExt(ext.type, ext.data);
  throw new TypeError(describeUnsendable(v));
}

function encodeObject(v: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(v);
  header(keys.length, 0x80, 0xde);
  for (let i = 0; i < keys.length; i++) {
    encodeString(keys[i]!);
    encodeValue(v[keys[i]!], depth + 1);
  }
}

/** Extension 3: a kind byte, then the bytes. */
function encodeBinary(kind: number, bytes: Uint8Array): void {
  const data = new Uint8Array(1 + bytes.length);
  data[0] = kind;
  data.set(bytes, 1);
  encodeExt(EXT_TYPED_ARRAY, data);
}

/** What a value that cannot be sent is, in words (as common/codec.ts says it). */
export function describeUnsendable(v: unknown): string {
  if (typeof v === "function") return "a function";
  if (typeof v === "symbol") return "a symbol";
  if (typeof v === "bigint") return "a BigInt (send a number, or its digits as a string)";
  if (v instanceof Date) return "an invalid Date (its time is NaN)";
  if (v instanceof Error) return `an ${v.name === "Error" ? "Error" : `Error (${v.name})`} (send its message, or a plain object)`;
  if (ArrayBuffer.isView(v)) return `a ${(v.constructor as { name: string }).name} (wray carries Uint8Array and the typed arrays of ES2020)`;
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  if (typeof name === "string" && BUILT_INS.indexOf(name) >= 0) return `a ${name}`;
  return `an instance of ${typeof name === "string" && name ? `class ${name}` : "a class"} (only plain objects travel: its class and methods would be lost; send { ...value } or a Map)`;
}

const BUILT_INS = ["RegExp", "Promise", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Number", "String", "Boolean", "Generator", "SharedArrayBuffer"];

function sendable(v: unknown): boolean {
  const t = typeof v;
  if (t === "function" || t === "symbol" || t === "bigint") return false;
  if (t !== "object" || v === null || Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return true;
  if (v instanceof Date) return !Number.isNaN(v.getTime());
  if (ArrayBuffer.isView(v)) return v instanceof Uint8Array || v instanceof DataView || TYPED_KINDS.indexOf(v.constructor as never) > 0;
  return v instanceof ObjectRef || v instanceof ActorHandle || v instanceof ArrayBuffer || v instanceof Map || v instanceof Set || hooks.encode?.(v as object) !== undefined;
}

function pathStep(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Where in `value` (named `root`) the first part that cannot be sent is,
 * and why ("result.points[2] is an instance of class Point"); undefined
 * when it can all be sent. Called after an encode failed, to say where.
 */
export function findUnsendable(value: unknown, root: string): string | undefined {
  const ancestors: unknown[] = [];
  const paths: string[] = [];
  const walk = (v: unknown, path: string): string | undefined => {
    if (!sendable(v)) return `${path} is ${describeUnsendable(v)}`;
    if (v === null || typeof v !== "object" || v instanceof Uint8Array || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof ObjectRef || v instanceof ActorHandle) return undefined;
    const seen = ancestors.indexOf(v);
    if (seen >= 0) return `${path} refers back to ${paths[seen]}, which contains it (a cycle)`;
    if (ancestors.length >= MAX_DEPTH) return `${path} is nested more than ${MAX_DEPTH} levels deep`;
    ancestors.push(v);
    paths.push(path);
    let found: string | undefined;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && !found; i++) found = walk(v[i], `${path}[${i}]`);
    } else if (v instanceof Map) {
      for (const [k, x] of v) if ((found = walk(k, `${path} (a key of the Map)`) ?? walk(x, `${path}.get(${typeof k === "string" ? JSON.stringify(k) : String(k)})`))) break;
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) if ((found = walk(x, `${path} (element ${i++} of the Set)`))) break;
    } else {
      for (const k of Object.keys(v)) if ((found = walk((v as Record<string, unknown>)[k], path + pathStep(k)))) break;
    }
    ancestors.pop();
    paths.pop();
    return found;
  };
  return walk(value, root);
}

/**
 * Encodes, or throws a TypeError naming where in `value` (called `root`)
 * the part that cannot be sent is (callers put the call in front: see
 * `sendError`).
 */
function encodeChecked(value: unknown, root: string): void {
  try {
    encodeValue(value, 0);
  } catch (e) {
    const where = findUnsendable(value, root);
    if (!where) throw e;
    throw new TypeError(`${where}; wray sends numbers, strings, booleans, null, arrays, plain objects, Map, Set, Date, Uint8Array, ArrayBuffer, typed arrays, ObjectRefs and actor handles`);
  }
}

/** `e` with the call that sent the value in front of its message (a TypeError from encoding), or `e` itself. */
export function sendError(e: unknown, call: string): unknown {
  return e instanceof TypeError ? new TypeError(`${call}: ${e.message}`) : e;
}

function encodeDate(d: Date): void {
  const ms = d.getTime();
  const sec = Math.floor(ms / 1000);
  const nsec = Math.round((ms - sec * 1000) * 1e6);
  if (pos + 15 > out.length) grow(15);
  if (nsec === 0 && sec >= 0 && sec < 0x100000000) {
    // timestamp 32: whole seconds
    out[pos++] = 0xd6;
    out[pos++] = 0xff;
    u32(sec);
  } else if (sec >= 0 && sec < 0x400000000) {
    // timestamp 64: nsec in the top 30 bits, seconds in the low 34
    out[pos++] = 0xd7;
    out[pos++] = 0xff;
    u32(nsec * 4 + Math.floor(sec / 0x100000000));
    u32(sec >>> 0);
  } else {
    out[pos++] = 0xc7;
    out[pos++] = 12;
    out[pos++] = 0xff;
    u32(nsec);
    const hi = Math.floor(sec / 0x100000000);
    u32(hi);
    u32(sec - hi * 0x100000000);
  }
}

/**
 * Encodes `value`; the result is a view of a shared buffer that the next
 * encode overwrites, so copy it (or hand it to the host) at once.
 */
export function encodeView(value: unknown, root = "value"): Uint8Array {
  pos = 0;
  encodeChecked(value, root);
  return out.subarray(0, pos);
}

/** Encodes `value` into a fresh Uint8Array. */
export function encode(value: unknown, root?: string): Uint8Array {
  return encodeView(value, root).slice();
}

/**
 * Encodes a reply: an array of `values` (of which only the first `n` when
 * `single`: one value). Small replies come back as a plain array of bytes,
 * which the component lowers faster than a typed array.
 */
export function encodeReply(value: unknown, many: boolean): Uint8Array | number[] {
  pos = 0;
  if (many) {
    const a = value as unknown[];
    header(a.length, 0x90, 0xdc);
    for (let i = 0; i < a.length; i++) encodeChecked(a[i], `result[${i}]`);
  } else {
    out[pos++] = 0x91;
    encodeChecked(value, "result");
  }
  if (pos > 24) return out.subarray(0, pos);
  const r = new Array<number>(pos);
  for (let i = 0; i < pos; i++) r[i] = out[i]!;
  return r;
}

// ---- decoder ---------------------------------------------------------------

let src: Uint8Array = new Uint8Array(0);
let at = 0;

function truncated(): RangeError {
  return new RangeError("truncated MessagePack value");
}

function r16(): number {
  if (at + 2 > src.length) throw truncated();
  const v = (src[at]! << 8) | src[at + 1]!;
  at += 2;
  return v;
}

function r32(): number {
  if (at + 4 > src.length) throw truncated();
  const v = ((src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!) >>> 0;
  at += 4;
  return v;
}

function readStr(n: number): string {
  const end = at + n;
  if (end > src.length) throw truncated();
  let s: string;
  if (n > 64) s = utf8Read(src, at, end);
  else {
    // short strings (names, keys): a loop beats the native call's setup
    s = "";
    let i = at;
    for (; i < end; i++) {
      const c = src[i]!;
      if (c > 0x7f) break;
      s += String.fromCharCode(c);
    }
    if (i < end) s += utf8Read(src, i, end);
  }
  at = end;
  return s;
}

function readBin(n: number): Uint8Array {
  if (at + n > src.length) throw truncated();
  const b = src.subarray(at, at + n);
  at += n;
  return b;
}

function readArray(n: number): unknown[] {
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = readValue();
  return a;
}

function readMap(n: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = readValue();
    o[typeof k === "string" ? k : String(k)] = readValue();
  }
  return o;
}

function readFloat(n: 4 | 8): number {
  if (at + n > src.length) throw truncated();
  if (n === 4) {
    for (let i = 0; i < 4; i++) f32b[i] = src[at + 3 - i]!;
    at += 4;
    return f32[0]!;
  }
  for (let i = 0; i < 8; i++) f64b[i] = src[at + 7 - i]!;
  at += 8;
  return f64[0]!;
}

function readExt(n: number): unknown {
  if (at + 1 + n > src.length) throw truncated();
  const type = (src[at]! << 24) >> 24;
  at++;
  const data = src.subarray(at, at + n);
  at += n;
  if (type === EXT_OBJECT_REF) return new ObjectRef(data.slice());
  if (type === EXT_ACTOR_HANDLE) return actorFactory(data.slice());
  if (type === EXT_TYPED_ARRAY) {
    const kind = data[0];
    const body = data.slice(1);
    if (kind === BINARY_ARRAY_BUFFER) return body.buffer;
    if (kind === BINARY_DATA_VIEW) return new DataView(body.buffer);
    const Ctor = kind === undefined ? undefined : TYPED_KINDS[kind];
    if (!Ctor) throw new RangeError(`unknown typed-array kind ${kind}`);
    const per = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    return new Ctor(body.buffer, 0, body.byteLength / per);
  }
  if (type === EXT_MAP || type === EXT_SET) {
    // the payload is one map (or array) in the same stream: read it in place
    const end = at;
    at = end - n;
    const t = src[at]!;
    let count: number;
    if (type === EXT_MAP) count = t >= 0x80 && t <= 0x8f ? (at++, t & 0x0f) : t === 0xde ? (at++, r16()) : t === 0xdf ? (at++, r32()) : -1;
    else count = t >= 0x90 && t <= 0x9f ? (at++, t & 0x0f) : t === 0xdc ? (at++, r16()) : t === 0xdd ? (at++, r32()) : -1;
    if (count < 0) throw new RangeError(`a ${type === EXT_MAP ? "Map" : "Set"} extension must hold one MessagePack ${type === EXT_MAP ? "map" : "array"}`);
    let v: Map<unknown, unknown> | Set<unknown>;
    if (type === EXT_MAP) {
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < count; i++) {
        const k = readValue();
        m.set(k, readValue());
      }
      v = m;
    } else {
      const set = new Set<unknown>();
      for (let i = 0; i < count; i++) set.add(readValue());
      v = set;
    }
    if (at !== end) throw new RangeError("a Map or Set extension holds more than its entries");
    return v;
  }
  if (type === -1) {
    const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (n === 4) return new Date(d.getUint32(0) * 1000);
    if (n === 8) {
      const hi = d.getUint32(0);
      const lo = d.getUint32(4);
      return new Date(((hi & 3) * 0x100000000 + lo) * 1000 + Math.floor(hi / 4) / 1e6);
    }
    if (n === 12) return new Date((d.getInt32(4) * 0x100000000 + d.getUint32(8)) * 1000 + d.getUint32(0) / 1e6);
  }
  if (hooks.decode) {
    // the hook may decode too: keep our place
    const s = src;
    const p = at;
    try {
      return hooks.decode(type, data.slice());
    } finally {
      src = s;
      at = p;
    }
  }
  throw new RangeError(`unknown MessagePack extension type ${type}`);
}

function readValue(): unknown {
  const t = src[at++];
  if (t === undefined) throw truncated();
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0xa0 && t < 0xc0) return readStr(t & 0x1f);
  if (t >= 0x90 && t < 0xa0) return readArray(t & 0x0f);
  if (t < 0x90) return readMap(t & 0x0f);
  switch (t) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: if (at >= src.length) throw truncated(); return readBin(src[at++]!);
    case 0xc5: return readBin(r16());
    case 0xc6: return readBin(r32());
    case 0xc7: if (at >= src.length) throw truncated(); return readExt(src[at++]!);
    case 0xc8: return readExt(r16());
    case 0xc9: return readExt(r32());
    case 0xca: return readFloat(4);
    case 0xcb: return readFloat(8);
    case 0xcc: if (at >= src.length) throw truncated(); return src[at++]!;
    case 0xcd: return r16();
    case 0xce: return r32();
    case 0xcf: { const hi = r32(); return hi * 0x100000000 + r32(); }
    case 0xd0: if (at >= src.length) throw truncated(); return (src[at++]! << 24) >> 24;
    case 0xd1: return (r16() << 16) >> 16;
    case 0xd2: return r32() | 0;
    case 0xd3: { const hi = r32() | 0; return hi * 0x100000000 + r32(); }
    case 0xd4: return readExt(1);
    case 0xd5: return readExt(2);
    case 0xd6: return readExt(4);
    case 0xd7: return readExt(8);
    case 0xd8: return readExt(16);
    case 0xd9: if (at >= src.length) throw truncated(); return readStr(src[at++]!);
    case 0xda: return readStr(r16());
    case 0xdb: return readStr(r32());
    case 0xdc: return readArray(r16());
    case 0xdd: return readArray(r32());
    case 0xde: return readMap(r16());
    case 0xdf: return readMap(r32());
    default: throw new RangeError(`invalid MessagePack type byte 0x${t.toString(16)}`);
  }
}

/** Decodes one value; binary values are views into `bytes`. */
export function decode(bytes: Uint8Array): unknown {
  src = bytes;
  at = 0;
  return readValue();
}
