// One behaviour suite, run against the same guest written in every guest
// language (test/guests/conformance-*). Compiled guests are checked in
// prebuilt (scripts/build-guests.mjs rebuilds them where the toolchain is).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Driver } from "wray";
import { GuestTrapError, TaskError, UnknownFunctionError, init } from "wray";
import { guest } from "./helpers.js";

interface Counter {
  incr(by?: number): number;
  get(): number;
}

const LANGUAGES = ["ts", "as", "c", "rust"] as const;

for (const lang of LANGUAGES) {
  describe(`conformance: ${lang} guest`, () => {
    let ray: Driver;
    test.before(async () => {
      ray = await init({ numCpus: 2, log: () => {} });
    });
    test.after(async () => {
      await ray.shutdown();
    });
    const load = () => ray.load(guest(`conformance-${lang}`));

    test("describes its tasks and actor classes", async () => {
      const mod = await load();
      assert.deepEqual([...mod.tasks].sort(), ["add", "collections", "echo", "fail", "square", "sumSquares", "tally", "trap"]);
      assert.deepEqual(Object.keys(mod.actors), ["Counter"]);
      assert.deepEqual([...mod.actors.Counter!].sort(), ["get", "incr"]);
    });

    test("echo returns every MessagePack value unchanged", async () => {
      const echo = (await load()).fn<[unknown], unknown>("echo");
      const values: unknown[] = [
        null,
        true,
        false,
        0,
        -1,
        127,
        -33,
        65_535,
        2 ** 40,
        -(2 ** 40),
        1.5,
        -0.25,
        "",
        "héllo ✓",
        "x".repeat(70_000),
        [1, [2, [3]], "four"],
        { a: 1, nested: { b: [true, null] } },
        new Uint8Array([1, 2, 3, 250]),
        // wray's extensions pass through unchanged
        new Map<unknown, unknown>([["a", 1], [2, { b: [3] }], [null, new Set(["x"])]]),
        new Set([1, "two", [3]]),
        Uint8Array.of(9, 8, 7).buffer,
        new Float64Array([1.5, -2]),
        new Date(Date.UTC(2026, 11, 5, 14, 12, 17, 123)),
      ];
      const got = await ray.get(values.map((v) => echo.remote(v)));
      assert.deepEqual(got, values);
    });

    test("reads and writes Map, Set and ArrayBuffer (MessagePack extensions 4, 5 and 3 kind 0)", async () => {
      const mod = await load();
      const tally = mod.fn<[Map<string, number>, Set<number>, ArrayBuffer], number[]>("tally");
      const m = new Map([["a", 1], ["b", 20], ["c", 300]]);
      assert.deepEqual(await ray.get(tally.remote(m, new Set([4, 5]), Uint8Array.of(1, 2, 250).buffer)), [3, 321, 2, 9, 3, 253]);
      assert.deepEqual(await ray.get(tally.remote(new Map(), new Set(), new ArrayBuffer(0))), [0, 0, 0, 0, 0, 0]);
      const [gm, gs, gb] = await ray.get(mod.fn<[number], [Map<string, number>, Set<number>, ArrayBuffer]>("collections").remote(20));
      assert.ok(gm instanceof Map && gs instanceof Set && gb instanceof ArrayBuffer);
      assert.deepEqual([...gm], Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
      assert.deepEqual([...gs], [...Array(20).keys()]);
      assert.deepEqual([...new Uint8Array(gb)], [...Array(20).keys()]);
    });

    test("add computes, and rejects bad arguments with the guest's error", async () => {
      const add = (await load()).fn<[unknown, unknown], number>("add");
      assert.equal(await ray.get(add.remote(2, 3)), 5);
      assert.equal(await ray.get(add.remote(0.5, 0.25)), 0.75);
      await assert.rejects(ray.get(add.remote("x", 1)), (e: unknown) => e instanceof TaskError && /two numbers/.test(e.message));
    });

    test("nested tasks: a task submits tasks and gets their results", async () => {
      const sum = (await load()).fn<[number], number>("sumSquares");
      assert.equal(await ray.get(sum.remote(20)), 2470);
      assert.equal(await ray.get(sum.remote(0)), 0);
    });

    test("a guest error fails its task with the guest's message; the next task runs", async () => {
      const mod = await load();
      await assert.rejects(ray.get(mod.fn<[string], never>("fail").remote("boom in guest")), (e: unknown) => {
        return e instanceof TaskError && !(e instanceof GuestTrapError) && /boom in guest/.test(e.message);
      });
      assert.equal(await ray.get(mod.fn<[number, number], number>("add").remote(1, 1)), 2);
    });

    test("a trap fails only its task", async () => {
      const mod = await load();
      await assert.rejects(ray.get(mod.fn<[], never>("trap").remote()), (e: unknown) => e instanceof GuestTrapError && e.trap === "unreachable");
      assert.equal(await ray.get(mod.fn<[number], number>("square").remote(7)), 49);
    });

    test("an actor keeps its state across ordered calls; actors are isolated", async () => {
      const mod = await load();
      const a = mod.actor<Counter>("Counter").remote(10);
      const b = mod.actor<Counter>("Counter").remote();
      assert.deepEqual(await ray.get([a.incr.remote(), a.incr.remote(5), b.incr.remote(), a.get.remote()]), [11, 16, 1, 16]);
      const many = Array.from({ length: 500 }, () => b.incr.remote());
      assert.equal((await ray.get(many)).at(-1), 501);
    });

    test("unknown names are refused by the host", async () => {
      const mod = await load();
      assert.throws(() => mod.fn("nope"), UnknownFunctionError);
      const c = mod.actor<Counter & { nope(): void }>("Counter").remote();
      assert.throws(() => c.nope, UnknownFunctionError);
    });
  });
}
