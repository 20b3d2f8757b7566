import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Driver, ObjectRef } from "wray";
import { ActorDiedError, GpuError, GpuUnavailableError, InfeasibleTaskError, TaskError, init } from "wray";
import { GpuDevice, HostGpu } from "wray/host";
import { cpuMatmul, guest, logInto } from "../helpers.js";

// GPU tests run on whatever adapter there is (lavapipe in CI, installed by
// scripts/setup-gpu.sh); they skip, saying why, only where none can be opened.
const probe = await GpuDevice.open();
const skip = typeof probe === "string" ? `no WebGPU adapter: ${probe}` : false;
if (typeof probe !== "string") probe.close();

function close(got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `element ${i}: ${got[i]} vs ${want[i]}`);
}

describe("GPU tasks and actors", { skip }, () => {
  let ray: Driver;
  test.before(async () => {
    ray = await init({ numCpus: 4, log: () => {} });
  });
  test.after(async () => {
    await ray.shutdown();
  });

  test("the host offers its GPU as a resource and names the adapter", async () => {
    assert.equal(ray.stats().scheduler.resources.total.GPU, 1);
    const mod = await ray.load(guest("gpu"));
    assert.equal(await ray.get(mod.fn<[], string>("adapter", { numGpus: 1 }).remote()), ray.gpu.adapter);
  });

  test("a guest task's WGSL kernels match a CPU reference", async () => {
    const mod = await ray.load(guest("gpu"));
    const xs = Float32Array.from({ length: 1000 }, (_, i) => i - 500);
    close(await ray.get(mod.fn<[Float32Array, number], Float32Array>("scale", { numGpus: 1 }).remote(xs, 0.5)), xs.map((x) => x * 0.5));
    const [n, k, m] = [33, 70, 17];
    const a = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * m }, (_, i) => Math.cos(i));
    const got = await ray.get(mod.fn<[Float32Array, Float32Array, number, number, number], Float32Array>("matmul", { numGpus: 1 }).remote(a, b, n, k, m));
    close(got, cpuMatmul(a, b, n, k, m));
  });

  test("objects go to the device from the store and come back as new objects", async () => {
    const mod = await ray.load(guest("gpu"));
    const big = Float32Array.from({ length: 300_000 }, (_, i) => i % 1000); // past the inline size: in shared memory
    const ref = ray.put(big);
    const [out] = await ray.get(mod.fn<[ObjectRef<Float32Array>[], number], ObjectRef<Float32Array>[]>("scaleObject", { numGpus: 1 }).remote([ref], 3));
    const got = await ray.get(out!);
    assert.ok(got instanceof Float32Array);
    close(got, big.map((x) => x * 3));
    assert.equal(await ray.get(mod.fn<[ObjectRef<Float32Array>[]], number>("sumOfRef").remote([ray.put(new Float32Array([1, 2, 3.5]))])), 6.5);
  });

  test("writes, partial reads and freed buffers", async () => {
    const mod = await ray.load(guest("gpu"));
    assert.deepEqual(await ray.get(mod.fn<[], number[]>("partial").remote()), [0, 0, 7, 8, 7, 1]);
  });

  test("a bad shader fails the task with a typed error naming the line", async () => {
    const mod = await ray.load(guest("gpu"));
    const e = await ray.get(mod.fn("badShader").remote()).then(() => undefined, (x: unknown) => x);
    assert.ok(e instanceof TaskError, String(e));
    assert.equal(e.guestName, "GpuError");
    assert.ok(e.cause instanceof GpuError);
    assert.equal(e.cause.code, "WRAY_GPU_COMPILE");
    assert.match(e.message, /line 4:\d+: .*undefined_thing/);
    const caught = await ray.get(mod.fn<[], { code: string; name: string; message: string }>("catchBadShader").remote());
    assert.equal(caught.code, "WRAY_GPU_COMPILE");
    assert.equal(caught.name, "GpuError");
    assert.match(caught.message, /line 4:\d+/);
    assert.equal(await ray.get(mod.fn<[], string>("badBindings").remote()), "WRAY_GPU_VALIDATION");
  });

  test("numGpus: 1 tasks queue while the GPU is held and run when it is released", async () => {
    const mod = await ray.load(guest("gpu"));
    const hold = mod.fn<[number], number[]>("hold", { numGpus: 1 });
    const spans = await ray.get([hold.remote(150), hold.remote(150), hold.remote(150)]);
    spans.sort((x, y) => x[0]! - y[0]!);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0]! >= spans[i - 1]![1]!, `task ${i} started at ${spans[i]![0]} before ${i - 1} ended at ${spans[i - 1]![1]}`);
    // half a GPU each: two at once
    const half = mod.fn<[number], number[]>("hold", { numGpus: 0.5 });
    const [p, q] = await ray.get([half.remote(300), half.remote(300)]);
    assert.ok(p![0]! < q![1]! && q![0]! < p![1]!, "two half-GPU tasks should overlap");
  });

  test("an actor keeps its GPU buffers between calls", async () => {
    const mod = await ray.load(guest("gpu"));
    const [k, m] = [12, 5];
    const w = Float32Array.from({ length: k * m }, (_, i) => (i % 7) - 3);
    const policy = mod.actor<{ evaluate(obs: Float32Array): Float32Array }>("Policy", { numGpus: 1 }).remote(w, k, m);
    for (const batch of [1, 9, 64]) {
      const obs = Float32Array.from({ length: batch * k }, (_, i) => (i % 5) / 2);
      close(await ray.get(policy.evaluate.remote(obs)), cpuMatmul(obs, w, batch, k, m));
    }
    // an actor holds its GPU for life, as in Ray: a GPU task waits until it is gone
    const later = mod.fn<[], string>("adapter", { numGpus: 1 }).remote();
    const { ready } = await ray.wait([later], { timeoutMs: 200 });
    assert.equal(ready.length, 0);
    await ray.kill(policy);
    assert.equal(await ray.get(later), ray.gpu.adapter);
  });

  test("the driver runs host-side kernels on the same device", async () => {
    const g = ray.gpu;
    assert.ok(g.available);
    const a = await g.buffer(new Float32Array([1, 2, 3, 4]));
    const k = await g.kernel(`@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) i: vec3u) { if (i.x < arrayLength(&a)) { a[i.x] = a[i.x] * a[i.x]; } }`);
    await k.dispatch([a], 1);
    assert.deepEqual([...(await a.read(Float32Array))], [1, 4, 9, 16]);
    const ref = await a.readObject(Float32Array);
    const mod = await ray.load(guest("gpu"));
    close(await ray.get(mod.fn<[ObjectRef<Float32Array>, number], Float32Array>("scale", { numGpus: 1 }).remote(ref, 2)), new Float32Array([2, 8, 18, 32]));
    const again = await g.buffer(ref);
    assert.deepEqual([...(await again.read(Float32Array))], [1, 4, 9, 16]);
    await assert.rejects(g.kernel("fn broken( {"), (e: unknown) => e instanceof GpuError && e.code === "WRAY_GPU_COMPILE" && /line 1:/.test(e.message));
    a.destroy();
    await assert.rejects(a.read(), RangeError);
  });
});

describe("a host without a GPU", () => {
  test("offers zero GPUs, refuses numGpus tasks as infeasible, and fails GPU calls as unavailable", async () => {
    const lines: string[] = [];
    // no d3d12 adapter exists off Windows: the same path as a machine with no GPU at all
    const ray = await init({ numCpus: 2, numGpus: 1, gpuBackend: process.platform === "win32" ? "metal" : "d3d12", log: logInto(lines) });
    try {
      assert.equal(ray.stats().scheduler.resources.total.GPU ?? 0, 0);
      assert.ok(lines.some((l) => /numGpus 1 was asked for/.test(l)), lines.join("\n"));
      const mod = await ray.load(guest("gpu"));
      await assert.rejects(ray.get(mod.fn("adapter", { numGpus: 1 }).remote()), InfeasibleTaskError);
      const policy = mod.actor<{ evaluate(obs: Float32Array): Float32Array }>("Policy", { numGpus: 1 }).remote(new Float32Array(1), 1, 1);
      await assert.rejects(ray.get(policy.evaluate.remote(new Float32Array(1))), (e: unknown) => e instanceof ActorDiedError && e.cause instanceof InfeasibleTaskError);
      assert.equal(await ray.get(mod.fn<[], boolean>("available").remote()), false);
      const e = await ray.get(mod.fn("adapter").remote()).then(() => undefined, (x: unknown) => x);
      assert.ok(e instanceof TaskError && e.cause instanceof GpuError && e.cause.code === "WRAY_GPU_UNAVAILABLE", String(e));
      assert.equal(ray.gpu.available, false);
      assert.throws(() => ray.gpu.adapter, GpuUnavailableError);
    } finally {
      await ray.shutdown();
    }
  });

  test("numGpus: 0 opens no device", async () => {
    const ray = await init({ numCpus: 1, numGpus: 0, log: () => {} });
    try {
      assert.equal(ray.gpu.available, false);
      assert.equal(ray.stats().scheduler.resources.total.GPU ?? 0, 0);
    } finally {
      await ray.shutdown();
    }
  });
});

describe("a program that asks for no GPU", () => {
  test("loads nothing of the GPU stack and prints nothing on stderr; the GPU is offered all the same and opens on first use", { timeout: 60_000 }, async () => {
    const dist = new URL("../../dist/index.js", import.meta.url).href;
    // /proc/self/maps lists the shared libraries a Linux process has loaded: Dawn's is webgpu's dawn.node
    const script = `
      import { readFileSync } from "node:fs";
      import { init } from ${JSON.stringify(dist)};
      const dawn = () => process.platform === "linux" ? readFileSync("/proc/self/maps", "utf8").includes("dawn") : "n/a";
      const ray = await init({ numCpus: 1 });
      const m = await ray.load(${JSON.stringify(guest("basic"))});
      const sum = await ray.get(m.fn("add").remote(20, 22));
      console.log(JSON.stringify({ sum, gpus: ray.stats().scheduler.resources.total.GPU ?? 0, available: ray.gpu.available, dawn: dawn() }));
      process.stderr.write("--- first GPU use ---\\n");
      if (ray.gpu.available) {
        const g = await ray.load(${JSON.stringify(guest("gpu"))});
        console.log(JSON.stringify({ adapter: await ray.get(g.fn("adapter", { numGpus: 1 }).remote()), dawn: dawn() }));
      }
      await ray.shutdown();`;
    const { execFile } = await import("node:child_process");
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 50_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr })));
    });
    assert.ok(stderr.startsWith("--- first GPU use ---\n"), `nothing on stderr before the GPU is used, got:\n${stderr}`);
    const [cpu, gpu] = stdout.trim().split("\n").map((l) => JSON.parse(l) as { sum?: number; gpus?: number; available?: boolean; dawn: boolean | string; adapter?: string });
    assert.equal(cpu!.sum, 42);
    if (process.platform === "linux") assert.equal(cpu!.dawn, false, "Dawn is not loaded by a CPU-only program");
    const expected = HostGpu.missing() === undefined ? 1 : 0;
    assert.equal(cpu!.gpus, expected, "the GPU is offered when this machine can have one");
    if (expected === 1 && !skip) {
      assert.equal(cpu!.available, true);
      assert.equal(typeof gpu!.adapter, "string");
      if (process.platform === "linux") assert.equal(gpu!.dawn, true, "the first GPU task opened the device");
    }
  });
});
