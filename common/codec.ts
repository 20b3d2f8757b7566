import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import { ActorHandle } from "./actor-handle.js";
import { OBJECT_ID_BYTES, TASK_ID_BYTES, bytesToKey, keyToBytes } from "./ids.js";
import { ByteSlab } from "./slab.js";
import { ObjectRef } from "./object-ref.js";

/**
 * Values cross every boundary in wray as MessagePack (docs/protocol.md).
 * Extension types, shared with the guest SDK's codec:
 *   1  ObjectRef    20-byte object ID
 *   2  ActorHandle  16-byte actor ID
 *   3  typed array  1 byte element kind, then little-endian elements
 * Uint8Array travels as plain `bin`.
 */
export const EXT_OBJECT_REF = 1;
export const EXT_ACTOR_HANDLE = 2;
export const EXT_TYPED_ARRAY = 3;

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

/** Element kinds of extension type 3, by code. The guest SDK uses the same table. */
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

function notEncodable(e: unknown): TypeError {
  const why = e instanceof Error ? e.message : String(e);
  return new TypeError(`value cannot be sent to wray (MessagePack values, typed arrays and ObjectRefs only): ${why}`, { cause: e });
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
    const ext = new ExtensionCodec();
    ext.register({
      type: EXT_OBJECT_REF,
      encode: (v: unknown) => {
        if (!(v instanceof ObjectRef)) return null;
        this.#hooks.onEncodeRef?.(v);
        return keyToBytes(v.key);
      },
      decode: (data: Uint8Array) => {
        if (data.length !== OBJECT_ID_BYTES) throw new RangeError(`ObjectRef extension must hold ${OBJECT_ID_BYTES} bytes, got ${data.length}`);
        const key = bytesToKey(data);
        return this.#hooks.makeRef ? this.#hooks.makeRef(key) : new ObjectRef(key);
      },
    });
    ext.register({
      type: EXT_ACTOR_HANDLE,
      encode: (v: unknown) => (v instanceof ActorHandle ? keyToBytes(v.key) : null),
      decode: (data: Uint8Array) => {
        if (data.length !== TASK_ID_BYTES) throw new RangeError(`ActorHandle extension must hold ${TASK_ID_BYTES} bytes, got ${data.length}`);
        const key = bytesToKey(data, 0, TASK_ID_BYTES);
        return this.#hooks.makeActor ? this.#hooks.makeActor(key) : new ActorHandle(key, "");
      },
    });
    ext.register({
      type: EXT_TYPED_ARRAY,
      encode: (v: unknown) => {
        if (!ArrayBuffer.isView(v) || v instanceof Uint8Array || v instanceof DataView) return null;
        const kind = TYPED_ARRAY_KINDS.indexOf(v.constructor as TypedArrayCtor);
        if (kind <= 0) return null;
        const out = new Uint8Array(1 + v.byteLength);
        out[0] = kind;
        out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), 1);
        return out;
      },
      decode: (data: Uint8Array) => {
        const Ctor = TYPED_ARRAY_KINDS[data[0] ?? 0];
        if (!Ctor) throw new RangeError(`unknown typed-array kind ${data[0]}`);
        const body = data.slice(1); // a fresh, aligned buffer
        if (body.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) throw new RangeError("typed-array extension has a partial element");
        return new Ctor(body.buffer, 0, body.byteLength / Ctor.BYTES_PER_ELEMENT);
      },
    });
    this.#encoder = new Encoder({ extensionCodec: ext, ignoreUndefined: false });
    this.#decoder = new Decoder({ extensionCodec: ext });
  }

  /** Encodes to bytes that the caller owns. TypeError for values wray cannot carry. */
  encode(value: unknown): Uint8Array {
    let view: Uint8Array;
    try {
      view = this.#encoder.encodeSharedRef(value);
    } catch (e) {
      throw notEncodable(e);
    }
    return this.#slab.copy(view);
  }

  /**
   * Encodes into the encoder's internal buffer and returns a view of it,
   * valid only until this codec encodes again: for bytes that are copied
   * at once (into the object store, a ring, guest memory).
   */
  encodeTransient(value: unknown): Uint8Array {
    try {
      return this.#encoder.encodeSharedRef(value);
    } catch (e) {
      throw notEncodable(e);
    }
  }

  /** Decodes one value. Binary values come back as views into `bytes`. */
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
