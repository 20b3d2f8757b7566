import assert from "node:assert/strict";
import { test } from "node:test";
import { ValueCodec } from "../../common/codec.js";
import { nestedRefs } from "../../common/msgpack-walk.js";
import { childTaskId, objectKey, randomTaskId } from "../../common/ids.js";
import { ObjectRef } from "../../common/object-ref.js";
import * as guest from "../../guest-sdk/runtime/msgpack.js";

const ref = new ObjectRef(objectKey(childTaskId(randomTaskId(), 3), 1));

const corpus: [string, unknown][] = [
  ["nil", null],
  ["bools", [true, false]],
  ["small ints", [0, 1, 127, -1, -32]],
  ["8/16/32-bit ints", [128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, -33, -128, -129, -32768, -32769, -(2 ** 31)]],
  ["64-bit ints", [2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER, -(2 ** 31) - 1, -(2 ** 40), Number.MIN_SAFE_INTEGER]],
  ["floats", [0.5, -1.25, 1e300, -1e-300, Math.PI]],
  ["strings", ["", "a", "x".repeat(31), "x".repeat(32), "y".repeat(300), "z".repeat(70_000), "ünïcødé", "😀 surrogate pair", "日本語"]],
  ["bins", [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(9), new Uint8Array(70_000).fill(7)]],
  ["nested", { a: [1, { b: "c", d: [null, true] }], e: {} }],
  ["wide array", Array.from({ length: 70_000 }, (_, i) => i % 300)],
  ["wide map", Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]))],
  ["dates", [new Date(0), new Date(1_700_000_000_123), new Date(-5_000)]],
];

// The guest's ObjectRef and the host's differ in class; compare IDs.
function normalize(v: unknown): unknown {
  if (v instanceof ObjectRef) return { ref: v.hex };
  if (v instanceof guest.ObjectRef) return { ref: v.hex };
  if (v instanceof Uint8Array) return { bin: [...v] };
  if (ArrayBuffer.isView(v)) return { typed: v.constructor.name, values: Array.from(v as unknown as ArrayLike<number | bigint>, String) };
  if (v instanceof Date) return { date: v.getTime() };
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

test("host and guest codecs produce the same bytes and read each other's", () => {
  const host = new ValueCodec();
  for (const [name, value] of corpus) {
    const h = host.encode(value);
    const g = guest.encode(value);
    assert.deepEqual([...g], [...h], `${name}: bytes differ`);
    assert.deepEqual(normalize(guest.decode(h)), normalize(value), `${name}: guest decode`);
    assert.deepEqual(normalize(host.decode(g)), normalize(value), `${name}: host decode`);
  }
});

test("ObjectRefs and typed arrays cross between the codecs", () => {
  const host = new ValueCodec();
  const values = [
    ref,
    [ref, { inner: ref }],
    new Float32Array([1.5, -2]),
    new Float64Array([Math.E]),
    new Int32Array([-1, 7]),
    new Uint16Array([65535]),
    new BigInt64Array([-5n]),
  ];
  for (const v of values) {
    const h = host.encode(v);
    assert.deepEqual(normalize(guest.decode(h)), normalize(v));
    const back = host.decode(guest.encode(guest.decode(h)));
    assert.deepEqual(normalize(back), normalize(v));
  }
});

test("the host codec reports refs it encodes and values it cannot carry", () => {
  const seen: string[] = [];
  const host = new ValueCodec({ onEncodeRef: (r) => seen.push(r.key) });
  host.encode([1, ref, { x: [ref] }]);
  assert.deepEqual(seen, [ref.key, ref.key]);
  assert.throws(() => host.encode(() => 1), TypeError);
  assert.throws(() => host.encode(Symbol("s")), TypeError);
});

test("the guest codec rejects what it cannot carry and malformed input", () => {
  assert.throws(() => guest.encode(() => 1), TypeError);
  assert.throws(() => guest.decode(Uint8Array.of(0x92, 1)), RangeError);
  assert.throws(() => guest.decode(Uint8Array.of(0xc1)), RangeError);
  assert.throws(() => guest.decode(Uint8Array.of(0xd9, 10, 0x61)), RangeError);
  assert.throws(() => guest.decode(new Uint8Array(0)), RangeError);
  assert.throws(() => guest.encode(2n ** 70n), /is a BigInt/);
  assert.throws(() => guest.encode(2n ** 40n), TypeError, "a BigInt would arrive as a number: refused, as on the host");
});

test("Map, Set, ArrayBuffer and DataView arrive as they were sent, through both codecs", () => {
  const seen: string[] = [];
  const host = new ValueCodec({ onEncodeRef: (r) => seen.push(r.key) });
  const values: unknown[] = [
    new Map<unknown, unknown>([["a", 1], [2, "two"], [null, [3]], [true, new Map([["deep", new Set([1, 2])]])]]),
    new Set([1, "x", null, [2], { y: 3 }]),
    { weights: new Map([["w", new Float32Array([0.5])]]), tags: new Set(["a"]) },
    Uint8Array.of(1, 2, 3, 255).buffer,
    new ArrayBuffer(0),
    new DataView(Uint8Array.of(4, 5, 6).buffer, 1, 2),
    new Map(),
    new Set(),
    [new Map([[ref, ref]])],
  ];
  for (const v of values) {
    const fromHost = host.encode(v);
    assert.deepEqual(host.decode(fromHost), v, "host → host");
    const inGuest = guest.decode(fromHost);
    assert.deepEqual(normalizeGuest(inGuest), normalizeGuest(v), "host → guest");
    assert.deepEqual(normalizeGuest(host.decode(guest.encode(inGuest))), normalizeGuest(v), "guest → host");
  }
  // refs inside a Map are seen when it is encoded, and found in its bytes (they keep their objects alive)
  assert.deepEqual(seen, [ref.key, ref.key]);
  assert.deepEqual(nestedRefs(host.encode({ m: new Map([["r", ref]]), s: new Set([ref]) })), [ref.key, ref.key]);
  assert.deepEqual(nestedRefs(Uint8Array.from(guest.encode(new Map([["r", new guest.ObjectRef(Uint8Array.from(Buffer.from(ref.hex, "hex")))]])))), [ref.key]);
});

/** Guest refs are another class: compare IDs; everything else as is. */
function normalizeGuest(v: unknown): unknown {
  if (v instanceof ObjectRef || v instanceof guest.ObjectRef) return { ref: v.hex };
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [normalizeGuest(k), normalizeGuest(x)]));
  if (v instanceof Set) return new Set([...v].map(normalizeGuest));
  if (Array.isArray(v)) return v.map(normalizeGuest);
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeGuest(x)]));
  return v;
}

test("a value that cannot be sent is refused with a TypeError that says where in it the part is and what it is", () => {
  class Point {
    constructor(public x: number) {}
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const viaMap = new Map<string, unknown>();
  viaMap.set("me", { back: viaMap });
  let deep: unknown = 1;
  for (let i = 0; i < 150; i++) deep = [deep];
  const cases: [unknown, RegExp][] = [
    [[1, { weights: () => 1 }], /^add\.remote\(\): args\[1\]\.weights is a function\. wray sends/],
    [[Symbol("s")], /args\[0\] is a symbol/],
    [[{ n: 10n }], /args\[0\]\.n is a BigInt/],
    [[{ p: [new Point(1)] }], /args\[0\]\.p\[0\] is an instance of class Point \(only plain objects travel/],
    [[new Date(NaN)], /args\[0\] is an invalid Date/],
    [[{ "odd key": /x/ }], /args\[0\]\["odd key"\] is a RegExp/],
    [[new TypeError("t")], /args\[0\] is an Error \(TypeError\)/],
    [[new WeakMap()], /args\[0\] is a WeakMap/],
    [[Object(3)], /args\[0\] is a Number/],
    [[cyclic], /args\[0\]\.self refers back to args\[0\], which contains it \(a cycle\)/],
    [[viaMap], /args\[0\]\.get\("me"\)\.back refers back to args\[0\]/],
    [[new Map([[() => 0, 1]])], /args\[0\] \(a key of the Map\) is a function/],
    [[new Set([1, Symbol("x")])], /args\[0\] \(element 1 of the Set\) is a symbol/],
    [[deep], /is nested more than 100 levels deep/],
    [[new SharedArrayBuffer(4)], /is a SharedArrayBuffer/],
  ];
  const host = new ValueCodec();
  for (const [value, want] of cases) {
    assert.throws(() => host.encode(value, "args"), (e: unknown) => e instanceof TypeError && want.test(`add.remote(): ${e.message}`), `host: ${String(want)}`);
    assert.throws(() => guest.encode(value, "args"), (e: unknown) => e instanceof TypeError && want.test(`add.remote(): ${e.message.replace(/; wray sends/, ". wray sends")}`), `guest: ${String(want)}`);
  }
  // the codec is still usable after a refusal in the middle of a value
  assert.deepEqual(host.decode(host.encode([new Map([["ok", 1]])])), [new Map([["ok", 1]])]);
});

test("guest replies are arrays of values, small ones as plain byte arrays", () => {
  const small = guest.encodeReply(5, false);
  assert.ok(Array.isArray(small));
  assert.deepEqual(small, [0x91, 5]);
  const big = guest.encodeReply("x".repeat(100), false);
  assert.ok(big instanceof Uint8Array);
  assert.deepEqual(new ValueCodec().decode(Uint8Array.from(big)), ["x".repeat(100)]);
  assert.deepEqual(new ValueCodec().decode(Uint8Array.from(guest.encodeReply([1, "a", null], true))), [1, "a", null]);
});
