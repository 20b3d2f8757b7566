import assert from "node:assert/strict";
import { test } from "node:test";
import { Arena, BLOCK_ALIGN, ObjectStoreFullError, ObjectTooLargeError } from "../../store/index.js";

test("blocks are aligned, disjoint, and reused after free", () => {
  const a = new Arena({ capacity: 64 << 20, segmentSize: 1 << 20 });
  const refs = Array.from({ length: 50 }, (_, i) => a.alloc(1000 + i));
  for (const r of refs) assert.equal(r.off % BLOCK_ALIGN, 0);
  refs.forEach((r, i) => a.view(r).fill(i));
  refs.forEach((r, i) => assert.ok(a.view(r).every((x) => x === i)));
  const used = a.used;
  for (const r of refs) a.free(r);
  assert.equal(a.used, 0);
  const again = a.alloc(1000);
  assert.equal(again.seg, refs[0]!.seg);
  assert.ok(a.used < used);
  assert.throws(() => a.free(refs[5]!), RangeError, "double free is caught");
});

test("free space merges, so a freed run fits a larger block", () => {
  const a = new Arena({ capacity: 64 << 20, segmentSize: 1 << 16 });
  const x = a.alloc(8192);
  const y = a.alloc(8192);
  const z = a.alloc(8192);
  a.free(x);
  a.free(z);
  a.free(y);
  const big = a.alloc(24_000);
  assert.equal(big.seg, x.seg);
  assert.equal(big.off, x.off);
});

test("large objects get their own segment, reused when the size fits", () => {
  const added: number[] = [];
  const dropped: number[] = [];
  const a = new Arena({ capacity: 64 << 20, segmentSize: 1 << 20 });
  a.setListener({ segmentAdded: (id) => added.push(id), segmentDropped: (id) => dropped.push(id) });
  const big = a.alloc(10 << 20);
  a.free(big);
  const again = a.alloc(9 << 20);
  assert.equal(again.seg, big.seg, "the cached segment is reused");
  assert.equal(added.length, 1);
  a.free(again);
  a.trim();
  assert.deepEqual(dropped, [big.seg]);
  assert.equal(a.mapped, 0);
});

test("the arena refuses what does not fit, with sizes in the message", () => {
  const a = new Arena({ capacity: 8 << 20, segmentSize: 1 << 20 });
  assert.throws(() => a.alloc(16 << 20), (e: unknown) => e instanceof ObjectTooLargeError && e.code === "WRAY_OBJECT_TOO_LARGE" && /objectStoreMemory/.test(e.message));
  const held = a.alloc(6 << 20);
  a.alloc(1 << 20 >> 2);
  assert.throws(() => a.alloc(3 << 20), ObjectStoreFullError);
  a.free(held);
  // empty cached segments are unmapped to make room
  assert.doesNotThrow(() => a.alloc(7 << 20));
  assert.throws(() => a.alloc(-1), RangeError);
  assert.equal(a.tryAlloc(3 << 20), undefined, "tryAlloc says no without throwing");
});

test("a large block takes free space in a shared segment when no segment of its own can be mapped", () => {
  const a = new Arena({ capacity: 8 << 20, segmentSize: 4 << 20 });
  const t = a.alloc(64);
  const u = a.alloc(2 << 20);
  const v = a.alloc((2 << 20) - 128);
  const w = a.alloc(2 << 20); // a second shared segment: the whole capacity is mapped
  assert.equal(a.mapped, 8 << 20);
  assert.notEqual(w.seg, t.seg);
  a.free(u);
  a.free(v);
  const big = a.tryAlloc(3 << 20);
  assert.ok(big, "placed in the first segment's free space");
  assert.equal(big.seg, t.seg);
  assert.equal(big.off, 64);
  assert.equal(a.tryAlloc(3 << 20), undefined);
  a.free(big);
  a.free(t);
  a.free(w);
  assert.equal(a.used, 0);
});

test("a block can start a few bytes into its aligned space (header before an aligned payload)", () => {
  const a = new Arena({ capacity: 64 << 20, segmentSize: 1 << 20 });
  const r = a.alloc(1000, BLOCK_ALIGN - 5);
  assert.equal((r.off + 5) % BLOCK_ALIGN, 0);
  const big = a.alloc(2 << 20, BLOCK_ALIGN - 5);
  assert.equal((big.off + 5) % BLOCK_ALIGN, 0);
  a.free(r);
  a.free(big);
  assert.equal(a.used, 0);
  const again = a.alloc(1000);
  assert.equal(again.off, r.off - (BLOCK_ALIGN - 5), "the whole block came back");
  assert.throws(() => a.alloc(10, BLOCK_ALIGN), RangeError);
});

test("mixed sizes churned for a long time: blocks never overlap, and fragmentation stays bounded", () => {
  const capacity = 256 << 20;
  const a = new Arena({ capacity, segmentSize: 32 << 20 });
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const live: { ref: ReturnType<Arena["alloc"]>; tag: number }[] = [];
  let failures = 0;
  let worstUseAtFailure = 1;
  for (let op = 0; op < 20_000; op++) {
    if (live.length > 0 && rand() < 0.45) {
      const i = Math.floor(rand() * live.length);
      const { ref, tag } = live[i]!;
      const v = a.view(ref);
      assert.equal(v[0], tag & 255, "a block's first byte was overwritten by another block");
      assert.equal(v[v.length - 1], (tag >> 8) & 255, "a block's last byte was overwritten by another block");
      a.free(ref);
      live[i] = live[live.length - 1]!;
      live.pop();
      continue;
    }
    // mostly 100 KiB..1 MiB, some up to 24 MiB (dedicated segments)
    const len = rand() < 0.9 ? 100_000 + Math.floor(rand() * 900_000) : (1 << 20) + Math.floor(rand() * (23 << 20));
    const ref = a.tryAlloc(len);
    if (!ref) {
      failures++;
      worstUseAtFailure = Math.min(worstUseAtFailure, a.used / capacity);
      continue;
    }
    const v = a.view(ref);
    v[0] = op & 255;
    v[v.length - 1] = (op >> 8) & 255;
    live.push({ ref, tag: op });
    assert.ok(a.used <= a.mapped && a.mapped <= capacity);
  }
  // a request fails only when the store is genuinely well used
  if (failures > 0) assert.ok(worstUseAtFailure > 0.5, `an allocation failed with only ${(100 * worstUseAtFailure).toFixed(0)}% of the arena in use`);
  for (const { ref } of live) a.free(ref);
  assert.equal(a.used, 0);
  a.trim();
  assert.equal(a.mapped, 0);
});
