// Parameter server: worker tasks pull weights from an actor, compute
// gradients and push them back; the same updates are then done by a plain
// single-threaded loop in this process, for comparison.
//   node examples/parameter-server/main.mjs
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildGuest, init } from "wray";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const src = here("./ps.ts");
const wasm = here("./ps.wasm");
if (!existsSync(wasm) || statSync(wasm).mtimeMs < statSync(src).mtimeMs) await buildGuest(src, { output: wasm });

const DIM = 32;
const BATCH = 8;
const LR = 0.05;
const STEPS = 100;
const WORKERS = 2;

const ray = await init();
const mod = await ray.load(wasm);
const ps = mod.actor("ParameterServer").remote(DIM);
await ray.get(ps.get.remote()); // the actor is up

let t0 = performance.now();
const done = await ray.get(Array.from({ length: WORKERS }, (_, id) => mod.fn("worker").remote(ps, id + 1, STEPS, BATCH, LR)));
const wrayMs = performance.now() - t0;
const w = await ray.get(ps.get.remote());
const wStar = Array.from({ length: DIM }, (_, i) => Math.sin(i));
const err = Math.sqrt(w.reduce((s, x, i) => s + (x - wStar[i]) ** 2, 0) / DIM);
const updates = WORKERS * STEPS;

// the same work in one thread of plain JavaScript (same data, same order per worker)
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
}
t0 = performance.now();
const ws = new Float64Array(DIM);
const x = new Float64Array(DIM);
for (let id = 1; id <= WORKERS; id++) {
  for (let s = 0; s < STEPS; s++) {
    const r = rng(id * 1_000_003 + s);
    const g = new Float64Array(DIM);
    for (let b = 0; b < BATCH; b++) {
      let pred = 0;
      let y = 0;
      for (let i = 0; i < DIM; i++) {
        const v = r();
        x[i] = v;
        pred += v * ws[i];
        y += v * wStar[i];
      }
      const e = (pred - y) / BATCH;
      for (let i = 0; i < DIM; i++) g[i] += 2 * e * x[i];
    }
    for (let i = 0; i < DIM; i++) ws[i] -= LR * g[i];
  }
}
const loopMs = performance.now() - t0;

console.log(`parameter server: ${WORKERS} worker tasks x ${STEPS} steps (dim ${DIM}, batch ${BATCH}); the actor saw ${Math.max(...done)} updates; RMS error to w* = ${err.toFixed(4)}`);
console.log("");
console.log("| run | updates | time (ms) | updates/s |");
console.log("|---|---|---|---|");
console.log(`| wray: ${WORKERS} worker tasks + parameter-server actor (QuickJS guests) | ${updates} | ${wrayMs.toFixed(0)} | ${Math.round(updates / (wrayMs / 1000))} |`);
console.log(`| one thread of plain JavaScript (V8 JIT) | ${updates} | ${loopMs.toFixed(1)} | ${Math.round(updates / (loopMs / 1000))} |`);
console.log("");
console.log("The sandboxed guests run in an interpreter (QuickJS), about 400x slower at arithmetic than V8's JIT; each update also costs two actor round trips. Compiled guests (AssemblyScript, C, Rust) are the way to close the gap.");
await ray.shutdown();
