/**
 * The rest of Ray's API across nodes: real processes (a head with no CPUs,
 * a host that runs the tasks) and a driver in this process that owns
 * them. A cancel goes from the owner to the node the task was placed on
 * (TASK_CANCEL); a wait with fetchLocal: false pulls nothing; a Queue's
 * deferred results cross the network as any actor call's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Driver, ObjectRef, PlacementGroup } from "wray";
import { ActorDiedError, PlacementGroupInfeasibleError, PlacementGroupRemovedError, Queue, QueueEmptyError, TaskCancelledError, init } from "wray";
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

/** The hosts (8-digit node IDs) holding each bundle of group `pg`, from the cluster's status. */
async function bundleNodes(ray: Driver, pg: string, count: number): Promise<(string | undefined)[]> {
  const status = (await ray.clusterStatus())!;
  return Array.from({ length: count }, (_, i) => status.nodes.find((n) => n.state === "alive" && (n.resources[`bundle_group_${i}_${pg}`] ?? 0) > 0)?.nodeId.slice(0, 8));
}

test("placement groups of every strategy on two hosts: where their bundles go, tasks and actors in them, infeasible ones, removal", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: 500, headArgs: ["--num-cpus", "0"], hosts: [["--num-cpus", "2"], ["--num-cpus", "2"]] });
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
    const mod = await ray.load(guest("cancel"));
    const hosts = cluster.hosts.map((h) => h.nodeId);
    const cases = [
      { strategy: "STRICT_SPREAD", bundles: [{ CPU: 1 }, { CPU: 1 }], check: (n: string[]) => n[0] !== n[1] },
      { strategy: "SPREAD", bundles: [{ CPU: 1 }, { CPU: 1 }], check: (n: string[]) => n[0] !== n[1] },
      { strategy: "STRICT_PACK", bundles: [{ CPU: 1 }, { CPU: 1 }], check: (n: string[]) => n[0] === n[1] },
      // no host has 3 CPUs: PACK spreads over both
      { strategy: "PACK", bundles: [{ CPU: 2 }, { CPU: 1 }], check: (n: string[]) => n[0] !== n[1] },
    ] as const;
    for (const c of cases) {
      const pg: PlacementGroup = ray.placementGroup([...c.bundles], { strategy: c.strategy });
      await pg.ready();
      const nodes = (await bundleNodes(ray, pg.id, 2)) as string[];
      assert.ok(nodes.every((n) => hosts.includes(n)), `${c.strategy}: every bundle is on a host: ${nodes.join(", ")}`);
      assert.ok(c.check(nodes), `${c.strategy} placed its bundles on ${nodes.join(", ")}`);
      const refs: ObjectRef[] = c.bundles.map((_, i) => mod.fn("echo", { placementGroup: pg, bundleIndex: i }).remote(`${c.strategy} ${i}`));
      assert.deepEqual(await ray.get(refs, { timeoutMs: 60_000 }), c.bundles.map((_, i) => `${c.strategy} ${i}`));
      const a = mod.actor("Recorder", { placementGroup: pg, bundleIndex: 0, numCpus: 1 }).remote();
      assert.equal(await ray.get(a.work!.remote("in", 0), { timeoutMs: 60_000 }), "in");
      const running = mod.fn("poll", { placementGroup: pg, bundleIndex: 1 }).remote();
      await ray.removePlacementGroup(pg);
      await assert.rejects(ray.get(a.log!.remote(), { timeoutMs: 60_000 }), (e: unknown) => e instanceof ActorDiedError && /placement group/.test(e.message), `${c.strategy}: the actor died with its group`);
      await assert.rejects(ray.get(running, { timeoutMs: 60_000 }), (e: unknown) => e instanceof PlacementGroupRemovedError, `${c.strategy}: the running task failed with its group`);
      assert.deepEqual(await bundleNodes(ray, pg.id, 2), [undefined, undefined], `${c.strategy}: its bundles are gone`);
    }
    // everything was freed: a group of all four CPUs fits
    const all = ray.placementGroup([{ CPU: 2 }, { CPU: 2 }], { strategy: "STRICT_SPREAD" });
    await all.ready();
    // a group that cannot fit now waits, and is placed once the CPUs are free
    const later = ray.placementGroup([{ CPU: 2 }], { strategy: "STRICT_PACK" });
    assert.equal(await Promise.race([later.ready().then(() => "ready"), new Promise((r) => setTimeout(() => r("waits"), 1500))]), "waits");
    await ray.removePlacementGroup(all);
    await later.ready();
    await ray.removePlacementGroup(later);
    for (const [bundles, strategy] of [
      [[{ CPU: 1 }, { CPU: 1 }, { CPU: 1 }], "STRICT_SPREAD"],
      [[{ CPU: 3 }], "STRICT_PACK"],
    ] as const) {
      await assert.rejects(ray.placementGroup([...bundles], { strategy }).ready(), (e: unknown) => e instanceof PlacementGroupInfeasibleError && /does not fit the \d+ live node\(s\)/.test(e.message), strategy);
    }
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
});

test("a placement group whose host dies is placed again on a live host, and its work runs there", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: 500, headArgs: ["--num-cpus", "0", "--missed-heartbeats", "3"], hosts: [["--num-cpus", "2"], ["--num-cpus", "2"]] });
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
    const mod = await ray.load(guest("cancel"));
    const pg = ray.placementGroup([{ CPU: 1 }], { strategy: "PACK" });
    await pg.ready();
    const [first] = await bundleNodes(ray, pg.id, 1);
    const victim = cluster.hosts.find((h) => h.nodeId === first)!;
    const survivor = cluster.hosts.find((h) => h !== victim)!;
    victim.proc.kill("SIGKILL");
    await until(async () => (await bundleNodes(ray!, pg.id, 1))[0] === survivor.nodeId, 60_000, "the bundle to be placed again on the surviving host");
    assert.equal(await ray.get(mod.fn("echo", { placementGroup: pg, bundleIndex: 0 }).remote("after"), { timeoutMs: 60_000 }), "after");
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
});

test("Queue across nodes: a driver's blocking get is answered by a put from a task on the host; a guest's waits too; a killed host fails the waiting get", { timeout: TEST_MS }, async () => {
  const cluster = await startCluster({ heartbeatMs: 500, headArgs: ["--num-cpus", "0", "--missed-heartbeats", "3"], hosts: [["--num-cpus", "2", "--resources", '{"pool": 3}']] });
  let ray: Driver | undefined;
  try {
    ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
    const mod = await ray.load(guest("utils"));
    // the queue's actor is on the host: the driver's calls, and their deferred results, cross the network
    const q = await Queue.create<number>(ray, { maxsize: 2, actorOptions: POOL });
    const waiting = q.get({ timeoutMs: 60_000 });
    assert.equal(await ray.get(mod.fn("produce", POOL).remote(q.actor, 3), { timeoutMs: 60_000 }), 3, "the producer's third put waited for the driver's get");
    assert.equal(await waiting, 0);
    assert.deepEqual([await q.get(), await q.get()], [1, 2]);
    await assert.rejects(q.get({ timeoutMs: 200 }), (e: unknown) => e instanceof QueueEmptyError);
    // a guest consumer on the host waits for the driver's puts
    const consumed = mod.fn("consume", POOL).remote(q.actor, 4);
    for (let i = 10; i < 14; i++) await q.put(i, { timeoutMs: 60_000 });
    assert.deepEqual(await ray.get(consumed, { timeoutMs: 60_000 }), [10, 11, 12, 13]);
    // the queue's host dies: the driver's waiting get fails, it does not hang
    const orphan = q.get();
    assert.equal(await q.size(), 0);
    cluster.hosts[0]!.proc.kill("SIGKILL");
    await assert.rejects(orphan, (e: unknown) => e instanceof ActorDiedError && /node died/.test(e.message));
  } finally {
    await ray?.shutdown();
    await cluster.stop();
  }
});
