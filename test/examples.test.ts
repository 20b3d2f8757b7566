import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

test("the parameter-server example runs and prints its comparison", { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, ["examples/parameter-server/main.mjs"], { cwd: root, timeout: 170_000 });
  assert.match(stdout, /the actor saw 200 updates/);
  assert.match(stdout, /\| wray: 2 worker tasks \+ parameter-server actor .* \| 200 \| \d+ \| \d+ \|/);
  assert.match(stdout, /\| one thread of plain JavaScript .* \| 200 \|/);
  const rms = Number(/RMS error to w\* = ([0-9.]+)/.exec(stdout)?.[1]);
  assert.ok(rms < 0.5, `training made progress (RMS ${rms})`);
});

test("the gpu-policy example runs its policy on the GPU and the CPU and prints both", { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, ["examples/gpu-policy/main.mjs"], { cwd: root, timeout: 170_000 });
  assert.match(stdout, /\| CpuPolicy actor \(guest JavaScript\) \| 4 \| \d+ \| \d+ \| [0-9.]+ \|/);
  if (/no GPU adapter/.test(stdout)) return; // the CPU half still ran
  assert.match(stdout, /^GPU: .+/m);
  assert.match(stdout, /\| GpuPolicy actor \(WGSL kernel\) \| 4 \| \d+ \| \d+ \| [0-9.]+ \|/);
  const diff = Number(/agree to ([0-9.e+-]+)/.exec(stdout)?.[1]);
  assert.ok(diff < 1e-3, `GPU and CPU actions differ by ${diff}`);
});
