import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "./temp.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

test("the parameter-server example runs and prints its comparison", { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, ["examples/parameter-server/main.mjs"], { cwd: root, timeout: 170_000 });
  assert.match(stdout, /the actor saw 200 updates/);
  assert.match(stdout, /\| wray: 2 worker tasks \+ parameter-server actor .* \| 200 \| \d+ \| \d+ \|/);
  assert.match(stdout, /\| one thread of plain JavaScript .* \| 200 \|/);
  const rms = Number(/RMS error to w\* = ([0-9.]+)/.exec(stdout)?.[1]);
  assert.ok(rms < 0.5, `training made progress (RMS ${rms})`);
});

test("the gpu-policy example runs its policy on the GPU and the CPU and prints both", { timeout: 180_000 }, async () => {
  const { stdout } = await run(process.execPath, ["examples/gpu-policy/main.mjs"], { cwd: root, timeout: 170_000 });
  assert.match(stdout, /\| CpuPolicy actor \(guest JavaScript\) \| 4 \| \d+ \| \d+ \| [0-9.]+ \|/);
  if (/no GPU adapter/.test(stdout)) return; // the CPU half still ran
  assert.match(stdout, /^GPU: .+/m);
  assert.match(stdout, /\| GpuPolicy actor \(WGSL kernel\) \| 4 \| \d+ \| \d+ \| [0-9.]+ \|/);
  const diff = Number(/agree to ([0-9.e+-]+)/.exec(stdout)?.[1]);
  assert.ok(diff < 1e-3, `GPU and CPU actions differ by ${diff}`);
});

// ---- the paper's workloads at --size small (npm run example -- NAME runs them at full size) ----

/** Runs `npm run example -- name --size small` (its script, without the build) with charts in a temp dir; its output and the charts written. */
async function example(name: string): Promise<{ stdout: string; chart(file: string): string }> {
  const dir = await tempDir();
  try {
    const { stdout } = await run(process.execPath, ["scripts/example.mjs", name, "--size", "small", "--out", dir.path], { cwd: root, timeout: 170_000 });
    const charts = new Map(readdirSync(dir.path).map((f) => [f, readFileSync(join(dir.path, f), "utf8")]));
    return {
      stdout,
      chart(file) {
        const svg = charts.get(file);
        assert.ok(svg, `${name} wrote no ${file}`);
        assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<polyline [^>]*points="[0-9., -]+"[\s\S]*<\/svg>\n$/);
        return svg;
      },
    };
  } finally {
    await dir.remove();
  }
}

/** The numbers in the Markdown table row whose first cells match `re`. */
function row(stdout: string, re: RegExp): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith("|") && re.test(l));
  assert.ok(line, `no table row matching ${re} in:\n${stdout}`);
  return line.split("|").slice(1, -1).map((c) => c.trim());
}

const num = (s: string) => Number(s.replace(/[,x]/g, ""));

test("example rollouts: wait, bulk-synchronous and one thread give the same reward; steps/s for each CPU count and a chart", { timeout: 180_000 }, async () => {
  const { stdout, chart } = await example("rollouts");
  const cpus = availableParallelism();
  for (let n = 1; n <= cpus; n++) {
    const cells = row(stdout, new RegExp(`^\\| ${n} \\| ${3 * n} \\|`));
    for (const c of cells.slice(3, 6)) assert.ok(num(c) > 0, `steps/s in ${cells.join(" | ")}`);
  }
  assert.equal(chart("rollouts.svg").match(/<polyline/g)?.length, 3);
});

test("example es: the tree of actors reaches the target in as many iterations as the one-thread version", { timeout: 180_000 }, async () => {
  const { stdout, chart } = await example("es");
  const wray = row(stdout, /^\| wray:/);
  const thread = row(stdout, /^\| one plain Node thread/);
  const iterations = (cells: string[]) => Number(/^(\d+) iterations/.exec(cells[2]!)?.[1]);
  assert.ok(iterations(wray) > 0, `wray did not reach the target: ${wray.join(" | ")}`);
  // the same noise, offsets and start states: only libm's last bits differ between the guest and V8
  assert.ok(Math.abs(iterations(wray) - iterations(thread)) <= 3, `${wray[2]} vs ${thread[2]}`);
  chart("es.svg");
});

test("example serving: both servers answer the model's outputs under load; states/s and latencies for small and large inputs", { timeout: 180_000 }, async () => {
  const { stdout } = await example("serving");
  for (const input of ["small", "large"]) {
    for (const server of ["wray", "plain"]) {
      const cells = row(stdout, new RegExp(`^\\| ${input} .*\\| ${server}`));
      const [rate, p50, p99] = cells.slice(2, 5).map(num);
      assert.ok(rate! > 0 && p50! > 0 && p99! >= p50!, cells.join(" | "));
    }
  }
});

test("example allreduce: a ring of actors on two host processes leaves every rank holding the sum; the ws floor beside it", { timeout: 180_000 }, async () => {
  const { stdout } = await example("allreduce");
  const cells = row(stdout, /^\| 2 \| 10 MB/);
  assert.ok(num(cells[2]!) > 0 && num(cells[4]!) > 0, cells.join(" | "));
});

test("example ppo: simulator tasks and a policy actor on the GPU and on the CPU learn alike; steps/s for both", { timeout: 180_000 }, async () => {
  const { stdout, chart } = await example("ppo");
  const cpu = row(stdout, /^\| all-CPU/);
  assert.ok(num(cpu[1]!) > 0, cpu.join(" | "));
  if (/no GPU adapter/.test(stdout)) return;
  const gpu = row(stdout, /^\| simulator tasks \+ GpuPolicy/);
  assert.ok(num(gpu[1]!) > 0, gpu.join(" | "));
  // the same data and arithmetic: WGSL's and libm's tanh and exp differ in their last bits only
  assert.ok(Math.abs(num(gpu[3]!) - num(cpu[3]!)) < 0.05, `rewards ${gpu[3]} (GPU) vs ${cpu[3]} (CPU)`);
  assert.equal(chart("ppo.svg").match(/<polyline/g)?.length, 2);
});
