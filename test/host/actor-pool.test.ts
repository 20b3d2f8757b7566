import assert from "node:assert/strict";
import { test } from "node:test";
import { ActorPool, GetTimeoutError, TaskError } from "wray";
import type { Driver } from "wray";
import { guest, withRay } from "../helpers.js";

interface Worker {
  double(x: number, ms?: number): number;
  fail(message: string): never;
  count(): number;
}

async function workers(ray: Driver, n: number) {
  const mod = await ray.load(guest("utils"));
  const W = mod.actor<Worker>("Worker");
  return Array.from({ length: n }, () => W.remote());
}

test("ActorPool.map returns results in submission order; mapUnordered as they finish; each actor runs one call at a time", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const actors = await workers(ray, 2);
    const pool = new ActorPool(ray, actors);
    const slowFirst = (a: (typeof actors)[number], x: number) => a.double.remote(x, x === 1 ? 1000 : 0);
    const ordered: unknown[] = [];
    for await (const y of pool.map(slowFirst, [1, 2, 3, 4, 5])) ordered.push(y);
    assert.deepEqual(ordered, [2, 4, 6, 8, 10]);
    const unordered: unknown[] = [];
    for await (const y of pool.mapUnordered(slowFirst, [1, 2, 3, 4, 5])) unordered.push(y);
    assert.deepEqual([...unordered].sort((a, b) => (a as number) - (b as number)), [2, 4, 6, 8, 10]);
    assert.notEqual(unordered[0], 2, "the slow first value does not hold back the others");
    // every call ran on one of the two actors
    const counts = (await ray.get(actors.map((a) => a.count.remote()))) as number[];
    assert.equal(counts[0]! + counts[1]!, 10);
  });
});

test("ActorPool.submit/getNext/hasNext: calls wait for a free actor; a timeout leaves the result next; a failure frees its actor", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const actors = await workers(ray, 2);
    const pool = new ActorPool(ray, actors);
    assert.equal(pool.hasNext(), false);
    await assert.rejects(pool.getNext(), /no more results to get/);
    pool.submit((a, x: number) => a.double.remote(x, 300), 1);
    pool.submit((a, m: string) => a.fail.remote(m), "bad value");
    assert.equal(pool.hasFreeActor(), false, "two calls hold both actors");
    pool.submit((a, x: number) => a.double.remote(x), 3); // waits for an actor
    assert.ok(pool.hasNext());
    await assert.rejects(pool.getNext({ timeoutMs: 0 }), (e: unknown) => e instanceof GetTimeoutError);
    assert.equal(await pool.getNext(), 2, "after a timeout the same result is next");
    await assert.rejects(pool.getNext(), (e: unknown) => e instanceof TaskError && /RangeError: bad value/.test(e.message));
    assert.equal(await pool.getNext(), 6, "the failed call's actor was freed for the waiting one");
    assert.equal(pool.hasNext(), false);
    assert.equal(pool.hasFreeActor(), true);
    const a = pool.popIdle()!;
    const b = pool.popIdle()!;
    assert.equal(pool.popIdle(), undefined);
    pool.submit((w, x: number) => w.double.remote(x), 5);
    assert.equal(pool.hasFreeActor(), false);
    pool.push(a);
    assert.throws(() => pool.push(a), /in the pool already/);
    assert.equal(await pool.getNextUnordered(), 10, "the pushed actor took the waiting call");
    pool.push(b);
    assert.throws(() => new ActorPool(ray, "x" as never), /takes an array of actor handles/);
    assert.throws(() => pool.submit("x" as never, 1), /fn must be a function/);
  });
});

test("ActorPool inside a guest: map in order and mapUnordered as they finish", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("utils"));
    const r = (await ray.get(mod.fn("poolMap").remote([1, 2, 3, 4], 2), { timeoutMs: 120_000 })) as { ordered: number[]; unordered: number[] };
    assert.deepEqual(r.ordered, [2, 4, 6, 8]);
    assert.deepEqual([...r.unordered].sort((a, b) => a - b), [2, 4, 6, 8]);
    assert.notEqual(r.unordered[0], 2);
  });
});
