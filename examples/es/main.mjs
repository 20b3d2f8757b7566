// Evolution strategies (the paper's section 5.3) on CartPole: a table of
// Gaussian noise shared as one object, worker tasks that each score
// perturbations θ ± σε of a 4-8-1 policy network (a compiled guest,
// es.c), and a tree of actors (leaves fold the workers' results into
// partial gradients, a root applies them) that hands the next θ straight
// to the next iteration's workers. Beside it, the same algorithm on one
// plain Node thread (cartpole.mjs).
//   npm run example -- es [--size small|full]
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { init } from "wray";
import { fmt, guest, lineChart, options, rng, table } from "../common.mjs";
import { PARAMS, accumulate, evaluate, score } from "./cartpole.mjs";

const o = options();
const full = o.size === "full";
const NOISE = full ? 1_000_000 : 100_000;
const PAIRS = full ? 1024 : 32;
const EPISODES = full ? 8 : 3;
const MAX_STEPS = full ? 1000 : 200;
const MAX_ITERATIONS = full ? 120 : 40;
const TARGET = 0.95 * MAX_STEPS;
const SIGMA = 0.1;
const LR = 0.05;
/** θ += STEP · Σ (r+ − r−)·ε: returns scaled to 0..1 by MAX_STEPS, averaged over the pairs. */
const STEP = LR / (PAIRS * SIGMA * MAX_STEPS);
const HELD_OUT = 999_999; // the start states a policy is scored on: none is trained on
const cpus = availableParallelism();
const WORKERS = cpus;
const LEAVES = 2;

const r = rng(3);
const noise = new Float32Array(NOISE);
for (let i = 0; i < NOISE; i++) noise[i] = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const theta0 = Float64Array.from({ length: PARAMS }, () => (r() - 0.5) * 0.2);
/** Each iteration's noise offsets, split among the workers: the same for both versions. */
const offsetsOf = (it) => {
  const g = rng(100 + it);
  const all = Int32Array.from({ length: PAIRS }, () => Math.floor(g() * (NOISE - PARAMS)));
  const per = Math.ceil(PAIRS / WORKERS);
  return Array.from({ length: WORKERS }, (_, w) => all.slice(w * per, (w + 1) * per));
};

// ---- wray --------------------------------------------------------------------------------
const wasm = await guest("examples/es/es.c");
const ray = await init({ log: () => {} });
const mod = await ray.load(wasm);
const evaluateTask = mod.fn("evaluate");
const scoreTask = mod.fn("score");
const noiseRef = ray.put(noise);
const leaves = Array.from({ length: LEAVES }, () => mod.actor("Leaf").remote(noiseRef));
const root = mod.actor("Root").remote(theta0, STEP);
await ray.get([...leaves.map((l) => l.take.remote()), scoreTask.remote(theta0, HELD_OUT, 1, 1)]); // actors up, guests compiled

/**
 * Runs ES iterations with `iterate(it)` (one iteration; resolves with the
 * held-out score of the new θ) until the target or MAX_ITERATIONS: the
 * score over time, when the target was reached, and the rate.
 */
async function train(iterate) {
  const curve = [];
  const t0 = performance.now();
  let reached;
  let it = 0;
  while (it < MAX_ITERATIONS && !reached) {
    const s = await iterate(it++);
    const ms = performance.now() - t0;
    curve.push([ms / 1000, s]);
    if (s >= TARGET) reached = { iterations: it, ms };
  }
  return { curve, reached, rate: it / ((performance.now() - t0) / 1000) };
}

let thetaRef = ray.put(theta0);
const wray = await train(async (it) => {
  offsetsOf(it).forEach((offs, w) => leaves[w % LEAVES].add.remote(evaluateTask.remote(noiseRef, thetaRef, offs, SIGMA, 1000 * it, EPISODES, MAX_STEPS)));
  thetaRef = root.update.remote(...leaves.map((l) => l.take.remote()));
  return ray.get(scoreTask.remote(thetaRef, HELD_OUT, 10, MAX_STEPS));
});
await ray.shutdown();

// ---- the same on one plain Node thread -----------------------------------------------------
const theta = Float64Array.from(theta0);
score(theta, HELD_OUT, 1, 1); // warm-up
const thread = await train(async (it) => {
  const g = new Float64Array(PARAMS);
  for (const offs of offsetsOf(it)) accumulate(noise, evaluate(noise, theta, offs, SIGMA, 1000 * it, EPISODES, MAX_STEPS).pairs, g);
  for (let i = 0; i < PARAMS; i++) theta[i] += STEP * g[i];
  return score(theta, HELD_OUT, 10, MAX_STEPS);
});

console.log(`\nES on CartPole: ${PAIRS} perturbation pairs of a ${PARAMS}-parameter policy per iteration, ${EPISODES} episodes each (up to ${fmt(MAX_STEPS)} steps), noise table of ${fmt(NOISE)} floats shared as one object; target: mean return ${TARGET} on 10 held-out episodes\n`);
const reached = (x) => (x ? `${x.iterations} iterations, ${(x.ms / 1000).toFixed(2)} s` : `not within ${MAX_ITERATIONS} iterations`);
table(
  ["version", "iterations/s", "time to the target"],
  [
    [`wray: ${WORKERS} worker tasks per iteration, ${LEAVES} leaf actors and a root`, wray.rate.toFixed(2), reached(wray.reached)],
    ["one plain Node thread", thread.rate.toFixed(2), reached(thread.reached)],
  ],
);
if (wray.reached && thread.reached) console.log(`\nspeed-up to the target: ${(thread.reached.ms / wray.reached.ms).toFixed(2)}x (the one thread's time over wray's)`);
const chart = lineChart(join(o.out, "es.svg"), {
  title: "ES on CartPole: held-out score over time",
  x: "seconds",
  y: "mean return",
  series: [
    { name: "wray", points: wray.curve },
    { name: "one plain Node thread", points: thread.curve },
  ],
});
console.log(`chart: ${chart}`);
