import assert from "node:assert/strict";
import { test } from "node:test";
import { ActorDiedError, GuestOutOfMemoryError, TaskError } from "wray";
import { withMemoryMax } from "../../common/wasm-binary.js";
import { guest, withRay } from "../helpers.js";

const MiB = 1 << 20;

test("withMemoryMax caps a module's own memory: memory.grow past the cap fails", () => {
  // (module (memory (export "m") 1))
  const core = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 0x6d, 2, 0]);
  const free = new WebAssembly.Instance(new WebAssembly.Module(core)).exports.m as WebAssembly.Memory;
  assert.equal(free.grow(10), 1, "uncapped, it grows");
  const capped = new WebAssembly.Instance(new WebAssembly.Module(withMemoryMax(core, 3))).exports.m as WebAssembly.Memory;
  assert.equal(capped.grow(2), 1);
  assert.throws(() => capped.grow(1), RangeError, "past the cap of 3 pages");
  // a cap below the memory's minimum leaves the minimum (the module must start)
  const tight = new WebAssembly.Instance(new WebAssembly.Module(withMemoryMax(core, 0))).exports.m as WebAssembly.Memory;
  assert.throws(() => tight.grow(1), RangeError);
});

test("a task's memoryMb caps its guest: past it the task fails with GuestOutOfMemoryError, and the host serves on", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("oom"));
    const rss0 = process.memoryUsage.rss();
    await assert.rejects(ray.get(mod.fn("exhaust", { memoryMb: 160 }).remote()), (e: unknown) => {
      assert.ok(e instanceof GuestOutOfMemoryError, String(e));
      assert.ok(e instanceof TaskError);
      assert.equal(e.code, "WRAY_GUEST_OUT_OF_MEMORY");
      assert.equal(e.limitMb, 160);
      assert.ok(e.usedMb > 0 && e.usedMb <= 160, `used ${e.usedMb} MiB`);
      assert.match(e.message, /task 'exhaust' failed: OutOfMemory: out of memory: its linear memory reached [\d.]+ MiB of its 160 MiB cap/);
      return true;
    });
    // the guest never held more than its cap: the host did not grow by gigabytes
    assert.ok(process.memoryUsage.rss() - rss0 < 1024 * MiB, `host grew by ${Math.round((process.memoryUsage.rss() - rss0) / MiB)} MiB`);
    // under the cap the same function's allocations work, and other tasks run
    assert.equal(await ray.get(mod.fn("allocate", { memoryMb: 160 }).remote(64)), 64);
    assert.equal(await ray.get(mod.fn("small").remote()), 42);
    assert.throws(() => mod.fn("small", { memoryMb: 0 }), /memoryMb must be a whole number of MiB from 1 to 4096/);
    assert.throws(() => mod.fn("small", { memoryMb: 5000 }), RangeError);
  });
});

test("the linear memory of an instance too large to keep goes back to the system when its task ends", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 1 }, async (ray) => {
    const mod = await ray.load(guest("oom"));
    assert.equal(await ray.get(mod.fn("small").remote()), 42);
    const rss0 = process.memoryUsage.rss();
    assert.equal(await ray.get(mod.fn("allocate").remote(700)), 700);
    // the instance (over 256 MiB) is dropped; its isolate collects it at once, though idle
    const deadline = Date.now() + 20_000;
    while (process.memoryUsage.rss() - rss0 > 300 * MiB) {
      assert.ok(Date.now() < deadline, `700 MiB of dropped guest memory still held after 20 s (host grew by ${Math.round((process.memoryUsage.rss() - rss0) / MiB)} MiB)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

test("the host's guestMemoryMb is the default cap; a task may ask for more", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 1, guestMemoryMb: 96 }, async (ray) => {
    const mod = await ray.load(guest("oom"));
    await assert.rejects(ray.get(mod.fn("allocate").remote(128)), (e: unknown) => e instanceof GuestOutOfMemoryError && e.limitMb === 96);
    assert.equal(await ray.get(mod.fn("allocate", { memoryMb: 256 }).remote(128)), 128);
    assert.equal(await ray.get(mod.fn("allocate").remote(16)), 16);
  });
  await assert.rejects(withRay({ guestMemoryMb: -1 }, async () => {}), /guestMemoryMb must be a whole number of MiB/);
});

test("an actor past its memoryMb dies with GuestOutOfMemoryError as the cause; other actors live on", { timeout: 120_000 }, async () => {
  await withRay({ numCpus: 2 }, async (ray) => {
    const mod = await ray.load(guest("oom"));
    const Hog = mod.actor("Hog");
    const hog = Hog.options({ memoryMb: 128 }).remote();
    const other = Hog.remote();
    assert.equal(await ray.get(hog.grow!.remote(32)), 32);
    await assert.rejects(ray.get(hog.grow!.remote(128)), (e: unknown) => e instanceof GuestOutOfMemoryError && e.limitMb === 128);
    await assert.rejects(ray.get(hog.ping!.remote()), (e: unknown) => e instanceof ActorDiedError && /ran out of memory/.test(e.message));
    assert.equal(await ray.get(other.grow!.remote(32)), 32);
    assert.equal(await ray.get(other.ping!.remote()), "pong");
  });
});

test("the memory guard stops the running guest before the host passes hostMemoryLimitMb, with the figures", { timeout: 120_000 }, async () => {
  const limitMb = Math.round(process.memoryUsage.rss() / MiB) + 400;
  await withRay({ numCpus: 1, hostMemoryLimitMb: limitMb }, async (ray) => {
    const mod = await ray.load(guest("oom"));
    // under its own cap (the default 2048 MiB), so only the guard can stop it
    await assert.rejects(ray.get(mod.fn("exhaust", { maxRetries: 0 }).remote()), (e: unknown) => {
      assert.ok(e instanceof GuestOutOfMemoryError, String(e));
      assert.equal(e.limitMb, limitMb);
      assert.match(e.message, new RegExp(`the host's resident memory reached \\d+ MiB, over its limit of ${limitMb} MiB \\(hostMemoryLimitMb\\); the host's memory guard stopped this guest`));
      return true;
    });
    assert.equal(await ray.get(mod.fn("small").remote()), 42);
  });
});
