import assert from "node:assert/strict";
import { test } from "node:test";
import {
  OBJECT_ID_BYTES,
  PUT_INDEX_FLAG,
  bytesToKey,
  childTaskId,
  hexToKey,
  keyToBytes,
  keyToHex,
  makeTaskId,
  objectKey,
  randomTaskId,
  taskKeyOfObject,
} from "../../common/ids.js";

test("task IDs derive deterministically from parent and index", () => {
  const root = makeTaskId(1, 2, 3, 4);
  assert.equal(childTaskId(root, 0).key, childTaskId(root, 0).key);
  assert.notEqual(childTaskId(root, 0).key, childTaskId(root, 1).key);
  assert.notEqual(childTaskId(childTaskId(root, 0), 0).key, childTaskId(root, 0).key);
  const seen = new Set<string>();
  for (let i = 0; i < 100_000; i++) seen.add(childTaskId(root, i).key);
  assert.equal(seen.size, 100_000, "no collisions among 100k siblings");
});

test("object keys, bytes and hex convert both ways", () => {
  const t = childTaskId(randomTaskId(), 7);
  const k = objectKey(t, 1);
  assert.equal(k.length, OBJECT_ID_BYTES / 2);
  assert.equal(taskKeyOfObject(k), t.key);
  const b = keyToBytes(k);
  assert.equal(b.length, OBJECT_ID_BYTES);
  // little-endian words: the first byte is w0's low byte, the index follows the task
  assert.equal(b[0], t.w0 & 0xff);
  assert.equal(new DataView(b.buffer).getUint32(16, true), 1);
  assert.equal(bytesToKey(b), k);
  const hex = keyToHex(k);
  assert.match(hex, /^[0-9a-f]{40}$/);
  assert.equal(hexToKey(hex), k);
  assert.notEqual(objectKey(t, PUT_INDEX_FLAG | 1), k);
  assert.throws(() => hexToKey("xyz"), RangeError);
});
