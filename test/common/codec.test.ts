import assert from "node:assert/strict";
import { test } from "node:test";
import { ValueCodec } from "../../common/codec.js";
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
  assert.throws(() => guest.encode(2n ** 70n), RangeError);
  assert.equal(guest.decode(guest.encode(2n ** 40n)), 2 ** 40);
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
