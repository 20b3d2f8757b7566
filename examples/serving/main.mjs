// Serving (the paper's Table 3, where Ray was compared with Clipper): an
// HTTP endpoint (node:http) in front of a pool of Model actors (a compiled
// guest, model.c), with requests batched per actor call; beside it the same
// model served by a plain Node HTTP server in one process. A load generator
// in a separate process keeps a fixed number of requests in flight over
// loopback for a bounded time, and reports states/s and latency.
//   npm run example -- serving [--size small|full]
import { fork } from "node:child_process";
import { createServer, request, Agent } from "node:http";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { fmt, guest, median, options, quantile, rng, table } from "../common.mjs";
import { OUTPUTS, predict, weights } from "./model.mjs";

if (process.argv[2] === "--load") await load(JSON.parse(process.argv[3]));
else await main();

async function main() {
  const o = options();
  const full = o.size === "full";
  const REPS = full ? 3 : 1;
  const load = { durationMs: full ? 5000 : 1500, concurrency: full ? 32 : 8, maxRequests: full ? 1_000_000 : 20_000 };
  const { init } = await import("wray");
  const cpus = availableParallelism();
  const MAX_BATCH = 64;
  const wasm = await guest("examples/serving/model.c");
  const ray = await init({ log: () => {} });
  const mod = await ray.load(wasm);
  const rows = [];
  for (const [label, inputs] of [["small (64 floats)", 64], ["large (25,000 floats)", 25_000]]) {
    const w = weights(inputs);
    // ---- wray: a pool of actors behind the endpoint, requests batched per call
    const pool = Array.from({ length: cpus }, () => ({ model: mod.actor("Model").remote(w), inFlight: 0 }));
    await ray.get(pool.map((p) => p.model.predict.remote(new Float32Array(inputs))));
    const queue = [];
    const dispatch = () => {
      for (const p of pool) {
        // two batches in flight per actor: the next is on its way while one computes
        while (p.inFlight < 2 && queue.length > 0) {
          const batch = queue.splice(0, MAX_BATCH);
          const x = new Float32Array(batch.length * inputs);
          batch.forEach((q, i) => x.set(q.x, i * inputs));
          p.inFlight++;
          ray.get(p.model.predict.remote(x)).then(
            (y) => {
              p.inFlight--;
              batch.forEach((q, i) => reply(q.res, y.subarray(i * OUTPUTS, (i + 1) * OUTPUTS)));
              dispatch();
            },
            (e) => {
              p.inFlight--;
              for (const q of batch) q.res.writeHead(500).end(String(e.message));
              dispatch();
            },
          );
        }
      }
    };
    // requests parsed in one turn of the event loop go out together
    let scheduled = false;
    const viaWray = (x, res) => {
      queue.push({ x, res });
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          dispatch();
        });
      }
    };
    // the same model in one plain Node process, each request computed as it comes
    const direct = (x, res) => reply(res, predict(w, inputs, x));
    // the two alternate, REPS times; each figure is the median of its runs
    const runs = { wray: [], plain: [] };
    for (let rep = 0; rep < REPS; rep++) {
      runs.wray.push(await serve(inputs, viaWray, load, w));
      runs.plain.push(await serve(inputs, direct, load, w));
    }
    for (const p of pool) await ray.kill(p.model);
    const [wrayRun, plainRun] = [runs.wray, runs.plain].map((rs) => ({ rate: median(rs.map((r) => r.rate)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) }));
    rows.push([label, `wray: ${cpus} Model actors, batches of up to ${MAX_BATCH}`, fmt(wrayRun.rate), wrayRun.p50.toFixed(2), wrayRun.p99.toFixed(2), `${(wrayRun.rate / plainRun.rate).toFixed(2)}x`]);
    rows.push([label, "plain Node HTTP server, one process", fmt(plainRun.rate), plainRun.p50.toFixed(2), plainRun.p99.toFixed(2), "1.00x"]);
  }
  await ray.shutdown();
  console.log(`\nServing an inputs-32-8 network over HTTP on loopback: ${load.concurrency} requests in flight for ${load.durationMs / 1000} s per run, wray and plain alternating, median of ${REPS} runs (load generator in its own process)\n`);
  table(["input", "server", "states/s", "p50 ms", "p99 ms", "states/s vs plain"], rows);
}

function reply(res, y) {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": y.byteLength });
  res.end(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

/** Serves POST bodies (Float32 rows of `inputs`) with `handle` on loopback; checks one answer against model.mjs, then runs the load generator. */
async function serve(inputs, handle, loadOptions, w) {
  const server = createServer((req, res) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts);
      if (body.length !== inputs * 4) return res.writeHead(400).end(`expected ${inputs * 4} bytes, got ${body.length}`);
      handle(new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)), res);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/predict`;
  try {
    const x = Float32Array.from({ length: inputs }, (_, i) => Math.cos(i));
    const b = await post(new Agent(), url, Buffer.from(x.buffer));
    const got = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    const want = predict(w, inputs, x);
    for (let k = 0; k < OUTPUTS; k++) if (Math.abs(got[k] - want[k]) > 1e-3 * (1 + Math.abs(want[k]))) throw new Error(`the server answered ${got[k]} for output ${k}, the model gives ${want[k]}`);
    const child = fork(fileURLToPath(import.meta.url), ["--load", JSON.stringify({ url, inputs, ...loadOptions })], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    const out = await new Promise((resolve, reject) => child.once("message", resolve).once("exit", (c) => reject(new Error(`the load generator exited with ${c}`))));
    child.kill();
    return out;
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

function post(agent, url, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-length": body.length } }, (res) => {
      const parts = [];
      res.on("data", (c) => parts.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(parts)}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The load generator: `concurrency` loops, each posting one request after another, until the time or the request count runs out. */
async function load({ url, inputs, durationMs, concurrency, maxRequests }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const r = rng(11);
  const bodies = Array.from({ length: 16 }, () => Buffer.from(Float32Array.from({ length: inputs }, () => r() - 0.5).buffer));
  const latencies = [];
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      while (performance.now() < end && sent < maxRequests) {
        sent++;
        const s = performance.now();
        await post(agent, url, bodies[(c + sent) % bodies.length]);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const wall = performance.now() - t0;
  agent.destroy();
  process.send({ rate: latencies.length / (wall / 1000), p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), requests: latencies.length }, () => process.exit(0));
}
