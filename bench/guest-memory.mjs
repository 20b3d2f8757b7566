// Two guests allocating without bound on one host (issue 18): peak and final RSS, how long
// until both failed, and with what. `node bench/guest-memory.mjs [ROOT] ['{"hostMemoryLimitMb":1500}']`
// (ROOT: a built checkout with its test guests built, default this one).
import { fileURLToPath } from "node:url";
const [root, extra] = [process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, ""), process.argv[3]];
const { init } = await import(`${root}/dist/index.js`);
const opts = extra ? JSON.parse(extra) : {};
const ray = await init({ numCpus: 2, log: () => {}, ...opts });
const mod = await ray.load(`${root}/test/guests/oom/oom.wasm`);
const rss = () => process.memoryUsage.rss() / 2 ** 20;
let peak = rss();
const r0 = peak;
const timer = setInterval(() => (peak = Math.max(peak, rss())), 50);
const t0 = performance.now();
const res = await Promise.allSettled([0, 1].map(() => ray.get(mod.fn("exhaust", { maxRetries: 0 }).remote())));
const ms = performance.now() - t0;
clearInterval(timer);
await new Promise((r) => setTimeout(r, 1000));
console.log(`${root} ${extra ?? ""}: start ${r0.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, both failed in ${(ms / 1000).toFixed(1)} s, after ${rss().toFixed(0)} MiB; ${res.map((r) => r.status === "rejected" ? `${r.reason.constructor.name}: ${r.reason.message.slice(0, 160)}` : "ok").join(" | ")}`);
console.log(`next task: ${await ray.get(mod.fn("small").remote())}`);
await ray.shutdown();
