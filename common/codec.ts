import type { ExtensionCodecType } from "@msgpack/msgpack";
import { Decoder, Encoder, ExtData, decodeTimestampExtension, encodeTimestampExtension } from "@msgpack/msgpack";
import { ActorHandle } from "./actor-handle.js";
import { copyInto } from "./copy.js";
import { OBJECT_ID_BYTES, TASK_ID_BYTES, bytesToKey, keyToBytes } from "./ids.js";
import { ByteSlab } from "./slab.js";
import { ObjectRef } from "./object-ref.js";
import { BINARY_ARRAY_BUFFER, BINARY_DATA_VIEW, EXT_ACTOR_HANDLE, EXT_MAP, EXT_OBJECT_REF, EXT_SET, EXT_TYPED_ARRAY } from "./extensions.js";
import { arrayHeader, binaryHeader } from "./msgpack-walk.js";

/**
 * Values cross every boundary in wray as MessagePack, with the extension
 * types of extensions.ts (docs/protocol.md). Uint8Array travels as plain
 * `bin`, plain objects as maps with string keys, arrays as arrays.
 * Anything else (functions, symbols, BigInt, class instances, invalid
 * Dates, cycles) is refused with a TypeError naming where in the value it
 * is: every value either arrives as it was sent or is not sent.
 */
export { BINARY_ARRAY_BUFFER, BINARY_DATA_VIEW, EXT_ACTOR_HANDLE, EXT_MAP, EXT_OBJECT_REF, EXT_SET, EXT_TYPED_ARRAY } from "./extensions.js";

/** Constructors of the typed arrays extension type 3 carries (Uint8Array travels as `bin`). */
export type TypedArrayCtor =
  | Int8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** Element kinds of extension type 3, by code (0 and 11 are ArrayBuffer and DataView). The guest SDK uses the same table. */
export const TYPED_ARRAY_KINDS: readonly (TypedArrayCtor | undefined)[] = [
  undefined,
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];

/** How deep values may nest (arrays, objects, Maps and Sets together). */
export const MAX_DEPTH = 100;

/** What a value that cannot be sent is, in words ("a function", "an instance of class Point"). */
export function describeUnsendable(v: unknown): string | undefined {
  switch (typeof v) {
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "bigint":
      return "a BigInt (send a number, or its digits as a string)";
    case "object":
      break;
    default:
      return undefined;
  }
  if (v === null || Array.isArray(v)) return undefined;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return undefined;
  if (v instanceof Uint8Array || v instanceof ObjectRef || v instanceof ActorHandle || v instanceof ArrayBuffer || v instanceof Map || v instanceof Set) return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? "an invalid Date (its time is NaN)" : undefined;
  if (ArrayBuffer.isView(v)) {
    if (v instanceof DataView || TYPED_ARRAY_KINDS.indexOf(v.constructor as TypedArrayCtor) > 0) return undefined;
    return `a ${v.constructor.name} (wray carries Uint8Array and the typed arrays of ES2020)`;
  }
  if (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer) return "a SharedArrayBuffer (copy it into an ArrayBuffer or a Uint8Array)";
  if (v instanceof Error) return `an ${v.name === "Error" ? "Error" : `Error (${v.name})`} (send its message, or a plain object)`;
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name === "string" && BUILT_INS.has(name)) return `a ${name}`;
  if (Object.getPrototypeOf(proto) === null && name === "Object") return undefined; // a plain object of another realm
  return `an instance of ${typeof name === "string" && name ? `class ${name}` : "a class"} (only plain objects travel: its class and methods would be lost; send { ...value } or a Map)`;
}

const BUILT_INS = new Set(["RegExp", "Promise", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Number", "String", "Boolean", "Symbol", "BigInt", "Proxy", "Generator", "AsyncGenerator"]);

/** A JavaScript name or a quoted key, as a path step. */
function step(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function keyText(k: unknown): string {
  if (typeof k === "string") return JSON.stringify(k);
  if (typeof k === "number" || typeof k === "boolean" || k === null || k === undefined) return String(k);
  return describeUnsendable(k) ?? (Array.isArray(k) ? "an array key" : "an object key");
}

/**
 * Where in `value` (named `root`, e.g. "args") the first part that cannot
 * be sent is, and why: "args[1].weights is a function". Undefined when
 * every part can be sent. It walks the value the way the encoders do.
 */
export function findUnsendable(value: unknown, root: string): string | undefined {
  const ancestors = new Map<object, string>();
  const walk = (v: unknown, path: string, depth: number): string | undefined => {
    const why = describeUnsendable(v);
    if (why) return `${path} is ${why}`;
    if (v === null || typeof v !== "object") return undefined;
    const seen = ancestors.get(v);
    if (seen !== undefined) return `${path} refers back to ${seen}, which contains it (a cycle)`;
    if (v instanceof Uint8Array || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof ObjectRef || v instanceof ActorHandle) return undefined;
    if (depth >= MAX_DEPTH) return `${path} is nested more than ${MAX_DEPTH} levels deep`;
    ancestors.set(v, path);
    let found: string | undefined;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && !found; i++) found = walk(v[i], `${path}[${i}]`, depth + 1);
    } else if (v instanceof Map) {
      for (const [k, x] of v) {
        found = walk(k, `${path} (a key of the Map)`, depth + 1) ?? walk(x, `${path}.get(${keyText(k)})`, depth + 1);
        if (found) break;
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) if ((found = walk(x, `${path} (element ${i++} of the Set)`, depth + 1))) break;
    } else {
      for (const k of Object.keys(v)) if ((found = walk((v as Record<string, unknown>)[k], path + step(k), depth + 1))) break;
    }
    ancestors.delete(v);
    return found;
  };
  return walk(value, root, 0);
}

/** The TypeError for a value that cannot be sent: where, what, and what can be (callers prefix the call). */
export function unsendable(value: unknown, root: string, cause: unknown): TypeError {
  const where = findUnsendable(value, root);
  const why = cause instanceof Error ? cause.message : String(cause);
  return new TypeError(
    `${where ?? `${root} cannot be sent (${why})`}. wray sends numbers, strings, booleans, null, arrays, plain objects, Map, Set, Date, Uint8Array, ArrayBuffer, typed arrays, ObjectRefs and actor handles (docs/protocol.md)`,
    { cause },
  );
}

/** `e` with the call that sent the value in front of its message (a TypeError from encoding), or `e` itself. */
export function sendError(e: unknown, call: string): unknown {
  return e instanceof TypeError ? new TypeError(`${call}: ${e.message}`, { cause: e.cause }) : e;
}

/** The header of a MessagePack map of `n` entries. */
function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 0x10000) return Uint8Array.of(0xde, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdf, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** The entry count of the map header at the start of `b`, and its length. */
function readMapHeader(b: Uint8Array): { count: number; at: number } {
  const t = b[0];
  if (t !== undefined && t >= 0x80 && t <= 0x8f) return { count: t & 0x0f, at: 1 };
  if (t === 0xde && b.length >= 3) return { count: (b[1]! << 8) | b[2]!, at: 3 };
  if (t === 0xdf && b.length >= 5) return { count: ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0, at: 5 };
  throw new RangeError("a Map extension must hold one MessagePack map");
}

/**
 * A top-level binary value as its MessagePack header and its bytes, so
 * that a large one can be written straight into shared memory, the bytes
 * aligned after the header, instead of going through the encoder (which
 * copies them twice). Uint8Array is a `bin`; other typed arrays, DataView
 * and ArrayBuffer are extension 3: the same bytes the encoder makes for
 * them. Undefined for any other value.
 */
export function binaryParts(value: unknown): { head: Uint8Array; body: Uint8Array } | undefined {
  if (value instanceof Uint8Array) return { head: binaryHeader(value.length, 0), body: value };
  if (value instanceof ArrayBuffer) {
    // kind 0 of extension 3, which binaryHeader's kind 0 (a `bin`) cannot say
    const head = Uint8Array.of(0xc9, 0, 0, 0, 0, EXT_TYPED_ARRAY, BINARY_ARRAY_BUFFER);
    new DataView(head.buffer).setUint32(1, value.byteLength + 1);
    return { head, body: new Uint8Array(value) };
  }
  if (!ArrayBuffer.isView(value)) return undefined;
  const kind = value instanceof DataView ? BINARY_DATA_VIEW : TYPED_ARRAY_KINDS.indexOf(value.constructor as TypedArrayCtor);
  if (kind <= 0) return undefined;
  return { head: binaryHeader(value.byteLength, kind), body: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) };
}

/** Hooks that let the store observe refs as values are encoded and decoded. */
export interface RefHooks {
  /** Called with each ObjectRef found while encoding (nested or not). */
  onEncodeRef?(ref: ObjectRef): void;
  /** Makes the ObjectRef for an ID (key) found while decoding. */
  makeRef?(key: string): ObjectRef;
  /** Makes the handle for an actor ID (key) found while decoding. */
  makeActor?(key: string): ActorHandle;
}

/**
 * One MessagePack codec with wray's extension types. Encoders are reused
 * (they keep a growing buffer), so a codec belongs to one thread.
 */
export class ValueCodec {
  readonly #encoder: Encoder<undefined>;
  readonly #decoder: Decoder<undefined>;
  readonly #hooks: RefHooks;
  readonly #slab = new ByteSlab();

  constructor(hooks: RefHooks = {}) {
    this.#hooks = hooks;
    // one dispatcher for every extension: a single look at each object (the
    // encoder asks it about every object before it treats it as a map)
    const ext = {
      tryToEncode: (v: unknown) => this.#encodeExt(v),
      decode: (data: Uint8Array, type: number) => this.#decodeExt(data, type),
    } as unknown as ExtensionCodecType<undefined>;
    this.#encoder = new Encoder({ extensionCodec: ext, ignoreUndefined: false, maxDepth: MAX_DEPTH });
    this.#decoder = new Decoder({ extensionCodec: ext });
  }

  /** Containers (Map, Set) being encoded through a nested encode, for the depth limit. */
  #nesting = 0;

  #encodeExt(v: unknown): ExtData | null {
    if (Array.isArray(v)) return null;
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null || v instanceof Uint8Array) return null;
    if (v instanceof ObjectRef) {
      this.#hooks.onEncodeRef?.(v);
      return new ExtData(EXT_OBJECT_REF, keyToBytes(v.key));
    }
    if (v instanceof ActorHandle) return new ExtData(EXT_ACTOR_HANDLE, keyToBytes(v.key));
    if (ArrayBuffer.isView(v)) {
      const kind = v instanceof DataView ? BINARY_DATA_VIEW : TYPED_ARRAY_KINDS.indexOf(v.constructor as TypedArrayCtor);
      if (kind <= 0) throw new TypeError(describeUnsendable(v));
      const out = new Uint8Array(1 + v.byteLength);
      out[0] = kind;
      out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), 1);
      return new ExtData(EXT_TYPED_ARRAY, out);
    }
    if (v instanceof ArrayBuffer) {
      const out = new Uint8Array(1 + v.byteLength);
      out[0] = BINARY_ARRAY_BUFFER;
      out.set(new Uint8Array(v), 1);
      return new ExtData(EXT_TYPED_ARRAY, out);
    }
    if (v instanceof Date && !Number.isNaN(v.getTime())) return new ExtData(-1, encodeTimestampExtension(v)!);
    if (v instanceof Map) {
      const flat = new Array<unknown>(2 * v.size);
      let i = 0;
      for (const [k, x] of v) (flat[i++] = k), (flat[i++] = x);
      const body = this.#nested(flat);
      // the flat array's elements are the map's entries: swap the header
      const skip = arrayHeader(flat.length).length;
      const head = mapHeader(v.size);
      const out = new Uint8Array(head.length + body.length - skip);
      out.set(head, 0);
      out.set(body.subarray(skip), head.length);
      return new ExtData(EXT_MAP, out);
    }
    if (v instanceof Set) return new ExtData(EXT_SET, this.#nested([...v]));
    const why = describeUnsendable(v);
    if (why) throw new TypeError(why);
    return null; // a plain object of another realm
  }

  /** Encodes a Map's or Set's contents with the same extensions (refs inside are seen too). */
  #nested(value: unknown[]): Uint8Array {
    if (++this.#nesting > MAX_DEPTH) {
      this.#nesting = 0;
      throw new RangeError(`values nest more than ${MAX_DEPTH} levels deep`);
    }
    try {
      return this.#encoder.encode(value);
    } finally {
      this.#nesting = Math.max(0, this.#nesting - 1);
    }
  }

  #decodeExt(data: Uint8Array, type: number): unknown {
    switch (type) {
      case EXT_OBJECT_REF: {
        if (data.length !== OBJECT_ID_BYTES) throw new RangeError(`ObjectRef extension must hold ${OBJECT_ID_BYTES} bytes, got ${data.length}`);
        const key = bytesToKey(data);
        return this.#hooks.makeRef ? this.#hooks.makeRef(key) : new ObjectRef(key);
      }
      case EXT_ACTOR_HANDLE: {
        if (data.length !== TASK_ID_BYTES) throw new RangeError(`ActorHandle extension must hold ${TASK_ID_BYTES} bytes, got ${data.length}`);
        const key = bytesToKey(data, 0, TASK_ID_BYTES);
        return this.#hooks.makeActor ? this.#hooks.makeActor(key) : new ActorHandle(key, "");
      }
      case EXT_TYPED_ARRAY: {
        const kind = data[0];
        if (kind === undefined) throw new RangeError("binary extension without a kind byte");
        const Ctor = TYPED_ARRAY_KINDS[kind];
        if (Ctor && (data.byteLength - 1) % Ctor.BYTES_PER_ELEMENT !== 0) throw new RangeError("typed-array extension has a partial element");
        // a view where the caller pins shared memory and the elements are aligned (a put writes them so)
        if (Ctor && this.#sharedViews && data.buffer instanceof SharedArrayBuffer && (data.byteOffset + 1) % Ctor.BYTES_PER_ELEMENT === 0) {
          const View = Ctor as new (b: SharedArrayBuffer, at: number, n: number) => ArrayBufferView;
          return new View(data.buffer, data.byteOffset + 1, (data.byteLength - 1) / Ctor.BYTES_PER_ELEMENT);
        }
        // a fresh, aligned buffer (through copyInto: in shared memory the bytes may lie misaligned)
        const body = new Uint8Array(data.length - 1);
        copyInto(body, data.subarray(1));
        if (kind === BINARY_ARRAY_BUFFER) return body.buffer;
        if (kind === BINARY_DATA_VIEW) return new DataView(body.buffer);
        if (!Ctor) throw new RangeError(`unknown typed-array kind ${kind}`);
        return new Ctor(body.buffer, 0, body.byteLength / Ctor.BYTES_PER_ELEMENT);
      }
      case EXT_MAP: {
        const { count, at } = readMapHeader(data);
        const head = arrayHeader(2 * count);
        const flat = new Uint8Array(head.length + data.length - at);
        flat.set(head, 0);
        flat.set(data.subarray(at), head.length);
        const kv = this.#decoder.decode(flat) as unknown[];
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < kv.length; i += 2) m.set(kv[i], kv[i + 1]);
        return m;
      }
      case EXT_SET: {
        // from a copy: `data` may be shared memory, and binary values inside
        // a Set are not pinned the way top-level views are
        const items = this.#decoder.decode(data.slice());
        if (!Array.isArray(items)) throw new RangeError("a Set extension must hold one MessagePack array");
        return new Set(items);
      }
      case -1:
        return decodeTimestampExtension(data);
      default:
        return new ExtData(type, data);
    }
  }

  /**
   * Encodes to bytes that the caller owns. A value wray cannot carry is a
   * TypeError that names where in it (`root`, e.g. "args") the part is and
   * what it is ("args[1].weights is a function. wray sends ..."); callers
   * put the call in front.
   */
  encode(value: unknown, root = "value"): Uint8Array {
    let view: Uint8Array;
    try {
      view = this.#encoder.encodeSharedRef(value);
    } catch (e) {
      this.#nesting = 0;
      throw unsendable(value, root, e);
    }
    return this.#slab.copy(view);
  }

  /**
   * Encodes into the encoder's internal buffer and returns a view of it,
   * valid only until this codec encodes again: for bytes that are copied
   * at once (into the object store, a ring, guest memory).
   */
  encodeTransient(value: unknown, root = "value"): Uint8Array {
    try {
      return this.#encoder.encodeSharedRef(value);
    } catch (e) {
      this.#nesting = 0;
      throw unsendable(value, root, e);
    }
  }

  /** While set, typed arrays that lie aligned in shared memory decode as views of it. */
  #sharedViews = false;

  /**
   * Decodes one value from shared memory that the caller keeps alive while
   * views of it live (it pins them): Uint8Arrays, and the other typed arrays
   * whose elements lie aligned there, come back as views of `bytes`.
   */
  decodeShared(bytes: Uint8Array): unknown {
    this.#sharedViews = true;
    try {
      return this.decode(bytes);
    } finally {
      this.#sharedViews = false;
    }
  }

  /** Decodes one value. Uint8Arrays come back as views into `bytes`; other typed arrays as copies. */
  decode(bytes: Uint8Array): unknown {
    // one-byte values (small integers, nil, booleans) are most task results:
    // skip the decoder's per-call setup for them
    if (bytes.length === 1) {
      const t = bytes[0]!;
      if (t < 0x80) return t;
      if (t >= 0xe0) return t - 0x100;
      if (t === 0xc0) return null;
      if (t === 0xc2) return false;
      if (t === 0xc3) return true;
    }
    return this.#decoder.decode(bytes);
  }
}
