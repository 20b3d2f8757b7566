#!/usr/bin/env node
// wray's microbenchmarks, named after Ray's (release/microbenchmark) so the
// figures compare. Each row is the median of several repetitions.
//
//   npm run bench                   a table
//   npm run bench -- --json         one JSON object per row: {"name","value","unit"}
//   npm run bench -- --filter put   only rows whose name contains "put" ("a|b": either)
//   npm run bench -- --peers ray    also Ray 2.58 on the same rows (bench/peers/ray.sh), side by side
//
// Baseline rows (the floors of this machine, measured in the same run) come
// first, so a row reads against them.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { execFileSync } from "node:child_process";
import { Queue, buildGuest, init } from "../dist/index.js";
import { GuestInstance, loadComponent, prepareComponent } from "../dist/host.js";
import { decode as decodeMsgpack, encode as encodeArgs } from "@msgpack/msgpack";

const args = process.argv.slice(2);
const json = args.includes("--json");
const fi = args.indexOf("--filter");
const filter = fi >= 0 ? args[fi + 1] ?? "" : "";
const reps = Number(process.env.WRAY_BENCH_REPS ?? 5);

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const rows = [];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Calls/s of `n` calls made by `call(i)`, then one get of all of them (through `driver`). */
async function throughput(n, call, driver = ray) {
  const t0 = performance.now();
  const refs = new Array(n);
  for (let i = 0; i < n; i++) refs[i] = call(i);
  await driver.get(refs);
  return n / ((performance.now() - t0) / 1000);
}

/** µs per call of `n` calls made by `call()`, each got before the next (through `driver`). */
async function roundTrip(n, call, driver = ray) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await driver.get(call());
  return ((performance.now() - t0) * 1000) / n;
}

function report(name, value, unit, note = "") {
  const row = { name, value: Number(value.toPrecision(4)), unit };
  rows.push({ ...row, note });
  if (json) process.stdout.write(JSON.stringify(row) + "\n");
  else process.stdout.write(`${name.padEnd(40)} ${String(row.value).padStart(12)} ${unit.padEnd(10)} ${note}\n`);
}

/** Whether the row `name` passes --filter. */
const wants = (name) => !filter || filter.split("|").some((f) => name.includes(f));

/** A row: the median of `reps` runs of `fn`, after `warmups` untimed ones. */
async function row(name, unit, fn, note, warmups = 0) {
  if (!wants(name)) return;
  for (let i = 0; i < warmups; i++) await fn(-1 - i);
  const values = [];
  for (let i = 0; i < reps; i++) values.push(await fn(i));
  if (process.env.WRAY_BENCH_VERBOSE) process.stderr.write(`${name}: ${values.map((v) => v.toPrecision(4)).join(" ")}\n`);
  report(name, median(values), unit, note);
}

async function guestPath(name = "micro") {
  const src = here(`./guests/${name}.ts`);
  const out = here(`./out/${name}.wasm`);
  const stamp = here(`./out/${name}.hash`);
  const hash = createHash("sha256").update(readFileSync(src)).update(readFileSync(here("../dist/guest.js"))).digest("hex");
  if (!existsSync(out) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== hash) {
    mkdirSync(here("./out"), { recursive: true });
    await buildGuest(src, { output: out });
    writeFileSync(stamp, hash);
  }
  return out;
}

// ---- baselines -----------------------------------------------------------------

async function postMessageRoundTrip() {
  const w = new Worker("const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));", { eval: true });
  await new Promise((r) => { w.once("message", r); w.postMessage(0); });
  const n = 2000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await new Promise((r) => { w.once("message", r); w.postMessage(i); });
  const us = ((performance.now() - t0) * 1000) / n;
  await w.terminate();
  return us;
}

const GiB = 1 << 30;
let memcpySrc;
let memcpyDst;
function memcpyGigabytes() {
  memcpySrc ??= new Uint8Array(GiB).fill(1);
  memcpyDst ??= new Uint8Array(GiB).fill(2); // touched: no page faults in the copy
  const t0 = performance.now();
  memcpyDst.set(memcpySrc);
  return 1 / ((performance.now() - t0) / 1000);
}

// ---- wray ----------------------------------------------------------------------------

const ray = await init({ log: () => {} });
const mod = await ray.load(await guestPath());
const noop = mod.fn("noop");
// warm up: isolates started, components instantiated, code compiled
await ray.get(Array.from({ length: 20_000 }, () => noop.remote()));

if (!json) {
  const c = cpus()[0];
  process.stdout.write(`wray microbenchmarks — ${availableParallelism()} cores (${c?.model ?? "?"}), ${(totalmem() / GiB).toFixed(0)} GiB, Node ${process.versions.node}, median of ${reps}\n\n`);
}

await row("baseline: postMessage round trip", "us", postMessageRoundTrip, "worker_threads floor");

/** ms from a fresh driver process's start to its first task's result (the component's glue is cached on disk). */
async function driverStart() {
  const { execFile } = await import("node:child_process");
  const script = `import { init } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
    const ray = await init({ numCpus: 1 });
    const m = await ray.load(${JSON.stringify(await guestPath())});
    await ray.get(m.fn("noop").remote());
    console.log(performance.now());
    await ray.shutdown();`;
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  return Number(out.trim().split("\n").pop());
}
await row("driver start to first result", "ms", driverStart, "a fresh process: init() (embedded, 1 CPU), load, one task's result; no GPU asked for", 1);

await row("single client tasks sync", "us", () => roundTrip(2000, () => noop.remote()), "submit + get of a no-op task, one at a time");

await row("single client tasks async", "tasks/s", () => throughput(100_000, () => noop.remote()), "100k no-op tasks submitted, then one get");
if (wants("single client tasks async (task events off)")) {
  // the cost of task events: two fresh drivers, one recording them and one not, alternated in this run
  const drivers = [];
  for (const taskEvents of [true, false]) {
    const d = await init({ log: () => {}, taskEvents });
    const f = (await d.load(await guestPath())).fn("noop");
    await d.get(Array.from({ length: 20_000 }, () => f.remote()));
    drivers.push({ d, f, values: [] });
  }
  // many short alternations: this machine's noise (±15% between reps) would swamp a few long ones
  for (let i = 0; i < 3 * reps; i++) for (const x of i % 2 ? drivers : [...drivers].reverse()) x.values.push(await throughput(50_000, () => x.f.remote(), x.d));
  for (const x of drivers) await x.d.shutdown();
  const [on, off] = drivers.map((x) => median(x.values));
  report("single client tasks async (task events on)", on, "tasks/s", "a fresh driver recording task events (the default), alternated with the next: median of 15 runs of 50k tasks");
  report("single client tasks async (task events off)", off, "tasks/s", `a fresh driver with taskEvents: false; on/off = ${(on / off).toFixed(3)}`);
}
if (wants("single client tasks sync (c guest)") || wants("single client tasks async (c guest)")) {
  const cmod = await ray.load(here("../test/guests/conformance-c/conformance-c.wasm"));
  const square = cmod.fn("square");
  await ray.get(Array.from({ length: 20_000 }, () => square.remote(3)));
  await row("single client tasks sync (c guest)", "us", () => roundTrip(2000, () => square.remote(3)), "submit + get of square(3) in the C conformance guest, one at a time");
  await row("single client tasks async (c guest)", "tasks/s", () => throughput(100_000, () => square.remote(3)), "100k square(3) tasks in the C guest, then one get");
}

await row("single client tasks and get batch", "tasks/s", async () => {
  const batches = 100;
  const size = 1000;
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await ray.get(Array.from({ length: size }, () => noop.remote()));
  return (batches * size) / ((performance.now() - t0) / 1000);
}, "batches of 1000: submit, get, repeat");

await row("single client put calls", "calls/s", () => {
  const n = 100_000;
  const t0 = performance.now();
  const keep = new Array(n);
  for (let i = 0; i < n; i++) keep[i] = ray.put(i);
  return n / ((performance.now() - t0) / 1000);
}, "small objects");

{
  const small = Array.from({ length: 100_000 }, (_, i) => ray.put(i));
  await row("single client get calls", "calls/s", async () => {
    const t0 = performance.now();
    for (let i = 0; i < small.length; i++) await ray.get(small[i]);
    return small.length / ((performance.now() - t0) / 1000);
  }, "small objects, one get each");
}

// ---- nested tasks, quiet and beside CPU hogs --------------------------------------

/** Starts `n` processes that busy-loop until killed; resolves once each is looping. */
async function cpuHogs(n) {
  const { spawn } = await import("node:child_process");
  const hogs = Array.from({ length: n }, () => spawn(process.execPath, ["-e", "process.stdout.write('go\\n'); for (;;) {}"], { stdio: ["ignore", "pipe", "ignore"] }));
  await Promise.all(hogs.map((h) => new Promise((r) => h.stdout.once("data", r))));
  return { stop: () => Promise.all(hogs.map((h) => new Promise((r) => (h.exitCode !== null ? r() : (h.once("exit", r), h.kill("SIGKILL")))))) };
}

if (wants("nested tasks fib(20)") || wants("fib(20) beside a CPU hog")) {
  // each run on a cluster of its own (2 CPUs), as a program started on a
  // busy machine would see it: pool growth and instance warm-up included
  const fibMs = async () => {
    const own = await init({ numCpus: 2, numGpus: 0, log: () => {} });
    try {
      const fib = (await own.load(await guestPath())).fn("fib");
      await own.get(fib.remote(15));
      const t0 = performance.now();
      await own.get(fib.remote(20));
      return performance.now() - t0;
    } finally {
      await own.shutdown();
    }
  };
  const quiet = [];
  const loaded = [];
  const hogCount = 2;
  await row("nested tasks fib(20)", "ms", async () => {
    const ms = await fibMs();
    quiet.push(ms);
    return ms;
  }, "fib(20): 21,891 nested tasks, each waiting for its two children in get (a fresh 2-CPU cluster, after fib(15))");
  if (wants("fib(20) beside a CPU hog")) {
    await row("fib(20) beside a CPU hog", "x", async (i) => {
      const hogs = await cpuHogs(hogCount);
      try {
        const ms = await fibMs();
        loaded.push(ms);
        return ms / quiet[i % quiet.length];
      } finally {
        await hogs.stop();
      }
    }, `the same with ${hogCount} busy-loop processes beside it, over the quiet time of the same repetition; target <= 3`);
    if (!json) process.stdout.write(`${"".padEnd(40)} ${"".padStart(12)} ${"".padEnd(10)} loaded fib(20): median ${median(loaded).toFixed(0)} ms (${loaded.map((x) => x.toFixed(0)).join(", ")}); quiet: ${quiet.map((x) => x.toFixed(0)).join(", ")}\n`);
  }
}

// ---- actors (Ray's "1:1 actor calls ...") ---------------------------------------

const Sink = mod.actor("Sink");
{
  const a = Sink.remote();
  await ray.get(Array.from({ length: 20_000 }, () => a.noop.remote()));
  await row("1:1 actor calls sync", "us", () => roundTrip(2000, () => a.noop.remote()), "call + get of a no-op method, one at a time");
  await row("1:1 actor calls async", "calls/s", () => throughput(100_000, () => a.noop.remote()), "100k calls, then one get");
  await ray.kill(a);
}
{
  const a = Sink.options({ maxConcurrency: 16 }).remote();
  await ray.get(Array.from({ length: 20_000 }, () => a.noop.remote()));
  await row("1:1 actor calls concurrent", "calls/s", () => throughput(100_000, () => a.noop.remote()), "maxConcurrency 16");
  await ray.kill(a);
}
if (wants("1:1 async-actor calls")) {
  // Ray's async-actor rows: an actor whose method is `async` (the component-model async runtime drives it)
  const amod = await ray.load(await guestPath("micro-async"));
  const a = amod.actor("AsyncSink").remote();
  await ray.get(Array.from({ length: 2000 }, () => a.noop.remote()));
  await row("1:1 async-actor calls sync", "us", () => roundTrip(2000, () => a.noop.remote()), "call + get of an async no-op method, one at a time");
  await row("1:1 async-actor calls async", "calls/s", () => throughput(100_000, () => a.noop.remote()), "100k calls of an async no-op method, then one get");
  await ray.kill(a);
}
{
  const actors = Array.from({ length: 4 }, () => Sink.remote());
  await ray.get(actors.map((a) => a.noop.remote()));
  await row("1:n actor calls async", "calls/s", () => throughput(100_000, (i) => actors[i & 3].noop.remote()), "one driver, 4 actors");
  for (const a of actors) await ray.kill(a);
}
{
  const n = 2;
  const actors = Array.from({ length: n }, () => Sink.remote());
  const caller = mod.fn("caller");
  const small = ray.put(new Uint8Array(64));
  await ray.get(actors.map((a) => caller.remote(a, 1000, null)));
  await row("n:n actor calls async", "calls/s", async () => {
    const m = 20_000;
    const t0 = performance.now();
    await ray.get(actors.map((a) => caller.remote(a, m, null)));
    return (n * m) / ((performance.now() - t0) / 1000);
  }, `${n} tasks, each calling its own actor`);
  await row("n:n actor calls with arg async", "calls/s", async () => {
    const m = 20_000;
    const t0 = performance.now();
    await ray.get(actors.map((a) => caller.remote(a, m, [small])));
    return (n * m) / ((performance.now() - t0) / 1000);
  }, "the same, each call passing a value holding a ref");
  for (const a of actors) await ray.kill(a);
}

// ---- guests by language ----------------------------------------------------------------

/** The conformance guest of `lang` (TS built here when missing, compiled languages checked in). */
async function conformanceGuest(lang) {
  if (lang !== "ts") return here(`../test/guests/conformance-${lang}/conformance-${lang}.wasm`);
  const out = here("./out/conformance-ts.wasm");
  if (!existsSync(out)) await buildGuest(here("../test/guests/conformance-ts/index.ts"), { output: out });
  return out;
}

const refuse = () => {
  throw new Error("no host calls in this benchmark");
};
const noHost = { log() {}, submit: refuse, get: refuse, wait: refuse, put: refuse, createActor: refuse, callActor: refuse, getActor: refuse };

for (const lang of ["ts", "as", "c", "rust"]) {
  if (!wants(`guest call overhead (${lang})`)) continue;
  const prepared = await prepareComponent(readFileSync(await conformanceGuest(lang)), lang);
  const inst = new GuestInstance(await loadComponent(0, prepared.glue, prepared.modules), noHost);
  const name = new TextEncoder().encode("echo");
  const args = new Uint8Array([0x91, 0xc4, 13, ...new Array(13).fill(7)]); // [bin(13)]: 16 bytes
  let sink = 0;
  const onReply = (r) => (sink += r.length);
  const call = () => {
    const np = inst.lowerBytes(name);
    const ap = inst.lowerBytes(args);
    inst.invoke(np, name.length, ap, args.length, 1, onReply);
  };
  for (let i = 0; i < 20_000; i++) call();
  await row(`guest call overhead (${lang})`, "us", () => {
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) call();
    return ((performance.now() - t0) * 1000) / n;
  }, "16-byte echo task: lower name+args, call the guest export, read the reply, post-return (no isolate hop)");
  if (sink === 0) throw new Error("no replies");
}

// ---- guest compute: one kernel in every language ---------------------------------------

/** bench/guests/pendulum.ts itself, compiled by esbuild and run by V8: the plain Node baseline. */
async function pendulumInNode() {
  const { transform } = await import("esbuild");
  const { code } = await transform(readFileSync(here("./guests/pendulum.ts"), "utf8"), { loader: "ts", format: "esm" });
  const mod = await import("data:text/javascript;base64," + Buffer.from(code).toString("base64"));
  return mod.pendulum;
}

/** The kernel's source in each guest language, and the SDK files its build depends on. */
const PENDULUM = {
  c: { src: "pendulum.c", sdk: ["../guest-sdk/c/wray.h"] },
  rust: { src: "pendulum.rs", sdk: ["../guest-sdk/rust/wray.rs"] },
  as: { src: "pendulum.as.ts", sdk: ["msgpack.ts", "host.ts", "guest.ts", "abi.ts", "index.ts"].map((f) => `../guest-sdk/as/${f}`) },
  ts: { src: "pendulum.ts", sdk: ["../dist/guest.js"] },
};

/** Builds bench/guests/pendulum.* of `lang` into bench/out when its source changed; undefined when it cannot be built here. */
async function computeGuest(lang) {
  const src = here(`./guests/${PENDULUM[lang].src}`);
  const out = here(`./out/pendulum-${lang}.wasm`);
  const stamp = here(`./out/pendulum-${lang}.hash`);
  const h = createHash("sha256").update(readFileSync(src));
  for (const f of PENDULUM[lang].sdk) h.update(readFileSync(here(f)));
  const hash = h.digest("hex");
  if (!existsSync(out) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== hash) {
    mkdirSync(here("./out"), { recursive: true });
    try {
      await buildGuest(src, { output: out });
    } catch (e) {
      process.stderr.write(`guest compute (${lang}) skipped: ${e.message.split("\n")[0]}\n`);
      return undefined;
    }
    writeFileSync(stamp, hash);
  }
  return out;
}

/** Pendulum steps as a compiled guest computes them, called directly (no scheduler): `(steps, seed) => total`. */
async function directKernel(file, name = "pendulum-direct") {
  const prepared = await prepareComponent(readFileSync(file), name);
  const inst = new GuestInstance(await loadComponent(0, prepared.glue, prepared.modules), noHost);
  const fn = new TextEncoder().encode("pendulum");
  return (n, seed) => {
    const args = encodeArgs([n, seed]);
    let value;
    inst.invoke(inst.lowerBytes(fn), fn.length, inst.lowerBytes(args), args.length, 1, (r) => (value = decodeMsgpack(r)[0]));
    return value;
  };
}

if (wants("guest compute") || filter.startsWith("guest compute")) {
  const SEED = 42;
  const pendulumJs = await pendulumInNode();
  const expected = pendulumJs(1000, SEED);
  const steps = { node: 200_000, c: 200_000, rust: 200_000, as: 200_000, ts: 10_000 };
  const rate = (n, fn) => {
    const t0 = performance.now();
    fn(n);
    return n / ((performance.now() - t0) / 1000);
  };
  const kernels = { node: (n) => pendulumJs(n, SEED) };
  for (const ext of ["c", "rust", "as", "ts"]) {
    const file = await computeGuest(ext);
    if (!file) continue;
    const kernel = await directKernel(file, `pendulum-${ext}`);
    kernels[ext] = (n) => kernel(n, SEED);
    const got = kernels[ext](1000);
    if (Math.abs(got - expected) > 1e-9 * Math.abs(expected)) throw new Error(`pendulum.${ext} computes ${got}, plain Node ${expected}`);
  }
  // interleaved repetitions, so every language sees the same machine noise
  const values = Object.fromEntries(Object.keys(kernels).map((k) => [k, []]));
  for (const k of Object.keys(kernels)) kernels[k](steps[k] / 10); // warm up
  for (let i = 0; i < reps; i++) for (const k of Object.keys(kernels)) values[k].push(rate(steps[k], kernels[k]));
  const node = median(values.node);
  report("guest compute: plain Node", node, "steps/s", "Pendulum steps, 3-16-1 tanh policy, JIT-compiled JS");
  const label = { c: "C (clang -O2)", rust: "Rust (rustc -O3)", as: "AssemblyScript (asc -O3)", ts: "TypeScript on QuickJS" };
  for (const k of Object.keys(kernels).filter((x) => x !== "node")) {
    const v = median(values[k]);
    report(`guest compute: ${label[k]}`, v, "steps/s", `${((100 * v) / node).toFixed(1)}% of plain Node`);
  }
}

/** ms per call of `fn()`: the median of `n` calls. */
function msPerCall(fn, n) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

// COST (McSherry et al., "Scalability! But at what COST?"): 2,000 tasks of a
// fixed amount of compiled-guest work each, on all CPUs. The work is the C
// guest's Pendulum steps, calibrated so one call takes 1 ms (100 µs) on one
// thread. Efficiency = (work / CPUs) / wall, the median over repetitions,
// where the work is the same 2,000 calls run directly, one after another,
// on one thread.
//
// On a virtual machine the CPUs need not be equally fast (a vCPU whose
// hyperthread sibling serves another guest ran this kernel 1.4× slower than
// its neighbour here), and their speed drifts within seconds. So the thread
// that measures the work is pinned to each CPU in turn, for half of its
// share of the calls before the tasks run and half after, and the work of
// one thread is what the CPUs together would take running the calls with no
// scheduler at all: N / Σ(1 / per-call time on CPU i), times the CPUs. With
// equal CPUs that is the plain one-thread time. Where the thread cannot be
// pinned (no taskset), it is measured unpinned, before and after.
// Beside it, the same steps on one plain Node thread (its JIT'd TypeScript):
// how much faster the tasks are than that thread.
for (const [label, target] of [["1 ms", 1], ["100 us", 0.1]]) {
  const rowName = `fan-out ${label} tasks efficiency`;
  if (!wants(rowName)) continue;
  const file = await computeGuest("c");
  if (!file) continue;
  const SEED = 7;
  const N = 2000;
  const cpus = availableParallelism(); // the driver's node has a CPU per core (hostCores)
  const kernel = await directKernel(file);
  const js = await pendulumInNode();
  let steps = 1000;
  for (let i = 0; i < 3; i++) steps = Math.max(10, Math.round((steps * target) / msPerCall(() => kernel(steps, SEED), 30)));
  const f = (await ray.load(file)).fn("pendulum");
  // warm-up: each isolate's compiler tiers the guest up (V8's optimizing tier) within about a second of its work
  await ray.get(Array.from({ length: Math.ceil((1000 * cpus) / target) }, () => f.remote(steps, SEED)));
  const pins = mainThreadPins(cpus);
  /** ms per call on each CPU (one entry, unpinned, without pins), over `n` calls each. */
  const perCall = (n) =>
    (pins ?? [undefined]).map((cpu) => {
      if (cpu !== undefined) pinMainThread([cpu]);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) kernel(steps, SEED);
      return (performance.now() - t0) / n;
    });
  const share = Math.ceil(N / (pins?.length ?? 1) / 2);
  const effs = [];
  const speedups = [];
  const walls = [];
  const works = [];
  const perCpu = [];
  for (let r = 0; r < reps; r++) {
    const before = perCall(share);
    if (pins) pinMainThread(pins);
    const t0 = performance.now();
    await ray.get(Array.from({ length: N }, () => f.remote(steps, SEED)));
    const wall = performance.now() - t0;
    const after = perCall(share);
    if (pins) pinMainThread(pins);
    const times = before.map((t, i) => (t + after[i]) / 2);
    // one thread's work: what the CPUs together take for N calls, times the CPUs
    const work = pins ? (cpus * N) / times.reduce((a, t) => a + 1 / t, 0) : N * times[0];
    const t1 = performance.now();
    for (let i = 0; i < N; i++) js(steps, SEED);
    const node = performance.now() - t1;
    effs.push(work / cpus / wall);
    speedups.push(node / wall);
    walls.push(wall);
    works.push(work);
    perCpu.push(times);
  }
  const cpuNote = pins
    ? `; per call on CPU ${pins.map((c, i) => `${c} ${median(perCpu.map((t) => t[i])).toFixed(3)}`).join(", ")} ms`
    : "; the work measured unpinned (no taskset)";
  report(rowName, median(effs), "ratio", `${N} tasks of ${steps} Pendulum steps (C guest: ${median(works).toFixed(0)} ms of work on one thread) on ${cpus} CPUs in ${median(walls).toFixed(0)} ms${cpuNote}`);
  report(`fan-out ${label} tasks vs one Node thread`, median(speedups), "x", "the same steps on one plain Node thread (JIT'd TypeScript), in the same repetitions");
}

/**
 * The CPUs this process may run on, if there is one per CPU the tasks use
 * and `taskset` can pin threads to them; otherwise undefined.
 */
function mainThreadPins(cpus) {
  try {
    const out = execFileSync("taskset", ["-p", "-c", String(process.pid)], { encoding: "utf8" });
    const list = out.slice(out.lastIndexOf(":") + 1).trim();
    const ids = list.split(",").flatMap((part) => {
      const [a, b = a] = part.split("-").map(Number);
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
    return ids.length === cpus && ids.every(Number.isInteger) ? ids : undefined;
  } catch {
    return undefined;
  }
}

/** Pins the main thread (its thread ID is the process ID) to `ids`; threads started later inherit it, so pin back to all after. */
function pinMainThread(ids) {
  execFileSync("taskset", ["-p", "-c", ids.join(","), String(process.pid)], { stdio: "ignore" });
}

// the gigabyte rows last: their buffers (3 GiB) would make the collector
// work harder under every other row
// ---- GPU (issue 7) ------------------------------------------------------------------

// each invocation computes a 4×4 block of C with vec4 loads of B: a plain
// kernel that runs well on CPUs' SIMD lanes (lavapipe) and on GPUs alike
const MATMUL_4X4 = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4f>;
const N = 1024u;
const Q = N / 4u;
@compute @workgroup_size(16, 4)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let r = g.y * 4u;
  var s0 = vec4f(0.0); var s1 = vec4f(0.0); var s2 = vec4f(0.0); var s3 = vec4f(0.0);
  for (var i = 0u; i < N; i++) {
    let bv = b[i * Q + g.x];
    s0 += a[r * N + i] * bv; s1 += a[(r + 1u) * N + i] * bv; s2 += a[(r + 2u) * N + i] * bv; s3 += a[(r + 3u) * N + i] * bv;
  }
  c[r * Q + g.x] = s0; c[(r + 1u) * Q + g.x] = s1; c[(r + 2u) * Q + g.x] = s2; c[(r + 3u) * Q + g.x] = s3;
}`;

if (ray.gpu.available && (wants("gpu") || wants("matmul"))) {
  const g = ray.gpu;
  if (!json) process.stdout.write(`GPU adapter: ${g.adapter}\n`);
  const N = 1024;
  const a = await g.buffer(Float32Array.from({ length: N * N }, (_, i) => (i % 17) / 17));
  const b = await g.buffer(Float32Array.from({ length: N * N }, (_, i) => (i % 13) / 13));
  const c = await g.buffer(N * N * 4);
  const k = await g.kernel(MATMUL_4X4);
  await row("gpu matmul", "GFLOP/s", async () => {
    const t0 = performance.now();
    await k.dispatch([a, b, c], N / 4 / 16, N / 4 / 4);
    await c.read(Float32Array, 0, 4); // waits for the kernel
    return (2 * N ** 3) / ((performance.now() - t0) / 1000) / 1e9;
  }, `1024×1024 f32, 4×4 blocks per invocation, host-side kernel (${g.adapter})`, 1);
  const M = 512;
  const am = Float32Array.from({ length: M * M }, (_, i) => (i % 17) / 17);
  const bm = Float32Array.from({ length: M * M }, (_, i) => (i % 13) / 13);
  await row("baseline: gpu matmul on the CPU (JS, one thread)", "GFLOP/s", () => {
    const cm = new Float32Array(M * M);
    const t0 = performance.now();
    for (let r = 0; r < M; r++) for (let i = 0; i < M; i++) {
      const x = am[r * M + i];
      for (let j = 0; j < M; j++) cm[r * M + j] += x * bm[i * M + j];
    }
    return (2 * M ** 3) / ((performance.now() - t0) / 1000) / 1e9;
  }, "512×512 f32, i-k-j loop in the driver's V8: the same work without a GPU");
  const one = await g.buffer(new Float32Array(1));
  const bump = await g.kernel("@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@compute @workgroup_size(1) fn main() { a[0] = a[0] + 1.0; }");
  await row("baseline: gpu round trip (host)", "us", async () => {
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await bump.dispatch([one], 1);
      await one.read(Float32Array);
    }
    return ((performance.now() - t0) * 1000) / n;
  }, "dispatch of a one-thread kernel + 4-byte read-back, from the host thread through Dawn", 1);
  const roundTrips = mod.fn("gpuRoundTrips", { numGpus: 1 });
  await row("gpu dispatch overhead", "us", async () => {
    const n = 200;
    const t0 = performance.now();
    await ray.get(roundTrips.remote(n));
    return ((performance.now() - t0) * 1000) / n;
  }, "the same round trip from a guest task (200 in one task): WIT call, isolate channel, host thread, Dawn", 1);
  for (const x of [a, b, c, one]) x.destroy();
}

/** Ray's `placement group create/removal`: 100 groups of one small bundle made, waited for, then removed; groups per second. */
async function groupsCreateRemove(driver) {
  const n = 100;
  const t0 = performance.now();
  const pgs = Array.from({ length: n }, () => driver.placementGroup([{ CPU: 0.001 }]));
  await Promise.all(pgs.map((pg) => pg.ready()));
  await Promise.all(pgs.map((pg) => driver.removePlacementGroup(pg)));
  return n / ((performance.now() - t0) / 1000);
}
await row("placement group create/removal", "groups/s", () => groupsCreateRemove(ray), "100 groups of one { CPU: 0.001 } bundle: made, ready, removed (embedded: the driver's node reserves them)", 1);

if (wants("queue")) {
  // Ray's Queue is an async actor: these are its put/get as a driver sees them, and the hand-off to a waiting get (defer/resolve)
  const q = await Queue.create(ray);
  await row("queue put+get", "us", async () => {
    const n = 1000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await q.put(i);
      await q.get();
    }
    return ((performance.now() - t0) * 1000) / n;
  }, "one put then one get of a small item, from the driver, one at a time (two actor calls)", 1);
  await row("queue hand-off to a waiting get", "us", async () => {
    const n = 1000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const g = q.get();
      await q.put(i);
      await g;
    }
    return ((performance.now() - t0) * 1000) / n;
  }, "a get waits (its result deferred), a put gives it the item (resolve): both calls, per item", 1);
  await q.shutdown();
}

await row("baseline: memcpy gigabytes", "GB/s", () => memcpyGigabytes(), "1 GiB, touched destination");
memcpySrc = memcpyDst = undefined;
if (["single client put gigabytes", "single client get gigabytes"].some(wants)) {
  // memory every thread may read, as numpy's is to Ray's copy threads: put copies it with all cores
  const data = new Uint8Array(new SharedArrayBuffer(GiB)).fill(3);
  let prev;
  const floor = ray.stats().store.arenaBytes;
  const putGigabytes = (src) => async () => {
    // drop the previous GiB first, and wait until the store has freed it, so
    // that the put reuses its (already touched) memory, not fresh pages
    prev = undefined;
    for (let waited = 0; ray.stats().store.arenaBytes > floor && waited < 5000; waited += 5) {
      global.gc?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    const t0 = performance.now();
    prev = ray.put(src);
    return 1 / ((performance.now() - t0) / 1000);
  };
  if (wants("single client put gigabytes (ArrayBuffer)")) {
    const plain = new Uint8Array(GiB).fill(3);
    await row("single client put gigabytes (ArrayBuffer)", "GB/s", putGigabytes(plain), "1 GiB Uint8Array over a plain ArrayBuffer, which only its own thread may read: one thread copies it", 1);
  }
  const before = ray.stats().store.helperCopyPieces;
  if (wants("single client put gigabytes (Float32Array)")) {
    const floats = new Float32Array(GiB / 4).fill(3);
    await row("single client put gigabytes (Float32Array)", "GB/s", putGigabytes(floats), "1 GiB Float32Array over a plain ArrayBuffer: written into shared memory whole, as a Uint8Array is (get returns a view)", 1);
  }
  await row("single client put gigabytes", "GB/s", putGigabytes(data), "1 GiB Uint8Array over a SharedArrayBuffer: the host thread and a copy thread per further core (at most 3) copy it", 1);
  if (wants("single client put gigabytes") && ray.stats().store.helperCopyPieces === before && !json) process.stdout.write(`${"".padEnd(40)} (no copy thread took a piece: one thread copied)\n`);
  prev ??= ray.put(data);
  // get returns a view of shared memory (zero-copy); owning the bytes costs
  // one copy, which this row includes: get, then copy into a touched buffer
  const ref = prev;
  prev = undefined;
  const dst = new Uint8Array(GiB).fill(1); // a plain buffer, touched
  const viewUs = [];
  await row("single client get gigabytes", "GB/s", async (rep) => {
    // the previous repetition's view pins the object until it is collected
    global.gc?.();
    await new Promise((r) => setTimeout(r, 10));
    const t0 = performance.now();
    const v = await ray.get(ref);
    const t1 = performance.now();
    dst.set(v);
    const t2 = performance.now();
    if (rep >= 0) viewUs.push((t1 - t0) * 1000); // not the warm-up's
    if (v.length !== GiB || dst[GiB - 1] !== 3) throw new Error("get gigabytes read the wrong bytes");
    return 1 / ((t2 - t0) / 1000);
  }, "1 GiB: get (a zero-copy view) + one copy into a touched buffer", 1);
  if (viewUs.length) report("single client get 1 GiB view", median(viewUs), "us", "the get alone of the row above: a zero-copy view of the object");
}
if (wants("task argument gigabytes") && (await computeGuest("c"))) {
  // 128 MiB: an instance whose memory grows past 256 MiB is dropped after its task (isolate/worker.ts)
  const MiB128 = 128 << 20;
  const arg = ray.put(new Uint8Array(MiB128).fill(5));
  const size = (await ray.load(await computeGuest("c"))).fn("byteCount");
  await row("task argument gigabytes", "GB/s", async () => {
    const t0 = performance.now();
    if ((await ray.get(size.remote(arg))) !== MiB128) throw new Error("task argument gigabytes: the guest saw the wrong length");
    return MiB128 / 2 ** 30 / ((performance.now() - t0) / 1000);
  }, "a 128 MiB object as a task's argument, copied from shared memory into the guest's (C) each call", 1);
}
await ray.shutdown();

// ---- spilling: a small store over-subscribed 3x, against dd in the same directory --------

if (["baseline: dd sequential write", "spill gigabytes: put 3x the store"].some(wants)) {
  const { tmpdir } = await import("node:os");
  const { rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const dir = process.env.WRAY_SPILL_DIR ?? tmpdir();
  const store = 256 << 20;
  const objSize = 8 << 20;
  const count = (3 * store) / objSize;
  const total = count * objSize;
  const ddFile = join(dir, `wray-bench-dd-${process.pid}.bin`);
  const dd = () => {
    // sequential write of the same bytes in the same block size, without a sync (spill files are not synced either)
    const t0 = performance.now();
    execFileSync("dd", ["if=/dev/zero", `of=${ddFile}`, `bs=${objSize}`, `count=${count}`], { stdio: "ignore" });
    const gbs = total / GiB / ((performance.now() - t0) / 1000);
    rmSync(ddFile, { force: true });
    return gbs;
  };
  const ddSync = () => {
    const t0 = performance.now();
    execFileSync("dd", ["if=/dev/zero", `of=${ddFile}`, `bs=${objSize}`, `count=${count}`, "conv=fdatasync"], { stdio: "ignore" });
    const gbs = total / GiB / ((performance.now() - t0) / 1000);
    rmSync(ddFile, { force: true });
    return gbs;
  };
  // dd runs beside each repetition (the disk's speed drifts as the page cache fills and drains,
  // and deleted files are discarded); the unsynced figure is what the spill rows compare with
  const ddValues = [];
  const ddSyncValues = [];
  const small = await init({ numCpus: 1, objectStoreMemory: store, objectSpillingDirectory: dir, log: () => {} });
  const payload = Array.from({ length: count }, (_, i) => new Uint8Array(objSize).fill(i & 255));
  const writes = [];
  const reads = [];
  const ratios = [];
  for (let rep = 0; rep < reps; rep++) {
    // the better of two: a first write after files were deleted often runs at a fraction of the speed
    ddValues.push(Math.max(dd(), dd()));
    let refs = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) refs.push(small.put(payload[i]));
    const t1 = performance.now();
    for (let i = 0; i < count; i++) {
      let v = await small.get(refs[i]);
      if (v.length !== objSize || v[0] !== (i & 255) || v[objSize - 1] !== (i & 255)) throw new Error(`spilled object ${i} came back wrong`);
      v = undefined;
      // views pin their objects until collected: let them go now and then, as a program that awaits other work would
      if ((i & 7) === 7) {
        global.gc?.();
        await new Promise((r) => setImmediate(r));
      }
    }
    const t2 = performance.now();
    const st = small.stats().store;
    if (st.spillsTotal === 0) throw new Error("nothing was spilled");
    writes.push(total / GiB / ((t1 - t0) / 1000));
    reads.push(total / GiB / ((t2 - t1) / 1000));
    ratios.push([writes[rep] / ddValues[rep], reads[rep] / ddValues[rep]]);
    refs = undefined;
    global.gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  await small.shutdown();
  for (let i = 0; i < Math.min(reps, 3); i++) ddSyncValues.push(ddSync());
  if (wants("baseline: dd sequential write")) {
    report("baseline: dd sequential write", median(ddValues), "GB/s", `${total >> 20} MiB in ${objSize >> 20} MiB blocks, no sync, best of 2, in ${dir}`);
    report("baseline: dd sequential write, synced", median(ddSyncValues), "GB/s", "the same with conv=fdatasync: the disk itself");
  }
  const pct = (k) => `${(100 * median(ratios.map((x) => x[k]))).toFixed(0)}% of dd`;
  report("spill gigabytes: put 3x the store", median(writes), "GB/s", `${total >> 20} MiB of ${objSize >> 20} MiB objects into a ${store >> 20} MiB store; ${pct(0)}`);
  report("spill gigabytes: get it all back", median(reads), "GB/s", `restored as read (views collected every 8 gets); ${pct(1)} (dd's write speed)`);
}


// ---- cluster: a head and two hosts as processes on loopback, this process a driver --------------

const CLUSTER_ROWS = ["baseline: ws round trip", "cross-host tasks sync", "cross-host tasks async", "cross-host tasks async (task events off)", "baseline: ws bulk transfer", "cross-host get gigabytes", "cross-host placement group create/removal", "control store writes"]; // each also " (TLS)"
if (CLUSTER_ROWS.some(wants)) {
  const { child } = await import("./recovery.mjs");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { ShardedControlStore } = await import("../dist/host.js");
  const cli = here("../dist/cli.js");

  // raw ws between two processes: the floor for a cross-host hop
  const echoSrc = `
    const { WebSocketServer } = require(${JSON.stringify(here("../node_modules/ws"))});
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, maxPayload: 1 << 30 });
    wss.on("listening", () => console.log("port " + wss.address().port));
    wss.on("connection", (ws) => ws.on("message", (d) => { if (d.length < 1024) ws.send(d); else ws.bytes = (ws.bytes || 0) + d.length; if (d.length >= 1024 && ws.bytes >= ${GiB}) { ws.send("done"); ws.bytes = 0; } }));`;
  const echo = await child(["-e", echoSrc], process.env, /port (\d+)/);
  const { default: WebSocket } = await import("ws");
  const raw = new WebSocket(`ws://127.0.0.1:${echo.m[1]}`, { perMessageDeflate: false });
  await new Promise((r) => raw.once("open", r));
  const rawRtt = async () => {
    const n = 2000;
    const msg = new Uint8Array(200);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const p = new Promise((r) => raw.once("message", r));
      raw.send(msg);
      await p;
    }
    return ((performance.now() - t0) * 1000) / n;
  };
  await row("baseline: ws round trip", "us", rawRtt, "200 B, two processes on loopback (ws + bufferutil): the floor of one cross-host hop pair");
  await row("baseline: ws bulk transfer", "GB/s", async () => {
    const chunk = new Uint8Array(4 << 20).fill(1);
    const done = new Promise((r) => raw.once("message", r));
    const t0 = performance.now();
    for (let sent = 0; sent < GiB; sent += chunk.length) {
      raw.send(chunk);
      if (raw.bufferedAmount > 64 << 20) await new Promise((r) => setImmediate(r));
    }
    await done;
    return 1 / ((performance.now() - t0) / 1000);
  }, "1 GiB in 4 MiB frames to another process");
  raw.close();
  echo.p.kill();

  /**
   * A head and two hosts as processes, this process a driver; with `tls`,
   * every server speaks wss:// with a certificate made here (rows get " (TLS)").
   */
  async function clusterRows(tls) {
    const sfx = tls ? " (TLS)" : "";
    if (![`cross-host tasks sync${sfx}`, `cross-host tasks async${sfx}`, `cross-host get gigabytes${sfx}`, `cross-host placement group create/removal${sfx}`].some(wants)) return;
    const home = mkdtempSync(join(tmpdir(), "wray-bench-cluster-"));
    const env = { ...process.env, WRAY_HOME: home };
    const tlsArgs = [];
    let clientTls;
    if (tls) {
      const { readFileSync } = await import("node:fs");
      const cert = join(home, "bench.crt");
      const key = join(home, "bench.key");
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      tlsArgs.push("--tls-cert", cert, "--tls-key", key, "--tls-ca", cert);
      clientTls = { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8"), ca: readFileSync(cert, "utf8") };
    }
    const procs = [];
    try {
      const head = await child([cli, "start", "--head", "--port", "0", "--num-cpus", "0", ...tlsArgs, "--block"], env, /wray head started at (wss?:\/\/\S+)/);
      procs.push(head.p);
      const address = head.m[1];
      for (let i = 0; i < 2; i++) procs.push((await child([cli, "start", "--address", address, "--num-cpus", "1", ...tlsArgs, "--block"], env, /joined/)).p);
      const { readFileSync } = await import("node:fs");
      const token = readFileSync(join(home, "token"), "utf8").trim();
      const cray = await init({ address, token, log: () => {}, ...(clientTls ? { tls: clientTls } : {}) });
      const cmod = await cray.load(await guestPath());
      const cnoop = cmod.fn("noop");
      await cray.get(Array.from({ length: 5000 }, () => cnoop.remote()));
      await row(`cross-host tasks sync${sfx}`, "us", () => roundTrip(500, () => cnoop.remote(), cray), "driver (no CPUs) → head → a host → driver, one task at a time");
      await row(`cross-host tasks async${sfx}`, "tasks/s", () => throughput(50_000, () => cnoop.remote(), cray), "50k no-op tasks from one driver spread over 2 hosts, then one get");
      const zeros = cmod.fn("zeros");
      // two untimed rounds first: the driver's store maps and touches its memory for the first time then (on this
      // VM fresh pages fill at ~0.2-1 GB/s); after that each round's values are collected and their segments reused
      await row(`cross-host get gigabytes${sfx}`, "GB/s", async () => {
        global.gc?.();
        await new Promise((r) => setTimeout(r, 50));
        const refs = Array.from({ length: 4 }, () => zeros.remote(256 << 20));
        // wait until the results are reported (held by the hosts), without pulling them
        for (;;) {
          const objs = cray.memory({ limit: 100 }).objects.filter((o) => refs.some((r) => r.hex === o.id));
          if (objs.length === 4 && objs.every((o) => o.where === "remote")) break;
          await new Promise((r) => setTimeout(r, 5));
        }
        const t0 = performance.now();
        let vals = await cray.get(refs);
        const s = (performance.now() - t0) / 1000;
        if (vals.some((v) => v.length !== 256 << 20)) throw new Error("wrong size");
        vals = undefined;
        return 1 / s;
      }, "4 × 256 MiB made on the hosts, pulled into the driver in 4 MiB chunks (after 2 untimed rounds)", 2);
      await row(`cross-host placement group create/removal${sfx}`, "groups/s", () => groupsCreateRemove(cray), "the same through the head: it picks a host, the host prepares and commits each bundle (two phases), removal drops them", 1);
      await cray.shutdown();
    } finally {
      for (const p of procs) p.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
      rmSync(home, { recursive: true, force: true });
    }
  }
  await clusterRows(false);
  await clusterRows(true);

  /**
   * The cost of task events across hosts: two clusters at once (a head and
   * two hosts each), one recording task events and one not (every node
   * and the driver), and the async row alternated between them.
   */
  async function eventsAB() {
    if (!wants("cross-host tasks async (task events off)")) return;
    const clusters = [];
    try {
      for (const events of [true, false]) {
        const home = mkdtempSync(join(tmpdir(), "wray-bench-events-"));
        const env = { ...process.env, WRAY_HOME: home };
        const flag = events ? [] : ["--no-task-events"];
        const c = { home, procs: [], values: [] };
        clusters.push(c);
        const head = await child([cli, "start", "--head", "--port", "0", "--num-cpus", "0", ...flag, "--block"], env, /wray head started at (ws:\/\/\S+)/);
        c.procs.push(head.p);
        for (let i = 0; i < 2; i++) c.procs.push((await child([cli, "start", "--address", head.m[1], "--num-cpus", "1", ...flag, "--block"], env, /joined/)).p);
        const { readFileSync } = await import("node:fs");
        c.ray = await init({ address: head.m[1], token: readFileSync(join(home, "token"), "utf8").trim(), log: () => {}, taskEvents: events });
        c.noop = (await c.ray.load(await guestPath())).fn("noop");
        await c.ray.get(Array.from({ length: 5000 }, () => c.noop.remote()));
      }
      for (let i = 0; i < 3 * reps; i++) for (const c of i % 2 ? clusters : [...clusters].reverse()) c.values.push(await throughput(20_000, () => c.noop.remote(), c.ray));
      const [on, off] = clusters.map((c) => median(c.values));
      report("cross-host tasks async (task events on)", on, "tasks/s", "2 hosts, every node and the driver recording task events (the default), alternated with the next: median of 15 runs of 20k tasks");
      report("cross-host tasks async (task events off)", off, "tasks/s", `the same cluster shape started with --no-task-events (and a driver with taskEvents: false); on/off = ${(on / off).toFixed(3)}`);
    } finally {
      for (const c of clusters) {
        await c.ray?.shutdown();
        for (const p of c.procs) p.kill("SIGTERM");
      }
      await new Promise((r) => setTimeout(r, 500));
      for (const c of clusters) {
        for (const p of c.procs) if (p.exitCode === null) p.kill("SIGKILL");
        rmSync(c.home, { recursive: true, force: true });
      }
    }
  }
  await eventsAB();

  for (const shards of [1, 4]) {
    await row(`control store writes (${shards} shard${shards > 1 ? "s" : ""})`, "puts/s", async () => {
      const dir = mkdtempSync(join(tmpdir(), "wray-bench-gcs-"));
      const gcs = await ShardedControlStore.open({ directory: dir, shards });
      const n = 100_000;
      const value = { state: "FINISHED", node: "0123456789abcdef0123456789abcdef", size: 123456 };
      const t0 = performance.now();
      const ps = new Array(n);
      for (let i = 0; i < n; i++) ps[i] = gcs.put("tasks", `task-${i}`, value);
      await Promise.all(ps);
      const rate = n / ((performance.now() - t0) / 1000);
      await gcs.close();
      rmSync(dir, { recursive: true, force: true });
      return rate;
    }, "100k puts of a task record in flight, one LevelDB batch per turn, no fsync");
  }
}

// ---- fault tolerance: a host killed under a chain of tasks, a head restarted under a driver (bench/recovery.mjs) -----

if (["recovery:", "head restart"].some(wants)) {
  const { recoveryRows } = await import("./recovery.mjs");
  // a fresh chain per repetition on fresh clusters: 3 repetitions unless asked otherwise
  await recoveryRows({ row, report, wants, median, cli: here("../dist/cli.js"), guest: await guestPath(), svgPath: here("./recovery.svg"), reps: Math.min(reps, 3) });
}

// ---- Ray beside wray (issue 22): `--peers ray` runs bench/peers/ray.sh and prints both, row by row ----

if (args.includes("--peers")) {
  const peer = args[args.indexOf("--peers") + 1];
  if (peer !== "ray") throw new Error(`--peers: only "ray" is known, got ${JSON.stringify(peer)}`);
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync("bash", [here("./peers/ray.sh"), ...(filter ? ["--filter", filter] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, WRAY_BENCH_REPS: String(reps) } });
  if (r.status !== 0) throw new Error(`bench/peers/ray.sh failed (exit ${r.status})`);
  const theirs = new Map(r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).map((x) => [x.name, x]));
  // how many times better wray is: time rows are lower-is-better, rates and ratios higher-is-better
  const lowerIsBetter = (unit) => unit === "us" || unit === "ms";
  process.stdout.write(`\nRay 2.58.0 beside wray (same rows, same method; wray/Ray as "times better"):\n\n`);
  process.stdout.write(`${"row".padEnd(40)} ${"wray".padStart(12)} ${"Ray".padStart(12)} ${"unit".padEnd(10)} times better\n`);
  for (const mine of rows) {
    const other = theirs.get(mine.name);
    if (!other) continue;
    const better = lowerIsBetter(mine.unit) ? other.value / mine.value : mine.value / other.value;
    process.stdout.write(`${mine.name.padEnd(40)} ${String(mine.value).padStart(12)} ${String(other.value).padStart(12)} ${mine.unit.padEnd(10)} ${better.toFixed(1)}×\n`);
  }
}
