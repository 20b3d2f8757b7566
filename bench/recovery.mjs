// Fault-tolerance rows (issue 19), run by bench/run.mjs: a head and two
// hosts as processes on loopback, this process a driver.
//
//   recovery: 1,000 chained tasks, a host killed halfway
//       each task takes the previous one's 200 KB result (held by the host
//       that made it) and makes the next; with the kill, the results lost
//       with the host are made again from their lineage. Wall time against
//       the same chain with no kill, as a ratio (paper Fig. 11a), and a
//       chart of tasks finished per 100 ms across the kill (bench/recovery.svg).
//   head restart: driver stall
//       a driver keeps 64 tasks in flight while the head is killed and a
//       new one is started on its session (--restore): the longest gap
//       between two completed results, ms (paper Fig. 10a).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init } from "../dist/index.js";

const CHAIN = 1000;
const LINK_BYTES = 200_000;

/** A child node process that has printed a line matching `ready`: its process and the match (run.mjs uses it too). */
export function child(argv, env, ready) {
  const p = spawn(process.execPath, argv, { env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  return new Promise((resolve, reject) => {
    p.stdout.on("data", (d) => {
      out += d;
      const m = out.match(ready);
      if (m) resolve({ p, m, out: () => out });
    });
    p.once("exit", (c) => reject(new Error(`exited with ${c}: ${out}`)));
  });
}

/** A head (no CPUs) and two 1-CPU hosts; `fn(ctx)` with a driver joined to them; everything stopped after. */
async function withCluster(cli, guest, fn) {
  const home = mkdtempSync(join(tmpdir(), "wray-bench-recovery-"));
  const env = { ...process.env, WRAY_HOME: home };
  const procs = [];
  let ray;
  try {
    const head = await child([cli, "start", "--head", "--port", "0", "--num-cpus", "0", "--heartbeat-ms", "500", "--missed-heartbeats", "3", "--block"], env, /wray head started at (ws:\/\/\S+)/);
    procs.push(head.p);
    const address = head.m[1];
    const hosts = [];
    for (let i = 0; i < 2; i++) {
      const h = await child([cli, "start", "--address", address, "--num-cpus", "1", "--block"], env, /wray node ([0-9a-f]{8}) joined/);
      procs.push(h.p);
      hosts.push({ p: h.p, id: h.m[1] });
    }
    const token = readFileSync(join(home, "token"), "utf8").trim();
    ray = await init({ address, token, log: () => {} });
    const mod = await ray.load(guest);
    const restartHead = async () => {
      const again = await child([cli, "start", "--head", "--restore", "--num-cpus", "0", "--heartbeat-ms", "500", "--missed-heartbeats", "3", "--block"], env, /wray head started at/);
      procs.push(again.p);
    };
    return await fn({ ray, mod, hosts, head: head.p, restartHead });
  } finally {
    await ray?.shutdown();
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * The chain, timed: completion times (ms from the start) of each link's
 * small result, and the wall time; with `kill`, the host holding the
 * chain is killed once half the links are done.
 */
async function chainRun({ ray, mod, hosts }, kill) {
  const step = mod.fn("chainStep").options({ numReturns: 2 });
  let prev = ray.put(new Uint8Array(LINK_BYTES));
  const small = [];
  const t0 = performance.now();
  for (let i = 0; i < CHAIN; i++) {
    const [big, s] = step.remoteN(prev, i);
    prev = big;
    small.push(s);
  }
  const done = [];
  let killedAt;
  let pending = small;
  while (pending.length > 0) {
    const { ready, pending: notReady } = await ray.wait(pending, { numReturns: 1, timeoutMs: 60_000 });
    const now = performance.now() - t0;
    for (let i = 0; i < ready.length; i++) done.push(now);
    pending = notReady;
    if (kill && killedAt === undefined && done.length >= CHAIN / 2) {
      // the host holding the chain: the one with the most objects
      const s = await ray.clusterStatus();
      const victim = hosts.map((h) => ({ h, n: s.nodes.find((x) => x.nodeId.startsWith(h.id))?.objects ?? 0 })).sort((a, b) => b.n - a.n)[0].h;
      victim.p.kill("SIGKILL");
      killedAt = performance.now() - t0;
    }
  }
  const last = await ray.get(prev);
  if (last[0] !== ((CHAIN - 1) & 255) || last[1] !== ((CHAIN - 1) >> 8) || last.length !== LINK_BYTES) throw new Error("the chain's last link is wrong");
  return { wallMs: performance.now() - t0, done, killedAt };
}

/** Tasks finished per 100 ms, as an SVG bar chart, with the kill marked. */
function chartSvg(done, killedAt, wallMs) {
  const bucket = 100;
  const n = Math.ceil(wallMs / bucket);
  const counts = new Array(n).fill(0);
  for (const t of done) counts[Math.min(n - 1, Math.floor(t / bucket))]++;
  const W = 720;
  const H = 260;
  const pad = { l: 48, r: 12, t: 28, b: 36 };
  const max = Math.max(1, ...counts);
  const bw = (W - pad.l - pad.r) / n;
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const bars = counts.map((c, i) => `<rect x="${(pad.l + i * bw).toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${(H - pad.b - y(c)).toFixed(1)}" fill="#4477aa"/>`).join("");
  const kx = pad.l + (killedAt / bucket) * bw;
  const ticks = [0, Math.round(max / 2), max].map((v) => `<text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`).join("");
  const secs = Array.from({ length: Math.floor(wallMs / 1000) + 1 }, (_, s) => `<text x="${pad.l + ((s * 1000) / bucket) * bw}" y="${H - pad.b + 16}" text-anchor="middle">${s} s</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${pad.l}" y="16" font-size="13">1,000 chained tasks, tasks finished per 100 ms; a host SIGKILLed at the red line</text>
${bars}
<line x1="${kx}" y1="${pad.t}" x2="${kx}" y2="${H - pad.b}" stroke="#cc3311" stroke-width="2"/>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>
${ticks}${secs}
</svg>
`;
}

/** The rows, through run.mjs's `row`/`report`/`wants`. */
export async function recoveryRows({ row, report, wants, median, cli, guest, svgPath, reps }) {
  const CHAIN_ROW = "recovery: 1,000 chained tasks, a host killed halfway";
  if (wants(CHAIN_ROW)) {
    const plain = [];
    const killed = [];
    let chart;
    for (let i = 0; i < reps; i++) {
      // alternating, each on a fresh cluster (the kill leaves one host)
      plain.push((await withCluster(cli, guest, (c) => chainRun(c, false))).wallMs);
      const k = await withCluster(cli, guest, (c) => chainRun(c, true));
      killed.push(k.wallMs);
      if (i === 0) chart = k;
    }
    writeFileSync(svgPath, chartSvg(chart.done, chart.killedAt, chart.wallMs));
    report("recovery: 1,000 chained tasks, no kill", median(plain), "ms", `${CHAIN} tasks, each on the last one's ${LINK_BYTES / 1000} KB result, 2 hosts of 1 CPU (the baseline of the next row)`);
    report(CHAIN_ROW, median(killed) / median(plain), "x", `wall time against no kill (median ${median(killed).toFixed(0)} ms vs ${median(plain).toFixed(0)} ms); the lost results made again from lineage; chart: bench/recovery.svg`);
  }
  const STALL_ROW = "head restart: driver stall";
  if (wants(STALL_ROW)) {
    const upMs = [];
    await row(STALL_ROW, "ms", () =>
      withCluster(cli, guest, async ({ ray, mod, head, restartHead }) => {
        const noop = mod.fn("noop");
        let last = performance.now();
        let worst = 0;
        let stop = false;
        let completed = 0;
        const lane = async () => {
          while (!stop) {
            await ray.get(noop.remote());
            const now = performance.now();
            worst = Math.max(worst, now - last);
            last = now;
            completed++;
          }
        };
        const lanes = Array.from({ length: 64 }, lane);
        await new Promise((r) => setTimeout(r, 1000));
        worst = 0;
        const killed = performance.now();
        head.kill("SIGKILL");
        await restartHead();
        upMs.push(performance.now() - killed);
        const after = completed;
        while (completed < after + 5000) await new Promise((r) => setTimeout(r, 10));
        stop = true;
        await Promise.all(lanes);
        return worst;
      }),
      "64 tasks in flight from a driver while the head is SIGKILLed and started again on its session (wray start --head --restore, a new process): the longest gap between results",
    );
    report("head restart: new head up", median(upMs), "ms", "of that: from the SIGKILL to the new head process saying it listens (Node start, LevelDB open); the rest is the nodes' reconnect backoff and rejoin");
  }
}
