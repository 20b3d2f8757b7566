// Ring allreduce with actors: k hosts (processes on loopback), a Rank actor
// on each (a compiled guest, rank.c) holding a vector; k-1 reduce-scatter
// steps and k-1 allgather steps, each passing one chunk per rank to the
// next as an object (pulled host to host). The floor beside it: k plain
// processes passing the same chunks round the same ring over ws, with no
// adds and no object store.
//   npm run example -- allreduce [--size small|full]
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { WebSocket, WebSocketServer } from "ws";
import { fmt, guest, localCluster, median, options, table } from "../common.mjs";

/** Frames of a chunk on the floor's ring: ws on loopback is fastest with frames of about 1 MiB (LIMITS.md), and slowest with tens of MB. */
const FRAME = 1 << 20;

if (process.argv[2] === "--ring") await ringMember(Number(process.argv[3]), Number(process.argv[4]));
else await main();

async function main() {
  const o = options();
  const runs = o.size === "full" ? [2, 4].flatMap((k) => [100e6, 1e9].map((bytes) => ({ k, bytes }))) : [{ k: 2, bytes: 10e6 }];
  const reps = o.size === "full" ? 3 : 1;
  const { init } = await import("wray");
  const wasm = await guest("examples/allreduce/rank.c");
  const rows = [];
  for (const { k, bytes } of runs) {
    const n = Math.floor(bytes / 4);
    const cluster = await localCluster(Array.from({ length: k }, (_, i) => ["--num-cpus", "1", "--resources", JSON.stringify({ [`rank${i}`]: 1 })]));
    let ray;
    try {
      ray = await init({ address: cluster.address, token: cluster.token, log: () => {} });
      const mod = await ray.load(wasm);
      const times = [];
      for (let rep = 0; rep < reps; rep++) {
        const ranks = Array.from({ length: k }, (_, i) => mod.actor("Rank", { resources: { [`rank${i}`]: 1 }, memoryMb: 4096 }).remote(i, k, n));
        await ray.get(ranks.map((r) => r.check.remote())); // up, vectors filled
        const t0 = performance.now();
        const last = new Array(k);
        for (const [steps, add, first] of [[k - 1, true, 0], [k - 1, false, 1]]) {
          for (let s = 0; s < steps; s++) {
            for (let i = 0; i < k; i++) {
              const c = (((i + first - s) % k) + k) % k;
              last[(i + 1) % k] = ranks[(i + 1) % k].recv.remote(c, ranks[i].send.remote(c), add);
            }
          }
        }
        await ray.get(last);
        times.push(performance.now() - t0);
        const bad = await ray.get(ranks.map((r) => r.check.remote()));
        if (bad.some((b) => b !== 0)) throw new Error(`after the allreduce, ranks hold ${bad.join(", ")} wrong elements`);
        for (const r of ranks) await ray.kill(r);
      }
      const floor = await ringFloor(k, bytes, reps);
      const t = median(times) / 1000;
      rows.push([k, `${fmt(bytes / 1e6)} MB`, t.toFixed(3), fmt((2 * (k - 1) * bytes) / k / t / 1e6), floor.toFixed(3), `${(t / floor).toFixed(2)}x`]);
    } finally {
      await ray?.shutdown();
      await cluster.stop();
    }
  }
  console.log(`\nRing allreduce of float32 vectors, median of ${reps}; every rank checked to hold the sum\n`);
  table(["hosts", "vector", "wray, s", "per rank, MB/s sent", "floor: the same chunks over ws, s", "wray vs floor"], rows);
}

/** Seconds for k processes to pass the ring's 2(k-1) chunks of bytes/k each round a ring over ws, each waiting for its last chunk before sending the next (median of reps after a warm-up round). */
async function ringFloor(k, bytes, reps) {
  const kids = Array.from({ length: k }, (_, i) => fork(fileURLToPath(import.meta.url), ["--ring", String(i), String(Math.floor(bytes / k))], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  const next = (kid, type) => new Promise((resolve, reject) => {
    const on = (m) => {
      if (m.type !== type) return;
      kid.off("message", on);
      resolve(m);
    };
    kid.on("message", on).once("exit", (c) => reject(new Error(`a ring member exited with ${c}`)));
  });
  try {
    const ports = await Promise.all(kids.map((kid) => next(kid, "port")));
    kids.forEach((kid, i) => kid.send({ type: "connect", port: ports[(i + 1) % k].port, steps: 2 * (k - 1) }));
    await Promise.all(kids.map((kid) => next(kid, "connected")));
    const times = [];
    for (let r = -1; r < reps; r++) {
      // round -1 warms up (socket buffers, memory), untimed
      const t0 = performance.now();
      const done = Promise.all(kids.map((kid) => next(kid, "done")));
      for (const kid of kids) kid.send({ type: "go" });
      await done;
      if (r >= 0) times.push(performance.now() - t0);
    }
    return median(times) / 1000;
  } finally {
    for (const kid of kids) kid.kill();
  }
}

/** A member of the floor's ring: sends `steps` chunks to the next (in FRAME frames), each after the previous one came in. */
async function ringMember(i, chunkBytes) {
  const frame = Buffer.alloc(Math.min(FRAME, chunkBytes), i);
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: chunkBytes + 1024 });
  await new Promise((r) => server.once("listening", r));
  let inbox = 0;
  let bytes = 0;
  let wake;
  server.on("connection", (ws) => ws.on("message", (d) => {
    bytes += d.length;
    while (bytes >= chunkBytes) {
      bytes -= chunkBytes;
      inbox++;
      wake?.();
    }
  }));
  const got = () => (inbox > 0 ? (inbox--, Promise.resolve()) : new Promise((r) => (wake = () => ((wake = undefined), inbox--, r()))));
  let out;
  let steps;
  process.on("message", async (m) => {
    if (m.type === "connect") {
      steps = m.steps;
      out = new WebSocket(`ws://127.0.0.1:${m.port}`, { maxPayload: chunkBytes + 1024 });
      await new Promise((r) => out.once("open", r));
      process.send({ type: "connected" });
    } else if (m.type === "go") {
      for (let s = 0; s < steps; s++) {
        for (let sent = 0; sent < chunkBytes; sent += frame.length) out.send(sent + frame.length <= chunkBytes ? frame : frame.subarray(0, chunkBytes - sent));
        await got();
      }
      process.send({ type: "done" });
    }
  });
  process.send({ type: "port", port: server.address().port });
}
