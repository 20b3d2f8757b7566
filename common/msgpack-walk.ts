/**
 * Structural MessagePack helpers: find where values begin and end without
 * decoding them. The host uses them to split a guest's reply into return
 * values, to splice resolved arguments into an argument array, and to find
 * nested ObjectRefs in stored bytes — all without copying payloads.
 */
import { EXT_MAP, EXT_OBJECT_REF, EXT_SET, EXT_TYPED_ARRAY } from "./extensions.js";
import { OBJECT_ID_BYTES, bytesToKey } from "./ids.js";

export class MsgpackFormatError extends RangeError {}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}
function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Reads an array header at `pos`: its element count and where the first element starts. */
export function readArrayHeader(b: Uint8Array, pos: number): { count: number; start: number } {
  const t = b[pos];
  if (t === undefined) throw new MsgpackFormatError("truncated MessagePack: expected an array");
  if (t >= 0x90 && t <= 0x9f) return { count: t & 0x0f, start: pos + 1 };
  if (t === 0xdc) return { count: u16(b, pos + 1), start: pos + 3 };
  if (t === 0xdd) return { count: u32(b, pos + 1), start: pos + 5 };
  throw new MsgpackFormatError(`expected a MessagePack array, found type byte 0x${t.toString(16)}`);
}

/** True when the value at `pos` is a map (the failure shape of guest replies). */
export function isMapAt(b: Uint8Array, pos: number): boolean {
  const t = b[pos];
  return t !== undefined && ((t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf);
}

/** Writes an array header for `count` elements; returns the header bytes. */
export function arrayHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x90 | count);
  if (count < 0x10000) return Uint8Array.of(0xdc, count >>> 8, count & 0xff);
  return Uint8Array.of(0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff);
}

/**
 * Returns the position just past the value that starts at `pos`.
 * `onRef` is called with the key of every ObjectRef extension passed over.
 */
export function skipValue(b: Uint8Array, pos: number, onRef?: (key: string) => void): number {
  let pending = 1; // values still to skip; containers add their children
  while (pending > 0) {
    pending--;
    const t = b[pos];
    if (t === undefined) throw new MsgpackFormatError("truncated MessagePack value");
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) pos += 1;
    else if (t >= 0x80 && t <= 0x8f) (pending += 2 * (t & 0x0f)), (pos += 1);
    else if (t >= 0x90 && t <= 0x9f) (pending += t & 0x0f), (pos += 1);
    else if (t >= 0xa0 && t <= 0xbf) pos += 1 + (t & 0x1f);
    else {
      switch (t) {
        case 0xc4: case 0xd9: pos += 2 + b[pos + 1]!; break;
        case 0xc5: case 0xda: pos += 3 + u16(b, pos + 1); break;
        case 0xc6: case 0xdb: pos += 5 + u32(b, pos + 1); break;
        case 0xc7: pos = ext(b, pos + 3, b[pos + 1]!, onRef); break;
        case 0xc8: pos = ext(b, pos + 4, u16(b, pos + 1), onRef); break;
        case 0xc9: pos = ext(b, pos + 6, u32(b, pos + 1), onRef); break;
        case 0xca: pos += 5; break;
        case 0xcb: pos += 9; break;
        case 0xcc: case 0xd0: pos += 2; break;
        case 0xcd: case 0xd1: pos += 3; break;
        case 0xce: case 0xd2: pos += 5; break;
        case 0xcf: case 0xd3: pos += 9; break;
        case 0xd4: pos += 3; break;
        case 0xd5: pos += 4; break;
        case 0xd6: pos += 6; break;
        case 0xd7: pos += 10; break;
        case 0xd8: pos += 18; break;
        case 0xdc: pending += u16(b, pos + 1); pos += 3; break;
        case 0xdd: pending += u32(b, pos + 1); pos += 5; break;
        case 0xde: pending += 2 * u16(b, pos + 1); pos += 3; break;
        case 0xdf: pending += 2 * u32(b, pos + 1); pos += 5; break;
        default: throw new MsgpackFormatError(`invalid MessagePack type byte 0x${t.toString(16)}`);
      }
    }
    if (pos > b.length) throw new MsgpackFormatError("truncated MessagePack value");
  }
  return pos;

  function ext(b: Uint8Array, dataPos: number, len: number, onRef?: (key: string) => void): number {
    // ext 8/16/32: the type byte sits just before the data
    if (onRef) {
      const type = b[dataPos - 1];
      if (type === EXT_OBJECT_REF && len === OBJECT_ID_BYTES) onRef(bytesToKey(b, dataPos, len));
      // a Map's or Set's payload is one value of the same stream: refs inside it count
      // (a payload of fixext size is too short to hold a ref)
      else if ((type === EXT_MAP || type === EXT_SET) && len > 0 && dataPos + len <= b.length) {
        if (skipValue(b.subarray(0, dataPos + len), dataPos, onRef) !== dataPos + len) throw new MsgpackFormatError("a Map or Set extension must hold exactly one value");
      }
    }
    return dataPos + len;
  }
}

/** If the value at `pos` is an ObjectRef extension, its key; else undefined. */
export function refAt(b: Uint8Array, pos: number): string | undefined {
  // an ObjectRef is always `ext 8` with 20 data bytes: c7 14 01 <id>
  if (b[pos] === 0xc7 && b[pos + 1] === OBJECT_ID_BYTES && b[pos + 2] === EXT_OBJECT_REF) return bytesToKey(b, pos + 3, OBJECT_ID_BYTES);
  return undefined;
}

/** An encoded ObjectRef takes this many bytes; shorter values hold none. */
const REF_BYTES = 3 + OBJECT_ID_BYTES;
const REF_MARKER = Buffer.from([0xc7, OBJECT_ID_BYTES, EXT_OBJECT_REF]);

/** True when `b` may hold an ObjectRef (a fast byte search; no false negatives). */
export function mayHoldRefs(b: Uint8Array): boolean {
  if (b.length < REF_BYTES) return false;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(REF_MARKER) >= 0;
}

/** The keys of every ObjectRef anywhere inside `b` (one encoded value). */
export function nestedRefs(b: Uint8Array): string[] {
  const out: string[] = [];
  if (mayHoldRefs(b)) skipValue(b, 0, (key) => out.push(key));
  return out;
}

/** Splits an array's elements into subarray views (no copies). */
export function splitArray(b: Uint8Array, pos = 0): Uint8Array[] {
  const { count, start } = readArrayHeader(b, pos);
  const out: Uint8Array[] = new Array(count);
  let p = start;
  for (let i = 0; i < count; i++) {
    const end = skipValue(b, p);
    out[i] = b.subarray(p, end);
    p = end;
  }
  return out;
}

/**
 * How many bytes of `b` (the start of a value) come before a binary
 * value's payload: the `bin` header, or the `ext` header and the kind byte
 * of extension 3. 0 for any other value.
 */
export function binaryHeaderLength(b: Uint8Array): number {
  switch (b[0]) {
    case 0xc4: return 2;
    case 0xc5: return 3;
    case 0xc6: return 5;
    case 0xc7: return b[2] === EXT_TYPED_ARRAY ? 4 : 0;
    case 0xc8: return b[3] === EXT_TYPED_ARRAY ? 5 : 0;
    case 0xc9: return b[5] === EXT_TYPED_ARRAY ? 7 : 0;
    default: return 0;
  }
}

/**
 * The raw payload of a value that is a byte string (`bin`) or a typed
 * array (extension type 3, after its kind byte), as a view of `b`; with
 * the typed array's kind (0 for `bin`). Undefined for any other value.
 */
export function binaryPayload(b: Uint8Array): { kind: number; bytes: Uint8Array } | undefined {
  const t = b[0];
  if (b.length < 2) return undefined;
  let len: number;
  let at: number;
  let ext = false;
  switch (t) {
    case 0xc4: len = b[1] ?? 0; at = 2; break;
    case 0xc5: len = b.length >= 3 ? u16(b, 1) : 0; at = 3; break;
    case 0xc6: len = b.length >= 5 ? u32(b, 1) : 0; at = 5; break;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: len = 1 << (t - 0xd4); at = 2; ext = true; break;
    case 0xc7: len = b[1] ?? 0; at = 3; ext = true; break;
    case 0xc8: len = b.length >= 3 ? u16(b, 1) : 0; at = 4; ext = true; break;
    case 0xc9: len = b.length >= 5 ? u32(b, 1) : 0; at = 6; ext = true; break;
    default: return undefined;
  }
  if (at + len > b.length) return undefined;
  if (!ext) return { kind: 0, bytes: b.subarray(at, at + len) };
  // extension: the type byte sits just before the data
  if (b[at - 1] !== EXT_TYPED_ARRAY || len < 1) return undefined;
  return { kind: b[at]!, bytes: b.subarray(at + 1, at + len) };
}

/**
 * The MessagePack header of a value whose payload of `length` bytes
 * follows it: a `bin` for kind 0, else a typed array of that kind
 * (extension type 3, its kind byte included in the header).
 */
export function binaryHeader(length: number, kind: number): Uint8Array {
  if (kind === 0) {
    if (length < 0x100) return Uint8Array.of(0xc4, length);
    if (length < 0x10000) return Uint8Array.of(0xc5, length >>> 8, length & 0xff);
    return Uint8Array.of(0xc6, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  const n = length + 1; // the kind byte is part of the extension's data
  if (n < 0x100) return Uint8Array.of(0xc7, n, EXT_TYPED_ARRAY, kind);
  if (n < 0x10000) return Uint8Array.of(0xc8, n >>> 8, n & 0xff, EXT_TYPED_ARRAY, kind);
  return Uint8Array.of(0xc9, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, EXT_TYPED_ARRAY, kind);
}
