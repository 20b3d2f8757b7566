/**
 * The package as a user gets it: `npm pack`, installed from the tarball
 * into a project of its own, with the guest and driver configurations the
 * README documents. The guest type-checks with the sandbox's globals and
 * with the DOM library; the driver type-checks (without skipLibCheck)
 * against the guest module's own types; `npx wray build` compiles the
 * guest, and the TypeScript driver runs it with tsx.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "./temp.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let dir: { path: string; remove(): Promise<void> };
let tarball = "";

function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: "false" };
  // what the test process runs under must not leak into the project's tools
  delete env.NODE_OPTIONS;
  delete env.WRAY_ADDRESS;
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr: err && code === 1 && !stderr ? err.message : stderr });
    });
  });
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const npx = process.platform === "win32" ? "npx.cmd" : "npx";

function write(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

const GUEST = `import { get } from "wray/guest";

export function fib(n: number): number {
  if (n < 2) return n;
  const [a, b] = get([fib.remote(n - 1), fib.remote(n - 2)]);
  return a + b;
}

export function shout(text: string): string {
  console.log(\`shouting \${text}\`);
  return new TextDecoder().decode(new TextEncoder().encode(text.toUpperCase()));
}

export class Counter {
  private value: number;
  constructor(start: number) {
    this.value = start;
  }
  inc(by = 1): number {
    this.value += by;
    return this.value;
  }
}
`;

const DRIVER = `import { fileURLToPath } from "node:url";
import { init } from "wray";
import type { Counter, fib, shout } from "../guest/tasks.js";

const ray = await init({ numCpus: 2 });
const mod = await ray.load(fileURLToPath(new URL("../guest/tasks.wasm", import.meta.url)));
const Counters = mod.actor<typeof Counter>("Counter");
const c = Counters.remote(10);
const [f, s, n] = await ray.get([mod.fn<typeof fib>("fib").remote(10), mod.fn<typeof shout>("shout").remote("hi"), c.inc.remote(5)]);
const total: number = f + n;
const upper: string = s;
console.log(\`fib(10) = \${f}, \${upper}, counter \${n}, total \${total}\`);
await ray.shutdown();
`;

/** A driver that must not compile: each line is a type error the tests expect. */
const WRONG = `import { init } from "wray";
import type { Counter, fib } from "../guest/tasks.js";
const ray = await init();
const mod = await ray.load("tasks.wasm");
mod.actor<typeof Counter>("Counter").remote("ten");
mod.fn<typeof fib>("fib").remote("ten");
const [a] = await ray.get([mod.fn<typeof fib>("fib").remote(1)]);
const s: string = a;
`;

const GUEST_TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", lib: ["ES2023"], types: ["wray/guest/sandbox"], strict: true, noEmit: true },
  include: ["*.ts"],
};
const DRIVER_TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", types: ["node"], strict: true, noEmit: true },
  include: ["*.ts"],
};

before(async () => {
  dir = await tempDir();
  const packed = await run(npm, ["pack", "--pack-destination", dir.path, "--silent"], ROOT, 60_000);
  assert.equal(packed.code, 0, `npm pack: ${packed.stderr}`);
  tarball = join(dir.path, packed.stdout.trim().split("\n").pop()!);
});

after(async () => {
  await dir?.remove();
});

test("the tarball holds what the README links to, the licence, and no tests", async () => {
  const list = await run("tar", ["tzf", tarball], dir.path, 30_000);
  assert.equal(list.code, 0, list.stderr);
  const files = new Set(list.stdout.split("\n").filter(Boolean).map((f) => f.replace(/^package\//, "")));
  for (const f of ["LICENSE", "README.md", "CHANGELOG.md", "package.json", "dist/index.js", "dist/index.d.ts", "dist/cli.js", "dist/guest.d.ts", "guest-sdk/runtime/sandbox.d.ts", "guest-sdk/c/wray.h", "wit/runtime.wit"]) {
    assert.ok(files.has(f), `${f} is in the package`);
  }
  for (const doc of readdirSync(join(ROOT, "docs"))) assert.ok(files.has(`docs/${doc}`), `docs/${doc} is in the package`);
  assert.ok(![...files].some((f) => f.startsWith("test/") || f.startsWith("node_modules/")), "no tests or dependencies");
});

test("a project that installs the tarball type-checks its guest and driver as documented, builds the guest and runs a TypeScript driver", { timeout: 600_000 }, async () => {
  const project = join(dir.path, "project");
  write(
    join(project, "package.json"),
    JSON.stringify({ name: "wray-user", private: true, type: "module", allowScripts: { esbuild: true, "classic-level": true, bufferutil: true, webgpu: true } }, null, 2),
  );
  const installed = await run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, "typescript@5", "@types/node@20", "tsx@4"], project, 300_000);
  assert.equal(installed.code, 0, `npm install: ${installed.stderr}`);
  write(join(project, "guest", "tasks.ts"), GUEST);
  write(join(project, "guest", "tsconfig.json"), JSON.stringify(GUEST_TSCONFIG, null, 2));
  // the same guest with TypeScript's default libraries (DOM included) and no types
  write(join(project, "guest-dom", "tasks.ts"), GUEST);
  write(join(project, "guest-dom", "tsconfig.json"), JSON.stringify({ compilerOptions: { ...GUEST_TSCONFIG.compilerOptions, lib: undefined, types: [] }, include: ["*.ts"] }, null, 2));
  write(join(project, "driver", "main.ts"), DRIVER);
  write(join(project, "driver", "tsconfig.json"), JSON.stringify(DRIVER_TSCONFIG, null, 2));
  write(join(project, "wrong", "main.ts"), WRONG);
  write(join(project, "wrong", "tsconfig.json"), JSON.stringify(DRIVER_TSCONFIG, null, 2));
  for (const p of ["guest", "guest-dom", "driver"]) {
    const tsc = await run(npx, ["tsc", "-p", p], project);
    assert.equal(tsc.code, 0, `tsc -p ${p}:\n${tsc.stdout}${tsc.stderr}`);
  }
  // constructor arguments, task arguments and tuple results are checked
  const wrong = await run(npx, ["tsc", "-p", "wrong"], project);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stdout, /main\.ts\(5,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number/);
  assert.match(wrong.stdout, /main\.ts\(6,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number/);
  assert.match(wrong.stdout, /main\.ts\(8,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  const built = await run(npx, ["wray", "build", "guest/tasks.ts", "-o", "guest/tasks.wasm"], project);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /tasks: fib, shout; actor classes: Counter \(inc\)/);
  assert.ok(existsSync(join(project, "guest", "tasks.wasm")));
  const ran = await run(npx, ["tsx", "driver/main.ts"], project);
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout, "(shout) shouting hi\nfib(10) = 55, HI, counter 15, total 70\n");
  assert.equal(ran.stderr, "", "a CPU-only driver prints nothing on stderr");
  const version = await run(npx, ["wray", "--version"], project);
  assert.match(version.stdout, /^wray \d+\.\d+\.\d+\n$/);
});
