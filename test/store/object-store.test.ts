import assert from "node:assert/strict";
import { test } from "node:test";
import { Arena, FAILED, INLINE_MAX, ObjectStore, PENDING, READY } from "../../store/index.js";

function store(): ObjectStore {
  return new ObjectStore(new Arena({ capacity: 256 << 20 }));
}

test("objects go from pending to ready, waking watchers once", () => {
  const s = store();
  const e = s.expect("a", 1);
  assert.equal(e.state, PENDING);
  let woken = 0;
  assert.ok(s.whenSealed("a", () => woken++));
  s.sealInline("a", Uint8Array.of(1));
  assert.equal(e.state, READY);
  assert.equal(woken, 1);
  s.sealInline("a", Uint8Array.of(2));
  assert.deepEqual([...e.bytes!], [1], "sealed objects never change");
  assert.ok(!s.whenSealed("a", () => woken++), "no watch on a sealed object");
});

test("whenSealed on an object whose demand fails it at once says it is sealed and never calls back", () => {
  const s = store();
  s.cluster = { demand: (e) => s.fail(e, new Error("holder died")), freed: () => {} };
  const e = s.expect("remote", 1);
  s.setRemote(e, { node: "gone", size: 10 });
  let called = 0;
  assert.equal(s.whenSealed(e, () => called++), false);
  assert.equal(called, 0);
  assert.equal(e.state, FAILED);
});

test("small objects stay inline, large ones go to the arena; both are freed at zero refs", () => {
  const s = store();
  s.putBytes("small", new Uint8Array(INLINE_MAX), 1);
  s.putBytes("large", new Uint8Array(INLINE_MAX + 1).fill(3), 1);
  assert.equal(s.entry("small")!.arena, undefined);
  assert.ok(s.entry("large")!.arena);
  assert.equal(s.entry("large")!.bytes![INLINE_MAX], 3);
  assert.equal(s.stats().inlineBytes, INLINE_MAX);
  assert.ok(s.stats().arenaBytes > INLINE_MAX);
  s.release("small");
  s.release("large");
  assert.equal(s.size, 0);
  assert.equal(s.stats().inlineBytes, 0);
  assert.equal(s.stats().arenaBytes, 0);
});

test("nested refs keep their targets alive until the container goes", () => {
  const s = store();
  s.putBytes("inner", Uint8Array.of(1), 1);
  s.putBytes("outer", Uint8Array.of(2), 1, ["inner"]);
  s.release("inner");
  assert.ok(s.entry("inner"), "kept by outer");
  s.release("outer");
  assert.equal(s.entry("inner"), undefined);
});

test("a failed object holds its error; results for freed objects are dropped", () => {
  const s = store();
  s.expect("f", 1);
  const err = new Error("boom");
  s.fail("f", err);
  assert.equal(s.entry("f")!.state, FAILED);
  assert.equal(s.entry("f")!.error, err);
  s.expect("gone", 1);
  s.release("gone");
  const ref = s.arena.alloc(INLINE_MAX * 2);
  s.sealArena("gone", ref);
  assert.equal(s.stats().arenaBytes, 0, "the block was freed");
  assert.equal(s.stats().pending, 0);
});

test("a million put/release cycles leave the store empty", () => {
  const s = store();
  const v = Uint8Array.of(0x2a);
  for (let i = 0; i < 1_000_000; i++) {
    const k = `k${i}`;
    s.putBytes(k, v, 1);
    s.release(k);
  }
  assert.equal(s.size, 0);
  assert.equal(s.stats().inlineBytes, 0);
});

test("a nested ref to an object the store did not have takes no reference, so freeing the container leaves a later entry alone", () => {
  const s = store();
  const container = s.expect("c", 1);
  s.sealInline(container, Uint8Array.of(1), ["x"]); // "x" is not here (another node's object)
  const x = s.expect("x", 1); // made later, held by one ref
  s.release(container);
  assert.equal(x.refs, 1);
  assert.ok(x.live);
});
