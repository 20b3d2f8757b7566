// MessagePack for AssemblyScript guests: the value format of the
// `wray:runtime` world (docs/protocol.md). A Reader walks bytes in place; a
// Writer appends to a growable buffer. Neither allocates per value except
// where a value is handed out as a string, bytes or a typed array.
//
// This file's parts:
//   ObjectRef, ActorHandle, Ext, Container (AssemblyScript's view of values)
//   Reader               MessagePack in: every type the host's codec writes
//   Writer               MessagePack out

/** Extension types wray gives meaning to (docs/protocol.md). */
export const EXT_OBJECT_REF: i8 = 1;
export const EXT_ACTOR_HANDLE: i8 = 2;
export const EXT_TYPED_ARRAY: i8 = 3;
/** A JavaScript Map: the payload is one map, keys of any type. */
export const EXT_MAP: i8 = 4;
/** A JavaScript Set: the payload is one array. */
export const EXT_SET: i8 = 5;
/** Kind byte of extension 3 for an ArrayBuffer (untyped bytes); 11 is a DataView. */
export const BINARY_ARRAY_BUFFER: u8 = 0;

/** Element kinds of a typed array (extension 3). */
export const TYPED_I32: u8 = 5;
export const TYPED_F32: u8 = 7;
export const TYPED_F64: u8 = 8;

export const OBJECT_ID_BYTES = 20;
export const ACTOR_ID_BYTES = 16;

/** What the next value is, without consuming it. */
export enum Kind {
  Nil,
  Bool,
  Int,
  Float,
  Str,
  Bin,
  Array,
  Map,
  Ext,
  End,
  Invalid,
}

/** An object in the object store: the result of a task or a `put`. */
export class ObjectRef {
  constructor(public readonly id: Uint8Array) {}
}

/** An actor, to call methods on with `callActor` (or `handle.call`). */
export class ActorHandle {
  constructor(public readonly id: Uint8Array) {}
}

/** An extension value wray does not interpret. */
export class Ext {
  constructor(public readonly type: i8, public readonly data: Uint8Array) {}
}

function kindName(k: Kind): string {
  switch (k) {
    case Kind.Nil: return "nil";
    case Kind.Bool: return "a boolean";
    case Kind.Int: return "an integer";
    case Kind.Float: return "a float";
    case Kind.Str: return "a string";
    case Kind.Bin: return "bytes";
    case Kind.Array: return "an array";
    case Kind.Map: return "a map";
    case Kind.Ext: return "an extension value";
    case Kind.End: return "the end of the input";
    default: return "an invalid byte";
  }
}

@inline function be16(p: usize): u32 { return <u32>bswap<u16>(load<u16>(p)); }
@inline function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline function be64(p: usize): u64 { return bswap<u64>(load<u64>(p)); }

/**
 * Reads MessagePack values in order. A read of the wrong kind (or past the
 * end) records `error`, returns a zero value and leaves the position where
 * it was; every later read then fails too, so a task can read all of its
 * arguments and check once — the runtime turns a task's unchecked reader
 * error into a TypeError for the caller.
 */
/** The entries of a Map or the elements of a Set: `count` of them, read from `r` (a Map's as key, value, ...). */
export class Container {
  constructor(public count: u32, public r: Reader) {}
}

export class Reader {
  ptr: usize;
  end: usize;
  /** The first failed read, as "expected X, found Y at byte N", or null. */
  error: string | null = null;
  private start: usize;
  // keeps GC-managed bytes alive while the reader walks them
  private owner: ArrayBuffer | null;

  constructor(ptr: usize, end: usize, owner: ArrayBuffer | null = null) {
    this.ptr = ptr;
    this.end = end;
    this.start = ptr;
    this.owner = owner;
  }

  /** Reads `ptr..end` from the start, forgetting any error. */
  rewind(ptr: usize, end: usize): void {
    this.ptr = ptr;
    this.end = end;
    this.start = ptr;
    this.error = null;
  }

  /** A reader over a copy-free view of `bytes`. */
  static of(bytes: Uint8Array): Reader {
    return new Reader(bytes.dataStart, bytes.dataStart + <usize>bytes.length, bytes.buffer);
  }

  /** Bytes left. */
  get remaining(): i32 {
    return <i32>(this.end - this.ptr);
  }

  /** The next value's kind, without consuming it. */
  kind(): Kind {
    if (this.ptr >= this.end) return Kind.End;
    const b = load<u8>(this.ptr);
    if (b <= 0x7f || b >= 0xe0) return Kind.Int;
    if (b <= 0x8f) return Kind.Map;
    if (b <= 0x9f) return Kind.Array;
    if (b <= 0xbf) return Kind.Str;
    switch (b) {
      case 0xc0: return Kind.Nil;
      case 0xc2: case 0xc3: return Kind.Bool;
      case 0xc4: case 0xc5: case 0xc6: return Kind.Bin;
      case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return Kind.Ext;
      case 0xca: case 0xcb: return Kind.Float;
      case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return Kind.Int;
      case 0xd9: case 0xda: case 0xdb: return Kind.Str;
      case 0xdc: case 0xdd: return Kind.Array;
      case 0xde: case 0xdf: return Kind.Map;
      default: return Kind.Invalid;
    }
  }

  /** Whether the next value is nil (not consumed). */
  isNil(): bool {
    return this.kind() == Kind.Nil;
  }

  private fail(expected: string): bool {
    if (this.error === null) {
      this.error = "expected " + expected + ", found " + kindName(this.kind()) + " at byte " + (this.ptr - this.start).toString();
    }
    return false;
  }

  @inline private ok(n: usize): bool {
    return this.error === null && this.end - this.ptr >= n;
  }

  nil(): void {
    if (!this.ok(1) || load<u8>(this.ptr) != 0xc0) {
      this.fail("nil");
      return;
    }
    this.ptr++;
  }

  bool(): bool {
    if (!this.ok(1)) return this.fail("a boolean");
    const b = load<u8>(this.ptr);
    if (b != 0xc2 && b != 0xc3) return this.fail("a boolean");
    this.ptr++;
    return b == 0xc3;
  }

  /** An integer (a float with an integral value is accepted too, as JS callers send 2.0 as 2). */
  i64(): i64 {
    if (!this.ok(1)) {
      this.fail("an integer");
      return 0;
    }
    const p = this.ptr;
    const b = load<u8>(p);
    if (b <= 0x7f) { this.ptr = p + 1; return <i64>b; }
    if (b >= 0xe0) { this.ptr = p + 1; return <i64><i8>b; }
    let n: usize = 0;
    switch (b) {
      case 0xcc: case 0xd0: n = 1; break;
      case 0xcd: case 0xd1: n = 2; break;
      case 0xce: case 0xd2: n = 4; break;
      case 0xcf: case 0xd3: n = 8; break;
      case 0xca: case 0xcb: {
        const f = this.f64();
        if (this.error === null && f != Math.trunc(f)) {
          this.ptr = p;
          this.fail("an integer");
          return 0;
        }
        return <i64>f;
      }
      default:
        this.fail("an integer");
        return 0;
    }
    if (!this.ok(1 + n)) {
      this.fail("an integer");
      return 0;
    }
    this.ptr = p + 1 + n;
    switch (b) {
      case 0xcc: return <i64>load<u8>(p + 1);
      case 0xcd: return <i64>be16(p + 1);
      case 0xce: return <i64>be32(p + 1);
      case 0xcf: return <i64>be64(p + 1);
      case 0xd0: return <i64>load<i8>(p + 1);
      case 0xd1: return <i64><i16>be16(p + 1);
      case 0xd2: return <i64><i32>be32(p + 1);
      default: return <i64>be64(p + 1);
    }
  }

  i32(): i32 {
    return <i32>this.i64();
  }

  /** Any number, integer or float, as an f64. */
  f64(): f64 {
    if (!this.ok(1)) {
      this.fail("a number");
      return 0;
    }
    const p = this.ptr;
    const b = load<u8>(p);
    if (b == 0xcb) {
      if (!this.ok(9)) return <f64>this.fail("a number");
      this.ptr = p + 9;
      return reinterpret<f64>(be64(p + 1));
    }
    if (b == 0xca) {
      if (!this.ok(5)) return <f64>this.fail("a number");
      this.ptr = p + 5;
      return <f64>reinterpret<f32>(be32(p + 1));
    }
    if (b == 0xcf) {
      if (!this.ok(9)) return <f64>this.fail("a number");
      this.ptr = p + 9;
      return <f64>be64(p + 1);
    }
    if (this.kind() != Kind.Int) {
      this.fail("a number");
      return 0;
    }
    return <f64>this.i64();
  }

  private len(lo: u8, hi: u8, mask: u8, op8: u8, op16: u8, op32: u8, what: string): u32 {
    if (!this.ok(1)) return <u32>this.fail(what);
    const p = this.ptr;
    const b = load<u8>(p);
    if (b >= lo && b <= hi) {
      this.ptr = p + 1;
      return b & mask;
    }
    if (op8 != 0 && b == op8 && this.ok(2)) {
      this.ptr = p + 2;
      return load<u8>(p + 1);
    }
    if (b == op16 && this.ok(3)) {
      this.ptr = p + 3;
      return be16(p + 1);
    }
    if (b == op32 && this.ok(5)) {
      this.ptr = p + 5;
      return be32(p + 1);
    }
    return <u32>this.fail(what);
  }

  /** The header of an array: how many values follow. */
  array(): u32 {
    return this.len(0x90, 0x9f, 0x0f, 0, 0xdc, 0xdd, "an array");
  }

  /** The header of a map: how many key/value pairs follow. */
  map(): u32 {
    return this.len(0x80, 0x8f, 0x0f, 0, 0xde, 0xdf, "a map");
  }

  /** A string (UTF-8 decoded). */
  str(): string {
    const p = this.ptr;
    const n = this.len(0xa0, 0xbf, 0x1f, 0xd9, 0xda, 0xdb, "a string");
    if (this.error !== null) return "";
    if (!this.ok(n)) {
      this.ptr = p;
      this.fail("a string");
      return "";
    }
    const s = String.UTF8.decodeUnsafe(this.ptr, n);
    this.ptr += n;
    return s;
  }

  /** Bytes (MessagePack bin), copied out. */
  bytes(): Uint8Array {
    const p = this.ptr;
    const n = this.len(1, 0, 0, 0xc4, 0xc5, 0xc6, "bytes");
    if (this.error !== null || !this.ok(n)) {
      this.ptr = p;
      this.fail("bytes");
      return new Uint8Array(0);
    }
    const out = new Uint8Array(n);
    memory.copy(out.dataStart, this.ptr, n);
    this.ptr += n;
    return out;
  }

  // an extension value's type and payload span, or false
  private extAt(): bool {
    if (!this.ok(2)) return false;
    const p = this.ptr;
    let n: u32 = 0;
    let head: usize = 1;
    switch (load<u8>(p)) {
      case 0xd4: n = 1; break;
      case 0xd5: n = 2; break;
      case 0xd6: n = 4; break;
      case 0xd7: n = 8; break;
      case 0xd8: n = 16; break;
      case 0xc7: n = load<u8>(p + 1); head = 2; break;
      case 0xc8: if (!this.ok(3)) return false; n = be16(p + 1); head = 3; break;
      case 0xc9: if (!this.ok(5)) return false; n = be32(p + 1); head = 5; break;
      default: return false;
    }
    if (!this.ok(head + 1 + n)) return false;
    this.extType = load<i8>(p + head);
    this.extData = p + head + 1;
    this.extLen = n;
    return true;
  }
  private extType: i8 = 0;
  private extData: usize = 0;
  private extLen: u32 = 0;

  /** An extension value, payload copied out. */
  ext(): Ext {
    if (!this.extAt()) {
      this.fail("an extension value");
      return new Ext(0, new Uint8Array(0));
    }
    const data = new Uint8Array(this.extLen);
    memory.copy(data.dataStart, this.extData, this.extLen);
    this.ptr = this.extData + this.extLen;
    return new Ext(this.extType, data);
  }

  private idOf(type: i8, size: u32, what: string): Uint8Array {
    if (!this.extAt() || this.extType != type || this.extLen != size) {
      this.fail(what);
      return new Uint8Array(size);
    }
    const id = new Uint8Array(size);
    memory.copy(id.dataStart, this.extData, size);
    this.ptr = this.extData + size;
    return id;
  }

  /** An ObjectRef (extension 1): refs nested inside values stay refs. */
  ref(): ObjectRef {
    return new ObjectRef(this.idOf(EXT_OBJECT_REF, OBJECT_ID_BYTES, "an ObjectRef"));
  }

  /** An ActorHandle (extension 2). */
  actor(): ActorHandle {
    return new ActorHandle(this.idOf(EXT_ACTOR_HANDLE, ACTOR_ID_BYTES, "an ActorHandle"));
  }

  // whether the next value is a typed array (extension 3) of `kind`, elements of `size` bytes (extAt sets extData/extLen)
  private typed(kind: u8, size: u32): bool {
    return this.extAt() && this.extType == EXT_TYPED_ARRAY && this.extLen >= 1 && load<u8>(this.extData) == kind && (this.extLen - 1) % size == 0;
  }

  // the next value as a typed array T of `kind`, copied out (empty after a failed read)
  private typedArray<T>(kind: u8, what: string): T {
    const size = <u32>sizeof<valueof<T>>();
    const ok = this.typed(kind, size);
    if (!ok) this.fail(what);
    const n = ok ? (this.extLen - 1) / size : 0;
    const out = instantiate<T>(<i32>n);
    if (ok) {
      memory.copy(out.dataStart, this.extData + 1, <usize>n * size);
      this.ptr = this.extData + this.extLen;
    }
    return out;
  }

  // extension `type` holding one map (or array): its entries
  private container(type: i8, map: bool, what: string): Container {
    if (!this.extAt() || this.extType != type) {
      this.fail(what);
      return new Container(0, new Reader(0, 0));
    }
    const inner = new Reader(this.extData, this.extData + this.extLen, this.owner);
    const n = map ? inner.map() : inner.array();
    if (inner.error !== null) {
      this.fail(what);
      return new Container(0, new Reader(0, 0));
    }
    this.ptr = this.extData + this.extLen;
    return new Container(n, inner);
  }

  /** A Map (extension 4): its entries, read as key, value, key, value, ... */
  mapExt(): Container {
    return this.container(EXT_MAP, true, "a Map");
  }

  /** A Set (extension 5): its elements. */
  setExt(): Container {
    return this.container(EXT_SET, false, "a Set");
  }

  /** An ArrayBuffer (extension 3, kind 0): its bytes, copied out. */
  arrayBuffer(): Uint8Array {
    if (!this.extAt() || this.extType != EXT_TYPED_ARRAY || this.extLen < 1 || load<u8>(this.extData) != BINARY_ARRAY_BUFFER) {
      this.fail("an ArrayBuffer");
      return new Uint8Array(0);
    }
    const n = this.extLen - 1;
    const out = new Uint8Array(n);
    memory.copy(out.dataStart, this.extData + 1, n);
    this.ptr = this.extData + this.extLen;
    return out;
  }

  /** A Float64Array (extension 3), or an array of numbers. */
  f64s(): Float64Array {
    if (this.kind() == Kind.Array) {
      const n = this.array();
      const out = new Float64Array(n);
      for (let i: u32 = 0; i < n; i++) unchecked((out[i] = this.f64()));
      return out;
    }
    return this.typedArray<Float64Array>(TYPED_F64, "a Float64Array");
  }

  /** A Float32Array (extension 3). */
  f32s(): Float32Array {
    return this.typedArray<Float32Array>(TYPED_F32, "a Float32Array");
  }

  /** An Int32Array (extension 3). */
  i32s(): Int32Array {
    return this.typedArray<Int32Array>(TYPED_I32, "an Int32Array");
  }

  /** Skips one value, nested ones included. */
  skip(): void {
    switch (this.kind()) {
      case Kind.Nil: this.nil(); return;
      case Kind.Bool: this.bool(); return;
      case Kind.Int: this.i64(); return;
      case Kind.Float: this.f64(); return;
      case Kind.Str: {
        const n = this.len(0xa0, 0xbf, 0x1f, 0xd9, 0xda, 0xdb, "a string");
        if (this.ok(n)) this.ptr += n;
        else this.fail("a string");
        return;
      }
      case Kind.Bin: {
        const n = this.len(1, 0, 0, 0xc4, 0xc5, 0xc6, "bytes");
        if (this.ok(n)) this.ptr += n;
        else this.fail("bytes");
        return;
      }
      case Kind.Ext:
        if (this.extAt()) this.ptr = this.extData + this.extLen;
        else this.fail("an extension value");
        return;
      case Kind.Array: {
        const n = this.array();
        for (let i: u32 = 0; i < n && this.error === null; i++) this.skip();
        return;
      }
      case Kind.Map: {
        const n = this.map();
        for (let i: u32 = 0; i < 2 * n && this.error === null; i++) this.skip();
        return;
      }
      default:
        this.fail("a value");
    }
  }

  /** The next value's encoding, copied out (to pass on unchanged). */
  raw(): Uint8Array {
    const p = this.ptr;
    this.skip();
    if (this.error !== null) return new Uint8Array(0);
    const out = new Uint8Array(<i32>(this.ptr - p));
    memory.copy(out.dataStart, p, this.ptr - p);
    return out;
  }
}

/**
 * Appends MessagePack values to a growable buffer; every method returns the
 * writer, so arguments read as `new Writer().array(2).f64(x).str(s)`.
 */
export class Writer {
  buf: ArrayBuffer;
  len: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.buf = new ArrayBuffer(capacity < 16 ? 16 : capacity);
  }

  /** Where the bytes start (valid until the next write). */
  get dataStart(): usize {
    return changetype<usize>(this.buf);
  }

  /** The bytes written so far, copied out. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    memory.copy(out.dataStart, changetype<usize>(this.buf), this.len);
    return out;
  }

  /** Forgets what was written (keeps the buffer). */
  reset(): Writer {
    this.len = 0;
    return this;
  }

  // reserves n bytes; returns where they start
  private grow(n: i32): usize {
    const need = this.len + n;
    let cap = this.buf.byteLength;
    if (need > cap) {
      while (cap < need) cap <<= 1;
      const nb = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(nb), changetype<usize>(this.buf), this.len);
      this.buf = nb;
    }
    const p = changetype<usize>(this.buf) + this.len;
    this.len = need;
    return p;
  }

  private head(op: u8, v: u64, n: i32): void {
    const p = this.grow(1 + n);
    store<u8>(p, op);
    if (n == 1) store<u8>(p + 1, <u8>v);
    else if (n == 2) store<u16>(p + 1, bswap<u16>(<u16>v));
    else if (n == 4) store<u32>(p + 1, bswap<u32>(<u32>v));
    else store<u64>(p + 1, bswap<u64>(v));
  }

  private copy(src: usize, n: i32): void {
    if (n > 0) memory.copy(this.grow(n), src, n);
  }

  nil(): Writer {
    store<u8>(this.grow(1), 0xc0);
    return this;
  }

  bool(v: bool): Writer {
    store<u8>(this.grow(1), v ? 0xc3 : 0xc2);
    return this;
  }

  i64(v: i64): Writer {
    if (v >= 0 && v <= 0x7f) store<u8>(this.grow(1), <u8>v);
    else if (v < 0 && v >= -32) store<u8>(this.grow(1), <u8>v);
    else if (v >= 0 && v <= 0xff) this.head(0xcc, <u64>v, 1);
    else if (v >= 0 && v <= 0xffff) this.head(0xcd, <u64>v, 2);
    else if (v >= 0 && v <= 0xffffffff) this.head(0xce, <u64>v, 4);
    else if (v >= 0) this.head(0xcf, <u64>v, 8);
    else if (v >= -128) this.head(0xd0, <u64>v, 1);
    else if (v >= -32768) this.head(0xd1, <u64>v, 2);
    else if (v >= -2147483648) this.head(0xd2, <u64>v, 4);
    else this.head(0xd3, <u64>v, 8);
    return this;
  }

  i32(v: i32): Writer {
    return this.i64(<i64>v);
  }

  /** A number; integral values go as integers, as JavaScript's MessagePack does. */
  f64(v: f64): Writer {
    if (v == Math.trunc(v) && Math.abs(v) <= 9007199254740991.0 && !(v == 0 && 1 / v < 0)) return this.i64(<i64>v);
    this.head(0xcb, reinterpret<u64>(v), 8);
    return this;
  }

  str(s: string): Writer {
    const n = String.UTF8.byteLength(s);
    if (n < 32) store<u8>(this.grow(1), <u8>(0xa0 | n));
    else if (n <= 0xff) this.head(0xd9, <u64>n, 1);
    else if (n <= 0xffff) this.head(0xda, <u64>n, 2);
    else this.head(0xdb, <u64>n, 4);
    const p = this.grow(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
    return this;
  }

  bytes(b: Uint8Array): Writer {
    const n = b.length;
    if (n <= 0xff) this.head(0xc4, <u64>n, 1);
    else if (n <= 0xffff) this.head(0xc5, <u64>n, 2);
    else this.head(0xc6, <u64>n, 4);
    this.copy(b.dataStart, n);
    return this;
  }

  array(n: u32): Writer {
    if (n < 16) store<u8>(this.grow(1), <u8>(0x90 | n));
    else if (n <= 0xffff) this.head(0xdc, <u64>n, 2);
    else this.head(0xdd, <u64>n, 4);
    return this;
  }

  map(n: u32): Writer {
    if (n < 16) store<u8>(this.grow(1), <u8>(0x80 | n));
    else if (n <= 0xffff) this.head(0xde, <u64>n, 2);
    else this.head(0xdf, <u64>n, 4);
    return this;
  }

  private extHead(type: i8, n: u32): void {
    switch (n) {
      case 1: store<u8>(this.grow(1), 0xd4); break;
      case 2: store<u8>(this.grow(1), 0xd5); break;
      case 4: store<u8>(this.grow(1), 0xd6); break;
      case 8: store<u8>(this.grow(1), 0xd7); break;
      case 16: store<u8>(this.grow(1), 0xd8); break;
      default:
        if (n <= 0xff) this.head(0xc7, <u64>n, 1);
        else if (n <= 0xffff) this.head(0xc8, <u64>n, 2);
        else this.head(0xc9, <u64>n, 4);
    }
    store<i8>(this.grow(1), type);
  }

  ext(type: i8, data: Uint8Array): Writer {
    this.extHead(type, data.length);
    this.copy(data.dataStart, data.length);
    return this;
  }

  /** An ObjectRef; at the top level of task arguments the callee receives its value. */
  ref(r: ObjectRef): Writer {
    // always ext 8 (c7 14 01), as docs/protocol.md fixes it
    this.head(0xc7, OBJECT_ID_BYTES, 1);
    store<i8>(this.grow(1), EXT_OBJECT_REF);
    this.copy(r.id.dataStart, OBJECT_ID_BYTES);
    return this;
  }

  actor(h: ActorHandle): Writer {
    return this.ext(EXT_ACTOR_HANDLE, h.id);
  }

  private typedArray(kind: u8, src: usize, bytes: i32): Writer {
    this.extHead(EXT_TYPED_ARRAY, 1 + bytes);
    store<u8>(this.grow(1), kind);
    this.copy(src, bytes);
    return this;
  }

  /** A Float64Array (the caller receives a Float64Array). */
  f64s(a: Float64Array): Writer {
    return this.typedArray(TYPED_F64, a.dataStart, a.byteLength);
  }

  f32s(a: Float32Array): Writer {
    return this.typedArray(TYPED_F32, a.dataStart, a.byteLength);
  }

  i32s(a: Int32Array): Writer {
    return this.typedArray(TYPED_I32, a.dataStart, a.byteLength);
  }

  /**
   * Starts an extension whose payload is written next (e.g. a Map:
   * `const at = w.beginExt(EXT_MAP); w.map(2); ...; w.endExt(at)`).
   */
  beginExt(type: i8): i32 {
    const p = this.grow(6);
    store<u8>(p, 0xc9); // ext 32: endExt fills in the length
    store<i8>(p + 5, type);
    return this.len;
  }

  endExt(at: i32): Writer {
    store<u32>(changetype<usize>(this.buf) + <usize>at - 5, bswap<u32>(<u32>(this.len - at)));
    return this;
  }

  /** An ArrayBuffer (extension 3, kind 0). */
  arrayBuffer(b: Uint8Array): Writer {
    return this.typedArray(BINARY_ARRAY_BUFFER, b.dataStart, b.length);
  }

  /** Already-encoded MessagePack (e.g. from Reader.raw). */
  raw(b: Uint8Array): Writer {
    this.copy(b.dataStart, b.length);
    return this;
  }

  /** Copies the reader's next value, unchanged (e.g. to pass an argument on). */
  value(r: Reader): Writer {
    const p = r.ptr;
    r.skip();
    if (r.error === null) this.copy(p, <i32>(r.ptr - p));
    return this;
  }

  /** Everything another writer holds. */
  append(w: Writer): Writer {
    this.copy(changetype<usize>(w.buf), w.len);
    return this;
  }
}
