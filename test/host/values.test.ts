// Values arrive exactly as they were sent, or are refused where they are sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ObjectRef, TaskError } from "wray";
import { guest, withRay } from "../helpers.js";

const faithful: [string, unknown][] = [
  ["Map", new Map<unknown, unknown>([["a", 1], [2, [3]], [null, "n"]])],
  ["nested Map and Set", { model: { weights: new Map([["w1", new Float32Array([0.5, -1])]]), tags: new Set(["x", "y"]) } }],
  ["Set of mixed values", new Set([1, "two", [3], { four: 4 }])],
  ["ArrayBuffer", Uint8Array.of(1, 2, 3, 250).buffer],
  ["DataView", new DataView(Uint8Array.of(7, 8, 9).buffer)],
  ["Date", new Date(Date.UTC(2026, 11, 5, 12, 0, 0, 999))],
  ["empty Map and Set", [new Map(), new Set(), new ArrayBuffer(0)]],
];

test("Map, Set, ArrayBuffer, DataView and Date round-trip exactly through put/get, task arguments and results", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const echo = (await ray.load(guest("basic"))).fn<[unknown], unknown>("echo");
    for (const [name, v] of faithful) {
      assert.deepEqual(await ray.get(ray.put(v)), v, `${name} through put/get`);
      assert.deepEqual(await ray.get(echo.remote(v)), v, `${name} as an argument and a result`);
      assert.deepEqual(await ray.get(echo.remote(ray.put(v))), v, `${name} as a ref argument`);
    }
  });
});

test("a ref inside a Map keeps its object alive and stays a ref", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const echo = (await ray.load(guest("basic"))).fn<[unknown], Map<string, ObjectRef<string>>>("echo");
    const back = await ray.get(echo.remote(new Map([["r", ray.put("inside")]])));
    const r = back.get("r");
    assert.ok(r instanceof ObjectRef);
    assert.equal(await ray.get(r), "inside");
  });
});

test("remote() and put() refuse a value that cannot arrive as it is, naming where in it the part is", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const mod = await ray.load(guest("basic"));
    const add = mod.fn<[number, unknown], number>("add");
    assert.throws(() => add.remote(1, { weights: () => 0 }), (e: unknown) => e instanceof TypeError && /^add\.remote\(\): args\[1\]\.weights is a function/.test(e.message));
    assert.throws(() => ray.put({ at: new Date(NaN) }), /^TypeError: put\(\): value\.at is an invalid Date/);
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    assert.throws(() => add.remote(1, cyclic), /args\[1\]\.me refers back to args\[1\], which contains it \(a cycle\)/);
    assert.throws(() => add.remote(1, [new (class Vec {})()]), /args\[1\]\[0\] is an instance of class Vec/);
    assert.equal(ray.stats().scheduler.queued, 0, "nothing was submitted");
    assert.equal(await ray.get(add.remote(1, 2)), 3, "the driver carries on");
  });
});

test("a guest is held to the same rule: a result or argument that cannot be sent fails with where it is", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const mod = await ray.load(guest("errors"));
    await assert.rejects(ray.get(mod.fn("returnsInstance").remote()), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      assert.equal(e.guestName, "TypeError");
      assert.match(e.guestMessage, /task 'returnsInstance' returned a value that cannot be sent: result\.points\[0\] is an instance of class Point/);
      return true;
    });
    assert.match(await ray.get(mod.fn<[], string>("submitsFunction").remote()), /^TypeError: ok\.remote\(\): args\[0\]\.f is a function/);
  });
});

test("large typed arrays go into shared memory whole and come back as zero-copy views of the same type; ArrayBuffer and DataView as copies", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0, objectStoreMemory: 256 << 20 }, async (ray) => {
    const n = 300_000; // past the inline size
    const f32 = Float32Array.from({ length: n }, (_, i) => i / 3);
    const backing = new ArrayBuffer(8 * n + 24);
    const f64 = new Float64Array(backing, 16, n).map((_, i) => -i * 1.5); // not at the start of its buffer
    const i16 = Int16Array.from({ length: n + 1 }, (_, i) => (i % 65536) - 32768); // an odd byte count of 2-byte elements
    const big = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 3n - 7n);
    const u8 = new Uint8Array(new SharedArrayBuffer(n + 16)).subarray(3, 3 + n).map((_, i) => i * 7); // shared, misaligned
    const kept: unknown[] = [];
    for (const v of [f32, f64, i16, big, u8]) {
      const what = `${v.constructor.name} of ${v.length}`;
      const got = await ray.get(ray.put(v));
      kept.push(got);
      assert.equal(got.constructor, v.constructor, `${what}: the same type`);
      assert.ok(got.buffer instanceof SharedArrayBuffer, `${what}: a view of the store's shared memory, not a copy`);
      assert.equal(got.length, v.length, what);
      assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)), `${what}: every byte`);
    }
    assert.equal(ray.stats().store.pinnedObjects, kept.length, "each view pins its object");
    kept.length = 0;
    // a task's large typed-array result lies aligned in its block: a view too
    const echo = (await ray.load(guest("basic"))).fn<[Float64Array], Float64Array>("echo");
    const echoed = await ray.get(echo.remote(f64));
    assert.ok(echoed.buffer instanceof SharedArrayBuffer && echoed.every((x, i) => x === f64[i]), "a task's Float64Array result is a view, every element right");
    // a guest decodes the same bytes (extension 3 in ext 32)
    const typed = (await ray.load(guest("basic"))).fn<[Float64Array, Int32Array], { sum: number; out: Float32Array }>("typed");
    const ints = Int32Array.from({ length: n }, (_, i) => i % 10);
    const want = f64.reduce((a, x) => a + x, 0) + ints.reduce((a, x) => a + x, 0);
    const { sum } = await ray.get(typed.remote(ray.put(f64), ray.put(ints)));
    assert.ok(Math.abs(sum - want) <= 1e-9 * Math.abs(want), `the guest's sum ${sum}, expected ${want}`);
    // ArrayBuffer and DataView cannot be views of shared memory: they come back as private copies
    const ab = Uint8Array.from({ length: n }, (_, i) => i & 255).buffer;
    const gotAb = await ray.get(ray.put(ab));
    assert.ok(gotAb instanceof ArrayBuffer && Buffer.from(gotAb).equals(Buffer.from(ab)), "ArrayBuffer");
    const dv = new DataView(ab, 5, n - 10);
    const gotDv = await ray.get(ray.put(dv));
    assert.ok(gotDv instanceof DataView && gotDv.byteLength === n - 10 && Buffer.from(gotDv.buffer).equals(Buffer.from(ab, 5, n - 10)), "DataView");
  });
});
