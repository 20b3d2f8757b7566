import assert from "node:assert/strict";
import { test } from "node:test";
import type { ObjectRef } from "wray";
import { TaskCancelledError, TaskError } from "wray";
import { eventually, guest, logInto, withRay } from "../helpers.js";

/** get(ref) rejects with TaskCancelledError (whose message matches `why`, if given). */
async function rejectsCancelled(ray: { get(r: ObjectRef): Promise<unknown> }, ref: ObjectRef, why?: RegExp): Promise<void> {
  await assert.rejects(ray.get(ref), (e: unknown) => {
    assert.ok(e instanceof TaskCancelledError, `expected TaskCancelledError, got ${String(e)}`);
    assert.equal(e.code, "WRAY_TASK_CANCELLED");
    if (why) assert.match(e.message, why);
    return true;
  });
}

/** The ref is not ready now. */
async function pending(ray: { wait(r: ObjectRef[], o: { timeoutMs: number }): Promise<{ ready: ObjectRef[] }> }, ref: ObjectRef): Promise<boolean> {
  return (await ray.wait([ref], { timeoutMs: 0 })).ready.length === 0;
}

test("cancel of a queued task: it never runs and its get raises TaskCancelledError at once; a running one that polls stops", async () => {
  const lines: string[] = [];
  await withRay({ numCpus: 1, log: logInto(lines) }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const running = mod.fn("poll").remote(); // holds the only CPU until it is cancelled
    const queued = mod.fn("echo").remote(1);
    ray.cancel(queued);
    await rejectsCancelled(ray, queued, /task 'echo' \(.*\) was cancelled$/);
    assert.ok(await pending(ray, running), "the running task goes on");
    ray.cancel(running);
    await rejectsCancelled(ray, running, /task 'poll'/);
    assert.ok(await eventually(() => lines.some((l) => l.includes("poll saw its cancel"))), "the guest saw cancelled() and returned");
    // its CPU is free again
    assert.equal(await ray.get(mod.fn("echo").remote(2)), 2);
  });
});

test("force ends a task looping forever, is never retried, and what was queued behind it runs", async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const spin = mod.fn("spin", { maxRetries: 3 }).remote();
    const behind = [mod.fn("echo").remote("a"), mod.fn("echo").remote("b")];
    // without force a guest that never polls keeps running; its results fail at once all the same
    ray.cancel(spin);
    await rejectsCancelled(ray, spin, /task 'spin' .* was cancelled$/);
    assert.ok(await pending(ray, behind[0]!), "the spin still holds the CPU");
    ray.cancel(spin, { force: true });
    // a retry would hold the only CPU again: the queued tasks run only if it is not retried
    assert.deepEqual(await ray.get(behind, { timeoutMs: 60_000 }), ["a", "b"]);
    assert.equal(await ray.get(mod.fn("echo").remote(3)), 3, "a new isolate took the stopped one's place");
  });
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const spin = mod.fn("spin").remote();
    const behind = mod.fn("echo").remote("c");
    ray.cancel(spin, { force: true });
    await rejectsCancelled(ray, spin, /was cancelled \(its isolate was stopped\)/);
    assert.equal(await ray.get(behind, { timeoutMs: 60_000 }), "c");
  });
});

test("a cancel fails what waits on the task, and a task waiting for its arguments never runs", async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const dep = mod.fn("poll").remote();
    const waiting = mod.fn("echo").remote(dep);
    ray.cancel(waiting);
    await rejectsCancelled(ray, waiting);
    const downstream = mod.fn("echo").remote(dep);
    ray.cancel(dep);
    await rejectsCancelled(ray, dep);
    await rejectsCancelled(ray, downstream, /task 'poll'/);
    // a finished task is left as it is
    const done = mod.fn("echo").remote(7);
    assert.equal(await ray.get(done), 7);
    ray.cancel(done);
    assert.equal(await ray.get(done), 7);
  });
});

test("recursive cancel (the default) stops the children a task submitted; a guest can cancel too", async () => {
  const lines: string[] = [];
  await withRay({ numCpus: 4, log: logInto(lines) }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const parent = mod.fn("parent").remote(3);
    assert.ok(await eventually(() => lines.some((l) => l.includes("parent submitted 3 children")), 30_000), "the parent submitted its children");
    ray.cancel(parent);
    await rejectsCancelled(ray, parent, /task 'parent'/);
    assert.ok(await eventually(() => lines.filter((l) => l.includes("poll saw its cancel")).length === 3, 30_000), `each child saw its cancel: ${lines.join(" | ")}`);
    // a guest cancels a task it was given (in a list: not resolved), with force
    const spin = mod.fn("spin").remote();
    assert.equal(await ray.get(mod.fn("canceller").remote([spin], true)), false, "the cancelling task itself is not cancelled");
    await rejectsCancelled(ray, spin, /its isolate was stopped/);
    assert.equal(await ray.get(mod.fn("echo").remote("after")), "after");
  });
});

test("cancel of actor calls: one not started is taken off the queue and never runs; a running one sees cancelled(); force is refused", async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const r = mod.actor("Recorder").remote();
    assert.deepEqual(await ray.get(r.log!.remote()), [], "the actor is up: the next call is sent to it at once");
    const running = r.poll!.remote();
    const skipped = r.work!.remote("b", 0);
    const after = r.work!.remote("c", 0);
    ray.cancel(skipped);
    await rejectsCancelled(ray, skipped, /task 'work'/);
    assert.throws(() => ray.cancel(running, { force: true }), (e: unknown) => e instanceof TypeError && /actor call.*kill\(\) the actor/.test(e.message));
    assert.ok(await pending(ray, running), "a refused force cancels nothing");
    ray.cancel(running);
    await rejectsCancelled(ray, running);
    assert.equal(await ray.get(after), "c");
    assert.deepEqual(await ray.get(r.log!.remote()), ["poll (cancelled)", "c"], "the cancelled call never ran; the rest ran in order");
  });
});

test("cancel refuses what it cannot cancel with a TypeError", async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const put = ray.put(1);
    assert.throws(() => ray.cancel(put), /made by put\(\), not by a task/);
    assert.throws(() => ray.cancel("x" as never), /cancel\(\) takes an ObjectRef/);
    const mod = await ray.load(guest("cancel"));
    const ref = mod.fn("echo").remote(1);
    assert.throws(() => ray.cancel(ref, { force: "yes" as never }), /force must be a boolean/);
    assert.equal(await ray.get(ref), 1);
  });
});

test("an actor method that gets the result of a call to itself queued behind it fails with DeadlockError instead of hanging", async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("cancel"));
    const one = mod.actor("Recorder", { name: "one" }).remote();
    await assert.rejects(ray.get(one.selfGet!.remote("one"), { timeoutMs: 60_000 }), (e: unknown) => {
      assert.ok(e instanceof TaskError, String(e));
      assert.match(e.message, /actor Recorder \(.*\): Recorder\.selfGet called get\(\) on the result of Recorder\.work, a call to the same actor queued behind it/);
      return true;
    });
    // the call it waited for still runs, after it
    assert.deepEqual(await ray.get(one.log!.remote()), ["inner"]);
    // with room to interleave, the inner call runs while the outer one waits
    const two = mod.actor("Recorder", { name: "two", maxConcurrency: 2 }).remote();
    assert.equal(await ray.get(two.selfGet!.remote("two"), { timeoutMs: 60_000 }), "inner");
  });
});
