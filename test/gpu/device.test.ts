import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GpuCompileError, GpuDevice, GpuSession, GpuUnavailableError, GpuValidationError } from "wray/host";
import { MATMUL_WGSL, cpuMatmul } from "../helpers.js";

// Tests skip, saying why, only where no adapter at all can be opened
// (`npm test` installs Mesa's lavapipe where it can: scripts/setup-gpu.sh).
const opened = await GpuDevice.open();
const skip = typeof opened === "string" ? `no WebGPU adapter: ${opened}` : false;
const device = typeof opened === "string" ? undefined : opened;

function bytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

describe("GpuDevice", { skip }, () => {
  test.after(() => device?.close());
  const d = device!;

  test("names its adapter", () => {
    assert.ok(d.adapter.length > 0);
  });

  test("a WGSL matrix multiply matches the CPU reference", async () => {
    const [n, k, m] = [37, 53, 29]; // not multiples of the workgroup size
    const a = Float32Array.from({ length: n * k }, (_, i) => ((i * 7) % 13) - 6);
    const b = Float32Array.from({ length: k * m }, (_, i) => ((i * 5) % 11) / 4 - 1);
    const kernel = await d.compile(MATMUL_WGSL);
    const c = await d.createBuffer(n * m * 4);
    const bufs = [await d.bufferFrom(bytes(a)), await d.bufferFrom(bytes(b)), c, await d.bufferFrom(bytes(new Uint32Array([n, k, m])))];
    await d.dispatch(kernel, bufs, Math.ceil(m / 8), Math.ceil(n / 8));
    const got = await d.read(c, 0, n * m * 4, (v) => new Float32Array(v.slice().buffer));
    const want = cpuMatmul(a, b, n, k, m);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `element ${i}: ${got[i]} vs ${want[i]}`);
    for (const x of bufs) x.destroy();
  });

  test("a kernel is compiled once per source and entry point", async () => {
    const k1 = await d.compile(MATMUL_WGSL);
    const k2 = await d.compile(MATMUL_WGSL, "main");
    assert.equal(k1, k2);
    assert.match(k1.hash, /^[0-9a-f]{64}$/);
  });

  test("a bad shader is a GpuCompileError naming the line and column", async () => {
    const src = "@compute @workgroup_size(1)\nfn main() {\n  var x: f32 = 1.0;\n  x = nope;\n}";
    const e = await d.compile(src).then(() => undefined, (x: unknown) => x);
    assert.ok(e instanceof GpuCompileError, String(e));
    assert.equal(e.code, "WRAY_GPU_COMPILE");
    assert.equal(e.line, 4);
    assert.equal(e.column, 7);
    assert.match(e.message, /line 4:7: .*nope/);
    assert.match(e.message, /x = nope;/);
    // a missing entry point is a compile error too
    await assert.rejects(d.compile("@compute @workgroup_size(1) fn main() {}", "other"), (x: unknown) => x instanceof GpuCompileError && /other/.test(x.message));
  });

  test("bindings that do not match the kernel are a GpuValidationError", async () => {
    const kernel = await d.compile(MATMUL_WGSL);
    const one = await d.createBuffer(16);
    await assert.rejects(d.dispatch(kernel, [one], 1), (e: unknown) => e instanceof GpuValidationError && e.code === "WRAY_GPU_VALIDATION");
    // the device is fine afterwards
    const b = await d.bufferFrom(Uint8Array.of(1, 2, 3, 4, 5));
    assert.deepEqual([...(await d.read(b, 1, 4, (v) => v.slice()))], [2, 3, 4, 5]);
  });

  test("buffers: zero-filled, from shared memory, partial and unaligned reads, writes", async () => {
    const z = await d.createBuffer(10);
    assert.equal(z.size, 12);
    assert.deepEqual([...(await d.read(z, 0, 10, (v) => v.slice()))], new Array(10).fill(0));
    const shared = new Uint8Array(new SharedArrayBuffer(64), 8, 9).map((_, i) => i + 1);
    const s = await d.bufferFrom(shared);
    assert.deepEqual([...(await d.read(s, 3, 5, (v) => v.slice()))], [4, 5, 6, 7, 8]);
    await d.write(s, 4, new Uint8Array(new SharedArrayBuffer(8)).fill(9));
    assert.deepEqual([...(await d.read(s, 0, 12, (v) => v.slice()))], [1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9]);
    await assert.rejects(d.write(s, 2, new Uint8Array(4)), RangeError);
    await assert.rejects(d.read(s, 8, 8, (v) => v), RangeError);
    await assert.rejects(d.createBuffer(-1), RangeError);
    await assert.rejects(d.createBuffer(d.limits.maxBufferSize + 4), GpuValidationError);
  });

  test("a session frees what it holds; handles of another kind are refused", async () => {
    const s = new GpuSession();
    const h = s.addBuffer(await d.createBuffer(64));
    const k = s.addKernel(await d.compile(MATMUL_WGSL));
    assert.equal(s.bytes, 64);
    assert.throws(() => s.kernel(h), /is a buffer/);
    assert.throws(() => s.buffer(k), /is a kernel/);
    assert.ok(s.destroyBuffer(h));
    assert.equal(s.destroyBuffer(h), false);
    s.addBuffer(await d.createBuffer(8));
    s.close();
    assert.equal(s.bytes, 0);
    assert.throws(() => s.buffer(h), RangeError);
  });

  test("a closed device refuses work with GpuUnavailableError", async () => {
    const other = await GpuDevice.open();
    assert.ok(typeof other !== "string");
    other.close();
    await assert.rejects(other.createBuffer(4), GpuUnavailableError);
    assert.throws(() => other.compile(MATMUL_WGSL), GpuUnavailableError);
  });
});

describe("GpuDevice.open", () => {
  test("a backend with no adapter gives the reason, not a device", async () => {
    const none = await GpuDevice.open({ backend: process.platform === "win32" ? "metal" : "d3d12" });
    assert.equal(typeof none, "string");
    assert.match(none as string, /no d3d12 adapter|no metal adapter/);
  });

  test("an unknown backend is a RangeError", async () => {
    await assert.rejects(GpuDevice.open({ backend: "cuda" as never }), RangeError);
  });
});
