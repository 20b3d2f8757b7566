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
