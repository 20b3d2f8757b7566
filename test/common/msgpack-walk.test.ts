import assert from "node:assert/strict";
import { test } from "node:test";
import { ValueCodec } from "../../common/codec.js";
import { childTaskId, objectKey, randomTaskId } from "../../common/ids.js";
import { arrayHeader, isMapAt, mayHoldRefs, nestedRefs, readArrayHeader, refAt, skipValue, splitArray } from "../../common/msgpack-walk.js";
import { ObjectRef } from "../../common/object-ref.js";

const codec = new ValueCodec();
const t = childTaskId(randomTaskId(), 1);
const r1 = new ObjectRef(objectKey(t, 1));
const r2 = new ObjectRef(objectKey(t, 2));

test("skipValue finds the end of every kind of value", () => {
  const values = [null, 1, -1, 300, 2 ** 40, 1.5, "s", "x".repeat(300), new Uint8Array(70_000), [1, [2, 3]], { a: { b: [1] } }, new Date(5), r1, new Float32Array(3)];
  for (const v of values) {
    const b = codec.encode(v);
    assert.equal(skipValue(b, 0), b.length, JSON.stringify(v)?.slice(0, 30));
  }
  assert.throws(() => skipValue(Uint8Array.of(0x92, 1), 0), RangeError);
  assert.throws(() => skipValue(Uint8Array.of(0xc1), 0), RangeError);
});

test("arrays split into element views without copying", () => {
  const b = codec.encode([1, "two", [3], { four: 4 }]);
  const parts = splitArray(b);
  assert.equal(parts.length, 4);
  assert.deepEqual(parts.map((p) => codec.decode(p)), [1, "two", [3], { four: 4 }]);
  assert.equal(parts[1]!.buffer, b.buffer);
  for (const n of [0, 15, 16, 70_000]) {
    const h = arrayHeader(n);
    assert.deepEqual(readArrayHeader(h, 0), { count: n, start: h.length });
  }
  assert.ok(isMapAt(codec.encode({ a: 1 }), 0));
  assert.ok(!isMapAt(codec.encode([1]), 0));
});

test("refs are found at the top level and nested", () => {
  const args = codec.encode([r1, 5, { x: [r2] }]);
  const { start } = readArrayHeader(args, 0);
  assert.equal(refAt(args, start), r1.key);
  assert.equal(refAt(args, start + 23), undefined);
  assert.deepEqual(nestedRefs(args), [r1.key, r2.key]);
  assert.ok(!mayHoldRefs(codec.encode([1, 2, 3])));
  assert.deepEqual(nestedRefs(codec.encode("no refs here, just a long enough string")), []);
});
