import assert from "node:assert/strict";
import { test } from "node:test";
import { GuestTrapError, InfeasibleTaskError, TaskError, TaskTimeoutError } from "wray";
import { guest, withRay } from "../helpers.js";

test("a task that throws rejects get with the guest's message, name and stack", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("errors"));
    const ref = mod.fn("fail").remote("bad input");
    await assert.rejects(ray.get(ref), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      assert.equal(e.code, "WRAY_TASK_ERROR");
      assert.equal(e.taskName, "fail");
      assert.equal(e.guestName, "TypeError");
      assert.equal(e.guestMessage, "bad input");
      assert.match(e.message, /task 'fail' failed: TypeError: bad input/);
      assert.match(e.guestStack, /at fail \(.*test\/guests\/errors\/index\.ts:5:\d+\)/, "mapped back to the guest's source line");
      return true;
    });
    await assert.rejects(ray.get(mod.fn("failWithString").remote()), /a plain string/);
    // the same isolates keep working
    assert.equal(await ray.get(mod.fn("ok").remote(5)), 5);
  });
});

test("failures propagate through arguments and through get inside guests", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("errors"));
    const failed = mod.fn("fail").remote("root cause");
    // a task whose argument failed does not run; its result holds the failure
    await assert.rejects(ray.get(mod.fn("ok").remote(failed)), /root cause/);
    await assert.rejects(ray.get(mod.fn("parentOfFailure").remote()), (e: unknown) => {
      assert.ok(e instanceof TaskError);
      assert.equal(e.taskName, "parentOfFailure");
      assert.match(e.message, /child broke/);
      return true;
    });
    const caught = (await ray.get(mod.fn("catchChild").remote())) as string;
    assert.match(caught, /^TaskError WRAY_TASK_ERROR: task 'fail' failed: TypeError: child broke/);
    await assert.rejects(ray.get(mod.fn("callsUnknown").remote()), /noSuchTask/);
    await assert.rejects(ray.get(mod.fn("wrongReturnCount", { numReturns: 2 }).remoteN()[0]!), /must return an array of 2 values/);
  });
});

test("a trapping guest fails only its task: the host and other tasks carry on", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("trap"));
    const ok = mod.fn<[], string>("ok");
    const before = ok.remote();
    await assert.rejects(ray.get(mod.fn("trapClock").remote()), (e: unknown) => {
      assert.ok(e instanceof GuestTrapError);
      assert.equal(e.code, "WRAY_GUEST_TRAP");
      assert.equal(e.trap, "unreachable");
      assert.equal(e.taskName, "trapClock");
      return true;
    });
    assert.equal(await ray.get(before), "still fine");
    const after = await ray.get(Array.from({ length: 20 }, () => ok.remote()));
    assert.ok(after.every((x) => x === "still fine"));
    // unbounded recursion overflows the guest's own stack inside its linear memory: a trap too
    await assert.rejects(ray.get(mod.fn("recurse").remote(10_000_000)), (e: unknown) => {
      assert.ok(e instanceof GuestTrapError);
      assert.ok(["memory-out-of-bounds", "stack-overflow"].includes(e.trap), e.trap);
      return true;
    });
    assert.equal(await ray.get(ok.remote()), "still fine");
  });
});

test("a task asking for more than the node has is infeasible, not stuck", async () => {
  await withRay({ numCpus: 2, resources: { disk: 1 } }, async (ray) => {
    const mod = await ray.load(guest("basic"));
    await assert.rejects(ray.get(mod.fn("add", { numCpus: 3 }).remote(1, 2)), (e: unknown) => {
      assert.ok(e instanceof InfeasibleTaskError);
      assert.equal(e.code, "WRAY_TASK_INFEASIBLE");
      assert.match(e.message, /CPU: needs 3, the node has 2/);
      return true;
    });
    await assert.rejects(ray.get(mod.fn("add", { resources: { gpuish: 1 } }).remote(1, 2)), InfeasibleTaskError);
    // custom resources that exist, and zero-CPU tasks, run
    assert.equal(await ray.get(mod.fn("add", { resources: { disk: 1 } }).remote(1, 2)), 3);
    assert.equal(await ray.get(mod.fn("add", { numCpus: 0 }).remote(2, 2)), 4);
    assert.equal(await ray.get(mod.fn("add", { numCpus: 0.5 }).remote(2, 3)), 5);
  });
});

test("a task that never returns is stopped by its timeout; the host replaces the isolate", { timeout: 60_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("loop"));
    const t0 = performance.now();
    await assert.rejects(ray.get(mod.fn("forever", { timeoutMs: 200 }).remote()), (e: unknown) => {
      assert.ok(e instanceof TaskTimeoutError);
      assert.equal(e.code, "WRAY_TASK_TIMEOUT");
      return true;
    });
    assert.ok(performance.now() - t0 < 10_000);
    assert.deepEqual(await ray.get([1, 2, 3].map((x) => mod.fn("quick").remote(x))), [2, 3, 4]);
  });
});

test("a guest that exhausts its memory fails its task, not the host", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("oom"));
    await assert.rejects(ray.get(mod.fn("exhaust").remote()), TaskError);
    assert.equal(await ray.get(mod.fn("small").remote()), 42);
  });
});

test("retryExceptions runs a task that throws again while maxRetries last: any error, or the names listed; -1 is no limit", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("cluster"));
    type Counter = { inc(by?: number): number; read(): number };
    const Counter = mod.actor<Counter>("Counter");
    const failsUntil = mod.fn<[unknown, number], number>("failsUntil");
    // fails twice, then succeeds on its third run
    const a = Counter.remote(0);
    assert.equal(await ray.get(failsUntil.options({ retryExceptions: true }).remote(a, 2)), 3);
    const b = Counter.remote(0);
    assert.equal(await ray.get(failsUntil.options({ retryExceptions: ["RangeError"], maxRetries: -1 }).remote(b, 5)), 6);
    // not retried: by default, for an error not listed, or once maxRetries are spent
    const c = Counter.remote(0);
    await assert.rejects(ray.get(failsUntil.remote(c, 2)), (e: Error) => e instanceof TaskError && e.guestName === "RangeError" && /run 1 fails/.test(e.message));
    const d = Counter.remote(0);
    await assert.rejects(ray.get(failsUntil.options({ retryExceptions: ["TypeError"] }).remote(d, 2)), /run 1 fails/);
    const e = Counter.remote(0);
    await assert.rejects(ray.get(failsUntil.options({ retryExceptions: true, maxRetries: 1 }).remote(e, 2)), /run 2 fails/);
    assert.equal(await ray.get(e.read.remote()), 2, "ran twice: once and one retry");
    assert.throws(() => failsUntil.options({ retryExceptions: "yes" as never }), /retryExceptions must be true, false, or a list/);
    assert.throws(() => failsUntil.options({ maxRetries: -2 }), /maxRetries must be a whole number >= 0, or -1/);
  });
});
