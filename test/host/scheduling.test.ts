// The single-host scheduler with real isolates: no task stranded behind a
// running one, no stall on resources actors hold, no pool growth beyond
// what blocked tasks need.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Driver, ObjectRef } from "wray";
import { guest, logInto, withRay } from "../helpers.js";

/** Gets `refs`, failing with `step` and the scheduler's state if they are not all ready within `ms`. */
async function getAll<T>(ray: Driver, refs: ObjectRef<T>[], ms: number, step: string): Promise<T[]> {
  try {
    return (await ray.get(refs, { timeoutMs: ms })) as T[];
  } catch (e) {
    const { ready } = await ray.wait(refs, { numReturns: refs.length, timeoutMs: 0 });
    throw new Error(`${step}: ${ready.length} of ${refs.length} ready after ${ms} ms; scheduler ${JSON.stringify(ray.stats().scheduler)}`, { cause: e });
  }
}

/** Polls `cond` (without fixed sleeps standing in for it) until it holds, or fails naming `step`. */
async function until(cond: () => boolean, ms: number, step: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${step}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("short tasks never wait behind a task that runs forever while a CPU is free", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const mod = await ray.load(guest("sched"));
    const busy = mod.fn<[number, number], number>("busy");
    // measured durations first: short tasks are then pipelined deeply
    await getAll(ray, Array.from({ length: 40 }, (_, i) => busy.remote(1, i)), 60_000, "warm-up");
    const runaway = mod.fn<[], number>("forever").remote();
    const shorts = Array.from({ length: 50 }, (_, i) => busy.remote(1, i));
    assert.deepEqual(await getAll(ray, shorts, 60_000, "50 short tasks beside a runaway one"), [...Array(50).keys()]);
    // and again, with the runaway task's isolate already known to be busy
    const more = Array.from({ length: 50 }, (_, i) => mod.fn<[number, number], number>("add").remote(i, 1));
    assert.equal((await getAll(ray, more, 60_000, "50 more")).length, 50);
    const { ready } = await ray.wait([runaway], { timeoutMs: 0 });
    assert.equal(ready.length, 0, "the runaway task still runs");
    const s = ray.stats().scheduler;
    assert.equal(s.queued, 0);
    assert.equal(s.resources.available.CPU, 1, "one CPU is the runaway task's, the other is free");
  });
});

test("a long task submitted amid short ones holds back none of those behind it", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const mod = await ray.load(guest("sched"));
    const busy = mod.fn<[number, number], number>("busy");
    await getAll(ray, Array.from({ length: 40 }, (_, i) => busy.remote(1, i)), 60_000, "warm-up");
    const before = Array.from({ length: 20 }, (_, i) => busy.remote(1, i));
    const long = busy.remote(600_000, -1); // ten minutes: the test is over long before
    const after = Array.from({ length: 50 }, (_, i) => busy.remote(1, 100 + i));
    await getAll(ray, [...before, ...after], 60_000, "short tasks around a long one");
    const { ready } = await ray.wait([long], { timeoutMs: 0 });
    assert.equal(ready.length, 0, "they did not wait for the long task");
  });
});

test("a task waiting for a resource an actor holds stalls no other task, says who holds it, and runs after the actor dies", { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  await withRay({ numCpus: 2, numGpus: 0, resources: { gate: 1 }, log: logInto(lines) }, async (ray) => {
    const mod = await ray.load(guest("sched"));
    const holder = mod.actor<{ ping(): string }>("Holder", { resources: { gate: 1 } }).remote();
    assert.equal(await ray.get(holder.ping.remote()), "pong");
    const gated = mod.fn<[number, number], number>("add", { resources: { gate: 1 } }).remote(1, 2);
    const add = mod.fn<[number, number], number>("add");
    const others = Array.from({ length: 11 }, (_, i) => add.remote(i, 1));
    assert.deepEqual(await getAll(ray, others, 60_000, "CPU-only tasks beside the waiting one"), Array.from({ length: 11 }, (_, i) => i + 1));
    // a second actor that needs the gate waits too, and holds back nothing either
    const second = mod.actor<{ ping(): string }>("Holder", { resources: { gate: 1 } }).remote();
    const free = mod.actor<{ ping(): string }>("Holder").remote();
    assert.equal(await ray.get(free.ping.remote(), { timeoutMs: 60_000 }), "pong");
    assert.equal((await getAll(ray, [add.remote(2, 2)], 60_000, "a task after the waiting actor"))[0], 4);

    const waiting = ray.stats().scheduler.waiting;
    const task = waiting.find((w) => w.what === "task 'add'");
    assert.ok(task, `stats name the waiting task: ${JSON.stringify(waiting)}`);
    assert.equal(task.heldByActors, true);
    assert.equal(task.shortfall[0]!.resource, "gate");
    assert.match(task.shortfall[0]!.heldBy.join(), /^actor Holder \([0-9a-f]{8}\)$/);
    assert.ok(waiting.some((w) => /^actor Holder/.test(w.what)), "and the waiting actor");
    await until(() => lines.some((l) => /task 'add' has waited [\d.]+ s for gate \(needs 1, 0 of 1 free, held by actor Holder/.test(l)), 30_000, "the log names the resource and its holder");

    await ray.kill(holder);
    assert.equal(await ray.get(gated, { timeoutMs: 60_000 }), 3, "the gated task runs once the actor is gone");
    await ray.kill(second);
  });
});

test("a waiting task runs its own queued work itself rather than growing the pool", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2, numGpus: 0 }, async (ray) => {
    const mod = await ray.load(guest("sched"));
    // the parent waits for a long child on the other isolate; its short child is queued
    assert.equal(await ray.get(mod.fn<[number], number>("parentOfLong").remote(500), { timeoutMs: 60_000 }), 3);
    assert.equal(ray.stats().scheduler.isolates, 2, "the parked parent ran its short child: no third isolate");
    const fib = (await ray.load(guest("nested"))).fn<[number], number>("fib");
    assert.equal(await ray.get(fib.remote(16), { timeoutMs: 100_000 }), 987);
    // waiting parents run their subtrees' work (it grew to 12-16 isolates before)
    assert.ok(ray.stats().scheduler.isolates <= 4, `isolates: ${ray.stats().scheduler.isolates}`);
  });
});

test("results of queued tasks do not wake the host one by one: it hears of them when the isolate starts its last queued task or runs out", { timeout: 120_000 }, async () => {
  // a sleeping host (no spinning) woken per result spent 15-25 µs of CPU on each, taken from the isolates' cores
  await withRay({ numCpus: 1, numGpus: 0, spinMs: 0 }, async (ray) => {
    // pure computation (no host calls, which wake the host themselves), short enough that many are queued at once even on a loaded machine
    const mod = await ray.load(guest("basic"));
    const sumBytes = mod.fn<[Uint8Array, number], number>("sumBytes");
    const data = ray.put(new Uint8Array(200).fill(1));
    await getAll(ray, [sumBytes.remote(data, 1)], 60_000, "warm-up");
    const before = ray.stats().isolates.hostWakeups;
    const n = 200;
    const out = await getAll(ray, Array.from({ length: n }, () => sumBytes.remote(data, 1)), 60_000, `${n} queued tasks`);
    assert.deepEqual(out, new Array(n).fill(200));
    const wakeups = ray.stats().isolates.hostWakeups - before;
    assert.ok(wakeups > 0, "the host slept and was woken");
    assert.ok(wakeups < n / 4, `the host was woken ${wakeups} times for ${n} results of queued tasks`);
  });
});
