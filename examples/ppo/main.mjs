// PPO, the paper's heterogeneous case: Pendulum simulators as CPU tasks
// (sim.c), the policy's forward pass and update on the GPU in an actor
// (policy.ts, WGSL kernels), joined by asynchronous scatter-gather: the
// driver waits for whichever simulator groups have stepped, sends their
// states to the policy as one batch, and scatters the batch's actions back
// as the groups' next steps; nothing waits for the slowest group until the
// update. The all-CPU version runs the same loop with the policy in C
// (sim.c's CpuPolicy).
//   npm run example -- ppo [--size small|full]
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { init } from "wray";
import { fmt, guest, lineChart, options, rng, table } from "../common.mjs";

const o = options();
const full = o.size === "full";
const GROUPS = full ? 2 * availableParallelism() : 2;
const ENVS = full ? 64 : 16;
const STEPS = full ? 50 : 10;
const ITERATIONS = full ? 12 : 2;
const HIDDEN = full ? 128 : 64;
const SIGMA = 0.5;
// [sigma, clip, lr, epochs, gamma]
const HYPER = Float64Array.of(SIGMA, 0.2, 0.005, 4, 0.95);

const r = rng(5);
const w1 = Float32Array.from({ length: 3 * HIDDEN }, () => (r() - 0.5) * 4);
const b1 = Float32Array.from({ length: HIDDEN }, () => (r() - 0.5) * 2);
const w0 = Float32Array.from({ length: HIDDEN }, () => (r() - 0.5) * 0.1);

const ray = await init({ log: () => {} });
const sim = await ray.load(await guest("examples/ppo/sim.c"));
// the task: keep a pendulum that starts near upright there (reset in sim.c)
const reset = sim.fn("reset");
const step = sim.fn("step").options({ numReturns: 2 });

/** Runs PPO with `policy` (an actor with act and update): env steps/s, and the mean reward per step of each iteration. */
async function train(policy) {
  await ray.get(policy.act.remote(await ray.get(reset.remote(1, 1)))); // up, kernels compiled
  const curve = [];
  const t0 = performance.now();
  for (let it = 0; it < ITERATIONS; it++) {
    const states = Array.from({ length: GROUPS }, (_, g) => reset.remote(ENVS, 1 + it * 1000 + g));
    const records = Array.from({ length: GROUPS }, () => []);
    const groupOf = new Map(states.map((s, g) => [s, g]));
    let waiting = [...states];
    while (waiting.length > 0) {
      // gather: at least one group, and every other one that is ready too
      const first = await ray.wait(waiting, { numReturns: 1 });
      const more = await ray.wait(first.pending, { numReturns: first.pending.length, timeoutMs: 0 });
      const ready = [...first.ready, ...more.ready];
      waiting = more.pending;
      const means = policy.act.remote(...ready);
      // scatter: each group's next step takes its slice of the batch's actions
      ready.forEach((s, i) => {
        const g = groupOf.get(s);
        groupOf.delete(s);
        const t = records[g].length;
        const [next, record] = step.remoteN(s, means, i * ENVS, SIGMA, (it * 1000 + g) * 1000 + t);
        records[g].push(record);
        if (t + 1 < STEPS) {
          groupOf.set(next, g);
          waiting.push(next);
        }
      });
    }
    curve.push([it + 1, await ray.get(policy.update.remote(GROUPS, ...records.flat()))]);
  }
  const ms = performance.now() - t0;
  await ray.kill(policy);
  return { rate: (ITERATIONS * GROUPS * ENVS * STEPS) / (ms / 1000), ms, curve };
}

const rows = [];
const series = [];
let gpuRun;
if (ray.gpu.available) {
  const gpuMod = await ray.load(await guest("examples/ppo/policy.ts"));
  const gpuPolicy = gpuMod.actor("GpuPolicy", { numGpus: 1 }).remote(w1, b1, w0, HYPER);
  console.log(`GPU: ${await ray.get(gpuPolicy.adapter.remote())}`);
  gpuRun = await train(gpuPolicy);
  rows.push(["simulator tasks + GpuPolicy actor (WGSL forward and update)", fmt(gpuRun.rate), (gpuRun.ms / 1000).toFixed(2), gpuRun.curve.at(-1)[1].toFixed(3)]);
  series.push({ name: "policy on the GPU", points: gpuRun.curve });
} else console.log("no GPU adapter on this host: running the all-CPU version only");
const cpuRun = await train(sim.actor("CpuPolicy").remote(w1, b1, w0, HYPER));
rows.push(["all-CPU: simulator tasks + CpuPolicy actor (C)", fmt(cpuRun.rate), (cpuRun.ms / 1000).toFixed(2), cpuRun.curve.at(-1)[1].toFixed(3)]);
series.push({ name: "all-CPU", points: cpuRun.curve });
await ray.shutdown();

console.log(`\nPPO on Pendulum: ${ITERATIONS} iterations of ${GROUPS} simulator groups x ${ENVS} environments x ${STEPS} steps; a ${HIDDEN}-unit random-feature policy whose output layer PPO trains (${HYPER[3]} epochs per update)\n`);
table(["version", "env steps/s", "seconds", "mean reward per step, last iteration"], rows);
if (gpuRun) console.log(`\nwith the policy on the GPU: ${(gpuRun.rate / cpuRun.rate).toFixed(2)}x the all-CPU version's steps/s`);
const chart = lineChart(join(o.out, "ppo.svg"), { title: "PPO on Pendulum: mean reward per step", x: "iteration", y: "mean reward per step", series });
console.log(`chart: ${chart}`);
