import assert from "node:assert/strict";
import { test } from "node:test";
import { TaskCancelledError } from "wray";
import { eventually, guest, logInto, withRay } from "../helpers.js";

test("async tasks await ObjectRefs (and getAsync/waitAsync), with failures and timeouts raised at the await", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("async"));
    assert.equal(await ray.get(mod.fn("immediate").remote(21)), 42);
    assert.equal(await ray.get(mod.fn("sumOfTwo").remote(2, 3)), 5);
    assert.deepEqual(await ray.get(mod.fn("gather").remote([1, 2, 3])), { all: [1, 2, 3], first: 3 });
    assert.equal(await ray.get(mod.fn("catches").remote()), "caught: task 'boom' failed: RangeError: boom in a child");
    assert.equal(await ray.get(mod.fn("timesOut").remote()), "WRAY_GET_TIMEOUT");
    // many at once, on 2 CPUs: each waits without holding its CPU, so none waits for the others to finish
    const refs = Array.from({ length: 20 }, (_, i) => mod.fn("sumOfTwo").remote(i, 1));
    assert.deepEqual(await ray.get(refs, { timeoutMs: 120_000 }), Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

test("async actors: calls keep their order; with maxConcurrency they interleave at their awaits", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("async"));
    const a = mod.actor("Accumulator").remote();
    assert.deepEqual(await ray.get([a.add!.remote(1), a.add!.remote(2), a.add!.remote(3)]), [1, 3, 6]);
    assert.deepEqual(await ray.get(a.read!.remote()), { total: 6, log: ["add 1", "add 2", "add 3"] });
    // one at a time: the second starts after the first ends
    const one = mod.actor("Accumulator").remote();
    assert.deepEqual(await ray.get([one.step!.remote("A", 500), one.step!.remote("B", 10)], { timeoutMs: 60_000 }), ["A", "B"]);
    assert.deepEqual(((await ray.get(one.read!.remote())) as { log: string[] }).log, ["start A", "end A", "start B", "end B"]);
    // maxConcurrency 2: B runs while A awaits, and ends first
    const two = mod.actor("Accumulator", { maxConcurrency: 2 }).remote();
    assert.deepEqual(await ray.get([two.step!.remote("A", 1000), two.step!.remote("B", 10)], { timeoutMs: 60_000 }), ["A", "B"]);
    assert.deepEqual(((await ray.get(two.read!.remote())) as { log: string[] }).log, ["start A", "start B", "end B", "end A"]);
    // a ref returned inside a value stays a ref
    const [inner] = (await ray.get(a.child!.remote(7))) as unknown[];
    assert.equal(await ray.get(inner as never), 7);
  });
});

test("a cancelled async task stops at its await: the await throws the cancel", async () => {
  const lines: string[] = [];
  await withRay({ numCpus: 2, log: logInto(lines) }, async (ray) => {
    const mod = await ray.load(guest("async"));
    const ref = mod.fn("awaitsLong").remote(5000);
    assert.ok(await eventually(() => lines.some((l) => l.includes("awaitsLong: awaiting")), 30_000), "the task started and awaits");
    ray.cancel(ref);
    await assert.rejects(ray.get(ref, { timeoutMs: 60_000 }), (e: unknown) => e instanceof TaskCancelledError);
    assert.ok(await eventually(() => lines.some((l) => l.includes("awaitsLong: WRAY_TASK_CANCELLED")), 30_000), `the guest's await threw the cancel: ${lines.join(" | ")}`);
  });
});

test("an async method that awaits a call to its own actor queued behind it fails with the deadlock instead of hanging", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("async"));
    const a = mod.actor("Accumulator", { name: "acc" }).remote();
    await assert.rejects(ray.get(a.selfAwait!.remote("acc"), { timeoutMs: 60_000 }), /actor Accumulator \(.*\): Accumulator\.selfAwait called get\(\) on the result of Accumulator\.add/);
    assert.deepEqual(((await ray.get(a.read!.remote())) as { total: number }).total, 1, "the call it awaited still ran, after it");
  });
});
