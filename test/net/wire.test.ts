import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "@msgpack/msgpack";
import { FRAME_TARGET_BYTES, FrameWriter, MAX_FRAME_BYTES, MSG, WireError, decodeFrame, encodeMessage } from "../../net/index.js";

const id16 = new Uint8Array(16).fill(7);
const id20 = new Uint8Array(20).fill(9);

function task(extra: Record<string, unknown> = {}) {
  return {
    id: id16,
    owner: "n1",
    component: "abc",
    name: "f",
    kind: 0,
    args: Uint8Array.of(0x90),
    numReturns: 1,
    retries: 3,
    timeoutMs: 0,
    resources: [["CPU", 10000]],
    ...extra,
  };
}

test("a frame holds several messages, decoded in order with their ids and bodies", () => {
  const w = new FrameWriter();
  w.add(MSG.GCS_GET, 1, { table: "nodes", key: "a" });
  w.add(MSG.TASK_RUN, 0, task({ deps: [{ id: id20, size: 3, value: Uint8Array.of(1, 2, 3) }] }));
  w.add(MSG.REPLY, 1, [1, "two", null]);
  assert.equal(w.count, 3);
  const frame = w.take();
  assert.equal(w.count, 0);
  const msgs = decodeFrame(frame);
  assert.deepEqual(
    msgs.map((m) => [m.type, m.id]),
    [
      [MSG.GCS_GET, 1],
      [MSG.TASK_RUN, 0],
      [MSG.REPLY, 1],
    ],
  );
  assert.deepEqual(msgs[0]!.body, { table: "nodes", key: "a" });
  const t = msgs[1]!.body as ReturnType<typeof task> & { deps: { value: Uint8Array }[] };
  assert.deepEqual([...t.deps[0]!.value], [1, 2, 3]);
  assert.deepEqual([...t.id], [...id16]);
  assert.deepEqual(msgs[2]!.body, [1, "two", null]);
});

test("binary fields are views into the frame (no copy of object bytes)", () => {
  const data = new Uint8Array(1 << 20).fill(5);
  const frame = encodeMessage(MSG.REPLY, 3, { size: data.length, data });
  const [m] = decodeFrame(frame);
  const got = (m!.body as { data: Uint8Array }).data;
  assert.equal(got.length, data.length);
  assert.equal(got.buffer, frame.buffer);
});

test("malformed frames are WireErrors, each with a reason", () => {
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["not msgpack", Uint8Array.of(0xc1, 0xc1, 0xc1)],
    ["truncated", encodeMessage(MSG.GCS_GET, 1, { table: "t", key: "k" }).subarray(0, 5)],
    ["not an array", encode({ type: 1 })],
    ["wrong arity", encode([MSG.REPLY, 1])],
    ["unknown type", encode([999, 1, {}])],
    ["negative id", encode([MSG.REPLY, -1, {}])],
    ["string id", encode([MSG.REPLY, "x", {}])],
    ["body of the wrong shape", encode([MSG.GCS_GET, 1, { table: 5, key: "k" }])],
    ["a task without an id", encode([MSG.TASK_RUN, 0, { ...task(), id: undefined }])],
    ["a task id of the wrong length", encode([MSG.TASK_RUN, 0, task({ id: new Uint8Array(3) })])],
    ["bad resources", encode([MSG.TASK_RUN, 0, task({ resources: [["CPU", -1]] })])],
    ["a good message then garbage", Uint8Array.of(...encodeMessage(MSG.REPLY, 1, null), 0xc1)],
  ];
  for (const [what, bytes] of bad) {
    assert.throws(() => decodeFrame(bytes), (e: unknown) => e instanceof WireError && e.code === "WRAY_PROTOCOL_ERROR", what);
  }
});

test("frames over the limit are refused before decoding", () => {
  const big = new Uint8Array(MAX_FRAME_BYTES + 1);
  assert.throws(() => decodeFrame(big), /over the limit/);
});

test("random bytes never escape as anything but WireError", () => {
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(1 + (rand() % 64));
    for (let j = 0; j < b.length; j++) b[j] = rand();
    try {
      decodeFrame(b);
    } catch (e) {
      assert.ok(e instanceof WireError, `unexpected ${String(e)}`);
    }
  }
});

test("a writer's frames grow past its buffer and start small again", () => {
  const w = new FrameWriter();
  const blob = new Uint8Array(FRAME_TARGET_BYTES);
  for (let i = 0; i < 5; i++) w.add(MSG.REPLY, i + 1, blob);
  const f = w.take();
  assert.equal(decodeFrame(f).length, 5);
  w.add(MSG.REPLY, 9, 1);
  assert.ok(w.length < 100);
});
