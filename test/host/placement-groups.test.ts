import assert from "node:assert/strict";
import { test } from "node:test";
import { ActorDiedError, InfeasibleTaskError, PlacementGroupInfeasibleError, PlacementGroupRemovedError } from "wray";
import type { Driver } from "wray";
import { guest, withRay } from "../helpers.js";

async function pending(ray: Driver, p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const r = await Promise.race([p.then(() => "settled", () => "settled"), new Promise((resolve) => setImmediate(() => resolve(marker)))]);
  return r === marker;
}

test("a placement group reserves its bundles: tasks and actors run in them, others wait for what is left; removal frees it", async () => {
  await withRay({ numCpus: 4 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const pg = ray.placementGroup([{ CPU: 1 }, { CPU: 2 }], { strategy: "PACK", name: "pair" });
    await pg.ready();
    assert.equal(pg.bundleCount, 2);
    assert.equal(pg.strategy, "PACK");
    assert.equal((await ray.getPlacementGroup("pair"))?.id, pg.id);
    assert.equal(await ray.getPlacementGroup("none"), undefined);
    // in its bundles
    assert.equal(await ray.get(mod.fn("echo", { placementGroup: pg, bundleIndex: 0 }).remote("in 0")), "in 0");
    assert.equal(await ray.get(mod.fn("echo", { placementGroup: pg, bundleIndex: 1, numCpus: 2 }).remote("in 1")), "in 1");
    assert.equal(await ray.get(mod.fn("echo", { placementGroup: pg }).remote("anywhere in it")), "anywhere in it");
    const r = mod.actor("Recorder", { placementGroup: pg, bundleIndex: 1, numCpus: 1 }).remote();
    assert.equal(await ray.get(r.work!.remote("a", 0)), "a");
    // more than a bundle holds is infeasible there
    await assert.rejects(ray.get(mod.fn("echo", { placementGroup: pg, bundleIndex: 0, numCpus: 2 }).remote(1)), (e: unknown) => e instanceof InfeasibleTaskError);
    // outside the group, 1 of 4 CPUs is free: a task that needs 2 waits until the group is removed
    const big = mod.fn("echo", { numCpus: 2 }).remote("big");
    const running = mod.fn("poll", { placementGroup: pg, bundleIndex: 0 }).remote();
    assert.ok((await ray.wait([big], { timeoutMs: 200 })).ready.length === 0, "the group's CPUs are held for it");
    await ray.removePlacementGroup(pg);
    assert.equal(await ray.get(big, { timeoutMs: 60_000 }), "big");
    await assert.rejects(ray.get(running), (e: unknown) => e instanceof PlacementGroupRemovedError && e.code === "WRAY_PLACEMENT_GROUP_REMOVED");
    await assert.rejects(ray.get(r.log!.remote()), (e: unknown) => e instanceof ActorDiedError && /placement group .* was removed/.test(e.message));
    await assert.rejects(pg.ready().then(() => ray.get(mod.fn("echo", { placementGroup: pg }).remote(1))), (e: unknown) => e instanceof InfeasibleTaskError || e instanceof PlacementGroupRemovedError);
    assert.equal(await ray.getPlacementGroup("pair"), undefined, "its name is free again");
    // all 4 CPUs are free again
    assert.equal(await ray.get(mod.fn("echo", { numCpus: 4 }).remote("all")), "all");
  });
});

test("a group that does not fit now waits (and tasks into it wait too); one that never fits is refused", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const holder = mod.fn("poll").remote(); // holds 1 of 2 CPUs
    const pg = ray.placementGroup([{ CPU: 2 }], { strategy: "STRICT_PACK" });
    const inside = mod.fn("echo", { placementGroup: pg, numCpus: 2 }).remote("inside");
    const actor = mod.actor("Recorder", { placementGroup: pg }).remote();
    assert.ok(await pending(ray, pg.ready()), "it waits for the CPU the poll holds");
    assert.equal((await ray.wait([inside], { timeoutMs: 100 })).ready.length, 0);
    ray.cancel(holder);
    await pg.ready();
    assert.equal(await ray.get(inside, { timeoutMs: 60_000 }), "inside");
    assert.equal(await ray.get(actor.work!.remote("x", 0)), "x", "the actor made before it was ready started once it was");
    await ray.removePlacementGroup(pg);
    for (const [bundles, strategy] of [
      [[{ CPU: 1 }, { CPU: 1 }], "STRICT_SPREAD"],
      [[{ CPU: 3 }], "PACK"],
      [[{ TPU: 1 }], "SPREAD"],
    ] as const) {
      await assert.rejects(ray.placementGroup([...bundles], { strategy }).ready(), (e: unknown) => {
        assert.ok(e instanceof PlacementGroupInfeasibleError, String(e));
        assert.equal(e.code, "WRAY_PLACEMENT_GROUP_INFEASIBLE");
        assert.match(e.message, new RegExp(`${strategy} of .* does not fit this node`));
        return true;
      });
    }
  });
});

test("placement group arguments are checked", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    assert.throws(() => ray.placementGroup([]), /non-empty array/);
    assert.throws(() => ray.placementGroup([{}]), /bundle 0 asks for nothing/);
    assert.throws(() => ray.placementGroup([{ CPU: -1 }]), /bundle 0: resource 'CPU' must be a finite number >= 0/);
    assert.throws(() => ray.placementGroup([{ CPU: 1 }], { strategy: "TIGHT" as never }), /strategy must be one of PACK, SPREAD, STRICT_PACK, STRICT_SPREAD/);
    const pg = ray.placementGroup([{ CPU: 1 }], { name: "one" });
    await pg.ready();
    await assert.rejects(ray.placementGroup([{ CPU: 1 }], { name: "one" }).ready(), /named 'one' already exists/);
    assert.throws(() => mod.fn("echo", { placementGroup: pg, bundleIndex: 1 }), /bundleIndex must be -1 \(any bundle\) or a whole number below the group's 1 bundles/);
    assert.throws(() => mod.fn("echo", { placementGroup: {} as never }), /must be a placement group/);
    assert.throws(() => mod.fn("echo", { bundleIndex: 0 }), /'bundleIndex' needs 'placementGroup'/);
    await assert.rejects(ray.removePlacementGroup({} as never), /takes a PlacementGroup/);
  });
});
