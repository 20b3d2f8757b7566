/**
 * The rest of Ray's API across nodes: real processes (a head with no CPUs,
 * a host that runs the tasks) and a driver in this process that owns
 * them. A cancel goes from the owner to the node the task was placed on
 * (TASK_CANCEL); a wait with fetchLocal: false pulls nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Driver, ObjectRef } from "wray";
import { TaskCancelledError, init } from "wray";
import { startCluster, until } from "../cluster.js";
import { guest, logInto } from "../helpers.js";

const TEST_MS = 180_000;
/** Only the host has `pool`: tasks that ask for it run there, not on the driver or the head. */
const POOL = { resources: { pool: 1 } };

async function withCluster(hostArgs: string[], fn: (ray: Driver, log: string[]) => Promise<void>): Promise<void> {
  const cluster = await startCluster({ heartbeatMs: 500, headArgs: ["--num-cpus", "0"], hosts: [hostArgs] });
  const log: string[] = [];
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: logInto(log) });
    await fn(ray, log);
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
}

async function rejectsCancelled(ray: Driver, ref: ObjectRef, why?: RegExp): Promise<void> {
  await assert.rejects(ray.get(ref, { timeoutMs: 60_000 }), (e: unknown) => {
    assert.ok(e instanceof TaskCancelledError, `expected TaskCancelledError, got ${String(e)}`);
    if (why) assert.match(e.message, why);
    return true;
  });
}

test("cancel on another node: force stops a looping task there, queued ones behind it run; a polling one stops; a queued one never runs", { timeout: TEST_MS }, async () => {
  await withCluster(["--num-cpus", "1", "--resources", '{"pool": 1}'], async (ray, log) => {
    const mod = await ray.load(guest("cancel"));
    const spin = mod.fn("spin", POOL).remote();
    const behind = [mod.fn("echo", POOL).remote("a"), mod.fn("echo", POOL).remote("b")];
    await until(async () => (await ray.clusterStatus())!.nodes.some((n) => (n.available.pool ?? 1) === 0), 30_000, "the spin to hold the host's pool");
    ray.cancel(spin, { force: true });
    await rejectsCancelled(ray, spin, /its isolate was stopped/);
    assert.deepEqual(await ray.get(behind, { timeoutMs: 60_000 }), ["a", "b"], "what waited behind it ran");

    const poll = mod.fn("poll", POOL).remote();
    const queued = mod.fn("echo", POOL).remote("never");
    ray.cancel(queued);
    await rejectsCancelled(ray, queued, /was cancelled/);
    ray.cancel(poll);
    await rejectsCancelled(ray, poll, /task 'poll'/);
    await until(() => log.some((l) => l.includes("poll saw its cancel")), 30_000, "the host's guest to see its cancel (its log line reaches the driver)");
    assert.equal(await ray.get(mod.fn("echo", POOL).remote("after"), { timeoutMs: 60_000 }), "after");
  });
});

test("recursive cancel across nodes reaches the children a remote task submitted; actor calls there are cancelled too", { timeout: TEST_MS }, async () => {
  await withCluster(["--num-cpus", "3", "--resources", '{"pool": 1}'], async (ray, log) => {
    const mod = await ray.load(guest("cancel"));
    const parent = mod.fn("parent", POOL).remote(2);
    await until(() => log.some((l) => l.includes("parent submitted 2 children")), 30_000, "the parent to submit its children");
    ray.cancel(parent);
    await rejectsCancelled(ray, parent, /task 'parent'/);
    await until(() => log.filter((l) => l.includes("poll saw its cancel")).length === 2, 60_000, "both children to see their cancel");

    const r = mod.actor("Recorder", POOL).remote();
    assert.deepEqual(await ray.get(r.log!.remote(), { timeoutMs: 60_000 }), []);
    const running = r.poll!.remote();
    const skipped = r.work!.remote("b", 0);
    const after = r.work!.remote("c", 0);
    assert.throws(() => ray.cancel(running, { force: true }), /actor call/);
    ray.cancel(skipped);
    await rejectsCancelled(ray, skipped);
    ray.cancel(running);
    await rejectsCancelled(ray, running);
    assert.equal(await ray.get(after, { timeoutMs: 60_000 }), "c");
    assert.deepEqual(await ray.get(r.log!.remote(), { timeoutMs: 60_000 }), ["poll (cancelled)", "c"]);
  });
});

test("wait with fetchLocal: false is answered by a result on another node without pulling it; the default pulls it", { timeout: TEST_MS }, async () => {
  await withCluster(["--num-cpus", "1", "--resources", '{"pool": 1}'], async (ray) => {
    const mod = await ray.load(guest("cluster"));
    const N = 2_000_000;
    const ref = mod.fn("makeBytes", POOL).remote(N, 3);
    const before = ray.stats().store.arenaBytes;
    const { ready } = await ray.wait([ref], { fetchLocal: false, timeoutMs: 60_000 });
    assert.deepEqual(ready, [ref], "ready once it exists on the host");
    assert.ok(ray.stats().store.arenaBytes < before + N, "nothing was pulled");
    const local = await ray.wait([ref], { timeoutMs: 60_000 });
    assert.deepEqual(local.ready, [ref]);
    assert.ok(ray.stats().store.arenaBytes >= before + N, "the default brought it here");
    assert.equal(((await ray.get(ref)) as Uint8Array).length, N);
    await assert.rejects(ray.wait([ref], { fetchLocal: "no" as never }), /fetchLocal must be a boolean/);
  });
});
