import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Driver } from "wray";
import { GetTimeoutError, ObjectRef, init } from "wray";
import { guest, logInto, withRay } from "../helpers.js";

describe("tasks on an embedded host", () => {
  let ray: Driver;
  const logs: string[] = [];
  test.before(async () => {
    ray = await init({ numCpus: 2, log: logInto(logs) });
  });
  test.after(async () => {
    await ray.shutdown();
  });

  test("add runs and many tasks return in order", async () => {
    const mod = await ray.load(guest("basic"));
    const add = mod.fn<[number, number], number>("add");
    assert.equal(await ray.get(add.remote(2, 3)), 5);
    const refs = Array.from({ length: 5000 }, (_, i) => add.remote(i, 1));
    const out = await ray.get(refs);
    assert.deepEqual(out, Array.from({ length: 5000 }, (_, i) => i + 1));
  });

  test("values of every kind survive the round trip", async () => {
    const echo = (await ray.load(guest("basic"))).fn("echo");
    const values = [
      null, true, false, 0, -1, 127, 128, -33, 65535, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, Number.MAX_SAFE_INTEGER, 1.5, -0.25, 1e300,
      "", "ascii", "ünïcødé ✓ 😀", "x".repeat(70_000),
      [], [1, [2, [3]]], {}, { a: 1, b: { c: [1, "two"] } },
      new Uint8Array([1, 2, 3]), new Date(1_700_000_000_123),
    ];
    for (const v of values) assert.deepEqual(await ray.get(echo.remote(v)), v, `echo of ${JSON.stringify(v)?.slice(0, 40)}`);
  });

  test("typed arrays keep their type", async () => {
    const typed = (await ray.load(guest("basic"))).fn("typed");
    const r = (await ray.get(typed.remote(new Float64Array([1.5, 2.5]), new Int32Array([-1, 10])))) as { sum: number; out: Float32Array };
    assert.equal(r.sum, 13);
    assert.ok(r.out instanceof Float32Array);
    assert.deepEqual([...r.out], [13, -13]);
  });

  test("numReturns > 1 gives one ref per value", async () => {
    const divmod = (await ray.load(guest("basic"))).fn("divmod", { numReturns: 3 });
    const refs = divmod.remoteN(17, 5);
    assert.equal(refs.length, 3);
    assert.deepEqual(await ray.get(refs), [3, 2, "17/5"]);
    assert.deepEqual(await ray.get(refs[1]!), 2);
    assert.throws(() => divmod.remote(1, 2), /remoteN/);
  });

  test("top-level refs arrive as values, nested refs stay refs", async () => {
    const mod = await ray.load(guest("basic"));
    const a = ray.put(20);
    const add = mod.fn<[number, number], number>("add");
    assert.equal(await ray.get(add.remote(a, 1)), 21);
    // a task result as an argument: runs after it
    const chained = add.remote(add.remote(1, 2), add.remote(3, 4));
    assert.equal(await ray.get(chained), 10);
    const describeArg = mod.fn("describeArg");
    assert.equal(await ray.get(describeArg.remote(a)), "number");
    assert.equal(await ray.get(describeArg.remote([a, 3])), "array of ref,number");
    assert.equal(await ray.get(mod.fn("derefFirst").remote([a])), 200);
  });

  test("refs made in a guest come back as ObjectRefs that can be read", async () => {
    const mod = await ray.load(guest("basic"));
    const out = (await ray.get(mod.fn("putAndReturnRef").remote(21))) as { ref: ObjectRef<number> };
    assert.ok(out.ref instanceof ObjectRef);
    assert.equal(await ray.get(out.ref), 42);
  });

  test("wait returns numReturns ready refs, or what is ready at the timeout", async () => {
    const mod = await ray.load(guest("nested"));
    const sleepy = mod.fn<[number], number>("sleepy");
    const fast = mod.fn<[number], number>("square").remote(3);
    const slow = sleepy.remote(800);
    const r1 = await ray.wait([slow, fast], { numReturns: 1 });
    assert.deepEqual(r1.ready, [fast]);
    assert.deepEqual(r1.pending, [slow]);
    const t0 = performance.now();
    const r2 = await ray.wait([slow, fast], { numReturns: 2, timeoutMs: 50 });
    assert.ok(performance.now() - t0 < 700, "wait returned at its timeout");
    assert.deepEqual(r2.ready, [fast]);
    const r3 = await ray.wait([slow, fast], { numReturns: 2 });
    assert.deepEqual(r3.ready, [slow, fast]);
    await assert.rejects(ray.wait([fast], { numReturns: 2 }), RangeError);
  });

  test("get with a timeout raises GetTimeoutError and the object stays readable", async () => {
    const sleepy = (await ray.load(guest("nested"))).fn<[number], number>("sleepy");
    const slow = sleepy.remote(500);
    await assert.rejects(ray.get(slow, { timeoutMs: 20 }), (e: unknown) => e instanceof GetTimeoutError && e.code === "WRAY_GET_TIMEOUT");
    assert.equal(await ray.get(slow), 500);
  });

  test("put and get of 64 MiB, and a task reading it by ref", async () => {
    const big = new Uint8Array(64 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >>> 12) & 0xff;
    const ref = ray.put(big);
    const back = (await ray.get(ref)) as Uint8Array;
    assert.equal(back.length, big.length);
    assert.ok(Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.length), Buffer.from(big)) === 0, "bytes equal");
    let expected = 0;
    for (let i = 0; i < big.length; i += 4096) expected += big[i]!;
    const sum = (await ray.load(guest("basic"))).fn("sumBytes");
    assert.equal(await ray.get(sum.remote(ref, 4096)), expected);
  });

  test("large results made by guests go through the object store", async () => {
    const mod = await ray.load(guest("basic"));
    const made = mod.fn("makeBytes").remote(3 << 20, 7);
    const v = (await ray.get(made)) as Uint8Array;
    assert.equal(v.length, 3 << 20);
    assert.equal(v[12345], 7);
    assert.equal(await ray.get(mod.fn("sumBytes").remote(made, 16)), 7 * ((3 << 20) / 16));
  });

  test("guest console output reaches the host log, tagged with the task", async () => {
    const mod = await ray.load(guest("basic"));
    assert.equal(await ray.get(mod.fn("logSomething").remote("hi")), 2);
    assert.ok(logs.some((l) => l === "(logSomething) guest says: hi"), logs.join("\n"));
  });

  test("guests see a real clock and per-instance randomness", async () => {
    const mod = await ray.load(guest("basic"));
    const r = (await ray.get(mod.fn("clockAndRandom").remote())) as { now: number; perf: number; r1: number; r2: number };
    assert.ok(Math.abs(r.now - Date.now()) < 60_000);
    assert.ok(r.r1 >= 0 && r.r1 < 1 && r.r1 !== r.r2);
  });

  test("bad arguments from the caller are TypeErrors and RangeErrors", async () => {
    const mod = await ray.load(guest("basic"));
    await assert.rejects(ray.get([1 as unknown as ObjectRef]), TypeError);
    await assert.rejects(ray.get(ray.put(1), { timeoutMs: -1 }), RangeError);
    assert.throws(() => mod.fn("add", { numCpus: -1 }), RangeError);
    assert.throws(() => mod.fn("add", { numReturns: 1.5 }), RangeError);
    assert.throws(() => mod.fn("add", { bogus: 1 } as never), TypeError);
    assert.throws(() => mod.fn("echo").remote(() => 1), TypeError);
  });
});

test("refs belong to the cluster that made them", async () => {
  const a = await init({ numCpus: 1, log: () => {} });
  const b = await init({ numCpus: 1, log: () => {} });
  try {
    const ref = a.put(5);
    await assert.rejects(b.get(ref), /does not belong to this cluster/);
    const add = (await b.load(guest("basic"))).fn("add");
    await assert.rejects(b.get(add.remote(ref, 1)), /freed before it ran|does not belong/);
    assert.equal(await a.get(ref), 5);
  } finally {
    await a.shutdown();
    await b.shutdown();
  }
});

test("after shutdown every call says so", async () => {
  const ray = await init({ numCpus: 1, log: () => {} });
  const mod = await ray.load(guest("basic"));
  const ref = ray.put(1);
  await ray.shutdown();
  assert.throws(() => ray.put(2), (e: unknown) => (e as { code?: string }).code === "WRAY_SHUTDOWN");
  assert.throws(() => mod.fn("add").remote(1, 2), /shut down/);
  await assert.rejects(ray.get(ref), /shut down/);
  await assert.rejects(ray.load(guest("basic")), /shut down/);
  await ray.shutdown();
});

test("a call with more arguments than the guest function takes is refused where it is made", async () => {
  await withRay({ numCpus: 1, numGpus: 0 }, async (ray) => {
    const add = (await ray.load(guest("basic"))).fn<number[], number>("add");
    assert.throws(() => add.remote(1, 2, 3), (e: unknown) => e instanceof TypeError && e.message === "add.remote(): 'add' takes at most 2 arguments, got 3");
    assert.equal(ray.stats().scheduler.queued, 0, "nothing was submitted");
    // fewer are allowed: TypeScript's optional parameters compile to plain ones
    assert.ok(Number.isNaN(await ray.get(add.remote(1))));
    const actors = await ray.load(guest("actors"));
    const Counter = actors.actor<{ inc(by?: number, extra?: number): number }>("Counter");
    assert.throws(() => Counter.remote(1, 2), /^TypeError: Counter\.remote\(\): 'Counter' takes at most 1 argument, got 2/);
    const c = Counter.remote(5);
    assert.throws(() => c.inc.remote(1, 2), /'Counter\.inc' takes at most 1 argument, got 2/);
    assert.equal(await ray.get(c.inc.remote(2)), 7);
    const nested = await ray.load(guest("nested"));
    assert.equal(await ray.get(nested.fn<[], string>("tooManyArgs").remote()), "TypeError: square.remote(): 'square' takes at most 1 argument, got 2");
  });
});

test("a driver run with `node --input-type=module -e` runs tasks (isolates do not inherit the driver's flags)", { timeout: 60_000 }, async () => {
  const dist = new URL("../../dist/index.js", import.meta.url).href;
  const script = `import { init } from ${JSON.stringify(dist)}; const ray = await init({ numCpus: 1, numGpus: 0 }); const m = await ray.load(${JSON.stringify(guest("basic"))}); console.log("sum", await ray.get(m.fn("add").remote(20, 22))); await ray.shutdown();`;
  const { execFile } = await import("node:child_process");
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 50_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  assert.match(out, /^sum 42$/m);
});
