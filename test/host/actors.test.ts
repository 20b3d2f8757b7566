import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Actor, Driver } from "wray";
import {
  ActorDiedError,
  ActorHandle,
  ActorNameTakenError,
  ActorNotFoundError,
  GuestTrapError,
  InfeasibleTaskError,
  TaskError,
  UnknownFunctionError,
  init,
} from "wray";
import { guest } from "../helpers.js";

interface Counter {
  inc(by?: number): number;
  read(): number;
  bad(): number;
  trap(): number;
  pair(): [number, string];
}

describe("actors", () => {
  let ray: Driver;
  test.before(async () => {
    ray = await init({ numCpus: 2, log: () => {} });
  });
  test.after(async () => {
    await ray.shutdown();
  });

  test("methods from one caller run one at a time, in submission order", async () => {
    const mod = await ray.load(guest("actors"));
    const c = mod.actor<Counter>("Counter").remote(10);
    assert.deepEqual(await ray.get([c.inc.remote(), c.inc.remote(2), c.inc.remote()]), [11, 13, 14]);
    const log = mod.actor<{ add(i: number): number; all(): number[] }>("Log").remote();
    const n = 10_000;
    const counts = await ray.get(Array.from({ length: n }, (_, i) => log.add.remote(i)));
    assert.deepEqual(counts, Array.from({ length: n }, (_, i) => i + 1));
    assert.deepEqual(await ray.get(log.all.remote()), Array.from({ length: n }, (_, i) => i));
  });

  test("two instances of one class never share state", async () => {
    const Counter = (await ray.load(guest("actors"))).actor<Counter>("Counter");
    const a = Counter.remote(0);
    const b = Counter.remote(100);
    await ray.get([a.inc.remote(1), b.inc.remote(5), a.inc.remote(1)]);
    assert.deepEqual(await ray.get([a.read.remote(), b.read.remote()]), [2, 105]);
  });

  test("ref arguments are resolved first without breaking the order", async () => {
    const mod = await ray.load(guest("actors"));
    const log = mod.actor<{ add(i: number): number; all(): number[] }>("Log").remote();
    const slow = mod.fn<[number, string], string>("later").remote(300, "x");
    const first = log.add.remote(slow as never);
    const second = log.add.remote(2);
    assert.deepEqual(await ray.get([first, second]), [1, 2]);
    assert.deepEqual(await ray.get(log.all.remote()), ["x", 2]);
  });

  test("handles are values: tasks and actors call actors they are given", async () => {
    const mod = await ray.load(guest("actors"));
    const ps = mod.actor<{ get(): number[]; count(): number }>("ParameterServer").remote(3);
    const workers = Array.from({ length: 4 }, () => mod.fn("worker").remote(ps, 25));
    await ray.get(workers);
    assert.equal(await ray.get(ps.count.remote()), 100);
    assert.deepEqual(await ray.get(ps.get.remote()), [100, 200, 300]);
    const target = mod.actor<Counter>("Counter").remote(0);
    const fwd = mod.actor<{ forward(by: number): number }>("Forwarder").remote(target);
    assert.equal(await ray.get(fwd.forward.remote(7)), 7);
    assert.equal(await ray.get(target.read.remote()), 7);
    // a task can create an actor, and return its handle
    assert.equal(await ray.get(mod.fn("makeAndUse").remote(1)), 6);
    const h = (await ray.get(mod.fn("spawnCounter").remote(40))) as Actor<Counter>;
    assert.ok(h instanceof ActorHandle);
    assert.equal(h.className, "Counter");
    assert.equal(await ray.get(h.inc.remote(2)), 42);
    assert.equal(await ray.get(mod.fn("byName").remote("Counter")), 1);
  });

  test("named actors are found by name, from the driver and from guests", async () => {
    const mod = await ray.load(guest("actors"));
    const Counter = mod.actor<Counter>("Counter");
    const named = Counter.options({ name: "shared" }).remote(0);
    const again = await ray.getActor<Counter>("shared");
    assert.equal(again.id, named.id);
    await ray.get(again.inc.remote(1));
    assert.equal(await ray.get(mod.fn("bumpNamed").remote("shared")), 101);
    assert.throws(() => Counter.options({ name: "shared" }).remote(0), ActorNameTakenError);
    await assert.rejects(ray.getActor("nobody"), (e: unknown) => e instanceof ActorNotFoundError && e.code === "WRAY_ACTOR_NOT_FOUND");
    await assert.rejects(ray.get(mod.fn("bumpNamed").remote("nobody")), /no live actor named 'nobody'/);
    await ray.kill(named);
    await assert.rejects(ray.getActor("shared"), ActorNotFoundError);
    const reborn = Counter.options({ name: "shared" }).remote(5);
    assert.equal(await ray.get(reborn.read.remote()), 5, "a name is free again once its actor died");
  });

  test("a killed actor fails calls with ActorDiedError", async () => {
    const c = (await ray.load(guest("actors"))).actor<Counter>("Counter").remote(3);
    assert.equal(await ray.get(c.read.remote()), 3);
    await ray.kill(c);
    await assert.rejects(ray.get(c.read.remote()), (e: unknown) => {
      assert.ok(e instanceof ActorDiedError);
      assert.equal(e.code, "WRAY_ACTOR_DIED");
      assert.match(e.message, /actor Counter .* is dead: it was killed/);
      return true;
    });
  });

  test("a constructor that throws surfaces on the first get", async () => {
    const b = (await ray.load(guest("actors"))).actor<{ never(): number }>("Broken").remote("bad config");
    await assert.rejects(ray.get(b.never.remote()), (e: unknown) => {
      assert.ok(e instanceof ActorDiedError);
      assert.match(e.message, /its constructor failed/);
      assert.ok(e.cause instanceof TaskError);
      assert.match((e.cause as TaskError).guestMessage, /bad config/);
      return true;
    });
  });

  test("a method that throws fails its call; the actor keeps its state and serves the next", async () => {
    const c = (await ray.load(guest("actors"))).actor<Counter>("Counter").remote(7);
    await assert.rejects(ray.get(c.bad.remote()), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      assert.equal(e.taskName, "Counter.bad");
      assert.match(e.guestMessage, /bad call at 7/);
      return true;
    });
    assert.equal(await ray.get(c.inc.remote()), 8);
  });

  test("a trapping method kills its actor only: the host, tasks and other actors carry on", async () => {
    const mod = await ray.load(guest("actors"));
    const Counter = mod.actor<Counter>("Counter");
    const victim = Counter.remote(1);
    const bystander = Counter.remote(50);
    const queued = [victim.trap.remote(), victim.inc.remote()];
    await assert.rejects(ray.get(queued[0]!), (e: unknown) => e instanceof GuestTrapError && e.trap === "unreachable");
    await assert.rejects(ray.get(queued[1]!), ActorDiedError);
    await assert.rejects(ray.get(victim.read.remote()), (e: unknown) => e instanceof ActorDiedError && e.cause instanceof GuestTrapError);
    assert.equal(await ray.get(bystander.inc.remote()), 51);
    assert.equal(await ray.get(mod.fn("later").remote(1, "tasks still run")), "tasks still run");
  });

  test("several returns, and unknown methods refused at once", async () => {
    const mod = await ray.load(guest("actors"));
    const c = mod.actor<Counter>("Counter").remote(9);
    assert.deepEqual(await ray.get(c.pair.options({ numReturns: 2 }).remoteN()), [9, "pair"]);
    assert.throws(() => (c as unknown as Record<string, unknown>).nope, (e: unknown) => {
      assert.ok(e instanceof UnknownFunctionError);
      assert.match(e.message, /actor class Counter exports no method named 'nope' \(it has: inc, read/);
      return true;
    });
    assert.throws(() => mod.actor("Nope"), UnknownFunctionError);
    assert.throws(() => mod.actor("Counter", { maxConcurrency: 0 }), RangeError);
    assert.throws(() => mod.actor("Counter", { bogus: 1 } as never), TypeError);
    assert.equal(await (async () => c)(), c, "a handle is not a thenable");
  });

  test("with maxConcurrency > 1 a waiting method lets the next call start; with 1 it does not", async () => {
    const mod = await ray.load(guest("actors"));
    type Gate = { hold(s: unknown[]): string; status(): number };
    for (const [maxConcurrency, expected] of [[2, 1], [1, 0]] as const) {
      const gate = mod.actor<Gate>("Gate", { maxConcurrency }).remote();
      const signal = mod.fn<[number, string], string>("later").remote(400, "go");
      const held = gate.hold.remote([signal]);
      const status = gate.status.remote();
      assert.equal(await ray.get(status), expected, `maxConcurrency ${maxConcurrency}`);
      if (maxConcurrency === 2) {
        const { pending } = await ray.wait([held], { timeoutMs: 0 });
        assert.equal(pending.length, 1, "the first call still waits while the second ran");
      }
      assert.equal(await ray.get(held), "held go");
    }
  });
});

test("an actor holds its resources for its lifetime", async () => {
  const ray = await init({ numCpus: 2, log: () => {} });
  try {
    const mod = await ray.load(guest("actors"));
    const big = mod.actor<Counter>("Counter", { numCpus: 2 }).remote(0);
    assert.equal(await ray.get(big.inc.remote()), 1);
    const task = mod.fn<[number, string], string>("later").remote(1, "ran");
    const { ready } = await ray.wait([task], { timeoutMs: 300 });
    assert.equal(ready.length, 0, "no CPU left for tasks while the actor lives");
    await ray.kill(big);
    assert.equal(await ray.get(task), "ran");
    const impossible = mod.actor<Counter>("Counter", { numCpus: 3 }).remote(0);
    await assert.rejects(ray.get(impossible.read.remote()), (e: unknown) => e instanceof ActorDiedError && e.cause instanceof InfeasibleTaskError);
  } finally {
    await ray.shutdown();
  }
});

describe("restarts (issue 19)", () => {
  let ray: Driver;
  type Durable = { add(i: number): number; state(): { value: number; seen: number[] }; trap(): number };
  test("setup", async () => {
    ray = await init({ numCpus: 2, log: () => {} });
  });

  test("maxRestarts: a crashed actor runs its constructor again under the same ID and name; kill is for good", async () => {
    const mod = await ray.load(guest("actors"));
    const c = mod.actor<Counter>("Counter", { maxRestarts: 1, name: "phoenix" }).remote(10);
    assert.equal(await ray.get(c.inc.remote(5)), 15);
    await assert.rejects(ray.get(c.trap.remote()), GuestTrapError);
    // started again from its constructor's arguments: the state is the constructor's
    assert.equal(await ray.get(c.inc.remote(1)), 11);
    const byName = await ray.getActor<Counter>("phoenix");
    assert.equal(await ray.get(byName.read.remote()), 11);
    // no restarts left: the next crash is its death
    await assert.rejects(ray.get(c.trap.remote()), GuestTrapError);
    await assert.rejects(ray.get(c.read.remote()), (e: Error) => e instanceof ActorDiedError && /trapped/.test(e.message));
    const k = mod.actor<Counter>("Counter", { maxRestarts: -1 }).remote(0);
    assert.equal(await ray.get(k.inc.remote(1)), 1);
    ray.kill(k);
    await assert.rejects(ray.get(k.read.remote()), (e: Error) => e instanceof ActorDiedError && /killed/.test(e.message));
  });

  test("maxTaskRetries: calls in flight at the crash are sent again in order (at-least-once); without it they fail (at-most-once)", async () => {
    const mod = await ray.load(guest("actors"));
    const once = mod.actor<Counter>("Counter", { maxRestarts: 1 }).remote(0);
    await ray.get(once.read.remote());
    const trapped = once.trap.remote();
    const behind = [once.inc.remote(1), once.inc.remote(2)];
    await assert.rejects(ray.get(trapped), GuestTrapError);
    for (const r of behind) await assert.rejects(ray.get(r), (e: Error) => e instanceof ActorDiedError && /maxTaskRetries/.test(e.message));
    assert.equal(await ray.get(once.read.remote()), 0, "restarted; the calls in flight did not run");
    const again = mod.actor<Counter>("Counter", { maxRestarts: 1, maxTaskRetries: 1 }).remote(0);
    await ray.get(again.read.remote());
    const t = again.trap.remote();
    const sent = [again.inc.remote(1), again.inc.remote(2)];
    await assert.rejects(ray.get(t), GuestTrapError);
    assert.deepEqual(await ray.get(sent), [1, 3], "sent again, in order, to the restarted actor");
  });

  test("checkpointInterval: a restart restores the last checkpoint and replays only the calls after it, in order", async () => {
    const mod = await ray.load(guest("actors"));
    const d = mod.actor<Durable>("Durable", { maxRestarts: 2, checkpointInterval: 3 }).remote(100);
    for (let i = 1; i <= 5; i++) await ray.get(d.add.remote(i));
    // a checkpoint after calls 1-3; calls 4 and 5 came after it
    await assert.rejects(ray.get(d.trap.remote()), GuestTrapError);
    assert.deepEqual(await ray.get(d.state.remote()), { value: 115, seen: [1, 2, 3, 4, 5] }, "restored, then 4 and 5 replayed once");
    assert.equal(await ray.get(d.add.remote(6)), 121);
    await assert.rejects(ray.get(d.trap.remote()), GuestTrapError);
    assert.deepEqual(await ray.get(d.state.remote()), { value: 121, seen: [1, 2, 3, 4, 5, 6] });
    // a class without checkpoint() and restore() cannot be checkpointed
    const c = mod.actor<Counter>("Counter", { checkpointInterval: 2 }).remote(0);
    await assert.rejects(ray.get(c.read.remote()), (e: Error) => e instanceof ActorDiedError && /checkpoint\(\) and restore/.test(e.message));
    assert.throws(() => mod.actor("Counter", { maxRestarts: 1.5 }), /maxRestarts must be a whole number >= 0, or -1/);
  });

  test("teardown", async () => {
    await ray.shutdown();
  });
});
