// Simulators as CPU tasks, a policy actor evaluating their observations on
// the GPU (a WGSL kernel), and the same policy on the CPU beside it.
//   node examples/gpu-policy/main.mjs
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildGuest, init } from "wray";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const src = here("./policy.ts");
const wasm = here("./policy.wasm");
if (!existsSync(wasm) || statSync(wasm).mtimeMs < statSync(src).mtimeMs) await buildGuest(src, { output: wasm });

const INPUTS = 128;
const OUTPUTS = 128;
const SIMULATORS = 4;
const STEPS = 64; // observations per simulator per round: a batch is SIMULATORS × STEPS = 256 rows
const ROUNDS = 4;

const ray = await init();
const mod = await ray.load(wasm);
const weights = Float32Array.from({ length: INPUTS * OUTPUTS }, (_, i) => Math.sin(i) / Math.sqrt(INPUTS));
const simulate = mod.fn("simulate");
const hasGpu = ray.gpu.available;

/** Runs ROUNDS of: simulators in parallel, then one batched policy evaluation. Returns [ms, last actions]. */
async function run(policy) {
  let last;
  let policyMs = 0;
  const t0 = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    const parts = await ray.get(Array.from({ length: SIMULATORS }, (_, s) => simulate.remote(1 + round * SIMULATORS + s, STEPS, INPUTS)));
    const batch = new Float32Array(SIMULATORS * STEPS * INPUTS);
    parts.forEach((p, i) => batch.set(p, i * STEPS * INPUTS));
    const p0 = performance.now();
    last = await ray.get(policy.evaluate.remote(batch));
    policyMs += performance.now() - p0;
  }
  return { totalMs: performance.now() - t0, policyMs, last };
}

const rows = [];
let gpuRun;
if (hasGpu) {
  const gpuPolicy = mod.actor("GpuPolicy", { numGpus: 1 }).remote(weights, INPUTS, OUTPUTS);
  console.log(`GPU: ${await ray.get(gpuPolicy.adapter.remote())}`);
  await ray.get(gpuPolicy.evaluate.remote(new Float32Array(INPUTS))); // compiles the kernel
  gpuRun = await run(gpuPolicy);
  rows.push(["GpuPolicy actor (WGSL kernel)", gpuRun]);
  await ray.kill(gpuPolicy);
} else console.log("no GPU adapter on this host: running the CPU policy only");
const cpuPolicy = mod.actor("CpuPolicy").remote(weights, INPUTS, OUTPUTS);
const cpuRun = await run(cpuPolicy);
rows.push(["CpuPolicy actor (guest JavaScript)", cpuRun]);

const flops = 2 * SIMULATORS * STEPS * INPUTS * OUTPUTS * ROUNDS;
console.log(`\n${ROUNDS} rounds of ${SIMULATORS} simulator tasks × ${STEPS} steps, then a ${SIMULATORS * STEPS}×${INPUTS} · ${INPUTS}×${OUTPUTS} policy evaluation\n`);
console.log("| policy | rounds | total ms | policy ms | policy GFLOP/s |");
console.log("|---|---|---|---|---|");
for (const [name, r] of rows) console.log(`| ${name} | ${ROUNDS} | ${r.totalMs.toFixed(0)} | ${r.policyMs.toFixed(0)} | ${(flops / r.policyMs / 1e6).toFixed(3)} |`);
if (gpuRun) {
  let maxDiff = 0;
  for (let i = 0; i < cpuRun.last.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cpuRun.last[i] - gpuRun.last[i]));
  console.log(`\nGPU and CPU actions agree to ${maxDiff.toExponential(1)} (max abs difference); the GPU policy was ${(cpuRun.policyMs / gpuRun.policyMs).toFixed(1)}x faster`);
}
await ray.shutdown();
