// What the paper's workloads (rollouts, es, ppo, serving, allreduce) share:
// the --size flag, building their guests, tables, medians and SVG charts.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGuest } from "wray";

export const root = fileURLToPath(new URL("..", import.meta.url));

/** `--size small|full` (default full), and `--out DIR` where charts go (default examples/out). */
export function options(argv = process.argv.slice(2)) {
  const o = { size: "full", out: join(root, "examples", "out") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--size") o.size = argv[++i];
    else if (a.startsWith("--size=")) o.size = a.slice(7);
    else if (a === "--out") o.out = argv[++i];
    else if (a.startsWith("--out=")) o.out = a.slice(6);
    else throw new TypeError(`unknown argument '${a}' (expected --size small|full, --out DIR)`);
  }
  if (o.size !== "small" && o.size !== "full") throw new TypeError(`--size must be small or full, got '${o.size}'`);
  mkdirSync(o.out, { recursive: true });
  return o;
}

/** Builds guest source `src` (a path from the repository root) into examples/out/guests when it changed; returns the .wasm path. */
export async function guest(src) {
  const from = join(root, src);
  const wasm = join(root, "examples", "out", "guests", src.replace(/[/.]/g, "_") + ".wasm");
  mkdirSync(dirname(wasm), { recursive: true });
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < statSync(from).mtimeMs) await buildGuest(from, { output: wasm });
  return wasm;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A quantile (0..1) of `xs`, nearest rank. */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** A seeded generator of uniform numbers in [0, 1) (xorshift32). */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Prints a Markdown table. */
export function table(head, rows) {
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

/** A number with thousands separators and `digits` decimals. */
export function fmt(x, digits = 0) {
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/**
 * Writes a line chart: `series` is [{ name, points: [[x, y], ...] }].
 * Returns the path written.
 */
export function lineChart(path, { title, x, y, series }) {
  const W = 640;
  const H = 360;
  const L = 70;
  const R = 170;
  const T = 34;
  const B = 46;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = nice(Math.max(...ys, 0));
  const y0 = Math.min(0, ...ys);
  const px = (v) => L + (x1 === x0 ? (W - L - R) / 2 : ((v - x0) / (x1 - x0)) * (W - L - R));
  const py = (v) => H - B - ((v - y0) / (y1 - y0 || 1)) * (H - T - B);
  const ticks = (a, b) => Array.from({ length: 5 }, (_, i) => a + ((b - a) * i) / 4);
  const label = (v) => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`);
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="20" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    ...ticks(y0, y1).map((v) => `<line x1="${L - 4}" y1="${py(v).toFixed(1)}" x2="${W - R}" y2="${py(v).toFixed(1)}" stroke="#ddd"/><text x="${L - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${label(v)}</text>`),
    // every x when there are few (CPUs, iterations), else five ticks
    ...(new Set(xs).size <= 12 ? [...new Set(xs)] : ticks(x0, x1)).map((v) => `<text x="${px(v).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${label(v)}</text>`),
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">${esc(x)}</text>`,
    `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(y)}</text>`,
  ];
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.map(([a, b]) => `${px(a).toFixed(1)},${py(b).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(" ")}"/>`);
    if (s.points.length < 40) for (const p of pts) parts.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${c}"/>`);
    parts.push(`<rect x="${W - R + 12}" y="${T + i * 18}" width="12" height="3" fill="${c}"/><text x="${W - R + 30}" y="${T + i * 18 + 5}">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  writeFileSync(path, parts.join("\n") + "\n");
  return path;
}

/** The smallest of 1, 2, 5 × 10^k at or above `v`. */
function nice(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
}

/** A TypeScript file of this repository compiled by esbuild and imported: the plain-Node baselines run the same source as the guests. */
export async function plainModule(src) {
  const { transform } = await import("esbuild");
  const { code } = await transform(readFileSync(join(root, src), "utf8"), { loader: "ts", format: "esm" });
  return import("data:text/javascript;base64," + Buffer.from(code).toString("base64"));
}

/**
 * Starts a cluster of processes on loopback (`wray start --block`): a head
 * with no CPUs and one host per entry of `hosts` (its `wray start`
 * arguments), in a WRAY_HOME of its own. `stop()` ends them and removes it.
 */
export async function localCluster(hosts) {
  const home = mkdtempSync(join(tmpdir(), "wray-example-"));
  const env = { ...process.env, WRAY_HOME: home };
  delete env.WRAY_TOKEN;
  const procs = [];
  const start = (args, ready) =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [join(root, "dist", "cli.js"), "start", ...args, "--block"], { env, stdio: ["ignore", "pipe", "pipe"] });
      procs.push(p);
      let out = "";
      const timer = setTimeout(() => reject(new Error(`wray start ${args.join(" ")} did not start in 60 s:\n${out}`)), 60_000);
      const seen = (d) => {
        out += d;
        const m = ready.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      p.stdout.on("data", seen);
      p.stderr.on("data", (d) => (out += d));
      p.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`wray start ${args.join(" ")} exited with ${code}:\n${out}`));
      });
    });
  const stop = async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once("exit", r)) : undefined)));
    rmSync(home, { recursive: true, force: true });
  };
  try {
    const address = (await start(["--head", "--port", "0", "--num-cpus", "0", "--num-gpus", "0"], /wray head started at (ws:\/\/\S+)/))[1];
    for (const args of hosts) await start(["--address", address, "--num-gpus", "0", ...args], /wray node [0-9a-f]{8} joined/);
    return { address, token: readFileSync(join(home, "token"), "utf8").trim(), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
