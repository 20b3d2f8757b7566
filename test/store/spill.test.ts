import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { ObjectEntry } from "../../store/index.js";
import { Arena, ObjectStore, ObjectStoreFullError, ObjectTooLargeError, SpillError, SpillFiles } from "../../store/index.js";
import { tempDir } from "../temp.js";
import { pattern } from "../bytes.js";

const MiB = 1 << 20;

async function withStore(capacity: number, fn: (s: ObjectStore, dir: string) => void | Promise<void>, spill = true): Promise<void> {
  const tmp = await tempDir();
  const s = new ObjectStore(new Arena({ capacity }), { spill: spill ? new SpillFiles(tmp.path) : undefined });
  try {
    await fn(s, tmp.path);
  } finally {
    s.close();
    await tmp.remove();
  }
}

test("3x over-subscription: objects spill in LRU order and come back byte for byte", async () => {
  await withStore(8 * MiB, (s) => {
    const size = 256 * 1024 + 17;
    const entries: ObjectEntry[] = [];
    for (let i = 0; i < 96; i++) entries.push(s.putBytes(`o${i}`, pattern(size, i), 1)); // 24 MiB into 8
    const st = s.stats();
    assert.ok(st.spilledObjects >= 60, `${st.spilledObjects} objects spilled`);
    assert.ok(st.arenaBytes <= 8 * MiB);
    assert.equal(st.objects, 96);
    // least recently used first: the oldest are on disk, the newest in memory
    assert.equal(entries[0]!.arena, undefined);
    assert.ok(entries[0]!.spill);
    assert.ok(entries[95]!.arena);
    // read everything back, twice (the second pass restores what the first evicted again)
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < entries.length; i++) {
        const b = s.bytes(entries[i]!)!;
        assert.equal(b.length, size);
        assert.deepEqual(b, pattern(size, i), `object ${i}, pass ${pass}`);
      }
    }
    const after = s.stats();
    assert.ok(after.restoresTotal >= 120);
    // restored objects keep their copy on disk: evicting them again wrote nothing new
    assert.ok(after.spillsTotal <= 96, `each object is written at most once (${after.spillsTotal} writes)`);
    assert.equal(after.spilledBytesTotal, after.spillsTotal * size);
    for (let i = 0; i < entries.length; i++) s.release(`o${i}`);
    const end = s.stats();
    assert.equal(end.objects, 0);
    assert.equal(end.arenaBytes, 0);
    assert.equal(end.spilledObjects, 0);
    assert.equal(end.spilledBytes, 0);
    assert.ok(end.spillFiles <= 1, "files whose objects are all freed are deleted (the open one stays)");
  });
});

test("a pinned object is never spilled, and pins keep it alive after its refs go", async () => {
  await withStore(4 * MiB, (s) => {
    const keep = s.putBytes("keep", pattern(MiB, 7), 1);
    s.pin(keep);
    const where = { ...keep.arena! };
    for (let i = 0; i < 12; i++) s.putBytes(`x${i}`, pattern(MiB, i), 1);
    assert.deepEqual(keep.arena, where, "not moved");
    assert.equal(keep.spill, undefined, "never written out");
    assert.equal(s.stats().pinnedObjects, 1);
    assert.equal(s.stats().pinnedBytes, MiB);
    s.release("keep");
    assert.ok(keep.live, "the pin holds a reference");
    assert.deepEqual(s.bytes(keep), pattern(MiB, 7));
    s.unpin(keep);
    assert.ok(!keep.live, "freed with its last pin");
    assert.equal(s.stats().pinnedBytes, 0);
  });
});

test("pinning a spilled object reads it back first", async () => {
  await withStore(4 * MiB, (s) => {
    const first = s.putBytes("first", pattern(MiB, 1), 1);
    for (let i = 0; i < 8; i++) s.putBytes(`x${i}`, pattern(MiB, i + 10), 1);
    assert.equal(first.arena, undefined);
    s.pin(first);
    assert.ok(first.arena);
    assert.deepEqual(first.bytes, pattern(MiB, 1));
    s.unpin(first);
    assert.ok(first.live);
  });
});

test("when everything left is pinned, a put fails with ObjectStoreFullError naming the pinned bytes", async () => {
  await withStore(4 * MiB, (s) => {
    const pinned: ObjectEntry[] = [];
    for (let i = 0; i < 3; i++) {
      const e = s.putBytes(`p${i}`, pattern(MiB, i), 1);
      s.pin(e);
      pinned.push(e);
    }
    assert.throws(
      () => s.putBytes("more", pattern(2 * MiB, 9), 1),
      (e: unknown) => e instanceof ObjectStoreFullError && e.code === "WRAY_OBJECT_STORE_FULL" && /3\.0 MiB of it pinned/.test(e.message) && /objectStoreMemory/.test(e.message),
    );
    for (const e of pinned) assert.ok(e.arena, "nothing pinned moved");
    s.release("more");
    for (const e of pinned) s.unpin(e);
    assert.doesNotThrow(() => s.putBytes("more2", pattern(2 * MiB, 9), 1), "room once unpinned: the others spill");
  });
});

test("an object larger than the whole store fails at once with ObjectTooLargeError", async () => {
  await withStore(4 * MiB, (s) => {
    s.putBytes("a", pattern(MiB, 1), 1);
    assert.throws(
      () => s.alloc(5 * MiB),
      (e: unknown) => e instanceof ObjectTooLargeError && e.code === "WRAY_OBJECT_TOO_LARGE" && /5\.0 MiB/.test(e.message) && /4\.0 MiB/.test(e.message) && /raise objectStoreMemory/i.test(e.message),
    );
    assert.equal(s.stats().spillsTotal, 0, "nothing was spilled for a hopeless request");
  });
});

test("with spilling off, a full store refuses new objects and keeps the old ones", async () => {
  await withStore(
    4 * MiB,
    (s) => {
      for (let i = 0; i < 3; i++) s.putBytes(`a${i}`, pattern(MiB, i), 1);
      assert.throws(() => s.putBytes("b", pattern(2 * MiB, 5), 1), (e: unknown) => e instanceof ObjectStoreFullError && /spilling is off/.test(e.message));
      for (let i = 0; i < 3; i++) assert.deepEqual(s.bytes(s.entry(`a${i}`)!), pattern(MiB, i));
    },
    false,
  );
});

test("a spill path that is a file: a typed error naming it, and nothing stored is lost", async () => {
  const tmp = await tempDir();
  const base = join(tmp.path, "not-a-dir");
  writeFileSync(base, "x");
  const s = new ObjectStore(new Arena({ capacity: 4 * MiB }), { spill: new SpillFiles(base) });
  try {
    for (let i = 0; i < 3; i++) s.putBytes(`a${i}`, pattern(MiB, i), 1);
    assert.throws(
      () => s.putBytes("b", pattern(2 * MiB, 5), 1),
      (e: unknown) => e instanceof ObjectStoreFullError && e.cause instanceof SpillError && e.message.includes(base) && /objectSpillingDirectory/.test(e.message),
    );
    for (let i = 0; i < 3; i++) assert.deepEqual(s.bytes(s.entry(`a${i}`)!), pattern(MiB, i));
    assert.equal(s.stats().spilledObjects, 0);
  } finally {
    s.close();
    await tmp.remove();
  }
});

test("spill files go when their objects do; the directory goes at close; stale directories of dead processes are removed", async () => {
  const tmp = await tempDir();
  const stale = join(tmp.path, "wray-spill-999999999-abcdef");
  mkdirSync(stale);
  const s = new ObjectStore(new Arena({ capacity: 4 * MiB }), { spill: new SpillFiles(tmp.path) });
  try {
    for (let i = 0; i < 12; i++) s.putBytes(`a${i}`, pattern(MiB, i), 1);
    const dir = s.stats().spillDirectory!;
    assert.ok(dir.startsWith(join(tmp.path, `wray-spill-${process.pid}-`)));
    assert.ok(existsSync(dir));
    assert.ok(!existsSync(stale), "a dead process's directory was removed");
    assert.ok(s.stats().spillDiskBytes >= 8 * MiB);
    for (let i = 0; i < 12; i++) s.release(`a${i}`);
    assert.equal(s.stats().spilledBytes, 0);
    s.close();
    assert.ok(!existsSync(dir), "removed at close");
    assert.deepEqual(readdirSync(tmp.path), []);
  } finally {
    await tmp.remove();
  }
});

test("memory() lists objects largest first with where they are, refs and pins; totals cover all", async () => {
  await withStore(4 * MiB, (s) => {
    s.putBytes("small", Uint8Array.of(1, 2, 3), 1);
    const big = s.putBytes("big", pattern(3 * MiB, 1), 2);
    s.expect("pending", 1);
    for (let i = 0; i < 2; i++) s.putBytes(`m${i}`, pattern(MiB, i), 1); // spills big
    const m = s.memory(10);
    assert.equal(m.totals.objects, 5);
    assert.equal(m.objects[0]!.size, 3 * MiB);
    assert.equal(m.objects[0]!.where, "spilled");
    assert.equal(m.objects[0]!.refs, 2);
    assert.equal(m.objects[0]!.onDisk, true);
    const small = m.objects.find((o) => o.size === 3)!;
    assert.equal(small.where, "inline");
    assert.ok(m.objects.some((o) => o.state === "pending" && o.where === "none"));
    s.pin(big);
    const again = s.memory(1);
    assert.equal(again.objects.length, 1);
    assert.equal(again.omitted, 4);
    assert.equal(again.objects[0]!.where, "shared");
    assert.equal(again.objects[0]!.pins, 1);
    assert.equal(again.totals.pinnedBytes, 3 * MiB);
    s.unpin(big);
  });
});
