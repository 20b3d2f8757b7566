// The object store through the driver and through tasks: leaks, spilling
// under over-subscription, pins held by running tasks and by views, objects
// larger than the store, and the spill directory's life.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Driver, ObjectRef } from "wray";
import { ObjectStoreFullError, ObjectTooLargeError, TaskError } from "wray";
import { collect, eventually, guest, withRay } from "../helpers.js";
import { tempDir } from "../temp.js";
import { pattern } from "../bytes.js";

const MiB = 1 << 20;

/** The guest's digest (test/guests/store): FNV-1a over every `stride`-th byte, length folded in. */
function digest(data: Uint8Array, stride = 1): number {
  let h = 0x811c9dc5 ^ data.length;
  for (let i = 0; i < data.length; i += stride) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/** Byte i is (seed + i * 7) & 255: what the guest's makeBytes makes. */
function guestPattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7) & 255;
  return b;
}

async function withSpillingRay(storeMiB: number, fn: (ray: Driver, spillBase: string) => Promise<void>): Promise<void> {
  const tmp = await tempDir();
  try {
    await withRay({ numCpus: 2, objectStoreMemory: storeMiB * MiB, objectSpillingDirectory: tmp.path }, (ray) => fn(ray, tmp.path));
    assert.deepEqual(readdirSync(tmp.path), [], "the spill directory is removed at shutdown");
  } finally {
    await tmp.remove();
  }
}

function usage(ray: Driver) {
  const s = ray.stats().store;
  return { objects: s.objects, inline: s.inlineBytes, shared: s.arenaBytes, pinned: s.pinnedBytes, spilled: s.spilledBytes, spilledObjects: s.spilledObjects };
}

const EMPTY = { objects: 0, inline: 0, shared: 0, pinned: 0, spilled: 0, spilledObjects: 0 };

test("no leak after 1,000,000 put/get/drop cycles: store usage returns to zero", async () => {
  await withSpillingRay(8, async (ray) => {
    assert.deepEqual(usage(ray), EMPTY);
    const big = new Uint8Array(MiB + 3);
    const recent: ObjectRef[] = []; // the last few large objects stay referenced: twice the store, so some spill
    let peakObjects = 0;
    for (let i = 0; i < 1_000_000; i++) {
      if (i % 2000 === 0) {
        big[0] = i & 255;
        big[big.length - 1] = (i >> 8) & 255;
        const r = ray.put(big);
        recent.push(r);
        if (recent.length > 16) recent.shift();
        const v = (await ray.get(r)) as Uint8Array;
        if (v.length !== big.length || v[0] !== (i & 255) || v[v.length - 1] !== ((i >> 8) & 255)) assert.fail(`large object ${i} came back wrong`);
      } else {
        const r = ray.put(i);
        if ((await ray.get(r)) !== i) assert.fail(`object ${i} came back wrong`);
      }
      if (i % 100_000 === 0) peakObjects = Math.max(peakObjects, ray.stats().store.objects);
    }
    const mid = ray.stats().store;
    assert.ok(mid.spillsTotal > 0, "large objects were spilled along the way");
    // dropped refs are released as the loop goes (gets yield to finalizers now and then; how many
    // linger is up to the collector, which clears finalization cells in its major collections)
    assert.ok(peakObjects < 900_000, `at most ${peakObjects} objects alive at once`);
    recent.length = 0;
    assert.ok(await eventually(() => ray.stats().store.objects === 0), `objects left: ${JSON.stringify(usage(ray))}`);
    assert.deepEqual(usage(ray), EMPTY);
    assert.equal(ray.stats().store.spillDiskBytes, 0, "every spill file deleted");
  });
});

test("3x over-subscription: puts and task results spill and come back, every byte verified, through get and as task arguments", async () => {
  await withSpillingRay(16, async (ray) => {
    const mod = await ray.load(guest("store"));
    const makeBytes = mod.fn<[number, number], Uint8Array>("makeBytes");
    const digestFn = mod.fn<[Uint8Array, number], number>("digest");
    const digestRef = mod.fn<[ObjectRef<Uint8Array>[], number], number>("digestRef");
    const sizes = (i: number) => MiB + i * 4099; // odd sizes: unaligned ends
    const puts = Array.from({ length: 32 }, (_, i) => ray.put(pattern(sizes(i), i)));
    const made = Array.from({ length: 16 }, (_, i) => makeBytes.remote(MiB / 2 + i * 1031, i));
    await ray.wait(made, { numReturns: made.length });
    const st = ray.stats().store;
    assert.ok(st.spilledObjects >= 16, `${st.spilledObjects} of 48 objects on disk`);
    assert.ok(st.arenaBytes <= 16 * MiB);
    // every byte of every object, read back by the driver (restored from disk as needed)
    for (let i = 0; i < puts.length; i++) {
      const v = (await ray.get(puts[i]!)) as Uint8Array;
      assert.ok(Buffer.from(v).equals(Buffer.from(pattern(sizes(i), i))), `put ${i}`);
    }
    for (let i = 0; i < made.length; i++) {
      const v = await ray.get(made[i]!);
      assert.ok(Buffer.from(v).equals(Buffer.from(guestPattern(MiB / 2 + i * 1031, i))), `task result ${i}`);
    }
    await collect(); // views from those gets pinned their objects: let them go
    // spilled objects as task arguments (restored for dispatch) and fetched by guests (restored for the guest's get)
    const asArgs = await ray.get(puts.slice(0, 8).map((r) => digestFn.remote(r as unknown as Uint8Array, 1)));
    const viaGet = await ray.get(puts.slice(8, 16).map((r) => digestRef.remote([r as ObjectRef<Uint8Array>], 1)));
    for (let i = 0; i < 8; i++) {
      assert.equal(asArgs[i], digest(pattern(sizes(i), i)), `argument ${i}`);
      assert.equal(viaGet[i], digest(pattern(sizes(i + 8), i + 8)), `guest get ${i + 8}`);
    }
    const end = ray.stats().store;
    assert.ok(end.restoresTotal >= 16, `${end.restoresTotal} restores`);
    assert.ok(end.spillDirectory !== undefined && existsSync(end.spillDirectory));
  });
});

test("an object in use by a running task is never evicted; a guest's get pins what it returned until the task ends", async () => {
  await withSpillingRay(8, async (ray) => {
    const mod = await ray.load(guest("store"));
    const sleepy = mod.fn<[number], number>("sleepy");
    const digestAfter = mod.fn<[Uint8Array, ObjectRef<number>[], number], number>("digestAfter");
    const getThenWait = mod.fn<[ObjectRef<Uint8Array>[], ObjectRef<number>[], number], number>("getThenWait");
    const argBytes = pattern(2 * MiB, 1);
    const gotBytes = pattern(2 * MiB, 2);
    const arg = ray.put(argBytes);
    const got = ray.put(gotBytes);
    const gate = sleepy.remote(1500);
    const r1 = digestAfter.remote(arg as unknown as Uint8Array, [gate], 1);
    const r2 = getThenWait.remote([got as ObjectRef<Uint8Array>], [gate], 1);
    const pinsOf = (hex: string) => ray.memory().objects.find((o) => o.id === hex);
    assert.ok(await eventually(() => pinsOf(arg.hex)?.pins === 1 && pinsOf(got.hex)?.pins === 1, 10_000), "both pinned while the tasks run");
    // flood the store: 4x its size, while both tasks wait on the gate
    const flood = Array.from({ length: 16 }, (_, i) => ray.put(pattern(2 * MiB, 100 + i)));
    const m = ray.memory();
    for (const hex of [arg.hex, got.hex]) {
      const o = m.objects.find((x) => x.id === hex)!;
      assert.equal(o.where, "shared", "pinned objects stay in shared memory");
      assert.equal(o.onDisk, false, "and were never written out");
    }
    assert.ok(m.totals.spilledObjects >= 10, "the flood spilled around them");
    assert.equal(await ray.get(r1), digest(argBytes));
    assert.equal(await ray.get(r2), digest(gotBytes));
    assert.ok(await eventually(() => (pinsOf(arg.hex)?.pins ?? 0) === 0 && (pinsOf(got.hex)?.pins ?? 0) === 0), "unpinned when the tasks end");
    flood.length = 0;
  });
});

test("put larger than the whole store: ObjectTooLargeError at once, with the sizes and how to raise the limit; the store is unharmed", async () => {
  await withSpillingRay(4, async (ray) => {
    const keep = ray.put(pattern(MiB, 3));
    assert.throws(
      () => ray.put(new Uint8Array(5 * MiB)),
      (e: unknown) => e instanceof ObjectTooLargeError && e.code === "WRAY_OBJECT_TOO_LARGE" && /5\.0 MiB/.test(e.message) && /objectStoreMemory/.test(e.message),
    );
    assert.throws(() => ray.put({ payload: new Uint8Array(5 * MiB) }), ObjectTooLargeError, "an encoded value too");
    assert.equal(ray.stats().store.objects, 1, "the failed puts left nothing behind");
    assert.ok(Buffer.from((await ray.get(keep)) as Uint8Array).equals(Buffer.from(pattern(MiB, 3))));
    // a task whose result is larger than the store fails with the same error; a put inside a guest too
    const mod = await ray.load(guest("store"));
    await assert.rejects(ray.get(mod.fn("makeBytes").remote(5 * MiB, 1)), (e: unknown) => e instanceof ObjectTooLargeError);
    await assert.rejects(ray.get(mod.fn("putBytes").remote(5 * MiB, 1)), (e: unknown) => e instanceof ObjectTooLargeError || (e instanceof TaskError && /larger than the whole object store/.test(e.message)));
    // and the host goes on
    assert.equal(await ray.get(mod.fn<[number], number>("sleepy").remote(1)), 1);
  });
});

test("a large put from a SharedArrayBuffer is copied by the copy threads too, every byte in place; other puts copy on one thread", async () => {
  await withRay({ numCpus: 2, objectStoreMemory: 768 * MiB }, async (ray) => {
    // an odd offset and a length that is no multiple of the 4 MiB pieces
    const len = 128 * MiB + 4321;
    const backing = new Uint8Array(new SharedArrayBuffer(len + 64));
    const value = backing.subarray(7, 7 + len);
    value.set(pattern(len, 5));
    const expect = Buffer.from(value.slice());
    const mod = await ray.load(guest("store"));
    const before = ray.stats().store;
    let ref: ObjectRef<Uint8Array> | undefined;
    // the copy thread starts with the first large copy and must wake within one: retried, bounded
    const end = Date.now() + 60_000;
    for (let round = 1; ; round++) {
      ref = undefined;
      await collect();
      ref = ray.put(value);
      value[0] = value[0]! ^ 0xff; // the object is a copy: writing the source after put changes nothing
      assert.ok(Buffer.from(await ray.get(ref)).equals(expect), `round ${round}: the stored bytes differ from the put's`);
      value[0] = value[0]! ^ 0xff;
      const s = ray.stats().store;
      if (availableParallelism() < 2 || s.helperCopyPieces > before.helperCopyPieces) break;
      assert.ok(Date.now() < end, `no copy thread took a piece of ${round} large shared puts in 60 s`);
    }
    assert.ok(ray.stats().store.sharedCopies > before.sharedCopies, "the large shared puts were shared out");
    assert.equal(await ray.get(mod.fn<[Uint8Array, number], number>("digest").remote(ref, 4093)), digest(expect, 4093), "a guest reads the same bytes");
    // a plain ArrayBuffer, and shared memory under the threshold, are one copy on the host thread
    const shared = ray.stats().store.sharedCopies;
    const plain = pattern(20 * MiB, 6);
    const small = new Uint8Array(new SharedArrayBuffer(MiB)).fill(9);
    const [p, q] = [ray.put(plain), ray.put(small)];
    assert.ok(Buffer.from(await ray.get(p)).equals(Buffer.from(plain)));
    assert.ok((await ray.get(q)).every((x) => x === 9));
    assert.equal(ray.stats().store.sharedCopies, shared, "neither was shared out");
  });
});

test("views from get pin at most half the store; past that get returns private copies", async () => {
  await withSpillingRay(4, async (ray) => {
    const refs = [0, 1, 2].map((i) => ray.put(pattern(MiB, i)));
    const views = (await ray.get(refs)) as Uint8Array[];
    assert.ok(views[0]!.buffer instanceof SharedArrayBuffer, "the first is a view into shared memory");
    assert.ok(!(views[2]!.buffer instanceof SharedArrayBuffer), "past half the store, a copy");
    assert.ok(ray.stats().store.pinnedBytes <= 2 * MiB);
    for (let i = 0; i < 3; i++) assert.ok(Buffer.from(views[i]!).equals(Buffer.from(pattern(MiB, i))));
    // so the store can always make room for what fits in the other half
    assert.doesNotThrow(() => ray.put(new Uint8Array(MiB + MiB / 2)));
  });
});

test("a full store with everything pinned by running tasks refuses with ObjectStoreFullError instead of hanging", async () => {
  await withSpillingRay(4, async (ray) => {
    const mod = await ray.load(guest("store"));
    const sleepy = mod.fn<[number], number>("sleepy");
    const digestAfter = mod.fn<[Uint8Array, ObjectRef<number>[], number], number>("digestAfter");
    const gate = sleepy.remote(1500);
    const args = [0, 1].map((i) => ray.put(pattern(MiB + MiB / 2, i)));
    const runs = args.map((a) => digestAfter.remote(a as unknown as Uint8Array, [gate], 4096));
    assert.ok(await eventually(() => ray.stats().store.pinnedBytes >= 3 * MiB, 10_000), "both arguments pinned");
    assert.throws(() => ray.put(new Uint8Array(MiB + MiB / 2)), (e: unknown) => e instanceof ObjectStoreFullError && e.code === "WRAY_OBJECT_STORE_FULL" && /3\.0 MiB of it pinned/.test(e.message));
    assert.deepEqual(await ray.get(runs), [0, 1].map((i) => digest(pattern(MiB + MiB / 2, i), 4096)), "the running tasks were not disturbed");
    assert.ok(await eventually(() => ray.stats().store.pinnedBytes === 0));
    assert.doesNotThrow(() => ray.put(new Uint8Array(MiB + MiB / 2)), "room once the tasks are done");
  });
});

test("a task whose spilled argument cannot be read back (everything else pinned) fails with ObjectStoreFullError; the isolate goes on", async () => {
  await withSpillingRay(4, async (ray) => {
    const mod = await ray.load(guest("store"));
    const sleepy = mod.fn<[number], number>("sleepy");
    const digestFn = mod.fn<[Uint8Array, number], number>("digest");
    const digestAfter = mod.fn<[Uint8Array, ObjectRef<number>[], number], number>("digestAfter");
    const x = ray.put(pattern(2 * MiB, 9));
    const held = [0, 1].map((i) => ray.put(pattern(MiB + MiB / 2, i))); // x spills to make room
    assert.equal(ray.memory().objects.find((o) => o.id === x.hex)?.where, "spilled");
    const gate = sleepy.remote(1500);
    const runs = held.map((a) => digestAfter.remote(a as unknown as Uint8Array, [gate], 4096));
    assert.ok(await eventually(() => ray.stats().store.pinnedBytes >= 3 * MiB, 10_000));
    const late = digestFn.remote(x as unknown as Uint8Array, 4096);
    await assert.rejects(ray.get(late), (e: unknown) => e instanceof ObjectStoreFullError && /pinned/.test(e.message));
    assert.equal((await ray.get(runs)).length, 2);
    // with the pins gone the same argument is read back and the task runs
    assert.equal(await ray.get(digestFn.remote(x as unknown as Uint8Array, 4096)), digest(pattern(2 * MiB, 9), 4096));
  });
});

test("views and guests keep an object while the driver drops its ref", async () => {
  await withSpillingRay(8, async (ray) => {
    // a driver view into shared memory outlives its ObjectRef, and is never spilled under it
    let ref: ObjectRef | undefined = ray.put(pattern(2 * MiB, 5));
    const view = (await ray.get(ref)) as Uint8Array;
    const hex = ref.hex;
    ref = undefined;
    await collect();
    const info = () => ray.memory().objects.find((o) => o.id === hex);
    assert.equal(info()?.pins, 1, "the view pins it");
    const flood = Array.from({ length: 8 }, (_, i) => ray.put(pattern(2 * MiB, 50 + i)));
    assert.equal(info()?.where, "shared");
    assert.ok(Buffer.from(view).equals(Buffer.from(pattern(2 * MiB, 5))), "the view still reads the object");
    flood.length = 0;

    // a guest holding the object (by a nested ref, got inside the guest) while the driver drops its ref
    const mod = await ray.load(guest("store"));
    const sleepy = mod.fn<[number], number>("sleepy");
    const getThenWait = mod.fn<[ObjectRef<Uint8Array>[], ObjectRef<number>[], number], number>("getThenWait");
    let held: ObjectRef<Uint8Array> | undefined = ray.put(pattern(3 * MiB, 6)) as ObjectRef<Uint8Array>;
    const heldHex = held.hex;
    const result = getThenWait.remote([held], [sleepy.remote(800)], 1);
    held = undefined;
    await collect();
    assert.ok(ray.memory().objects.some((o) => o.id === heldHex), "the running task keeps it");
    assert.equal(await ray.get(result), digest(pattern(3 * MiB, 6)));
    assert.ok(await eventually(() => !ray.memory().objects.some((o) => o.id === heldHex)), "freed once the task is done");
  });
});

test("the spill directory is removed at shutdown, and when the process exits without one", async () => {
  const tmp = await tempDir();
  try {
    // (shutdown is checked by every test above) a process that exits without shutdown()
    const dist = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
    const script = `
      const { init } = await import(${JSON.stringify(dist)});
      const ray = await init({ numCpus: 1, objectStoreMemory: 4 << 20, objectSpillingDirectory: ${JSON.stringify(tmp.path)}, log: () => {} });
      const keep = [];
      for (let i = 0; i < 8; i++) keep.push(ray.put(new Uint8Array(1 << 20).fill(i)));
      const dir = ray.stats().store.spillDirectory;
      console.log(dir);
      process.exit(0);
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const dir = r.stdout.trim();
    assert.ok(dir.startsWith(join(tmp.path, "wray-spill-")), `it spilled into ${dir}`);
    assert.ok(!existsSync(dir), "removed at exit");
    assert.deepEqual(readdirSync(tmp.path), []);
  } finally {
    await tmp.remove();
  }
});

test("bad store options are refused with a clear error", async () => {
  const { init } = await import("wray");
  await assert.rejects(init({ objectStoreMemory: -1 }), /objectStoreMemory must be a number of bytes >= 1 MiB/);
  await assert.rejects(init({ objectStoreMemory: Number.NaN }), RangeError);
  await assert.rejects(init({ objectSpillingDirectory: "" }), /objectSpillingDirectory/);
});
