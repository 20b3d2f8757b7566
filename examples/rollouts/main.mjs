// Rollouts (the paper's Table 4): 3n rollouts of random length on n CPUs,
// each a Pendulum simulator driven by a small policy network in a compiled
// guest (bench/guests/pendulum.c). wray collects results as they finish
// (wait); the bulk-synchronous version runs rounds of n with a barrier
// between them, as the paper's MPI baseline; one plain Node thread runs
// the same steps (bench/guests/pendulum.ts under V8).
//   npm run example -- rollouts [--size small|full]
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { init } from "wray";
import { fmt, guest, lineChart, median, options, plainModule, rng, table } from "../common.mjs";

const o = options();
const MAX_STEPS = o.size === "full" ? 100_000 : 5_000;
const SEED = 7;
/** Repetitions of each measurement (the median is shown). */
const REPS = o.size === "full" ? 5 : 1;
const cpus = availableParallelism();
const wasm = await guest("bench/guests/pendulum.c");
const { pendulum } = await plainModule("bench/guests/pendulum.ts");

/** Runs `fn` REPS times: its median ms, and what it returned. */
const timed = async (fn) => {
  const ms = [];
  let out;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    out = await fn();
    ms.push(performance.now() - t0);
  }
  return [median(ms), out];
};

/** 3n rollout lengths, uniform in 0..MAX_STEPS (the same for every version). */
const lengthsFor = (n) => {
  const r = rng(1000 + n);
  return Array.from({ length: 3 * n }, () => Math.floor(r() * MAX_STEPS));
};

const rows = [];
const points = { wait: [], barrier: [], thread: [] };
for (let n = 1; n <= cpus; n++) {
  const lengths = lengthsFor(n);
  const steps = lengths.reduce((a, b) => a + b, 0);
  const ray = await init({ numCpus: n, log: () => {} });
  const f = (await ray.load(wasm)).fn("pendulum");
  // warm-up: each isolate's compiler tiers the guest up
  await ray.get(Array.from({ length: 2 * n }, () => f.remote(Math.min(MAX_STEPS, 20_000), SEED)));

  // wray: all 3n at once, each result taken as it comes
  const [waitMs, sumWait] = await timed(async () => {
    let pending = lengths.map((s, i) => f.remote(s, SEED + i));
    let sum = 0;
    while (pending.length > 0) {
      const w = await ray.wait(pending, { numReturns: 1 });
      pending = w.pending;
      sum += await ray.get(w.ready[0]);
    }
    return sum;
  });
  // bulk-synchronous: three rounds of n, a barrier after each
  const [barrierMs, sumBarrier] = await timed(async () => {
    let sum = 0;
    for (let round = 0; round < 3; round++) {
      const part = lengths.slice(round * n, (round + 1) * n);
      for (const v of await ray.get(part.map((s, i) => f.remote(s, SEED + round * n + i)))) sum += v;
    }
    return sum;
  });
  await ray.shutdown();
  // one plain Node thread, the same rollouts (warmed up like the guests)
  pendulum(20_000, SEED);
  const [threadMs, sumThread] = await timed(() => lengths.reduce((sum, s, i) => sum + pendulum(s, SEED + i), 0));
  // the barrier version adds in another order: equal up to rounding
  for (const [what, sum] of [["barrier", sumBarrier], ["one thread", sumThread]]) {
    if (Math.abs(sum - sumWait) > 1e-6 * Math.abs(sumWait)) throw new Error(`the ${what} version's total reward ${sum} differs from wray's ${sumWait}`);
  }
  const rate = (ms) => steps / (ms / 1000);
  points.wait.push([n, rate(waitMs)]);
  points.barrier.push([n, rate(barrierMs)]);
  points.thread.push([n, rate(threadMs)]);
  rows.push([n, 3 * n, fmt(steps), fmt(rate(waitMs)), fmt(rate(barrierMs)), fmt(rate(threadMs)), `${(barrierMs / waitMs).toFixed(2)}x`, `${(threadMs / waitMs).toFixed(2)}x`]);
}

console.log(`\nRollouts of 0-${fmt(MAX_STEPS)} Pendulum steps (a 3-16-1 policy network each step), 3n of them on n CPUs, median of ${REPS}; the same total reward from every version\n`);
table(["CPUs", "rollouts", "timesteps", "wray wait, steps/s", "barrier rounds, steps/s", "one Node thread, steps/s", "wait vs barrier", "wait vs one thread"], rows);
const chart = lineChart(join(o.out, "rollouts.svg"), {
  title: "Rollouts: timesteps/s as CPUs grow",
  x: "CPUs",
  y: "timesteps/s",
  series: [
    { name: "wray, results as they finish", points: points.wait },
    { name: "bulk-synchronous rounds", points: points.barrier },
    { name: "one plain Node thread", points: points.thread },
  ],
});
console.log(`\nchart: ${chart}`);
