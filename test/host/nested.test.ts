import assert from "node:assert/strict";
import { test } from "node:test";
import { guest, withRay } from "../helpers.js";

test("fib(15) with nested tasks finishes on 2 CPUs", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const fib = (await ray.load(guest("nested"))).fn<[number], number>("fib");
    assert.equal(await ray.get(fib.remote(15)), 610);
    const s = ray.stats();
    assert.equal(s.scheduler.queued, 0);
    assert.deepEqual(s.scheduler.resources.available, s.scheduler.resources.total, "every CPU came back");
  });
});

test("fib(15) finishes even with a single CPU", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const fib = (await ray.load(guest("nested"))).fn<[number], number>("fib");
    assert.equal(await ray.get(fib.remote(15)), 610);
  });
});

test("many parents waiting on children at once do not deadlock", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("nested"));
    const sos = mod.fn<[number], number>("sumOfSquares");
    const refs = Array.from({ length: 20 }, (_, i) => sos.remote(i + 5));
    const expected = Array.from({ length: 20 }, (_, i) => {
      let s = 0;
      for (let k = 0; k < i + 5; k++) s += k * k;
      return s;
    });
    assert.deepEqual(await ray.get(refs), expected);
  });
});

test("wait and get with a timeout work inside guests", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("nested"));
    assert.deepEqual(await ray.get(mod.fn("waitInside").remote()), { ready: 1, pending: 1 });
    assert.equal(await ray.get(mod.fn("getWithTimeout").remote(30)), "WRAY_GET_TIMEOUT");
  });
});

test("a ref put by a guest can be passed to its child task", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("nested"));
    assert.equal(await ray.get(mod.fn("chain").remote(7)), 49);
  });
});

test("isolates started while parents wait are stopped once idle", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2, idleIsolateTimeoutMs: 200 }, async (ray) => {
    const mod = await ray.load(guest("nested"));
    const parent = mod.fn<[number], number>("parentWithDeadline");
    assert.deepEqual(await ray.get(Array.from({ length: 6 }, () => parent.remote(50))), [50, 50, 50, 50, 50, 50]);
    assert.ok(ray.stats().scheduler.isolates > 2, `the pool grew while parents waited (${ray.stats().scheduler.isolates})`);
    const deadline = Date.now() + 20_000;
    while (ray.stats().scheduler.isolates > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(ray.stats().scheduler.isolates, 2, "back to numIsolates");
    // and they still work
    assert.equal(await ray.get(mod.fn("square").remote(9)), 81);
  });
});
