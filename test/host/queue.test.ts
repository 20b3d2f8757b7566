// Queue (Ray's ray.util.queue.Queue) and the defer/resolve primitive under
// it: an actor call whose result a later call of the same actor gives.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ActorDiedError, Queue, QueueEmptyError, QueueFullError, TaskCancelledError } from "wray";
import type { Driver } from "wray";
import { guest, withRay } from "../helpers.js";

const isEmpty = (e: unknown) => e instanceof QueueEmptyError && e.code === "WRAY_QUEUE_EMPTY";
const isFull = (e: unknown) => e instanceof QueueFullError && e.code === "WRAY_QUEUE_FULL";

/** Settles within `ms`? (true: settled; the promise is left to run on otherwise). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

test("Queue: FIFO order, maxsize, nowait errors, batches, size/empty/full", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const q = await Queue.create<unknown>(ray, { maxsize: 3 });
    assert.equal(await q.empty(), true);
    await q.put(1);
    await q.put({ a: [2, "x"], b: new Map([[1, 2]]) });
    await q.putNowait(new Uint8Array([3, 4]));
    assert.equal(await q.size(), 3);
    assert.equal(await q.full(), true);
    await assert.rejects(q.putNowait(4), isFull);
    await assert.rejects(q.put(4, { block: false }), isFull);
    assert.deepEqual(await q.get(), 1);
    assert.deepEqual(await q.get(), { a: [2, "x"], b: new Map([[1, 2]]) }, "values come back exactly as put");
    assert.deepEqual(await q.getNowait(), new Uint8Array([3, 4]));
    await assert.rejects(q.getNowait(), isEmpty);
    await assert.rejects(q.get({ block: false }), isEmpty);
    await q.putNowaitBatch([5, 6]);
    await assert.rejects(q.putNowaitBatch([7, 8]), isFull, "a batch goes in whole or not at all");
    assert.equal(await q.size(), 2);
    await assert.rejects(q.getNowaitBatch(3), isEmpty);
    assert.deepEqual(await q.getNowaitBatch(2), [5, 6]);
    // bad arguments are refused where they are made
    await assert.rejects(Queue.create(ray, { maxsize: -1 }), RangeError);
    await assert.rejects(q.get({ timeoutMs: -5 }), RangeError);
    await assert.rejects(q.put(1, { block: "yes" as never }), TypeError);
    // an unbounded queue
    const u = await Queue.create<number>(ray);
    await u.putNowaitBatch(Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(await u.full(), false);
    assert.deepEqual(await u.getNowaitBatch(1000), Array.from({ length: 1000 }, (_, i) => i));
  });
});

test("Queue: a blocking get waits for a put without holding the actor; getters are served in order; a timed-out get loses no item", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const q = await Queue.create<string>(ray);
    const first = q.get();
    const second = q.get();
    assert.equal(await settlesWithin(first, 100), false, "get waits on an empty queue");
    // the actor answers other calls meanwhile
    assert.equal(await q.size(), 0);
    await q.put("a");
    await q.put("b");
    assert.deepEqual(await Promise.all([first, second]), ["a", "b"]);
    // a get whose time ran out is not handed the next item: it stays in the queue
    const t0 = performance.now();
    await assert.rejects(q.get({ timeoutMs: 150 }), isEmpty);
    assert.ok(performance.now() - t0 >= 140, "it waited for its timeout");
    await q.put("c");
    assert.equal(await q.size(), 1, "the item went to no expired getter");
    assert.equal(await q.get({ timeoutMs: 5000 }), "c");
    // large items (shared memory rather than inline), to a waiting getter and through the queue
    const big = new Uint8Array(300_000).map((_, i) => i % 251);
    const waiting = q.get() as Promise<unknown>;
    await (q as Queue<unknown>).put(big);
    await (q as Queue<unknown>).put(big);
    assert.deepEqual(await waiting, big);
    assert.deepEqual(await q.get(), big);
  });
});

test("Queue: a blocking put on a full queue waits for a get; one that timed out does not add its item", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const q = await Queue.create<number>(ray, { maxsize: 1 });
    await q.put(1);
    await assert.rejects(q.put(2, { timeoutMs: 100 }), isFull);
    const blocked = q.put(3);
    assert.equal(await settlesWithin(blocked, 100), false, "put waits on a full queue");
    assert.equal(await q.get(), 1);
    await blocked;
    assert.equal(await q.get(), 3, "the timed-out put's item never went in");
    assert.equal(await q.size(), 0);
  });
});

test("Queue from guests: producer and consumer tasks share a driver's queue; a guest's get times out with QueueEmptyError", async () => {
  await withRay({ numCpus: 2 }, async (ray: Driver) => {
    const mod = await ray.load(guest("utils"));
    const q = await Queue.create<number>(ray, { maxsize: 4 });
    // the consumer starts first and waits; the producer blocks on the bound
    const consumed = mod.fn("consume").remote(q.actor, 50);
    const produced = mod.fn("produce").remote(q.actor, 50);
    assert.deepEqual(await ray.get(consumed), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(await ray.get(produced), 50);
    // an empty queue as a guest sees it: a get with a timeout, a nowait get
    assert.deepEqual(await ray.get(mod.fn("queueErrors").remote(q.actor, 100)), [
      "QueueEmptyError WRAY_QUEUE_EMPTY",
      "QueueEmptyError WRAY_QUEUE_EMPTY",
      "size 0 empty true full false",
    ]);
  });
});

test("Queue: shutdown kills its actor; a get waiting on it fails with ActorDiedError", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const q = await Queue.create(ray, { actorOptions: { name: "jobs" } });
    const waiting = q.get();
    const again = await Queue.fromActor(ray, await ray.getActor("jobs"));
    assert.equal(again.maxsize, 0);
    await again.put("via the name");
    assert.equal(await waiting, "via the name");
    const orphan = q.get();
    assert.equal(await settlesWithin(orphan, 50), false);
    await q.shutdown();
    await assert.rejects(orphan, (e: unknown) => e instanceof ActorDiedError);
    await assert.rejects(q.put(1), (e: unknown) => e instanceof ActorDiedError);
  });
});

interface Mailbox {
  take(timeoutMs?: number): unknown;
  deferThenThrow(message: string): unknown;
  send(x: unknown): boolean;
  echo(x: unknown): unknown;
  count(): number;
}

test("defer/resolve: a deferred call is given its value by a later call, its timeout value, or a cancel; resolve says whether it gave it", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("utils"));
    const box = mod.actor<Mailbox>("Mailbox").remote();
    const taken = box.take.remote();
    assert.equal(await settlesWithin(ray.get(taken), 100), false, "a deferred call waits");
    assert.equal(await ray.get(box.count.remote()), 0, "and does not hold its actor");
    assert.equal(await ray.get(box.send.remote({ x: 1 })), true);
    assert.deepEqual(await ray.get(taken), { x: 1 }, "what send gave, not what take returned");
    // a timeout gives the value named at defer; a later resolve finds nothing waiting
    const timed = box.take.remote(50);
    assert.equal(await ray.get(timed), "timed out");
    assert.equal(await ray.get(box.send.remote("late")), false, "resolve of a call that timed out gives nothing");
    // a cancel of a deferred call fails it at once, and resolve then gives nothing
    const cancelled = box.take.remote();
    await ray.get(box.count.remote()); // its take has run (and deferred)
    ray.cancel(cancelled);
    await assert.rejects(ray.get(cancelled), (e: unknown) => e instanceof TaskCancelledError);
    assert.equal(await ray.get(box.send.remote("after cancel")), false);
    assert.throws(() => ray.cancel(box.take.remote(), { force: true }), TypeError, "force is refused for actor calls");
    assert.equal(await ray.get(box.send.remote("to the forced one")), true);
    // defer and resolve in one call
    assert.deepEqual(await ray.get(box.echo.remote(5)), { echoed: 5 });
    // a method that throws after deferring fails its call with its error, and leaves nothing waiting
    await assert.rejects(ray.get(box.deferThenThrow.remote("no answer")), /RangeError: no answer/);
    assert.equal(await ray.get(box.send.remote("to nobody")), false);
    // where defer is refused: a task; a method with two returns
    await assert.rejects(ray.get(mod.fn("deferInTask").remote()), (e: unknown) => e instanceof TypeError && /only an actor method can defer its result \('deferInTask' is a task\)/.test(e.message));
    const two = box.take.options({ numReturns: 2 }).remoteN();
    await assert.rejects(ray.get(two[0]!), /numReturns 2; only a method with one return can defer/);
    // a kill fails what the actor deferred
    const orphan = box.take.remote();
    await ray.get(box.count.remote());
    await ray.kill(box);
    await assert.rejects(ray.get(orphan), (e: unknown) => e instanceof ActorDiedError);
  });
});
