// Quickstart: run tasks from tasks.wasm on an embedded single-host cluster.
//   npm run wray -- build examples/quickstart/tasks.ts -o examples/quickstart/tasks.wasm
//   node examples/quickstart/main.mjs
import { fileURLToPath } from "node:url";
import { init } from "wray";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const ray = await init(); // one isolate per core
const mod = await ray.load(here("./tasks.wasm"));
console.log(`loaded ${mod.tasks.length} tasks: ${mod.tasks.join(", ")}`);

const add = mod.fn("add");
let t0 = performance.now();
const refs = Array.from({ length: 100_000 }, (_, i) => add.remote(i, 1));
const { ready, pending } = await ray.wait(refs, { numReturns: 10, timeoutMs: 100 });
const sums = await ray.get(refs);
let ms = performance.now() - t0;
console.log(`add: 100,000 tasks in ${ms.toFixed(0)} ms (${Math.round(100_000 / (ms / 1000)).toLocaleString()} tasks/s); ` +
  `wait saw ${ready.length} ready, ${pending.length} pending; sum of results = ${sums.reduce((a, b) => a + b, 0)}`);

t0 = performance.now();
const fib15 = await ray.get(mod.fn("fib").remote(15));
console.log(`fib(15) = ${fib15} with nested tasks in ${(performance.now() - t0).toFixed(0)} ms`);

const big = ray.put(new Uint8Array(64 << 20).fill(1)); // 64 MiB in the shared object store
t0 = performance.now();
const sum = await ray.get(mod.fn("checksum").remote(big)); // the task receives the value, not the ref
console.log(`checksum of a 64 MiB object passed by ref: ${sum} in ${(performance.now() - t0).toFixed(0)} ms`);

await ray.shutdown();
