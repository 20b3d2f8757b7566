import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BuildError, GuestTrapError, TaskError, buildGuest, cToolchainAvailable, init, rustToolchainAvailable } from "wray";
import { tempDir } from "../temp.js";
import { logInto } from "../helpers.js";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
const run = promisify(execFile);

test("wray build turns a TypeScript module into a component that runs", { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "tasks.ts");
    await writeFile(src, `export function twice(x: number): number { return 2 * x; }\nexport const notATask = 3;\n`);
    const { stdout } = await run(process.execPath, [cli, "build", src, "-o", join(dir.path, "out", "t.wasm")]);
    assert.match(stdout, /built .*t\.wasm .*; tasks: twice\n/, "only functions and classes are listed as tasks and actors");
    assert.match(stdout, /not tasks or actors, ignored: notATask/);
    const ray = await init({ numCpus: 1 });
    try {
      const mod = await ray.load(join(dir.path, "out", "t.wasm"));
      assert.deepEqual(mod.tasks, ["twice"]);
      assert.equal(await ray.get(mod.fn("twice").remote(21)), 42);
    } finally {
      await ray.shutdown();
    }
  } finally {
    await dir.remove();
  }
});

test("wray build reports bad input clearly", { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(buildGuest(join(dir.path, "missing.ts")), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.equal(e.code, "WRAY_BUILD_FAILED");
      assert.match(e.message, /no such file/);
      return true;
    });

    const broken = join(dir.path, "broken.ts");
    await writeFile(broken, "export function f( { return 1 }\n");
    await assert.rejects(buildGuest(broken), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.match(e.message, /does not compile/);
      assert.ok(e.diagnostics.some((d) => /broken\.ts:1:\d+/.test(d)), e.diagnostics.join("\n"));
      return true;
    });

    const empty = join(dir.path, "empty.ts");
    await writeFile(empty, "const x = 1;\n");
    await assert.rejects(buildGuest(empty), /exports nothing/);

    const throws = join(dir.path, "throws.ts");
    await writeFile(throws, "export function f() { return 1; }\n\n\nconst cfg = JSON.parse('{');\n");
    await assert.rejects(buildGuest(throws), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.match(e.message, /throws\.ts: its top level threw while the component was made/);
      assert.ok(e.diagnostics.some((d) => /throws\.ts:4:\d+: SyntaxError/.test(d)), `the source line of the throw: ${e.diagnostics.join("\n")}`);
      return true;
    });

    const missingImport = join(dir.path, "imp.ts");
    await writeFile(missingImport, "import { x } from './nope.js';\nexport function f() { return x; }\n");
    await assert.rejects(buildGuest(missingImport), /does not compile/);

    // the CLI exits non-zero with the message
    await assert.rejects(run(process.execPath, [cli, "build", broken]), (e: unknown) => {
      const err = e as { code: number; stderr: string };
      assert.equal(err.code, 1);
      assert.match(err.stderr, /wray build: .*does not compile/);
      return true;
    });
    await assert.rejects(run(process.execPath, [cli, "frobnicate"]), (e: unknown) => (e as { code: number }).code === 2);
    assert.ok(!existsSync(join(dir.path, "broken.wasm")));
  } finally {
    await dir.remove();
  }
});

test("a guest's top level runs after the SDK's polyfills: TextEncoder at the top level, and a bundled library that uses it", { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "top.ts");
    await writeFile(
      src,
      `import { encode } from ${JSON.stringify(fileURLToPath(new URL("../../node_modules/@msgpack/msgpack/dist.esm/index.mjs", import.meta.url)))};\nconst enc = new TextEncoder();\nconst label = new TextDecoder().decode(enc.encode("ok"));\n` +
        `export function sizes(s: string): [number, number, string] { return [enc.encode(s).length, encode({ s }).length, label]; }\n`,
    );
    const out = join(dir.path, "top.wasm");
    await buildGuest(src, { output: out });
    const ray = await init({ numCpus: 1, numGpus: 0 });
    try {
      const mod = await ray.load(out);
      assert.deepEqual(await ray.get(mod.fn("sizes").remote("héllo")), [6, 10, "ok"]);
    } finally {
      await ray.shutdown();
    }
  } finally {
    await dir.remove();
  }
});

test("generators, and modules with no functions or classes, are refused at build with the reason and the line (async functions are not)", { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "later.ts");
    await writeFile(
      src,
      `export function ok(): number {\n  return 1;\n}\n\nexport async function later(x: number): Promise<number> {\n  return x;\n}\n\n` +
        `export class Actor {\n  sync(): number { return 1; }\n  async fetch(): Promise<number> {\n    return 2;\n  }\n  *items() { yield 1; }\n}\n`,
    );
    await assert.rejects(buildGuest(src, { output: join(dir.path, "later.wasm") }), (e: unknown) => {
      assert.ok(e instanceof BuildError);
      assert.match(e.message, /exports what wray cannot run/);
      const d = e.diagnostics.join("\n");
      assert.match(d, /later\.ts:14:3: method 'Actor\.items' is a generator method: wray runs functions and async functions as tasks and methods, not generators/);
      assert.doesNotMatch(d, /'later'|Actor\.fetch/, "async functions are not refused");
      return true;
    });
    assert.ok(!existsSync(join(dir.path, "later.wasm")));
    const consts = join(dir.path, "consts.ts");
    await writeFile(consts, "export const a = 1;\nexport const b = { c: 2 };\n");
    await assert.rejects(buildGuest(consts, { output: join(dir.path, "consts.wasm") }), /exports no functions or classes, so it has no tasks or actors \(it exports a, b\)/);
  } finally {
    await dir.remove();
  }
});

const haveClang = cToolchainAvailable();

test("a C guest with tasks and no actor classes builds without declaring WRAY_NO_ACTORS (and one with only actors, without WRAY_NO_TASKS)", { timeout: 60_000, skip: haveClang ? false : "no clang with wasi-libc here" }, async () => {
  const dir = await tempDir();
  try {
    const tasksOnly = join(dir.path, "tasks.c");
    await writeFile(
      tasksOnly,
      `#define WRAY_IMPLEMENTATION\n#include "wray.h"\n` +
        `static int one(wray_args *a, wray_writer *out) { (void)a; wray_write_i64(out, 1); return 0; }\n` +
        `WRAY_TASKS({ "one", one });\n`,
    );
    const actorsOnly = join(dir.path, "actors.c");
    await writeFile(
      actorsOnly,
      `#define WRAY_IMPLEMENTATION\n#include "wray.h"\n` +
        `static int make(wray_args *a, wray_writer *out) { (void)a; (void)out; return 0; }\n` +
        `static int ping(wray_args *a, wray_writer *out) { (void)a; wray_write_cstr(out, "pong"); return 0; }\n` +
        `WRAY_METHODS(methods, { "ping", ping });\nWRAY_ACTORS({ "Pinger", make, methods, WRAY_COUNT(methods) });\n`,
    );
    await buildGuest(tasksOnly, { output: join(dir.path, "tasks.wasm") });
    await buildGuest(actorsOnly, { output: join(dir.path, "actors.wasm") });
    const ray = await init({ numCpus: 1, numGpus: 0 });
    try {
      const t = await ray.load(join(dir.path, "tasks.wasm"));
      assert.deepEqual([t.tasks, t.actors], [["one"], {}]);
      assert.equal(await ray.get(t.fn("one").remote()), 1);
      const a = await ray.load(join(dir.path, "actors.wasm"));
      assert.deepEqual([a.tasks, a.actors], [[], { Pinger: ["ping"] }]);
      const p = a.actor<{ ping(): string }>("Pinger").remote();
      assert.equal(await ray.get(p.ping.remote()), "pong");
    } finally {
      await ray.shutdown();
    }
  } finally {
    await dir.remove();
  }
});


test("wray build --lang c: a C guest builds and runs; compile errors come back with file:line", { timeout: 60_000, skip: haveClang ? false : "no clang with wasi-libc here" }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "twice.c");
    await writeFile(
      src,
      `#define WRAY_IMPLEMENTATION\n#include "wray.h"\n` +
        `static int twice(wray_args *a, wray_writer *out) { double x; if (!wray_read_f64(&a->r, &x)) return wray_fail(out, "TypeError", "twice(x)"); wray_write_f64(out, 2 * x); return 0; }\n` +
        `WRAY_TASKS({ "twice", twice });\nWRAY_NO_ACTORS;\n`,
    );
    const { stdout } = await run(process.execPath, [cli, "build", src, "-o", join(dir.path, "t.wasm")]);
    assert.match(stdout, /built .*t\.wasm/);
    const ray = await init({ numCpus: 1 });
    try {
      const mod = await ray.load(join(dir.path, "t.wasm"));
      assert.deepEqual(mod.tasks, ["twice"]);
      assert.deepEqual(Object.keys(mod.actors), []);
      assert.equal(await ray.get(mod.fn("twice").remote(21)), 42);
    } finally {
      await ray.shutdown();
    }
    const bad = join(dir.path, "bad.c");
    await writeFile(bad, `int broken(\n`);
    await assert.rejects(buildGuest(bad, { output: join(dir.path, "bad.wasm") }), (e: unknown) => e instanceof BuildError && /bad\.c:1:\d+: error/.test(e.message));
    const sys = join(dir.path, "sys.c");
    await writeFile(
      sys,
      `#define WRAY_IMPLEMENTATION\n#include "wray.h"\n#include <stdio.h>\n` +
        `static int hi(wray_args *a, wray_writer *out) { printf("hi\\n"); wray_write_nil(out); return 0; }\n` +
        `WRAY_TASKS({ "hi", hi });\nWRAY_NO_ACTORS;\n`,
    );
    await assert.rejects(buildGuest(sys, { output: join(dir.path, "sys.wasm") }), (e: unknown) => e instanceof BuildError && /imports .*wasi_snapshot_preview1\.fd_write.*only wray:runtime\/host/.test(e.message));
  } finally {
    await dir.remove();
  }
});

const AS_GUEST = `
import { Args, Out, Writer, get, log, put, task } from "wray/as";

task("twice", (a: Args, out: Out): void => {
  out.f64(2 * a.f64());
});

// typed arrays in and out (extension 3)
task("scale", (a: Args, out: Out): void => {
  const xs = a.f64s();
  const k = a.f64();
  for (let i = 0; i < xs.length; i++) xs[i] *= k;
  out.f64s(xs);
});

// put inside the guest, then get it back
task("roundTrip", (a: Args, out: Out): void => {
  const s = a.str();
  const ref = put(new Writer().str(s + "!"));
  const v = get([ref]);
  out.str(v.str());
});

task("boom", (a: Args, out: Out): void => {
  log("about to throw");
  throw new Error("boom from AssemblyScript");
});

task("random", (a: Args, out: Out): void => {
  out.f64(Math.random());
});
`;

test("wray build --lang as: an AssemblyScript guest builds (detected by its wray/as import) and runs; errors are typed", { timeout: 90_000 }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "policy.ts");
    await writeFile(src, AS_GUEST);
    const { stdout } = await run(process.execPath, [cli, "build", src, "-o", join(dir.path, "p.wasm")]);
    assert.match(stdout, /built .*p\.wasm/);
    const lines: string[] = [];
    const ray = await init({ numCpus: 1, log: logInto(lines) });
    try {
      const mod = await ray.load(join(dir.path, "p.wasm"));
      assert.deepEqual([...mod.tasks].sort(), ["boom", "random", "roundTrip", "scale", "twice"]);
      assert.equal(await ray.get(mod.fn("twice").remote(21)), 42);
      assert.deepEqual(await ray.get(mod.fn("scale").remote(new Float64Array([1, 2.5, -3]), 2)), new Float64Array([2, 5, -6]));
      assert.equal(await ray.get(mod.fn("roundTrip").remote("héllo")), "héllo!");
      const r = (await ray.get(mod.fn("random").remote())) as number;
      assert.ok(r >= 0 && r < 1);
      // an argument of the wrong kind fails the task with a TypeError naming it
      await assert.rejects(ray.get(mod.fn("twice").remote("x")), (e: unknown) => e instanceof TaskError && /task 'twice' got a bad argument: expected a number, found a string/.test(e.message));
      // throw in AssemblyScript aborts: the task traps, its message is logged, the next task runs
      await assert.rejects(ray.get(mod.fn("boom").remote()), (e: unknown) => e instanceof GuestTrapError && e.trap === "unreachable");
      assert.ok(lines.some((l) => /boom from AssemblyScript at .*policy\.ts:\d+:\d+/.test(l)), lines.join("\n"));
      assert.equal(await ray.get(mod.fn("twice").remote(1.5)), 3);
    } finally {
      await ray.shutdown();
    }

    const bad = join(dir.path, "bad.ts");
    await writeFile(bad, `import { task } from "wray/as";\nlet x: i32 = "not a number";\n`);
    await assert.rejects(buildGuest(bad, { output: join(dir.path, "bad.wasm") }), (e: unknown) => {
      return e instanceof BuildError && e.diagnostics.some((d) => /bad\.ts:2:\d+: .*not assignable/.test(d));
    });
    // Date.now needs an import wray does not provide: refused at build, naming it
    const clock = join(dir.path, "clock.ts");
    await writeFile(clock, `import { Args, Out, task } from "wray/as";\ntask("t", (a: Args, out: Out): void => { out.f64(<f64>Date.now()); });\n`);
    await assert.rejects(buildGuest(clock, { output: join(dir.path, "clock.wasm") }), (e: unknown) => e instanceof BuildError && /imports env\.Date\.now, which wray does not provide.*use now\(\) and log\(\) from wray\/as/.test(e.message));
  } finally {
    await dir.remove();
  }
});

const RUST_GUEST = `
use wray::{Args, Error, Out, Result, Writer};

fn twice(a: &mut Args, out: &mut Out) -> Result<()> {
    let x = a.f64()?;
    out.f64(2.0 * x);
    Ok(())
}

fn scale(a: &mut Args, out: &mut Out) -> Result<()> {
    let xs = a.f64s()?;
    let k = a.f64()?;
    let ys: Vec<f64> = xs.iter().map(|x| x * k).collect();
    out.f64s(&ys);
    Ok(())
}

fn round_trip(a: &mut Args, out: &mut Out) -> Result<()> {
    let s = format!("{}!", a.str()?);
    let mut w = Writer::new();
    w.str(&s);
    let r = wray::put(&w);
    let values = wray::get(&[r], -1)?;
    out.str(values.reader().str()?);
    Ok(())
}

fn boom(_a: &mut Args, _out: &mut Out) -> Result<()> {
    let v: Vec<u32> = Vec::new();
    if v.is_empty() {
        panic!("boom from Rust");
    }
    Err(Error::new("Error", "unreachable"))
}

/// later(ms, s): busy-waits ms, then returns s
fn later(a: &mut Args, out: &mut Out) -> Result<()> {
    let ms = a.f64()?;
    let s = a.str()?;
    let t0 = wray::now();
    while wray::now() - t0 < ms {}
    out.str(s);
    Ok(())
}

struct Gate;

impl wray::Actor for Gate {
    fn new(_a: &mut Args) -> Result<Self> {
        Ok(Gate)
    }
}

impl Gate {
    /// hold([ref]): waits for the nested ref inside the method
    fn hold(&mut self, a: &mut Args, out: &mut Out) -> Result<()> {
        a.array()?;
        let r = a.object_ref()?;
        let values = wray::get(&[r], -1)?;
        out.str(&format!("held {}", values.reader().str()?));
        Ok(())
    }

    fn status(&mut self, _a: &mut Args, out: &mut Out) -> Result<()> {
        out.i64(1);
        Ok(())
    }
}

wray::guest! {
    tasks: { "twice" => twice, "scale" => scale, "roundTrip" => round_trip, "boom" => boom, "later" => later },
    actors: { "Gate" => Gate { "hold" => hold, "status" => status } },
}
`;

test("wray build --lang rust: a Rust guest builds and runs; errors are typed", { timeout: 120_000, skip: rustToolchainAvailable() ? false : "no rustc with the wasm32-unknown-unknown target here" }, async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, "lib.rs");
    await writeFile(src, RUST_GUEST);
    const { stdout } = await run(process.execPath, [cli, "build", src, "-o", join(dir.path, "r.wasm")]);
    assert.match(stdout, /built .*r\.wasm/);
    const lines: string[] = [];
    const ray = await init({ numCpus: 1, log: logInto(lines) });
    try {
      const mod = await ray.load(join(dir.path, "r.wasm"));
      assert.deepEqual([...mod.tasks].sort(), ["boom", "later", "roundTrip", "scale", "twice"]);
      assert.deepEqual(mod.actors, { Gate: ["hold", "status"] });
      assert.equal(await ray.get(mod.fn("twice").remote(21)), 42);
      assert.deepEqual(await ray.get(mod.fn("scale").remote(new Float64Array([1, 2.5, -3]), 2)), new Float64Array([2, 5, -6]));
      assert.equal(await ray.get(mod.fn("roundTrip").remote("héllo")), "héllo!");
      // a read of the wrong kind, returned with ?, fails the task with a TypeError naming it
      await assert.rejects(ray.get(mod.fn("twice").remote("x")), (e: unknown) => e instanceof TaskError && /expected a number, found a string at byte 1/.test(e.message));
      // a panic traps the task and its message is logged; the next task runs
      await assert.rejects(ray.get(mod.fn("boom").remote()), (e: unknown) => e instanceof GuestTrapError && e.trap === "unreachable");
      assert.ok(lines.some((l) => /panic: .*boom from Rust/.test(l)), lines.join("\n"));
      assert.equal(await ray.get(mod.fn("twice").remote(1.5)), 3);
      // a Rust method holds &mut self: a call that would nest into a waiting one fails clearly, the waiting one completes
      type Gate = { hold(refs: unknown[]): string; status(): number };
      const gate = mod.actor<Gate>("Gate", { maxConcurrency: 2 }).remote();
      // long enough that the actor is still waiting when the next call comes, even on a loaded machine
      const held = gate.hold.remote([mod.fn<[number, string], string>("later").remote(1500, "go")]);
      await assert.rejects(ray.get(gate.status.remote()), (e: unknown) => e instanceof TaskError && /one call at a time/.test(e.message));
      assert.equal(await ray.get(held), "held go");
      assert.equal(await ray.get(gate.status.remote()), 1);
    } finally {
      await ray.shutdown();
    }
    const bad = join(dir.path, "bad.rs");
    await writeFile(bad, `fn f() -> u32 {\n    "not a number"\n}\nwray::guest! { tasks: {} }\n`);
    await assert.rejects(buildGuest(bad, { output: join(dir.path, "bad.wasm") }), (e: unknown) => {
      return e instanceof BuildError && e.diagnostics.some((d) => /bad\.rs:2:5: error\[E0308\]: mismatched types/.test(d));
    });
  } finally {
    await dir.remove();
  }
});
