import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, encode } from "@msgpack/msgpack";
import { ChunkReply, FRAME_TARGET_BYTES, FrameWriter, MAX_FRAME_BYTES, MSG, WireError, chunkReplyHeader, decodeFrame, encodeMessage } from "../../net/index.js";

const id16 = new Uint8Array(16).fill(7);
const NODE_A = "0123456789abcdef0123456789abcdef";
const NODE_B = "fedcba9876543210fedcba9876543210";
const HASH = "ab".repeat(32);
const id20 = new Uint8Array(20).fill(9);

function task(extra: Record<string, unknown> = {}) {
  return {
    id: id16,
    owner: NODE_A,
    component: HASH,
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

/** The binary body a writer makes for a task (or a TASK_DONE). */
function bodyOf(type: number, b: unknown): Uint8Array {
  const w = new FrameWriter();
  w.add(type as never, 0, b);
  const m = decode(w.take()) as [number, number, Uint8Array];
  return m[2];
}
const taskBody = (extra: Record<string, unknown> = {}) => bodyOf(MSG.TASK_RUN, task(extra));
const doneBody = () => bodyOf(MSG.TASK_DONE, { id: id16, node: NODE_A, results: [{ value: Uint8Array.of(1) }] });

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
    ["a task as a map", encode([MSG.TASK_RUN, 0, task()])],
    ["a task body cut short", encode([MSG.TASK_RUN, 0, taskBody().subarray(0, 40)])],
    ["a task body of an unknown format", encode([MSG.TASK_RUN, 0, Uint8Array.of(9, ...taskBody().subarray(1))])],
    ["a task body with bytes left over", encode([MSG.TASK_RUN, 0, Uint8Array.of(...taskBody(), 0)])],
    ["bad resources", encode([MSG.TASK_RUN, 0, taskBody({ resources: [["CPU", 0.5]] })])],
    ["a submit time that is not a number", encode([MSG.TASK_RUN, 0, taskBody({ submittedAt: NaN })])],
    ["a result body cut short", encode([MSG.TASK_DONE, 0, doneBody().subarray(0, 20)])],
    ["log records that are not records", encode([MSG.LOG, 0, { node: NODE_A, records: ["ran"] }])],
    ["log records from no node", encode([MSG.LOG, 0, { node: "me", records: [{ level: "info", text: "x" }] }])],
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

test("tasks and results keep every field through their binary layouts", () => {
  const full = task({
    name: "métier/φ",
    kind: 2,
    numReturns: 3,
    retries: 0,
    timeoutMs: 1500.5,
    resources: [
      ["CPU", 10000],
      ["GPU", 5000],
    ],
    deps: [
      { id: id20, size: 3, value: Uint8Array.of(1, 2, 3) },
      { id: new Uint8Array(20).fill(1), size: 5 << 20, nodes: [NODE_A, NODE_B] },
    ],
    nested: [new Uint8Array(20).fill(2), new Uint8Array(20).fill(3)],
    actor: new Uint8Array(16).fill(4),
    actorName: "the-one",
    maxConcurrency: 8,
    tried: [NODE_B],
    job: NODE_A,
    lifetime: "detached",
    submittedAt: 1_765_000_000_123.25,
  });
  for (const type of [MSG.TASK_SUBMIT, MSG.TASK_RUN, MSG.ACTOR_CREATE, MSG.ACTOR_CALL]) {
    const [m] = decodeFrame(encodeMessage(type, 7, full));
    assert.equal(m!.id, 7);
    const got = m!.body as Record<string, unknown>;
    assert.deepEqual(JSON.parse(JSON.stringify(got, bytesAsArrays)), JSON.parse(JSON.stringify(full, bytesAsArrays)));
  }
  // an actor call names no component
  const [call] = decodeFrame(encodeMessage(MSG.ACTOR_CALL, 0, task({ component: "", actor: id16 })));
  assert.equal((call!.body as { component: string }).component, "");
  // a plain task has none of the optional fields
  const [plain] = decodeFrame(encodeMessage(MSG.TASK_RUN, 0, task()));
  for (const k of ["deps", "nested", "actor", "actorName", "maxConcurrency", "tried", "job", "lifetime", "submittedAt"]) assert.ok(!(k in (plain!.body as object)), k);

  const done = {
    id: id16,
    node: NODE_B,
    results: [{ value: Uint8Array.of(9, 9) }, { node: NODE_A, size: 1 << 30, nested: [id20] }, { node: NODE_A, size: 0 }],
  };
  const [d] = decodeFrame(encodeMessage(MSG.TASK_DONE, 0, done));
  assert.deepEqual(JSON.parse(JSON.stringify(d!.body, bytesAsArrays)), JSON.parse(JSON.stringify(done, bytesAsArrays)));
  const failed = { id: id16, node: NODE_B, error: Uint8Array.of(1, 2) };
  const [f] = decodeFrame(encodeMessage(MSG.TASK_DONE, 0, failed));
  assert.deepEqual(JSON.parse(JSON.stringify(f!.body, bytesAsArrays)), JSON.parse(JSON.stringify(failed, bytesAsArrays)));
});

test("a task's arguments arrive as a view into the frame", () => {
  const args = new Uint8Array(4096).fill(6);
  const frame = encodeMessage(MSG.TASK_RUN, 0, task({ args }));
  const got = (decodeFrame(frame)[0]!.body as { args: Uint8Array }).args;
  assert.equal(got.buffer, frame.buffer);
  assert.deepEqual(got, args);
});

test("a task that cannot be written is refused at the sender and leaves the frame as it was", () => {
  const w = new FrameWriter();
  w.add(MSG.REPLY, 1, "before");
  const size = w.length;
  assert.throws(() => w.add(MSG.TASK_RUN, 0, task({ owner: "n1" })), /node ID must be 32 lowercase hex digits/);
  assert.throws(() => w.add(MSG.TASK_RUN, 0, task({ id: new Uint8Array(3) })), /task ID must be 16 bytes/);
  assert.throws(() => w.add(MSG.TASK_RUN, 0, task({ component: "abc" })), /component hash/);
  assert.throws(() => w.add(MSG.TASK_RUN, 0, task({ name: "x".repeat(70000) })), /too long/);
  assert.equal(w.length, size);
  assert.equal(w.count, 1);
  w.add(MSG.REPLY, 2, "after");
  assert.deepEqual(
    decodeFrame(w.take()).map((m) => m.body),
    ["before", "after"],
  );
});

test("every truncation and random corruption of a binary body is a WireError", () => {
  const bodies = [
    [MSG.TASK_RUN, taskBody({ deps: [{ id: id20, size: 1, nodes: [NODE_A] }], nested: [id20], tried: [NODE_B], actorName: "a", job: NODE_A })],
    [MSG.TASK_DONE, bodyOf(MSG.TASK_DONE, { id: id16, node: NODE_A, results: [{ value: Uint8Array.of(1) }, { node: NODE_B, size: 9, nested: [id20] }] })],
  ] as const;
  let seed = 99;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  for (const [type, body] of bodies) {
    for (let cut = 0; cut < body.length; cut++) {
      assert.throws(() => decodeFrame(encode([type, 0, body.subarray(0, cut)])), WireError, `cut at ${cut}`);
    }
    for (let i = 0; i < 2000; i++) {
      const b = body.slice();
      for (let k = 0; k < 1 + (i % 4); k++) b[rand() % b.length] = rand() & 0xff;
      try {
        decodeFrame(encode([type, 0, b]));
      } catch (e) {
        assert.ok(e instanceof WireError, `unexpected ${String(e)}`);
      }
    }
  }
});

function bytesAsArrays(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? [...v] : v;
}

test("a chunk reply's header decodes as an ordinary reply, and its bytes lie in the joined frame at their offset modulo 8", () => {
  const backing = new Uint8Array(1008).map((_, i) => i & 255);
  for (let offset = 0; offset < 8; offset++) for (const size of [1000, 2 ** 33]) {
    const data = backing.subarray(offset, offset + 1000);
    const header = chunkReplyHeader(77, new ChunkReply(size, data));
    assert.equal(header.length % 8, offset, `header of ${header.length} bytes for data at offset ${offset}`);
    const frame = new Uint8Array(header.length + data.length);
    frame.set(header);
    frame.set(data, header.length);
    const [m] = decodeFrame(frame);
    assert.equal(m!.type, MSG.REPLY);
    assert.equal(m!.id, 77);
    const body = m!.body as { size: number; data: Uint8Array };
    assert.equal(body.size, size);
    assert.deepEqual(body.data, data);
    assert.equal(body.data.byteOffset, header.length);
  }
});
